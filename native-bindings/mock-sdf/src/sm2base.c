/* Fixed-base [k]G on sm2p256v1 (GB/T 32918.5), the card's precomputed-generator path:
 * Montgomery arithmetic mod p on 4x64-bit limbs and signed 6-bit windows over a table of
 * affine multiples of G built once. Constant time in k (no secret-dependent branches or
 * table indices), except that k = 0 mod n returns early with an error. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <string.h>
#include <openssl/crypto.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

typedef unsigned __int128 u128;
typedef uint64_t fe[4]; /* little-endian limbs, Montgomery form (a * 2^256 mod p), fully reduced */

typedef struct {
    fe x, y;
} point_aff;

typedef struct {
    fe x, y, z; /* Jacobian: (x / z^2, y / z^3) */
} point_jac;

#define WIN 6
#define WINDOWS 43 /* ceil(256 / WIN); the top window holds bits 252..255 plus the recoding carry */
#define ENTRIES 32 /* 2^(WIN - 1): digits run over -32..32 */

static const uint64_t P[4] = {0xFFFFFFFFFFFFFFFFu, 0xFFFFFFFF00000000u, 0xFFFFFFFFFFFFFFFFu, 0xFFFFFFFEFFFFFFFFu};
static const uint64_t N[4] = {0x53BBF40939D54123u, 0x7203DF6B21C6052Bu, 0xFFFFFFFFFFFFFFFFu, 0xFFFFFFFEFFFFFFFFu};
static const fe ONE = {1, 0x00000000FFFFFFFFu, 0, 0x0000000100000000u}; /* 2^256 mod p */
static const fe RAW_ONE = {1, 0, 0, 0};                                  /* leaves Montgomery form */
static const fe ZERO = {0, 0, 0, 0};
static const unsigned char GX[32] = {0x32, 0xC4, 0xAE, 0x2C, 0x1F, 0x19, 0x81, 0x19, 0x5F, 0x99, 0x04,
                                     0x46, 0x6A, 0x39, 0xC9, 0x94, 0x8F, 0xE3, 0x0B, 0xBF, 0xF2, 0x66,
                                     0x0B, 0xE1, 0x71, 0x5A, 0x45, 0x89, 0x33, 0x4C, 0x74, 0xC7};
static const unsigned char GY[32] = {0xBC, 0x37, 0x36, 0xA2, 0xF4, 0xF6, 0x77, 0x9C, 0x59, 0xBD, 0xCE,
                                     0xE3, 0x6B, 0x69, 0x21, 0x53, 0xD0, 0xA9, 0x87, 0x7C, 0xC6, 0x2A,
                                     0x47, 0x40, 0x02, 0xDF, 0x32, 0xE5, 0x21, 0x39, 0xF0, 0xA0};

static pthread_once_t g_base_once = PTHREAD_ONCE_INIT;
static fe g_r2;                             /* 2^512 mod p, enters Montgomery form */
static point_aff g_table[WINDOWS][ENTRIES]; /* [i][j] = (j + 1) * 2^(WIN * i) * G, read-only after init */

/* ---- field arithmetic mod p ---------------------------------------------- */

/* Carry chains: the x86-64 intrinsics compile to adc / sbb, elsewhere the overflow builtins. */
#if defined(__x86_64__)
/* returns the carry of a + b + carry, the sum in *out */
static inline uint64_t adc(uint64_t a, uint64_t b, uint64_t carry, uint64_t *out)
{
    unsigned long long o;
    uint64_t c = _addcarry_u64((unsigned char)carry, a, b, &o);
    *out = o;
    return c;
}

/* returns the borrow of a - b - borrow, the difference in *out */
static inline uint64_t sbb(uint64_t a, uint64_t b, uint64_t borrow, uint64_t *out)
{
    unsigned long long o;
    uint64_t c = _subborrow_u64((unsigned char)borrow, a, b, &o);
    *out = o;
    return c;
}
#else
static inline uint64_t adc(uint64_t a, uint64_t b, uint64_t carry, uint64_t *out)
{
    uint64_t s, c = __builtin_add_overflow(a, b, &s);
    return c | __builtin_add_overflow(s, carry, out);
}

