/* SM4 through session keys: KEK-wrapped keys, ECB/CBC encryption and CBC-MAC. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* SM4 over whole blocks, no padding: 0 ok. iv NULL for ECB. */
static int sm4_run(int enc, const unsigned char key[16], const unsigned char *iv, const unsigned char *in,
                   unsigned int len, unsigned char *out)
{
    EVP_CIPHER *cipher = EVP_CIPHER_fetch(NULL, iv ? "SM4-CBC" : "SM4-ECB", NULL);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, tail = 0, ok;
    ok = cipher && ctx && EVP_CipherInit_ex(ctx, cipher, NULL, key, iv, enc) && EVP_CIPHER_CTX_set_padding(ctx, 0) &&
         EVP_CipherUpdate(ctx, out, &n, in, (int)len) && EVP_CipherFinal_ex(ctx, out + n, &tail) &&
         (unsigned int)(n + tail) == len;
    EVP_CIPHER_CTX_free(ctx);
    EVP_CIPHER_free(cipher);
    return ok ? 0 : -1;
}

static int kek_of(const session *s, unsigned int index, unsigned char kek[16])
{
    const key_entry *e = keystore_find(s->ks, index);
    if (e == NULL || e->kek.state == SLOT_ABSENT)
        return SDR_KEYNOTEXIST;
    if (e->kek.state != SLOT_OK)
        return SDR_KEYERR;
    memcpy(kek, e->kek.kek, 16);
    return SDR_OK;
}

/* Size of a key wrapped under a KEK with uiAlgID, 0 when that algorithm is not taken:
 *     SGD_SM4_ECB  SM4-ECB(kek, key), 16 bytes (not strict)
 *     SGD_SM4_CBC  IV || SM4-CBC(kek, IV, key), 32 bytes, no padding */
static unsigned int kek_blob_size(unsigned int uiAlgID)
{
    if (uiAlgID == SGD_SM4_CBC)
        return 32;
    if (uiAlgID == SGD_SM4_ECB && !MOCK_IS_STRICT)
        return 16;
    return 0;
}

/* blob (kek_blob_size bytes) = key wrapped under kek: SDR_OK, SDR_RANDERR or SDR_SYMOPERR. */
static int kek_wrap(const unsigned char kek[16], unsigned int size, const unsigned char key[16], unsigned char *blob)
{
    if (size == 32 && RAND_bytes(blob, 16) != 1)
        return SDR_RANDERR;
    if (size == 32 ? sm4_run(1, kek, blob, key, 16, blob + 16) : sm4_run(1, kek, NULL, key, 16, blob))
        return SDR_SYMOPERR;
    return SDR_OK;
}

static int kek_unwrap(const unsigned char kek[16], unsigned int size, const unsigned char *blob, unsigned char key[16])
{
    if (size == 32 ? sm4_run(0, kek, blob, blob + 16, 16, key) : sm4_run(0, kek, NULL, blob, 16, key))
        return SDR_SYMOPERR;
    return SDR_OK;
}

