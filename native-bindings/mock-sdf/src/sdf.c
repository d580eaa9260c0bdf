/* The GM/T 0018 functions of the mock card. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#define PAD (ECCref_MAX_LEN - 32)

/* ---- value fields ------------------------------------------------------- */

int field_in(const unsigned char *field, unsigned char out[32])
{
    int i;
    for (i = 0; i < PAD; i++)
        if (field[i] != 0)
            return -1;
    memcpy(out, field + PAD, 32);
    return 0;
}

void field_out(unsigned char *field, const unsigned char in[32])
{
    memset(field, 0, ECCref_MAX_LEN);
    memcpy(field + PAD, in, 32);
}

/* SDR_OK with (x, y) a curve point, or SDR_INARGERR. */
int public_key_in(const ECCrefPublicKey *pk, unsigned char x[32], unsigned char y[32])
{
    if ((pk->bits != 256 && pk->bits != 0) || field_in(pk->x, x) != 0 || field_in(pk->y, y) != 0 ||
        !sm2_point_ok(x, y))
        return SDR_INARGERR;
    return SDR_OK;
}

void public_key_out(ECCrefPublicKey *pk, const sm2_key *key)
{
    memset(pk, 0, sizeof(*pk));
    pk->bits = 256;
    field_out(pk->x, key->x);
    field_out(pk->y, key->y);
}

int signature_in(const ECCSignature *sig, unsigned char r[32], unsigned char s[32])
{
    return field_in(sig->r, r) == 0 && field_in(sig->s, s) == 0 ? SDR_OK : SDR_INARGERR;
}

/* ---- keys ---------------------------------------------------------------- */

/* The slot of `index` (enc = 0 sign, 1 enc): SDR_OK, SDR_KEYNOTEXIST or SDR_KEYERR. */
int find_slot(const session *s, unsigned int index, int enc, const key_slot **out)
{
    const key_entry *e = keystore_find(s->ks, index);
    const key_slot *slot;
    if (e == NULL)
        return SDR_KEYNOTEXIST;
    slot = enc ? &e->enc : &e->sign;
    if (slot->state == SLOT_ABSENT)
        return SDR_KEYNOTEXIST;
    if (slot->state == SLOT_BAD)
        return SDR_KEYERR;
    *out = slot;
    return SDR_OK;
}

int has_right(const session *s, unsigned int index) /* under s->lock */
{
    size_t i;
    for (i = 0; i < s->nrights; i++)
        if (s->rights[i] == index)
            return 1;
    return 0;
}

/* ---- device management --------------------------------------------------- */

SDF_API int SDF_OpenDevice(void **phDeviceHandle)
{
    keystore *ks;
    int rc;
    if (hooks_load_env() != SDR_OK)
        return SDR_OPENDEVICE;
    MOCK_ENTER(FN_OpenDevice);
    if (phDeviceHandle == NULL)
        return SDR_OUTARGERR;
    if (!sm2_ready())
        return SDR_HARDFAIL;
    if ((rc = keystore_load(&ks)) != SDR_OK)
        return rc;
    return registry_open_device(ks, phDeviceHandle);
}

SDF_API int SDF_CloseDevice(void *hDeviceHandle)
{
    MOCK_ENTER(FN_CloseDevice);
    return registry_close_device(hDeviceHandle);
}

SDF_API int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle)
{
    MOCK_ENTER(FN_OpenSession);
    if (phSessionHandle == NULL)
        return SDR_OUTARGERR;
    return registry_open_session(hDeviceHandle, phSessionHandle);
}

SDF_API int SDF_CloseSession(void *hSessionHandle)
{
    MOCK_ENTER(FN_CloseSession);
    return registry_close_session(hSessionHandle);
}

static void copy_name(unsigned char *field, size_t size, const char *text)
{
    size_t n = strlen(text);
    memset(field, 0, size);
    memcpy(field, text, n < size ? n : size);
}