static inline uint64_t sbb(uint64_t a, uint64_t b, uint64_t borrow, uint64_t *out)
{
    uint64_t s, c = __builtin_sub_overflow(a, b, &s);
    return c | __builtin_sub_overflow(s, borrow, out);
}
#endif

/* returns the high word of a * b + c + d (which fits in 128 bits), the low one in *lo */
static inline uint64_t mac(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t *lo)
{
    u128 v = (u128)a * b;
    uint64_t l, h = (uint64_t)(v >> 64), carry;
    /* carries go into h through adc, not +=: gcc then keeps them in the flags */
    carry = adc((uint64_t)v, c, 0, &l);
    adc(h, 0, carry, &h);
    carry = adc(l, d, 0, lo);
    adc(h, 0, carry, &h);
    return h;
}

static uint64_t sub4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4])
{
    uint64_t c = sbb(a[0], b[0], 0, &r[0]);
    c = sbb(a[1], b[1], c, &r[1]);
    c = sbb(a[2], b[2], c, &r[2]);
    return sbb(a[3], b[3], c, &r[3]);
}

/* all ones when a == b, else 0 */
static uint64_t ct_eq(uint64_t a, uint64_t b)
{
    uint64_t x = a ^ b;
    return ((x | (0 - x)) >> 63) - 1;
}

/* r = a where mask is all ones; r unchanged where it is 0 */
static void fe_cmov(fe r, const fe a, uint64_t mask)
{
    int i;
    for (i = 0; i < 4; i++)
        r[i] ^= mask & (r[i] ^ a[i]);
}

static uint64_t fe_is_zero(const fe a)
{
    return ct_eq(a[0] | a[1] | a[2] | a[3], 0);
}

/* r = hi * 2^256 + t - p when that is not negative, else t; for hi * 2^256 + t < 2p */
static inline void fe_reduce_once(fe r, uint64_t t0, uint64_t t1, uint64_t t2, uint64_t t3, uint64_t hi)
{
    uint64_t s0, s1, s2, s3, keep, b;
    b = sbb(t0, P[0], 0, &s0);
    b = sbb(t1, P[1], b, &s1);
    b = sbb(t2, P[2], b, &s2);
    b = sbb(t3, P[3], b, &s3);
    keep = 0 - (b & ~hi & 1);
    r[0] = (t0 & keep) | (s0 & ~keep);
    r[1] = (t1 & keep) | (s1 & ~keep);
    r[2] = (t2 & keep) | (s2 & ~keep);
    r[3] = (t3 & keep) | (s3 & ~keep);
}

static void fe_add(fe r, const fe a, const fe b)
{
    uint64_t t0, t1, t2, t3, c;
    c = adc(a[0], b[0], 0, &t0);
    c = adc(a[1], b[1], c, &t1);
    c = adc(a[2], b[2], c, &t2);
    c = adc(a[3], b[3], c, &t3);
    fe_reduce_once(r, t0, t1, t2, t3, c);
}

static void fe_sub(fe r, const fe a, const fe b)
{
    uint64_t t0, t1, t2, t3, mask, c;
    c = sbb(a[0], b[0], 0, &t0);
    c = sbb(a[1], b[1], c, &t1);
    c = sbb(a[2], b[2], c, &t2);
    mask = 0 - sbb(a[3], b[3], c, &t3); /* a < b: add p back */
    c = adc(t0, P[0] & mask, 0, &r[0]);
    c = adc(t1, P[1] & mask, c, &r[1]);
    c = adc(t2, P[2] & mask, c, &r[2]);
    adc(t3, P[3] & mask, c, &r[3]);
}

/*
 * Montgomery reduction steps use the shape of p: -p^-1 = 1 mod 2^64, so the step multiplier m
 * is the low limb itself, and (t + m p) / 2^64 = (t >> 64) + m (p + 1) / 2^64 where
 * m (p + 1) / 2^64 = m (2^192 - 2^160 - 2^32 + 1) < 2^256 takes shifts and subtractions only.
 */
