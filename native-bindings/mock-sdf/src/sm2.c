/* SM2 signatures and SM3 hashing on OpenSSL 3 BIGNUM / EC_POINT primitives; [k]G comes from
 * the fixed-base table of sm2base.c. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <string.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static EC_GROUP *g_group;             /* SM2 curve, read-only after init */
static BIGNUM *g_order;               /* n */
static BIGNUM *g_prime;               /* p */
static EVP_MD *g_sm3;
static unsigned char g_curve_z[128];  /* a || b || xG || yG for Z */
static int g_ready;

static void sm2_init_once(void)
{
    BN_CTX *ctx = BN_CTX_new();
    BIGNUM *a = BN_new(), *b = BN_new(), *gx = BN_new(), *gy = BN_new();
    g_group = EC_GROUP_new_by_curve_name(NID_sm2);
    g_sm3 = EVP_MD_fetch(NULL, "SM3", NULL);
    g_order = BN_new();
    g_prime = BN_new();
    if (ctx && a && b && gx && gy && g_group && g_sm3 && g_order && g_prime &&
        EC_GROUP_get_curve(g_group, g_prime, a, b, ctx) &&
        BN_copy(g_order, EC_GROUP_get0_order(g_group)) &&
        EC_POINT_get_affine_coordinates(g_group, EC_GROUP_get0_generator(g_group), gx, gy, ctx) &&
        BN_bn2binpad(a, g_curve_z, 32) == 32 && BN_bn2binpad(b, g_curve_z + 32, 32) == 32 &&
        BN_bn2binpad(gx, g_curve_z + 64, 32) == 32 && BN_bn2binpad(gy, g_curve_z + 96, 32) == 32)
        g_ready = 1;
    BN_free(a);
    BN_free(b);
    BN_free(gx);
    BN_free(gy);
    BN_CTX_free(ctx);
    ERR_clear_error();
}

/* The curve and SM3 stay for the life of the process: freeing them in a
 * destructor could pull them from under a worker thread still signing at exit. */

int sm2_ready(void)
{
    pthread_once(&g_once, sm2_init_once);
    return g_ready;
}

const void *sm3_md(void)
{
    return sm2_ready() ? g_sm3 : NULL;
}

