/* SM2 public-key encryption (GB/T 32918.4): C1 = kG, C3 = SM3(x2 || M || y2), C2 = M xor KDF(x2 || y2). */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <string.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

/* out ^= KDF(x2 || y2, len); returns 1 if the key stream was all zero (the standard retries). */
static int kdf_xor(const unsigned char x2[32], const unsigned char y2[32], unsigned char *out, size_t len,
                   int *failed)
{
    unsigned char block[32], ct[4];
    unsigned int counter = 1, blen;
    size_t done = 0, i;
    int all_zero = 1;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    *failed = md == NULL;
    while (!*failed && done < len) {
        ct[0] = (unsigned char)(counter >> 24);
        ct[1] = (unsigned char)(counter >> 16);
        ct[2] = (unsigned char)(counter >> 8);
        ct[3] = (unsigned char)counter;
        if (!EVP_DigestInit_ex(md, sm3_md(), NULL) || !EVP_DigestUpdate(md, x2, 32) ||
            !EVP_DigestUpdate(md, y2, 32) || !EVP_DigestUpdate(md, ct, 4) || !EVP_DigestFinal_ex(md, block, &blen)) {
            *failed = 1;
            break;
        }
        for (i = 0; i < 32 && done < len; i++, done++) {
            if (block[i] != 0)
                all_zero = 0;
            out[done] ^= block[i];
        }
        counter++;
    }
    OPENSSL_cleanse(block, sizeof(block));
    EVP_MD_CTX_free(md);
    return all_zero;
}

static int c3_of(const unsigned char x2[32], const unsigned char *m, size_t len, const unsigned char y2[32],
                 unsigned char c3[32])
{
    unsigned int n;
    int ok;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    ok = md != NULL && EVP_DigestInit_ex(md, sm3_md(), NULL) && EVP_DigestUpdate(md, x2, 32) &&
         EVP_DigestUpdate(md, m, len) && EVP_DigestUpdate(md, y2, 32) && EVP_DigestFinal_ex(md, c3, &n);
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int sm2_encrypt(const unsigned char x[32], const unsigned char y[32], const unsigned char *m, size_t len,
                unsigned char c1x[32], unsigned char c1y[32], unsigned char c3[32], unsigned char *c2)
{
    unsigned char k[32], x2[32], y2[32];
    int rc = SDR_PKOPERR, tries, failed;
    if (!sm2_point_ok(x, y))
        return SDR_INARGERR;
    for (tries = 0; tries < 16; tries++) {
        if (RAND_priv_bytes(k, 32) != 1) {
            rc = SDR_RANDERR;
            break;
        }
        /* k = 0 mod n gives the point at infinity: draw again */
        if (sm2_mul(k, NULL, NULL, c1x, c1y) != 0 || sm2_mul(k, x, y, x2, y2) != 0)
            continue;
        memcpy(c2, m, len);
        if (kdf_xor(x2, y2, c2, len, &failed) || failed)
            continue;
        rc = c3_of(x2, m, len, y2, c3) == 0 ? SDR_OK : SDR_PKOPERR;
        break;
    }
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(x2, sizeof(x2));
    OPENSSL_cleanse(y2, sizeof(y2));
    return rc;
}

int sm2_decrypt(const unsigned char d[32], const unsigned char c1x[32], const unsigned char c1y[32],
                const unsigned char c3[32], const unsigned char *c2, size_t len, unsigned char *m)
{
    unsigned char x2[32], y2[32], check[32];
    int rc, failed, mul = sm2_mul(d, c1x, c1y, x2, y2);
    if (mul != 0)
        return mul == -1 ? SDR_ENCDATAERR : SDR_SKOPERR;
    memcpy(m, c2, len);
    if (kdf_xor(x2, y2, m, len, &failed) || failed)
        rc = failed ? SDR_SKOPERR : SDR_ENCDATAERR;
    else if (c3_of(x2, m, len, y2, check) != 0)
        rc = SDR_SKOPERR;
    else
        rc = CRYPTO_memcmp(check, c3, 32) == 0 ? SDR_OK : SDR_ENCDATAERR;
    if (rc != SDR_OK)
        OPENSSL_cleanse(m, len);
    OPENSSL_cleanse(x2, sizeof(x2));
    OPENSSL_cleanse(y2, sizeof(y2));
    return rc;
}

int sm2_generate(sm2_key *out)
{
    unsigned char d[32];
    int tries, rc = -1;
    for (tries = 0; tries < 16 && rc != 0; tries++) {
        if (RAND_priv_bytes(d, 32) != 1)
            break;
        rc = sm2_key_from_private(d, out);
    }
    OPENSSL_cleanse(d, sizeof(d));
    return rc;
}