static inline void step_term(uint64_t m, uint64_t d[4])
{
    uint64_t lo = m << 32, hi = m >> 32, c;
    c = sbb(m, lo, 0, &d[0]);
    c = sbb(0, hi, c, &d[1]);
    c = sbb(0, lo, c, &d[2]);
    sbb(m, hi, c, &d[3]);
}

/* r = a * b / 2^256 mod p, operand scanning with a reduction step after each row */
static void fe_mul(fe r, const fe a, const fe b)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0, t4 = 0, c, d[4];
    int i;
    /* t < 2p after each round, so t + a b[i] < (2^64 + 1) p < 2^320 fits t0..t4 */
    for (i = 0; i < 4; i++) {
        c = mac(a[0], b[i], t0, 0, &t0);
        c = mac(a[1], b[i], t1, c, &t1);
        c = mac(a[2], b[i], t2, c, &t2);
        c = mac(a[3], b[i], t3, c, &t3);
        t4 += c;
        step_term(t0, d);
        c = adc(t1, d[0], 0, &t0);
        c = adc(t2, d[1], c, &t1);
        c = adc(t3, d[2], c, &t2);
        t4 = adc(t4, d[3], c, &t3);
    }
    fe_reduce_once(r, t0, t1, t2, t3, t4);
}

/* l = (l + M p) / 2^256 <= p, for the M < 2^256 that makes the division exact */
static inline void mont_low(uint64_t l[4])
{
    uint64_t c, d[4];
    int i;
    for (i = 0; i < 4; i++) {
        step_term(l[0], d);
        c = adc(l[1], d[0], 0, &l[0]);
        c = adc(l[2], d[1], c, &l[1]);
        c = adc(l[3], d[2], c, &l[2]);
        adc(0, d[3], c, &l[3]);
    }
}

static void fe_sqr(fe r, const fe a)
{
    uint64_t l[4], t4, t5, t6, t7, c, hi, lo;
    /* the products a_i a_j (i < j) once, doubled, plus the squares */
    c = mac(a[1], a[0], 0, 0, &l[1]);
    c = mac(a[2], a[0], c, 0, &l[2]);
    t4 = mac(a[3], a[0], c, 0, &l[3]);
    c = mac(a[2], a[1], l[3], 0, &l[3]);
    t5 = mac(a[3], a[1], t4, c, &t4);
    t6 = mac(a[3], a[2], t5, 0, &t5);
    t7 = t6 >> 63;
    t6 = t6 << 1 | t5 >> 63;
    t5 = t5 << 1 | t4 >> 63;
    t4 = t4 << 1 | l[3] >> 63;
    l[3] = l[3] << 1 | l[2] >> 63;
    l[2] = l[2] << 1 | l[1] >> 63;
    l[1] = l[1] << 1;
    hi = mac(a[0], a[0], 0, 0, &l[0]);
    c = adc(l[1], hi, 0, &l[1]);
    hi = mac(a[1], a[1], 0, 0, &lo);
    c = adc(l[2], lo, c, &l[2]);
    c = adc(l[3], hi, c, &l[3]);
    hi = mac(a[2], a[2], 0, 0, &lo);
    c = adc(t4, lo, c, &t4);
    c = adc(t5, hi, c, &t5);
    hi = mac(a[3], a[3], 0, 0, &lo);
    c = adc(t6, lo, c, &t6);
    adc(t7, hi, c, &t7);
    /* a^2 / 2^256 = (low + M p) / 2^256 + high, at most p + (p - 1) */
    mont_low(l);
    c = adc(l[0], t4, 0, &l[0]);
    c = adc(l[1], t5, c, &l[1]);
    c = adc(l[2], t6, c, &l[2]);
    c = adc(l[3], t7, c, &l[3]);
    fe_reduce_once(r, l[0], l[1], l[2], l[3], c);
}

static void fe_sqr_n(fe r, const fe a, int n)
{
    fe_sqr(r, a);
    while (--n > 0)
        fe_sqr(r, r);
}