SDF_API int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo)
{
    session *s;
    int rc;
    MOCK_ENTER(FN_GetDeviceInfo);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pstDeviceInfo == NULL) {
        rc = SDR_OUTARGERR;
    } else {
        memset(pstDeviceInfo, 0, sizeof(*pstDeviceInfo));
        copy_name(pstDeviceInfo->IssuerName, sizeof(pstDeviceInfo->IssuerName), "gmt0018 mock");
        copy_name(pstDeviceInfo->DeviceName, sizeof(pstDeviceInfo->DeviceName), "MockSDF");
        copy_name(pstDeviceInfo->DeviceSerial, sizeof(pstDeviceInfo->DeviceSerial), "MOCK0000000001");
        pstDeviceInfo->DeviceVersion = 0x00010000;
        pstDeviceInfo->StandardVersion = 1;
        pstDeviceInfo->AsymAlgAbility[0] = SGD_SM2_1 | SGD_SM2_2 | SGD_SM2_3;
        pstDeviceInfo->AsymAlgAbility[1] = 256;
        pstDeviceInfo->SymAlgAbility = SGD_SM4_ECB | SGD_SM4_CBC | SGD_SM4_MAC;
        pstDeviceInfo->HashAlgAbility = SGD_SM3;
        pstDeviceInfo->BufferSize = MOCK_BUFFER_SIZE;
    }
    session_release(s);
    return rc;
}

SDF_API int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength, unsigned char *pucRandom)
{
    session *s;
    int rc;
    MOCK_ENTER(FN_GenerateRandom);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (MOCK_IS_STRICT && uiLength > MOCK_STRICT_RANDOM_MAX) {
        rc = SDR_INARGERR; /* strict, although DEVICEINFO.BufferSize says more */
    } else if (pucRandom == NULL && uiLength > 0) {
        rc = SDR_OUTARGERR;
    } else {
        unsigned int done = 0;
        while (done < uiLength) {
            unsigned int chunk = uiLength - done > MOCK_BUFFER_SIZE ? MOCK_BUFFER_SIZE : uiLength - done;
            if (RAND_bytes(pucRandom + done, (int)chunk) != 1) {
                rc = SDR_RANDERR;
                break;
            }
            done += chunk;
        }
    }
    session_release(s);
    return rc;
}

SDF_API int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
                                         unsigned char *pucPassword, unsigned int uiPwdLength)
{
    session *s;
    const key_entry *e;
    const key_slot *slot;
    unsigned char digest[32];
    int rc;
    MOCK_ENTER(FN_GetPrivateKeyAccessRight);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pucPassword == NULL) {
        rc = SDR_INARGERR;
        goto out;
    }
    if ((e = keystore_find(s->ks, uiKeyIndex)) == NULL) {
        rc = SDR_KEYNOTEXIST;
        goto out;
    }
    slot = e->sign.state != SLOT_ABSENT ? &e->sign : &e->enc;
    if (slot->state != SLOT_OK) {
        rc = SDR_KEYERR;
        goto out;
    }
    if (sm3_two(slot->salt, slot->salt_len, pucPassword, uiPwdLength, digest) != 0) {
        rc = SDR_UNKNOWERR;
        goto out;
    }
    if (CRYPTO_memcmp(digest, slot->pw_sm3, 32) != 0) {
        rc = SDR_PARDENY;
        goto out;
    }
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        rc = SDR_INARGERR;
    } else if (!has_right(s, uiKeyIndex)) {
        if (s->nrights == s->caprights) {
            size_t ncap = s->caprights ? s->caprights * 2 : 4;
            unsigned int *grown = realloc(s->rights, ncap * sizeof(unsigned int));
            if (grown == NULL) {
                rc = SDR_NOBUFFER;
            } else {
                s->rights = grown;
                s->caprights = ncap;
            }
        }
        if (rc == SDR_OK) {
            s->rights[s->nrights++] = uiKeyIndex;
            access_rights_add(1);
        }
    }
    pthread_mutex_unlock(&s->lock);
out:
    OPENSSL_cleanse(digest, sizeof(digest));
    session_release(s);
    return rc;
}

SDF_API int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex)
{
    session *s;
    int rc, released = 0;
    size_t i;
    MOCK_ENTER(FN_ReleasePrivateKeyAccessRight);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        rc = SDR_INARGERR;
    } else {
        for (i = 0; i < s->nrights; i++)
            if (s->rights[i] == uiKeyIndex) {
                s->rights[i] = s->rights[--s->nrights];
                access_rights_add(-1);
                released = 1;
                break;
            }
    }
    pthread_mutex_unlock(&s->lock);
    if (rc == SDR_OK && !released && keystore_find(s->ks, uiKeyIndex) == NULL)
        rc = SDR_KEYNOTEXIST;
    session_release(s);
    return rc;
}

