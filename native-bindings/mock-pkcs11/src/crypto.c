/* Keys and signatures with OpenSSL 3: SM2 over a digest e (no second hash), SM3(Z || M) with
 * the default ID, ECDSA over P-256; r || s and DER encodings. */
#define _POSIX_C_SOURCE 200809L
#include "p11.h"

#include <pthread.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

static pthread_once_t c_once = PTHREAD_ONCE_INIT;
static int c_ready;
static EVP_MD *c_sm3, *c_sha256;
static unsigned char c_sm2_abg[128]; /* a || b || xG || yG of the SM2 curve, for Z */

static void c_init(void)
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
    c_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    c_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (g != NULL && p && a && b && x && y && c_sm3 && c_sha256 && EC_GROUP_get_curve(g, p, a, b, NULL) == 1 &&
        EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, NULL) == 1 &&
        BN_bn2binpad(a, c_sm2_abg, 32) == 32 && BN_bn2binpad(b, c_sm2_abg + 32, 32) == 32 &&
        BN_bn2binpad(x, c_sm2_abg + 64, 32) == 32 && BN_bn2binpad(y, c_sm2_abg + 96, 32) == 32)
        c_ready = 1;
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_free(x);
    BN_free(y);
    EC_GROUP_free(g);
}

static int ready(void)
{
    pthread_once(&c_once, c_init);
    return c_ready;
}

int crypto_key(key_def *k, const unsigned char d[32])
{
    int nid = k->curve == CURVE_SM2 ? NID_sm2 : NID_X9_62_prime256v1;
    EC_GROUP *g = NULL;
    EC_POINT *pt = NULL;
    BIGNUM *bd = NULL, *limit = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *pkey = NULL;
    int rc = -2;

    if (!ready())
        return -2;
    g = EC_GROUP_new_by_curve_name(nid);
    bd = BN_bin2bn(d, 32, NULL);
    limit = BN_new();
    if (g == NULL || bd == NULL || limit == NULL || BN_copy(limit, EC_GROUP_get0_order(g)) == NULL)
        goto out;
    /* d in [1, n - 1]; SM2 also needs 1 + d invertible mod n, so d <= n - 2 */
    if (k->curve == CURVE_SM2 && !BN_sub_word(limit, 1))
        goto out;
    if (BN_is_zero(bd) || BN_cmp(bd, limit) >= 0) {
        rc = -1;
        goto out;
    }
    pt = EC_POINT_new(g);
    if (pt == NULL || EC_POINT_mul(g, pt, bd, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(g, pt, POINT_CONVERSION_UNCOMPRESSED, k->point, sizeof(k->point), NULL) != 65)
        goto out;
    bld = OSSL_PARAM_BLD_new();
    if (bld == NULL ||
        OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
                                        k->curve == CURVE_SM2 ? "SM2" : "prime256v1", 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, bd) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, k->point, sizeof(k->point)) != 1)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    ctx = EVP_PKEY_CTX_new_from_name(NULL, k->curve == CURVE_SM2 ? "SM2" : "EC", NULL);
    if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
        goto out;
    k->pkey = pkey;
    pkey = NULL;
    rc = 0;
out:
    EVP_PKEY_free(pkey);
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(pt);
    BN_clear_free(bd);
    BN_free(limit);
    EC_GROUP_free(g);
    return rc;
}

void crypto_key_free(key_def *k)
{
    EVP_PKEY_free(k->pkey);
    k->pkey = NULL;
}

/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) with the default ID */
static int sm2_z(const unsigned char point[65], unsigned char z[32])
{
    static const unsigned char entl[2] = {0x00, 0x80}; /* 16 bytes = 128 bits */
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned int len = 0;
    int ok = md != NULL && EVP_DigestInit_ex(md, c_sm3, NULL) == 1 && EVP_DigestUpdate(md, entl, 2) == 1 &&
             EVP_DigestUpdate(md, MOCKP11_DEFAULT_ID, 16) == 1 &&
             EVP_DigestUpdate(md, c_sm2_abg, sizeof(c_sm2_abg)) == 1 &&
             EVP_DigestUpdate(md, point + 1, 64) == 1 && EVP_DigestFinal_ex(md, z, &len) == 1 && len == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int crypto_to_be_signed(const key_def *k, const mech_def *m, const unsigned char *data, size_t len,
                        unsigned char *e, size_t *elen)
{
    unsigned char z[32];
    unsigned int outlen = 0;
    EVP_MD_CTX *md;
    int ok;
    if (m->input == IN_DIGEST) {
        if (len > 64)
            return -1;
        memcpy(e, data, len);
        *elen = len;
        return 0;
    }
    if (!ready())
        return -1;
    md = EVP_MD_CTX_new();
    if (md == NULL)
        return -1;
    if (m->curve == CURVE_SM2)
        ok = sm2_z(k->point, z) == 0 && EVP_DigestInit_ex(md, c_sm3, NULL) == 1 && EVP_DigestUpdate(md, z, 32) == 1;
    else
        ok = EVP_DigestInit_ex(md, c_sha256, NULL) == 1;
    ok = ok && (len == 0 || EVP_DigestUpdate(md, data, len) == 1) && EVP_DigestFinal_ex(md, e, &outlen) == 1 &&
         outlen == 32;
    EVP_MD_CTX_free(md);
    *elen = 32;
    return ok ? 0 : -1;
}

int crypto_sign(const key_def *k, const mech_def *m, const unsigned char *e, size_t elen, unsigned char *sig,
                size_t *siglen)
{
    unsigned char der[P11_MAX_SIG + 8], *p;
    const unsigned char *q = der;
    size_t derlen = sizeof(der);
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, (EVP_PKEY *)k->pkey, NULL);
    ECDSA_SIG *es = NULL;
    const BIGNUM *r, *s;
    int rc = -1, len;

    if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1 || EVP_PKEY_sign(ctx, der, &derlen, e, elen) != 1)
        goto out;
    es = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
    if (es == NULL)
        goto out;
    ECDSA_SIG_get0(es, &r, &s);
    if (m->output == OUT_RS) {
        if (BN_bn2binpad(r, sig, 32) != 32 || BN_bn2binpad(s, sig + 32, 32) != 32)
            goto out;
        *siglen = 64;
    } else {
        len = i2d_ECDSA_SIG(es, NULL);
        if (len <= 0 || (size_t)len > P11_MAX_SIG)
            goto out;
        p = sig;
        if (i2d_ECDSA_SIG(es, &p) != len)
            goto out;
        *siglen = (size_t)len;
    }
    rc = 0;
out:
    ECDSA_SIG_free(es);
    EVP_PKEY_CTX_free(ctx);
    OPENSSL_cleanse(der, sizeof(der));
    return rc;
}