/* r = a^(p - 2) = 1 / a (0 for 0), a fixed chain: p - 2 is 1^31 0 1^128 0^32 1^62 0 1 from the top */
static void fe_inv(fe r, const fe a)
{
    fe x3, x6, x12, x31, x32, t;
    int i;
    fe_sqr(t, a);
    fe_mul(t, t, a); /* a^(2^2 - 1) */
    fe_sqr(t, t);
    fe_mul(x3, t, a);
    fe_sqr_n(t, x3, 3);
    fe_mul(x6, t, x3);
    fe_sqr_n(t, x6, 6);
    fe_mul(x12, t, x6);
    fe_sqr_n(t, x12, 12);
    fe_mul(t, t, x12); /* 24 ones */
    fe_sqr_n(t, t, 6);
    fe_mul(t, t, x6); /* 30 */
    fe_sqr(t, t);
    fe_mul(x31, t, a);
    fe_sqr(t, x31);
    fe_mul(x32, t, a);

    fe_sqr(t, x31);
    for (i = 0; i < 4; i++) {
        fe_sqr_n(t, t, 32);
        fe_mul(t, t, x32);
    }
    fe_sqr_n(t, t, 32);
    for (i = 0; i < 2; i++) {
        fe_sqr_n(t, t, 31);
        fe_mul(t, t, x31);
    }
    fe_sqr_n(t, t, 2);
    fe_mul(r, t, a);
}

static void limbs_from_bytes(uint64_t r[4], const unsigned char in[32])
{
    int i, b;
    for (i = 0; i < 4; i++) {
        uint64_t w = 0;
        for (b = 0; b < 8; b++)
            w = w << 8 | in[8 * (3 - i) + b];
        r[i] = w;
    }
}

static void limbs_to_bytes(unsigned char out[32], const uint64_t a[4])
{
    int i, b;
    for (i = 0; i < 4; i++)
        for (b = 0; b < 8; b++)
            out[8 * (3 - i) + b] = (unsigned char)(a[i] >> (56 - 8 * b));
}

/* ---- points (a = -3) ----------------------------------------------------- */

/* r = 2a (dbl-2001-b); r may be a. */
static void point_double(point_jac *r, const point_jac *a)
{
    fe delta, gamma, beta, alpha, t, u;
    fe_sqr(delta, a->z);
    fe_sqr(gamma, a->y);
    fe_mul(beta, a->x, gamma);
    fe_sub(t, a->x, delta);
    fe_add(u, a->x, delta);
    fe_mul(alpha, t, u);
    fe_add(t, alpha, alpha);
    fe_add(alpha, t, alpha); /* 3 (x - z^2)(x + z^2) */
    fe_add(t, a->y, a->z);
    fe_sqr(t, t);
    fe_sub(t, t, gamma);
    fe_sub(r->z, t, delta); /* 2yz; a->z is not read again */
    fe_add(beta, beta, beta);
    fe_add(beta, beta, beta); /* 4 beta */
    fe_sqr(t, alpha);
    fe_sub(t, t, beta);
    fe_sub(t, t, beta);
    fe_sub(u, beta, t);
    memcpy(r->x, t, sizeof(fe));
    fe_mul(u, alpha, u);
    fe_sqr(gamma, gamma);
    fe_add(gamma, gamma, gamma);
    fe_add(gamma, gamma, gamma);
    fe_add(gamma, gamma, gamma); /* 8 y^4 */
    fe_sub(r->y, u, gamma);
}

/* r = a + b with b affine; a must not be infinity, b or -b (callers rule these out). r may be a. */
static void point_add_mixed(point_jac *r, const point_jac *a, const point_aff *b)
{
    fe z1z1, u2, s2, h, rr, hh, hhh, v, t;
    fe_sqr(z1z1, a->z);
    fe_mul(u2, b->x, z1z1);
    fe_mul(s2, b->y, a->z);
    fe_mul(s2, s2, z1z1);
    fe_sub(h, u2, a->x);
    fe_sub(rr, s2, a->y);
    fe_sqr(hh, h);
    fe_mul(hhh, h, hh);
    fe_mul(v, a->x, hh);
    fe_mul(t, a->y, hhh); /* y1 h^3 */
    fe_mul(r->z, a->z, h);
    fe_sqr(u2, rr);
    fe_sub(u2, u2, hhh);
    fe_sub(u2, u2, v);
    fe_sub(u2, u2, v); /* x3 */
    fe_sub(v, v, u2);
    fe_mul(v, rr, v);
    fe_sub(r->y, v, t);
    memcpy(r->x, u2, sizeof(fe));
}

