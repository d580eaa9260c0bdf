/* External key pairs, external signatures and SM2 encryption of the mock card. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

/* The C field of an ECCCipher: L bytes from offsetof(ECCCipher, C), past the declared C[1]. */
static unsigned char *cipher_body(ECCCipher *c)
{
    return (unsigned char *)c + offsetof(ECCCipher, C);
}

static int private_key_in(const ECCrefPrivateKey *sk, sm2_key *key)
{
    unsigned char d[32];
    int rc = SDR_INARGERR;
    if ((sk->bits == 256 || sk->bits == 0) && field_in(sk->K, d) == 0 && sm2_key_from_private(d, key) == 0)
        rc = SDR_OK;
    OPENSSL_cleanse(d, sizeof(d));
    return rc;
}

SDF_API int SDF_GenerateKeyPair_ECC(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKeyBits,
                                    ECCrefPublicKey *pucPublicKey, ECCrefPrivateKey *pucPrivateKey)
{
    session *s;
    sm2_key key;
    int rc;
    MOCK_ENTER(FN_GenerateKeyPair_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    /* strict: SGD_SM2_1 or SGD_SM2_3 only */
    if (uiAlgID != SGD_SM2_1 && uiAlgID != SGD_SM2_3 && (MOCK_IS_STRICT || (uiAlgID != SGD_SM2 && uiAlgID != SGD_SM2_2)))
        rc = SDR_ALGNOTSUPPORT;
    else if (uiKeyBits != 256)
        rc = SDR_INARGERR;
    else if (pucPublicKey == NULL || pucPrivateKey == NULL)
        rc = SDR_OUTARGERR;
    else if (sm2_generate(&key) != 0)
        rc = SDR_RANDERR;
    else {
        public_key_out(pucPublicKey, &key);
        memset(pucPrivateKey, 0, sizeof(*pucPrivateKey));
        pucPrivateKey->bits = 256;
        field_out(pucPrivateKey->K, key.d);
    }
    OPENSSL_cleanse(&key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_ExternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPrivateKey *pucPrivateKey,
                                 unsigned char *pucData, unsigned int uiDataLength, ECCSignature *pucSignature)
{
    session *s;
    sm2_key key;
    unsigned char r[32], sv[32];
    int rc;
    MOCK_ENTER(FN_ExternalSign_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM2_1)
        rc = SDR_ALGNOTSUPPORT;
    else if (pucPrivateKey == NULL || pucData == NULL || uiDataLength != 32)
        rc = SDR_INARGERR;
    else if (pucSignature == NULL)
        rc = SDR_OUTARGERR;
    else if ((rc = private_key_in(pucPrivateKey, &key)) == SDR_OK &&
             (rc = sm2_sign(&key, pucData, r, sv)) == SDR_OK) {
        memset(pucSignature, 0, sizeof(*pucSignature));
        field_out(pucSignature->r, r);
        field_out(pucSignature->s, sv);
    }
    OPENSSL_cleanse(&key, sizeof(key));
    session_release(s);
    return rc;
}

static int encrypt_to(const unsigned char x[32], const unsigned char y[32], unsigned int uiAlgID,
                      const unsigned char *data, unsigned int len, ECCCipher *out)
{
    unsigned char c1x[32], c1y[32];
    if (uiAlgID != SGD_SM2_3)
        return SDR_ALGNOTSUPPORT;
    if (data == NULL || len == 0 || len > MOCK_BUFFER_SIZE)
        return SDR_INARGERR;
    if (out == NULL)
        return SDR_OUTARGERR;
    memset(out, 0, MOCK_CIPHER_CLEAR); /* strict: the whole fixed 419-byte struct */
    {
        int rc = sm2_encrypt(x, y, data, len, c1x, c1y, out->M, cipher_body(out));
        if (rc != SDR_OK)
            return rc;
    }
    field_out(out->x, c1x);
    field_out(out->y, c1y);
    out->L = len;
    return SDR_OK;
}

static int decrypt_with(const sm2_key *key, unsigned int uiAlgID, ECCCipher *in, unsigned char *out,
                        unsigned int *outlen)
{
    unsigned char c1x[32], c1y[32];
    int rc;
    if (uiAlgID != SGD_SM2_3)
        return SDR_ALGNOTSUPPORT;
    if (in == NULL || in->L == 0 || in->L > MOCK_BUFFER_SIZE || field_in(in->x, c1x) != 0 ||
        field_in(in->y, c1y) != 0)
        return SDR_INARGERR;
    if (out == NULL || outlen == NULL)
        return SDR_OUTARGERR;
    if (!capacity_ok(outlen, in->L))
        return SDR_NOBUFFER;
    if ((rc = sm2_decrypt(key->d, c1x, c1y, in->M, cipher_body(in), in->L, out)) == SDR_OK)
        *outlen = in->L;
    return rc;
}

SDF_API int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
                                    unsigned char *pucData, unsigned int uiDataLength, ECCCipher *pucEncData)
{
    session *s;
    unsigned char x[32], y[32];
    int rc;
    MOCK_ENTER(FN_ExternalEncrypt_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pucPublicKey == NULL)
        rc = SDR_INARGERR;
    else if ((rc = public_key_in(pucPublicKey, x, y)) == SDR_OK)
        rc = encrypt_to(x, y, uiAlgID, pucData, uiDataLength, pucEncData);
    session_release(s);
    return rc;
}

SDF_API int SDF_ExternalDecrypt_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPrivateKey *pucPrivateKey,
                                    ECCCipher *pucEncData, unsigned char *pucData, unsigned int *puiDataLength)
{
    session *s;
    sm2_key key;
    int rc;
    MOCK_ENTER(FN_ExternalDecrypt_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pucPrivateKey == NULL)
        rc = SDR_INARGERR;
    else if ((rc = private_key_in(pucPrivateKey, &key)) == SDR_OK)
        rc = decrypt_with(&key, uiAlgID, pucEncData, pucData, puiDataLength);
    OPENSSL_cleanse(&key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_InternalEncrypt_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiAlgID,
                                    unsigned char *pucData, unsigned int uiDataLength, ECCCipher *pucEncData)
{
    session *s;
    const key_slot *slot;
    int rc;
    MOCK_ENTER(FN_InternalEncrypt_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if ((rc = find_slot(s, uiIPKIndex, 1, &slot)) == SDR_OK)
        rc = encrypt_to(slot->key.x, slot->key.y, uiAlgID, pucData, uiDataLength, pucEncData);
    session_release(s);
    return rc;
}

SDF_API int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiAlgID,
                                    ECCCipher *pucEncData, unsigned char *pucData, unsigned int *puiDataLength)
{
    session *s;
    const key_slot *slot;
    int rc, allowed;
    MOCK_ENTER(FN_InternalDecrypt_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if ((rc = find_slot(s, uiISKIndex, 1, &slot)) == SDR_OK) {
        pthread_mutex_lock(&s->lock);
        allowed = !s->closed && has_right(s, uiISKIndex);
        rc = s->closed ? SDR_INARGERR : SDR_PARDENY;
        pthread_mutex_unlock(&s->lock);
        if (allowed)
            rc = decrypt_with(&slot->key, uiAlgID, pucEncData, pucData, puiDataLength);
    }
    session_release(s);
    return rc;
}

/* ---- session keys protected by SM2 ---------------------------------------- */

static int new_session_key(unsigned int bits, unsigned char key[16])
{
    if (bits != 128)
        return SDR_INARGERR;
    return RAND_priv_bytes(key, 16) == 1 ? SDR_OK : SDR_RANDERR;
}

SDF_API int SDF_GenerateKeyWithIPK_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiKeyBits,
                                       ECCCipher *pucKey, void **phKeyHandle)
{
    session *s;
    const key_slot *slot;
    unsigned char key[16];
    int rc;
    MOCK_ENTER(FN_GenerateKeyWithIPK_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (phKeyHandle == NULL)
        rc = SDR_OUTARGERR;
    else if ((rc = find_slot(s, uiIPKIndex, 1, &slot)) == SDR_OK && (rc = new_session_key(uiKeyBits, key)) == SDR_OK &&
             (rc = encrypt_to(slot->key.x, slot->key.y, SGD_SM2_3, key, 16, pucKey)) == SDR_OK)
        rc = session_key_add(s, key, phKeyHandle);
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_GenerateKeyWithEPK_ECC(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
                                       ECCrefPublicKey *pucPublicKey, ECCCipher *pucKey, void **phKeyHandle)
{
    session *s;
    unsigned char x[32], y[32], key[16];
    int rc;
    MOCK_ENTER(FN_GenerateKeyWithEPK_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (pucPublicKey == NULL)
        rc = SDR_INARGERR;
    else if (phKeyHandle == NULL)
        rc = SDR_OUTARGERR;
    else if ((rc = public_key_in(pucPublicKey, x, y)) == SDR_OK && (rc = new_session_key(uiKeyBits, key)) == SDR_OK &&
             (rc = encrypt_to(x, y, uiAlgID, key, 16, pucKey)) == SDR_OK)
        rc = session_key_add(s, key, phKeyHandle);
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_ImportKeyWithISK_ECC(void *hSessionHandle, unsigned int uiISKIndex, ECCCipher *pucKey,
                                     void **phKeyHandle)
{
    session *s;
    const key_slot *slot;
    unsigned char key[16];
    unsigned int len = sizeof(key);
    int rc, allowed;
    MOCK_ENTER(FN_ImportKeyWithISK_ECC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (phKeyHandle == NULL)
        rc = SDR_OUTARGERR;
    else if (pucKey == NULL || pucKey->L != 16)
        rc = SDR_INARGERR;
    else if ((rc = find_slot(s, uiISKIndex, 1, &slot)) == SDR_OK) {
        pthread_mutex_lock(&s->lock);
        allowed = !s->closed && has_right(s, uiISKIndex);
        rc = s->closed ? SDR_INARGERR : SDR_PARDENY;
        pthread_mutex_unlock(&s->lock);
        if (allowed && (rc = decrypt_with(&slot->key, SGD_SM2_3, pucKey, key, &len)) == SDR_OK)
            rc = session_key_add(s, key, phKeyHandle);
    }
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}