int sm3_two(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32])
{
    unsigned int len = 0;
    int ok;
    EVP_MD_CTX *md;
    if (!sm2_ready() || (md = EVP_MD_CTX_new()) == NULL)
        return -1;
    ok = EVP_DigestInit_ex(md, g_sm3, NULL) && (alen == 0 || EVP_DigestUpdate(md, a, alen)) &&
         (blen == 0 || EVP_DigestUpdate(md, b, blen)) && EVP_DigestFinal_ex(md, out, &len) && len == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

int sm2_z(const unsigned char *id, size_t idlen, const unsigned char x[32], const unsigned char y[32],
          unsigned char z[32])
{
    unsigned char entl[2];
    unsigned int len = 0;
    int ok;
    EVP_MD_CTX *md;
    if (idlen > 8191 || !sm2_ready() || (md = EVP_MD_CTX_new()) == NULL)
        return -1;
    entl[0] = (unsigned char)((idlen * 8) >> 8);
    entl[1] = (unsigned char)(idlen * 8);
    ok = EVP_DigestInit_ex(md, g_sm3, NULL) && EVP_DigestUpdate(md, entl, 2) &&
         (idlen == 0 || EVP_DigestUpdate(md, id, idlen)) && EVP_DigestUpdate(md, g_curve_z, 128) &&
         EVP_DigestUpdate(md, x, 32) && EVP_DigestUpdate(md, y, 32) && EVP_DigestFinal_ex(md, z, &len) &&
         len == 32;
    EVP_MD_CTX_free(md);
    return ok ? 0 : -1;
}

/* Loads (x, y) into a new point; NULL if it is not a point of the curve. */
static EC_POINT *point_from_bytes(const unsigned char x[32], const unsigned char y[32], BN_CTX *ctx)
{
    EC_POINT *p = NULL;
    BIGNUM *bx, *by;
    BN_CTX_start(ctx);
    bx = BN_CTX_get(ctx);
    by = BN_CTX_get(ctx);
    if (by && BN_bin2bn(x, 32, bx) && BN_bin2bn(y, 32, by) && BN_cmp(bx, g_prime) < 0 &&
        BN_cmp(by, g_prime) < 0 && (p = EC_POINT_new(g_group)) != NULL &&
        EC_POINT_set_affine_coordinates(g_group, p, bx, by, ctx) != 1) {
        EC_POINT_free(p);
        p = NULL;
    }
    BN_CTX_end(ctx);
    ERR_clear_error();
    return p;
}

int sm2_point_ok(const unsigned char x[32], const unsigned char y[32])
{
    BN_CTX *ctx;
    EC_POINT *p;
    if (!sm2_ready() || (ctx = BN_CTX_new()) == NULL)
        return 0;
    p = point_from_bytes(x, y, ctx);
    EC_POINT_free(p);
    BN_CTX_free(ctx);
    return p != NULL;
}

int sm2_key_from_private(const unsigned char d[32], sm2_key *out)
{
    int rc = -1;
    BN_CTX *ctx;
    BIGNUM *bd, *limit, *dinv;
    if (!sm2_ready() || (ctx = BN_CTX_secure_new()) == NULL)
        return -1;
    BN_CTX_start(ctx);
    bd = BN_CTX_get(ctx);
    limit = BN_CTX_get(ctx);
    dinv = BN_CTX_get(ctx);
    if (dinv == NULL || !BN_bin2bn(d, 32, bd))
        goto done;
    BN_set_flags(bd, BN_FLG_CONSTTIME);
    /* 1 <= d <= n - 2, so that 1 + d is invertible mod n */
    if (BN_is_zero(bd) || !BN_sub(limit, g_order, BN_value_one()) || BN_cmp(bd, limit) >= 0)
        goto done;
    if (sm2_mul_base(d, out->x, out->y) != 0)
        goto done;
    if (!BN_add(limit, bd, BN_value_one()))
        goto done;
    BN_set_flags(limit, BN_FLG_CONSTTIME);
    if (!BN_mod_inverse(dinv, limit, g_order, ctx))
        goto done;
    if (BN_bn2binpad(bd, out->d, 32) != 32 || BN_bn2binpad(dinv, out->dinv, 32) != 32)
        goto done;
    rc = 0;
done:
    if (rc != 0)
        OPENSSL_cleanse(out, sizeof(*out));
    BN_CTX_end(ctx);
    BN_CTX_free(ctx); /* secure context: every BIGNUM is cleared */
    ERR_clear_error();
    return rc;
}

int sm2_sign(const sm2_key *key, const unsigned char e32[32], unsigned char r_out[32], unsigned char s_out[32])
{
    int rc = SDR_SIGNERR, tries;
    unsigned char kb[32], x1b[32], y1b[32];
    BN_CTX *ctx;
    BIGNUM *d, *dinv, *e, *k, *x1, *r, *s, *t;
    if (!sm2_ready() || (ctx = BN_CTX_secure_new()) == NULL)
        return SDR_SIGNERR;
    BN_CTX_start(ctx);
    d = BN_CTX_get(ctx);
    dinv = BN_CTX_get(ctx);
    e = BN_CTX_get(ctx);
    k = BN_CTX_get(ctx);
    x1 = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    t = BN_CTX_get(ctx);
    if (t == NULL || !BN_bin2bn(key->d, 32, d) || !BN_bin2bn(key->dinv, 32, dinv) || !BN_bin2bn(e32, 32, e))
        goto done;
    BN_set_flags(d, BN_FLG_CONSTTIME);
    BN_set_flags(dinv, BN_FLG_CONSTTIME);
    for (tries = 0; tries < 64; tries++) {
        /* k uniformly in [1, n-1] */
        do {
            if (!BN_priv_rand_range(k, g_order))
                goto done;
        } while (BN_is_zero(k));
        BN_set_flags(k, BN_FLG_CONSTTIME);
        /* (x1, y1) = [k]G */
        if (BN_bn2binpad(k, kb, 32) != 32 || sm2_mul_base(kb, x1b, y1b) != 0 || !BN_bin2bn(x1b, 32, x1))
            goto done;
        /* r = (e + x1) mod n; retry on r = 0 or r + k = n */
        if (!BN_mod_add(r, e, x1, g_order, ctx))
            goto done;
        if (BN_is_zero(r))
            continue;
        if (!BN_add(t, r, k))
            goto done;
        if (BN_cmp(t, g_order) == 0)
            continue;
        /* s = (1 + d)^-1 * (k - r * d) mod n */
        if (!BN_mod_mul(t, r, d, g_order, ctx) || !BN_mod_sub(t, k, t, g_order, ctx) ||
            !BN_mod_mul(s, dinv, t, g_order, ctx))
            goto done;
        if (BN_is_zero(s))
            continue;
        if (BN_bn2binpad(r, r_out, 32) != 32 || BN_bn2binpad(s, s_out, 32) != 32)
            goto done;
        rc = SDR_OK;
        break;
    }
done:
    OPENSSL_cleanse(kb, sizeof(kb));
    OPENSSL_cleanse(y1b, sizeof(y1b));
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int sm2_verify(const unsigned char x[32], const unsigned char y[32], const unsigned char e32[32],
               const unsigned char r32[32], const unsigned char s32[32])
{
    int rc = SDR_VERIFYERR;
    BN_CTX *ctx;
    BIGNUM *e, *r, *s, *t, *x1;
    EC_POINT *pa = NULL, *pt = NULL;
    if (!sm2_ready() || (ctx = BN_CTX_new()) == NULL)
        return SDR_UNKNOWERR;
    if ((pa = point_from_bytes(x, y, ctx)) == NULL) {
        rc = SDR_INARGERR;
        goto out;
    }
    BN_CTX_start(ctx);
    e = BN_CTX_get(ctx);
    r = BN_CTX_get(ctx);
    s = BN_CTX_get(ctx);
    t = BN_CTX_get(ctx);
    x1 = BN_CTX_get(ctx);
    if (x1 == NULL || !BN_bin2bn(e32, 32, e) || !BN_bin2bn(r32, 32, r) || !BN_bin2bn(s32, 32, s)) {
        rc = SDR_UNKNOWERR;
        goto done;
    }
    /* r, s in [1, n-1] */
    if (BN_is_zero(r) || BN_is_zero(s) || BN_cmp(r, g_order) >= 0 || BN_cmp(s, g_order) >= 0)
        goto done;
    /* t = (r + s) mod n, t != 0 */
    if (!BN_mod_add(t, r, s, g_order, ctx)) {
        rc = SDR_UNKNOWERR;
        goto done;
    }
    if (BN_is_zero(t))
        goto done;
    /* (x1, y1) = [s]G + [t]PA */
    if ((pt = EC_POINT_new(g_group)) == NULL || !EC_POINT_mul(g_group, pt, s, pa, t, ctx)) {
        rc = SDR_UNKNOWERR;
        goto done;
    }
    if (EC_POINT_is_at_infinity(g_group, pt))
        goto done;
    if (!EC_POINT_get_affine_coordinates(g_group, pt, x1, NULL, ctx) || !BN_mod_add(t, e, x1, g_order, ctx)) {
        rc = SDR_UNKNOWERR;
        goto done;
    }
    rc = BN_cmp(t, r) == 0 ? SDR_OK : SDR_VERIFYERR;
done:
    BN_CTX_end(ctx);
out:
    EC_POINT_free(pa);
    EC_POINT_free(pt);
    BN_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}

int sm2_mul(const unsigned char k[32], const unsigned char *px, const unsigned char *py, unsigned char ox[32],
            unsigned char oy[32])
{
    int rc = -2;
    BN_CTX *ctx;
    BIGNUM *bk, *x, *y;
    EC_POINT *p = NULL, *q = NULL;
    if (px == NULL)
        return sm2_mul_base(k, ox, oy) == 0 ? 0 : -2;
    if (!sm2_ready() || (ctx = BN_CTX_secure_new()) == NULL)
        return -2;
    BN_CTX_start(ctx);
    bk = BN_CTX_get(ctx);
    x = BN_CTX_get(ctx);
    y = BN_CTX_get(ctx);
    if (y == NULL || !BN_bin2bn(k, 32, bk))
        goto done;
    BN_set_flags(bk, BN_FLG_CONSTTIME);
    if ((p = point_from_bytes(px, py, ctx)) == NULL) {
        rc = -1;
        goto done;
    }
    if ((q = EC_POINT_new(g_group)) == NULL || !EC_POINT_mul(g_group, q, NULL, p, bk, ctx) ||
        EC_POINT_is_at_infinity(g_group, q) || !EC_POINT_get_affine_coordinates(g_group, q, x, y, ctx) ||
        BN_bn2binpad(x, ox, 32) != 32 || BN_bn2binpad(y, oy, 32) != 32)
        goto done;
    rc = 0;
done:
    EC_POINT_free(p);
    EC_POINT_clear_free(q);
    BN_CTX_end(ctx);
    BN_CTX_free(ctx);
    ERR_clear_error();
    return rc;
}