/* out[i] = in[i] in affine form, n <= ENTRIES + 1 points none at infinity, one inversion. */
static void batch_to_affine(point_aff *out, const point_jac *in, int n)
{
    fe prefix[ENTRIES + 1], inv, zinv, zinv2;
    int i;
    memcpy(prefix[0], in[0].z, sizeof(fe));
    for (i = 1; i < n; i++)
        fe_mul(prefix[i], prefix[i - 1], in[i].z);
    fe_inv(inv, prefix[n - 1]);
    for (i = n - 1; i >= 0; i--) {
        if (i > 0) {
            fe_mul(zinv, inv, prefix[i - 1]);
            fe_mul(inv, inv, in[i].z);
        } else {
            memcpy(zinv, inv, sizeof(fe));
        }
        fe_sqr(zinv2, zinv);
        fe_mul(out[i].x, in[i].x, zinv2);
        fe_mul(zinv2, zinv2, zinv);
        fe_mul(out[i].y, in[i].y, zinv2);
    }
}

/* ---- the table ----------------------------------------------------------- */

static void base_init(void)
{
    point_jac run[ENTRIES + 1];
    point_aff aff[ENTRIES + 1], base;
    int i, j;
    memcpy(g_r2, ONE, sizeof(fe));
    for (i = 0; i < 256; i++)
        fe_add(g_r2, g_r2, g_r2);
    limbs_from_bytes(base.x, GX);
    limbs_from_bytes(base.y, GY);
    fe_mul(base.x, base.x, g_r2);
    fe_mul(base.y, base.y, g_r2);
    for (i = 0; i < WINDOWS; i++) {
        /* run[j] = (j + 1) * base; run[ENTRIES] = 2^WIN * base is the next window's base */
        memcpy(run[0].x, base.x, sizeof(fe));
        memcpy(run[0].y, base.y, sizeof(fe));
        memcpy(run[0].z, ONE, sizeof(fe));
        point_double(&run[1], &run[0]);
        for (j = 2; j < ENTRIES; j++)
            point_add_mixed(&run[j], &run[j - 1], &base);
        point_double(&run[ENTRIES], &run[ENTRIES - 1]);
        batch_to_affine(aff, run, ENTRIES + 1);
        memcpy(g_table[i], aff, sizeof(g_table[i]));
        base = aff[ENTRIES];
    }
}

typedef uint64_t u64x2 __attribute__((vector_size(16))); /* GCC / Clang vector extension */

/* out = row[idx - 1], or zeros for idx 0, reading every entry */
static void table_select(point_aff *out, const point_aff row[ENTRIES], uint64_t idx)
{
    u64x2 x01 = {0, 0}, x23 = {0, 0}, y01 = {0, 0}, y23 = {0, 0}, v;
    int j;
    for (j = 0; j < ENTRIES; j++) {
        uint64_t m = ct_eq((uint64_t)j + 1, idx);
        u64x2 mask = {m, m};
        memcpy(&v, &row[j].x[0], sizeof(v));
        x01 |= v & mask;
        memcpy(&v, &row[j].x[2], sizeof(v));
        x23 |= v & mask;
        memcpy(&v, &row[j].y[0], sizeof(v));
        y01 |= v & mask;
        memcpy(&v, &row[j].y[2], sizeof(v));
        y23 |= v & mask;
    }
    memcpy(&out->x[0], &x01, sizeof(v));
    memcpy(&out->x[2], &x23, sizeof(v));
    memcpy(&out->y[0], &y01, sizeof(v));
    memcpy(&out->y[2], &y23, sizeof(v));
}