/* ---- key export ---------------------------------------------------------- */

static int export_public(enum fn_id fn, void *hSessionHandle, unsigned int uiKeyIndex, ECCrefPublicKey *pk)
{
    session *s;
    const key_slot *slot;
    int rc;
    MOCK_ENTER(fn);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pk == NULL)
        rc = SDR_OUTARGERR;
    else if ((rc = find_slot(s, uiKeyIndex, fn == FN_ExportEncPublicKey_ECC, &slot)) == SDR_OK)
        public_key_out(pk, &slot->key);
    session_release(s);
    return rc;
}

SDF_API int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                        ECCrefPublicKey *pucPublicKey)
{
    return export_public(FN_ExportSignPublicKey_ECC, hSessionHandle, uiKeyIndex, pucPublicKey);
}

SDF_API int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                       ECCrefPublicKey *pucPublicKey)
{
    return export_public(FN_ExportEncPublicKey_ECC, hSessionHandle, uiKeyIndex, pucPublicKey);
}

/* ---- signatures ---------------------------------------------------------- */

static int internal_sign(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiISKIndex,
                         const unsigned char *pucData, unsigned int uiDataLength, ECCSignature *pucSignature)
{
    session *s;
    const key_slot *slot;
    unsigned char r[32], sv[32];
    int rc, allowed;
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM2_1) {
        rc = SDR_ALGNOTSUPPORT;
        goto out;
    }
    if (pucData == NULL || uiDataLength != 32) {
        rc = SDR_INARGERR;
        goto out;
    }
    if (pucSignature == NULL) {
        rc = SDR_OUTARGERR;
        goto out;
    }
    if ((rc = find_slot(s, uiISKIndex, 0, &slot)) != SDR_OK)
        goto out;
    pthread_mutex_lock(&s->lock);
    allowed = !s->closed && has_right(s, uiISKIndex);
    rc = s->closed ? SDR_INARGERR : SDR_PARDENY;
    pthread_mutex_unlock(&s->lock);
    if (!allowed)
        goto out;
    /* the key is immutable while the session holds its device: no lock needed */
    if (hooks_wrong_signatures()) {
        /* a well-formed signature of another digest, as a faulty card would return */
        unsigned char other[32];
        memcpy(other, pucData, 32);
        other[31] ^= 1;
        rc = sm2_sign(&slot->key, other, r, sv);
    } else {
        rc = sm2_sign(&slot->key, pucData, r, sv);
    }
    if (rc == SDR_OK) {
        memset(pucSignature, 0, sizeof(*pucSignature));
        field_out(pucSignature->r, r);
        field_out(pucSignature->s, sv);
    }
out:
    session_release(s);
    return rc;
}

#ifdef MOCK_SIGN_WITH_ALGID
SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiISKIndex,
                                 unsigned char *pucData, unsigned int uiDataLength, ECCSignature *pucSignature)
{
    MOCK_ENTER(FN_InternalSign_ECC);
    return internal_sign(hSessionHandle, uiAlgID, uiISKIndex, pucData, uiDataLength, pucSignature);
}
#else
SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned char *pucData,
                                 unsigned int uiDataLength, ECCSignature *pucSignature)
{
    MOCK_ENTER(FN_InternalSign_ECC);
    return internal_sign(hSessionHandle, SGD_SM2_1, uiISKIndex, pucData, uiDataLength, pucSignature);
}
#endif

static int verify_common(const unsigned char x[32], const unsigned char y[32], const unsigned char *data,
                         unsigned int len, const ECCSignature *sig)
{
    unsigned char r[32], s[32];
    if (data == NULL || len != 32 || sig == NULL || signature_in(sig, r, s) != SDR_OK)
        return SDR_INARGERR;
    return sm2_verify(x, y, data, r, s);
}

