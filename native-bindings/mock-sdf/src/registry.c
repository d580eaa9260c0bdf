/* Live devices and sessions. Handles are tagged sequence numbers, never
 * pointers: a stale or garbage handle simply is not found. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <openssl/evp.h>

#if UINTPTR_MAX > 0xffffffffu
#define DEVICE_TAG ((uintptr_t)0x5DF0u << 48)
#define SESSION_TAG ((uintptr_t)0x5E55u << 48)
#define SEQ_MASK (((uintptr_t)1 << 48) - 1)
#else
#define DEVICE_TAG ((uintptr_t)0xDu << 28)
#define SESSION_TAG ((uintptr_t)0xEu << 28)
#define SEQ_MASK (((uintptr_t)1 << 28) - 1)
#endif

struct device {
    uintptr_t id;
    unsigned int refs; /* registry + live sessions; guarded by g_lock */
    struct device *next;
    keystore *ks;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static device *g_devices;
static session *g_sessions;
static unsigned int g_ndevices, g_nsessions;
static uintptr_t g_seq;
static atomic_uint g_rights;

static uintptr_t next_id(uintptr_t tag) /* under g_lock */
{
    g_seq = (g_seq + 1) & SEQ_MASK;
    if (g_seq == 0)
        g_seq = 1;
    return tag | g_seq;
}

unsigned int access_rights_count(void)
{
    return atomic_load(&g_rights);
}

void access_rights_add(int delta)
{
    if (delta >= 0)
        atomic_fetch_add(&g_rights, (unsigned int)delta);
    else
        atomic_fetch_sub(&g_rights, (unsigned int)-delta);
}

void registry_counts(unsigned int *devices, unsigned int *sessions)
{
    pthread_mutex_lock(&g_lock);
    *devices = g_ndevices;
    *sessions = g_nsessions;
    pthread_mutex_unlock(&g_lock);
}

static void device_release(device *d)
{
    int last;
    pthread_mutex_lock(&g_lock);
    last = --d->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last) {
        keystore_free(d->ks);
        free(d);
    }
}

/* Drops a reference; the last one frees the session. */
static void session_unref(session *s)
{
    int last;
    pthread_mutex_lock(&g_lock);
    last = --s->refs == 0;
    pthread_mutex_unlock(&g_lock);
    if (last) {
        device *d = s->dev;
        EVP_MD_CTX_free(s->hash);
        free(s->rights);
        session_keys_clear(s);
        pthread_mutex_destroy(&s->lock);
        free(s);
        device_release(d);
    }
}

/* Strict: a session serves one SDF function at a time, as real libraries expect of their callers
 * (two calls on one session at once corrupt a card's per-session state). An overlap aborts. The
 * hold lasts until the function returns, its latency included (session_end_hold, from
 * hooks_leave), and keeps a reference so that the session outlives it. */
static __thread session *t_held;

static void hold_or_die(session *s)
{
    int expected = 0;
    if (!MOCK_IS_STRICT)
        return;
    if (!atomic_compare_exchange_strong(&s->in_call, &expected, 1)) {
        fprintf(stderr, "gmt0018 mock (strict): two calls on one session at once: a session serves one call at a time\n");
        abort();
    }
    pthread_mutex_lock(&g_lock);
    s->refs++;
    pthread_mutex_unlock(&g_lock);
    t_held = s;
}

void session_end_hold(void)
{
    session *s = t_held;
    if (s == NULL)
        return;
    t_held = NULL;
    atomic_store(&s->in_call, 0);
    session_unref(s);
}

/* Drops the SDF function's reference (its hold, if strict, ends when the function returns). */
void session_release(session *s)
{
    session_unref(s);
}

int session_acquire(void *handle, session **out)
{
    session *s;
    *out = NULL;
    if (handle == NULL)
        return SDR_INARGERR;
    pthread_mutex_lock(&g_lock);
    for (s = g_sessions; s != NULL; s = s->next)
        if (s->id == (uintptr_t)handle) {
            s->refs++;
            break;
        }
    pthread_mutex_unlock(&g_lock);
    *out = s;
    if (s != NULL)
        hold_or_die(s);
    return s ? SDR_OK : SDR_INARGERR;
}

