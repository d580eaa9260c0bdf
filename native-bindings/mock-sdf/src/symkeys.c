/* Session keys: SM4 keys a session holds, named by opaque handles. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>

/* Handles are unique in the process, so a handle of another session or a destroyed key is
 * never mistaken for a live one. Odd values: never a valid pointer a caller could confuse. */
static atomic_uintptr_t g_next_key = 1;

int session_key_add(session *s, const unsigned char key[16], void **handle)
{
    int rc = SDR_OK;
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        rc = SDR_INARGERR;
    } else if (s->nkeys == MOCK_MAX_SESSION_KEYS) {
        rc = SDR_NOBUFFER;
    } else {
        if (s->nkeys == s->capkeys) {
            size_t ncap = s->capkeys ? s->capkeys * 2 : 8;
            sym_key *grown = calloc(ncap, sizeof(sym_key));
            if (grown == NULL) {
                rc = SDR_NOBUFFER;
            } else {
                if (s->nkeys) {
                    memcpy(grown, s->keys, s->nkeys * sizeof(sym_key));
                    OPENSSL_cleanse(s->keys, s->nkeys * sizeof(sym_key));
                }
                free(s->keys);
                s->keys = grown;
                s->capkeys = ncap;
            }
        }
        if (rc == SDR_OK) {
            sym_key *k = &s->keys[s->nkeys++];
            k->id = atomic_fetch_add(&g_next_key, 2);
            memcpy(k->key, key, 16);
            *handle = (void *)k->id;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static sym_key *find_key(session *s, void *handle) /* under s->lock */
{
    size_t i;
    for (i = 0; i < s->nkeys; i++)
        if (s->keys[i].id == (uintptr_t)handle)
            return &s->keys[i];
    return NULL;
}

int session_key_get(session *s, void *handle, unsigned char key[16])
{
    sym_key *k;
    int rc = SDR_KEYNOTEXIST;
    pthread_mutex_lock(&s->lock);
    if (s->closed)
        rc = SDR_INARGERR;
    else if (handle != NULL && (k = find_key(s, handle)) != NULL) {
        memcpy(key, k->key, 16);
        rc = SDR_OK;
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

SDF_API int SDF_DestroyKey(void *hSessionHandle, void *hKeyHandle)
{
    session *s;
    sym_key *k;
    int rc;
    MOCK_ENTER(FN_DestroyKey);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (s->closed)
        rc = SDR_INARGERR;
    else if (hKeyHandle == NULL || (k = find_key(s, hKeyHandle)) == NULL)
        rc = SDR_KEYNOTEXIST;
    else {
        *k = s->keys[--s->nkeys];
        OPENSSL_cleanse(&s->keys[s->nkeys], sizeof(sym_key));
    }
    pthread_mutex_unlock(&s->lock);
    session_release(s);
    return rc;
}

void session_keys_clear(session *s)
{
    if (s->keys != NULL)
        OPENSSL_cleanse(s->keys, s->capkeys * sizeof(sym_key));
    free(s->keys);
    s->keys = NULL;
    s->nkeys = s->capkeys = 0;
}