SDF_API int SDF_InternalVerify_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned char *pucData,
                                   unsigned int uiDataLength, ECCSignature *pucSignature)
{
    session *s;
    const key_slot *slot;
    int rc;
    MOCK_ENTER(FN_InternalVerify_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if ((rc = find_slot(s, uiIPKIndex, 0, &slot)) == SDR_OK)
        rc = verify_common(slot->key.x, slot->key.y, pucData, uiDataLength, pucSignature);
    session_release(s);
    return rc;
}

SDF_API int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
                                   unsigned char *pucDataInput, unsigned int uiInputLength,
                                   ECCSignature *pucSignature)
{
    session *s;
    unsigned char x[32], y[32];
    int rc;
    MOCK_ENTER(FN_ExternalVerify_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM2_1)
        rc = SDR_ALGNOTSUPPORT;
    else if (pucPublicKey == NULL)
        rc = SDR_INARGERR;
    else if ((rc = public_key_in(pucPublicKey, x, y)) == SDR_OK)
        rc = verify_common(x, y, pucDataInput, uiInputLength, pucSignature);
    session_release(s);
    return rc;
}

/* ---- hash ---------------------------------------------------------------- */

SDF_API int SDF_HashInit(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
                         unsigned char *pucID, unsigned int uiIDLength)
{
    session *s;
    unsigned char x[32], y[32], z[32];
    int rc, with_z = 0;
    MOCK_ENTER(FN_HashInit);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM3) {
        rc = SDR_ALGNOTSUPPORT;
        goto out;
    }
    if (pucPublicKey != NULL) {
        if (pucID == NULL || uiIDLength > 8191) {
            rc = SDR_INARGERR;
            goto out;
        }
        if ((rc = public_key_in(pucPublicKey, x, y)) != SDR_OK)
            goto out;
        if (sm2_z(pucID, uiIDLength, x, y, z) != 0) {
            rc = SDR_UNKNOWERR;
            goto out;
        }
        with_z = 1;
    }
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        rc = SDR_INARGERR;
    } else {
        s->hash_active = 0;
        if (s->hash == NULL)
            s->hash = EVP_MD_CTX_new();
        if (s->hash == NULL)
            rc = SDR_NOBUFFER;
        else if (!EVP_DigestInit_ex(s->hash, sm3_md(), NULL) || (with_z && !EVP_DigestUpdate(s->hash, z, 32)))
            rc = SDR_UNKNOWERR;
        else
            s->hash_active = 1;
    }
    pthread_mutex_unlock(&s->lock);
out:
    session_release(s);
    return rc;
}

SDF_API int SDF_HashUpdate(void *hSessionHandle, unsigned char *pucData, unsigned int uiDataLength)
{
    session *s;
    int rc;
    MOCK_ENTER(FN_HashUpdate);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if ((pucData == NULL && uiDataLength > 0) || (MOCK_IS_STRICT && uiDataLength == 0)) {
        session_release(s);
        return SDR_INARGERR;
    }
    pthread_mutex_lock(&s->lock);
    if (s->closed)
        rc = SDR_INARGERR;
    else if (!s->hash_active)
        rc = SDR_STEPERR;
    else if (uiDataLength > 0 && !EVP_DigestUpdate(s->hash, pucData, uiDataLength))
        rc = SDR_UNKNOWERR;
    pthread_mutex_unlock(&s->lock);
    session_release(s);
    return rc;
}

SDF_API int SDF_HashFinal(void *hSessionHandle, unsigned char *pucHash, unsigned int *puiHashLength)
{
    session *s;
    unsigned int len = 0;
    int rc;
    MOCK_ENTER(FN_HashFinal);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pucHash == NULL || puiHashLength == NULL) {
        session_release(s);
        return SDR_OUTARGERR;
    }
    pthread_mutex_lock(&s->lock);
    if (s->closed) {
        rc = SDR_INARGERR;
    } else if (!s->hash_active) {
        rc = SDR_STEPERR;
    } else if (!capacity_ok(puiHashLength, 32)) {
        rc = SDR_NOBUFFER; /* the hash stays open */
    } else {
        s->hash_active = 0;
        if (!EVP_DigestFinal_ex(s->hash, pucHash, &len) || len != 32)
            rc = SDR_UNKNOWERR;
        else
            *puiHashLength = 32;
    }
    pthread_mutex_unlock(&s->lock);
    session_release(s);
    return rc;
}