/* Marks an unlinked session closed, drops its rights and hash, then drops the
 * registry's reference. Calls in flight on it see `closed` and fail. */
static void session_shut(session *s)
{
    pthread_mutex_lock(&s->lock);
    if (!s->closed) {
        s->closed = 1;
        access_rights_add(-(int)s->nrights);
        free(s->rights);
        s->rights = NULL;
        s->nrights = s->caprights = 0;
        EVP_MD_CTX_free(s->hash);
        s->hash = NULL;
        s->hash_active = 0;
        session_keys_clear(s);
    }
    pthread_mutex_unlock(&s->lock);
    session_unref(s);
}

int registry_open_device(keystore *ks, void **handle)
{
    device *d = calloc(1, sizeof(*d));
    if (d == NULL) {
        keystore_free(ks);
        return SDR_NOBUFFER;
    }
    pthread_mutex_lock(&g_lock);
    if (g_ndevices >= MOCK_MAX_DEVICES) {
        pthread_mutex_unlock(&g_lock);
        keystore_free(ks);
        free(d);
        return SDR_OPENDEVICE;
    }
    d->id = next_id(DEVICE_TAG);
    d->refs = 1;
    d->ks = ks;
    d->next = g_devices;
    g_devices = d;
    g_ndevices++;
    *handle = (void *)d->id;
    pthread_mutex_unlock(&g_lock);
    return SDR_OK;
}

int registry_close_device(void *handle)
{
    device *d, **pd;
    session *closing = NULL, **ps;
    if (handle == NULL)
        return SDR_INARGERR;
    pthread_mutex_lock(&g_lock);
    for (pd = &g_devices; (d = *pd) != NULL; pd = &d->next)
        if (d->id == (uintptr_t)handle)
            break;
    if (d == NULL) {
        pthread_mutex_unlock(&g_lock);
        return SDR_INARGERR;
    }
    *pd = d->next;
    g_ndevices--;
    for (ps = &g_sessions; *ps != NULL;) {
        session *s = *ps;
        if (s->dev == d) {
            *ps = s->next;
            s->next = closing;
            closing = s;
            g_nsessions--;
        } else {
            ps = &s->next;
        }
    }
    pthread_mutex_unlock(&g_lock);
    while (closing != NULL) {
        session *s = closing;
        closing = s->next;
        session_shut(s);
    }
    device_release(d);
    return SDR_OK;
}

int registry_open_session(void *dev_handle, void **handle)
{
    device *d;
    session *s;
    if (dev_handle == NULL)
        return SDR_INARGERR;
    if ((s = calloc(1, sizeof(*s))) == NULL)
        return SDR_NOBUFFER;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        return SDR_NOBUFFER;
    }
    pthread_mutex_lock(&g_lock);
    for (d = g_devices; d != NULL; d = d->next)
        if (d->id == (uintptr_t)dev_handle)
            break;
    if (d == NULL || g_nsessions >= MOCK_MAX_SESSIONS) {
        pthread_mutex_unlock(&g_lock);
        pthread_mutex_destroy(&s->lock);
        free(s);
        return d == NULL ? SDR_INARGERR : SDR_OPENSESSION;
    }
    d->refs++;
    s->dev = d;
    s->ks = d->ks;
    s->refs = 1;
    s->id = next_id(SESSION_TAG);
    s->next = g_sessions;
    g_sessions = s;
    g_nsessions++;
    *handle = (void *)s->id;
    pthread_mutex_unlock(&g_lock);
    return SDR_OK;
}

int registry_close_session(void *handle)
{
    session *s, **ps;
    if (handle == NULL)
        return SDR_INARGERR;
    pthread_mutex_lock(&g_lock);
    for (ps = &g_sessions; (s = *ps) != NULL; ps = &s->next)
        if (s->id == (uintptr_t)handle)
            break;
    if (s != NULL) {
        *ps = s->next;
        g_nsessions--;
    }
    pthread_mutex_unlock(&g_lock);
    if (s == NULL)
        return SDR_INARGERR;
    if (MOCK_IS_STRICT && atomic_load(&s->in_call)) {
        fprintf(stderr, "gmt0018 mock (strict): SDF_CloseSession while a call works on the session\n");
        abort();
    }
    session_shut(s);
    return SDR_OK;
}