SDF_API int SDF_GenerateKeyWithKEK(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
                                   unsigned int uiKEKIndex, unsigned char *pucKey, unsigned int *puiKeyLength,
                                   void **phKeyHandle)
{
    session *s;
    unsigned char kek[16], key[16];
    unsigned int size = kek_blob_size(uiAlgID);
    int rc;
    MOCK_ENTER(FN_GenerateKeyWithKEK);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (size == 0)
        rc = SDR_ALGNOTSUPPORT;
    else if (uiKeyBits != 128)
        rc = SDR_INARGERR;
    else if (pucKey == NULL || puiKeyLength == NULL || phKeyHandle == NULL)
        rc = SDR_OUTARGERR;
    else if (!capacity_ok(puiKeyLength, size))
        rc = SDR_NOBUFFER;
    else if ((rc = kek_of(s, uiKEKIndex, kek)) == SDR_OK) {
        if (RAND_priv_bytes(key, 16) != 1)
            rc = SDR_RANDERR;
        else if ((rc = kek_wrap(kek, size, key, pucKey)) == SDR_OK &&
                 (rc = session_key_add(s, key, phKeyHandle)) == SDR_OK)
            *puiKeyLength = size;
    }
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_ImportKeyWithKEK(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKEKIndex,
                                 unsigned char *pucKey, unsigned int uiKeyLength, void **phKeyHandle)
{
    session *s;
    unsigned char kek[16], key[16];
    unsigned int size = kek_blob_size(uiAlgID);
    int rc;
    MOCK_ENTER(FN_ImportKeyWithKEK);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (size == 0)
        rc = SDR_ALGNOTSUPPORT;
    else if (pucKey == NULL || uiKeyLength != size)
        rc = SDR_INARGERR;
    else if (phKeyHandle == NULL)
        rc = SDR_OUTARGERR;
    else if ((rc = kek_of(s, uiKEKIndex, kek)) == SDR_OK && (rc = kek_unwrap(kek, size, pucKey, key)) == SDR_OK)
        rc = session_key_add(s, key, phKeyHandle);
    OPENSSL_cleanse(kek, sizeof(kek));
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}

/* Encrypt / Decrypt / MAC share the checks (`need`: the bytes the call writes to out): SDR_OK with
 * the key, or the error. */
static int sym_begin(session *s, void *hKey, const unsigned char *data, unsigned int len, const void *out,
                     const unsigned int *outlen, unsigned int need, unsigned char key[16])
{
    if (data == NULL || len == 0 || len % 16 != 0 || len > MOCK_BUFFER_SIZE)
        return SDR_INARGERR;
    if (out == NULL || outlen == NULL)
        return SDR_OUTARGERR;
    if (!capacity_ok(outlen, need))
        return SDR_NOBUFFER;
    return session_key_get(s, hKey, key);
}

static int sym_crypt(enum fn_id fn, int enc, void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID,
                     unsigned char *pucIV, unsigned char *in, unsigned int len, unsigned char *out,
                     unsigned int *outlen)
{
    session *s;
    unsigned char key[16];
    int rc, cbc = uiAlgID == SGD_SM4_CBC;
    MOCK_ENTER(fn);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM4_ECB && !cbc)
        rc = SDR_ALGNOTSUPPORT;
    else if (cbc && pucIV == NULL)
        rc = SDR_INARGERR;
    else if ((rc = sym_begin(s, hKeyHandle, in, len, out, outlen, len, key)) == SDR_OK) {
        unsigned char next_iv[16];
        /* CBC leaves the last ciphertext block in the IV buffer, so a long input can go in pieces */
        if (cbc)
            memcpy(next_iv, in + len - 16, 16); /* decrypting in place would overwrite it */
        if (sm4_run(enc, key, cbc ? pucIV : NULL, in, len, out) != 0)
            rc = SDR_SYMOPERR;
        else {
            *outlen = len;
            if (cbc)
                memcpy(pucIV, enc ? out + len - 16 : next_iv, 16);
        }
    }
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}

SDF_API int SDF_Encrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                        unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucEncData,
                        unsigned int *puiEncDataLength)
{
    return sym_crypt(FN_Encrypt, 1, hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucData, uiDataLength, pucEncData,
                     puiEncDataLength);
}

SDF_API int SDF_Decrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                        unsigned char *pucEncData, unsigned int uiEncDataLength, unsigned char *pucData,
                        unsigned int *puiDataLength)
{
    return sym_crypt(FN_Decrypt, 0, hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucEncData, uiEncDataLength, pucData,
                     puiDataLength);
}

SDF_API int SDF_CalculateMAC(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                             unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucMAC,
                             unsigned int *puiMACLength)
{
    session *s;
    unsigned char key[16], iv[16], block[16];
    unsigned int i;
    int rc;
    MOCK_ENTER(FN_CalculateMAC);
    if ((rc = session_acquire(hSessionHandle, &s)) != SDR_OK)
        return rc;
    if (uiAlgID != SGD_SM4_MAC)
        rc = SDR_ALGNOTSUPPORT;
    else if ((rc = sym_begin(s, hKeyHandle, pucData, uiDataLength, pucMAC, puiMACLength, 16, key)) == SDR_OK) {
        /* CBC-MAC: the last block of SM4-CBC, IV zero when none is given */
        if (pucIV)
            memcpy(iv, pucIV, 16);
        else
            memset(iv, 0, 16);
        for (i = 0; i < uiDataLength && rc == SDR_OK; i += 16) {
            int j;
            for (j = 0; j < 16; j++)
                block[j] = iv[j] ^ pucData[i + j];
            if (sm4_run(1, key, NULL, block, 16, iv) != 0)
                rc = SDR_SYMOPERR;
        }
        if (rc == SDR_OK) {
            memcpy(pucMAC, iv, 16);
            *puiMACLength = 16;
            if (pucIV)
                memcpy(pucIV, iv, 16);
        }
    }
    OPENSSL_cleanse(key, sizeof(key));
    session_release(s);
    return rc;
}