/* bits WIN*i .. WIN*i + WIN - 1 of k */
static uint64_t window_bits(const uint64_t k[4], int i)
{
    int pos = WIN * i, limb = pos / 64, off = pos % 64;
    uint64_t w = k[limb] >> off;
    if (off > 64 - WIN && limb < 3)
        w |= k[limb + 1] << (64 - off);
    return w & ((1u << WIN) - 1);
}

/* Secrets of one multiplication, cleansed together. */
typedef struct {
    uint64_t k[4], t[4];
    point_jac acc, sum;
    point_aff sel;
    fe neg, zinv, zinv2, x, y;
} mul_state;

/*
 * k = sum of d_i 2^(6i) with signed digits d_i in -31..32. Before window i the accumulator
 * holds S G, S = (k mod 2^(6i)) - c 2^(6i) with c the carry, so |S| < 2^(6i) < n: it is the
 * point at infinity exactly when acc_inf says so, and otherwise never +-d_i 2^(6i) G, so
 * the mixed addition never meets its exceptional cases. Below the top window that holds
 * as |S| + 32 * 2^(6i) < n. In the top one (d = 0..16), S = -d 2^252 mod n means k = 0,
 * and S = d 2^252 mod n needs S = d 2^252 - n, so d = 15 and k = 15 * 2^253 - n, whose
 * top digit is 14, not 15.
 */
int sm2_mul_base(const unsigned char k[32], unsigned char x[32], unsigned char y[32])
{
    mul_state s;
    uint64_t carry = 0, acc_inf = ~(uint64_t)0, bad;
    int i;
    pthread_once(&g_base_once, base_init);
    limbs_from_bytes(s.k, k);
    /* k < 2^256 < 2n: one conditional subtraction reduces it */
    fe_cmov(s.k, s.t, sub4(s.t, s.k, N) - 1);
    if (fe_is_zero(s.k)) {
        OPENSSL_cleanse(&s, sizeof(s));
        memset(x, 0, 32);
        memset(y, 0, 32);
        return -1;
    }
    memset(&s.acc, 0, sizeof(s.acc));
    for (i = 0; i < WINDOWS; i++) {
        uint64_t bits = window_bits(s.k, i) + carry, negative, mag, zero;
        carry = (bits + (1u << (WIN - 1)) - 1) >> WIN; /* bits > 32: digit bits - 64, carry 1 */
        negative = 0 - carry;
        mag = (bits & ~negative) | ((((uint64_t)1 << WIN) - bits) & negative); /* |digit| */
        zero = ct_eq(mag, 0);
        table_select(&s.sel, g_table[i], mag);
        fe_sub(s.neg, ZERO, s.sel.y);
        fe_cmov(s.sel.y, s.neg, negative);
        point_add_mixed(&s.sum, &s.acc, &s.sel);
        fe_cmov(s.sum.x, s.sel.x, acc_inf);
        fe_cmov(s.sum.y, s.sel.y, acc_inf);
        fe_cmov(s.sum.z, ONE, acc_inf);
        fe_cmov(s.acc.x, s.sum.x, ~zero);
        fe_cmov(s.acc.y, s.sum.y, ~zero);
        fe_cmov(s.acc.z, s.sum.z, ~zero);
        acc_inf &= zero;
    }
    bad = acc_inf | fe_is_zero(s.acc.z);
    fe_inv(s.zinv, s.acc.z);
    fe_sqr(s.zinv2, s.zinv);
    fe_mul(s.x, s.acc.x, s.zinv2);
    fe_mul(s.zinv2, s.zinv2, s.zinv);
    fe_mul(s.y, s.acc.y, s.zinv2);
    fe_mul(s.x, s.x, RAW_ONE);
    fe_mul(s.y, s.y, RAW_ONE);
    limbs_to_bytes(x, s.x);
    limbs_to_bytes(y, s.y);
    OPENSSL_cleanse(&s, sizeof(s));
    if (bad) {
        memset(x, 0, 32);
        memset(y, 0, 32);
        return -1;
    }
    return 0;
}
