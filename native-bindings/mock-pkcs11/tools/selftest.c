/* selftest: loads the mock PKCS#11 module with dlopen, walks its function list and checks it
 * as a signer would use it: tokens of every profile, keys found by label and id, attributes and
 * the two-call size protocols, every signing mechanism, CKR codes, faults, stalls, latency, the
 * proxy-restart mode, a CloudHSM-like token, threads. Signatures are checked with OpenSSL's own
 * SM2 and ECDSA (EVP), SM2 also over the message with the default ID (OpenSSL computes Z).
 * Built by scripts/build-mock.mjs, run with --selftest.
 *
 *   selftest [path/to/libmockp11.so]     (default: libmockp11.so next to this program)
 *
 * Exit 0 when every check passes, 1 otherwise. */
#define _POSIX_C_SOURCE 200809L
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>

#include "mockp11.h"

static int failures, checks;

#define CHECK(cond)                                                         \
    do {                                                                    \
        checks++;                                                           \
        if (!(cond)) {                                                      \
            failures++;                                                     \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                   \
    } while (0)
#define CHECK_RV(call, want)                                                                             \
    do {                                                                                                 \
        CK_RV got_ = (call);                                                                             \
        checks++;                                                                                        \
        if (got_ != (CK_RV)(want)) {                                                                     \
            failures++;                                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s = 0x%lX, want %s\n", __FILE__, __LINE__, #call, got_, #want); \
        }                                                                                                \
    } while (0)

/* SM2 keys: the first is mock-sdf's key 1; a P-256 key (RFC 6979 A.2.5) */
static const char *SM2_A = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8";
static const char *SM2_B = "1649ab77a00637bd5e2efe283fbf353534aa7f7cb89463f208ddbc2920bb0da0";
static const char *P256_A = "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721";
static const char *SM2_N = "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123";
static const char *PIN = "cu1:Pa#ss:w0rd";
static const char *ID = MOCKP11_DEFAULT_ID;

static CK_FUNCTION_LIST *F;
static char g_base[256], g_lib[PATH_MAX], g_self[PATH_MAX];

/* hooks, looked up with dlsym */
static CK_RV (*h_counters)(MOCKP11_Counters *);
static CK_RV (*h_call_count)(const char *, unsigned long long *);
static CK_RV (*h_fault)(const char *, CK_RV, unsigned long, long);
static CK_RV (*h_stall)(const char *, unsigned int, unsigned long, long);
static CK_RV (*h_restart)(void);
static CK_RV (*h_latency)(unsigned int);
static CK_RV (*h_wrong)(int);
static CK_RV (*h_dir)(const char *);
static CK_RV (*h_reset)(void);

/* ---- helpers ------------------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Writes <base>/<name>/token.conf and returns the directory. */
static const char *token_dir(const char *name, const char *text)
{
    static char dir[512];
    char path[600];
    FILE *f;
    snprintf(dir, sizeof(dir), "%s/%s", g_base, name);
    mkdir(dir, 0700);
    snprintf(path, sizeof(path), "%s/token.conf", dir);
    f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return dir;
}

static CK_RV init_dir(const char *dir)
{
    CK_C_INITIALIZE_ARGS args;
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    h_dir(dir);
    return F->C_Initialize(&args);
}

/* Runs fn with stderr sent to /dev/null (for calls that print an expected error line). */
static CK_RV quietly(CK_RV (*fn)(const char *), const char *arg)
{
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    CK_RV rv;
    fflush(stderr);
    dup2(null, 2);
    rv = fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(null);
    return rv;
}

static MOCKP11_Counters counters(void)
{
    MOCKP11_Counters c;
    memset(&c, 0xFF, sizeof(c));
    CHECK_RV(h_counters(&c), CKR_OK);
    return c;
}

static CK_SESSION_HANDLE open_session(CK_SLOT_ID slot, int login)
{
    CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
    CHECK_RV(F->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h), CKR_OK);
    if (login)
        CHECK_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
    return h;
}

/* Objects matching class (0: any), label and id (NULL: any); returns the count, *first the first. */
static CK_ULONG find(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label, const unsigned char *id,
                     size_t idlen, CK_OBJECT_HANDLE *first)
{
    CK_ATTRIBUTE t[3];
    CK_ULONG n = 0, got = 0, total = 0;
    CK_OBJECT_HANDLE objs[4];
    if (cls != 0) {
        t[n].type = CKA_CLASS;
        t[n].pValue = &cls;
        t[n++].ulValueLen = sizeof(cls);
    }
    if (label != NULL) {
        t[n].type = CKA_LABEL;
        t[n].pValue = (void *)label;
        t[n++].ulValueLen = strlen(label);
    }
    if (id != NULL) {
        t[n].type = CKA_ID;
        t[n].pValue = (void *)id;
        t[n++].ulValueLen = idlen;
    }
    *first = CK_INVALID_HANDLE;
    CHECK_RV(F->C_FindObjectsInit(h, n ? t : NULL, n), CKR_OK);
    do {
        CHECK_RV(F->C_FindObjects(h, objs, 4, &got), CKR_OK);
        if (total == 0 && got > 0)
            *first = objs[0];
        total += got;
    } while (got == 4);
    CHECK_RV(F->C_FindObjectsFinal(h), CKR_OK);
    return total;
}

static CK_OBJECT_HANDLE find_one(CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls, const char *label)
{
    CK_OBJECT_HANDLE o;
    CHECK(find(h, cls, label, NULL, 0, &o) == 1);
    return o;
}

/* The two-call protocol: size, then value. Returns the length or -1. */
static long get_attr(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type, void *buf, size_t cap)
{
    CK_ATTRIBUTE a = {type, NULL, 0};
    if (F->C_GetAttributeValue(h, o, &a, 1) != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
        a.ulValueLen > cap)
        return -1;
    a.pValue = buf;
    if (F->C_GetAttributeValue(h, o, &a, 1) != CKR_OK)
        return -1;
    return (long)a.ulValueLen;
}

static CK_ULONG get_ulong(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_TYPE type)
{
    CK_ULONG v = 0xDEAD;
    CHECK(get_attr(h, o, type, &v, sizeof(v)) == (long)sizeof(v));
    return v;
}

/* 04 || x || y of a private hex key, computed here with OpenSSL's EC code. */
static void expected_point(int sm2, const char *private_hex, unsigned char out[65])
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(sm2 ? NID_sm2 : NID_X9_62_prime256v1);
    EC_POINT *p = EC_POINT_new(g);
    BIGNUM *d = NULL;
    BN_hex2bn(&d, private_hex);
    EC_POINT_mul(g, p, d, NULL, NULL, NULL);
    EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, out, 65, NULL);
    BN_free(d);
    EC_POINT_free(p);
    EC_GROUP_free(g);
}

/* The public point of CKA_EC_POINT, DER OCTET STRING (decoded with OpenSSL) or raw. */
static int point_of(const unsigned char *v, long len, int raw, unsigned char out[65])
{
    const unsigned char *p = v;
    ASN1_OCTET_STRING *os;
    int ok;
    if (raw) {
        if (len != 65 || v[0] != 4)
            return 0;
        memcpy(out, v, 65);
        return 1;
    }
    os = d2i_ASN1_OCTET_STRING(NULL, &p, len);
    ok = os != NULL && p == v + len && ASN1_STRING_length(os) == 65 && ASN1_STRING_get0_data(os)[0] == 4;
    if (ok)
        memcpy(out, ASN1_STRING_get0_data(os), 65);
    ASN1_OCTET_STRING_free(os);
    return ok;
}

/* The dotted OID of CKA_EC_PARAMS. */
static int oid_is(const unsigned char *v, long len, const char *dotted)
{
    const unsigned char *p = v;
    ASN1_OBJECT *o = d2i_ASN1_OBJECT(NULL, &p, len);
    char text[64] = "";
    if (o != NULL)
        OBJ_obj2txt(text, sizeof(text), o, 1);
    ASN1_OBJECT_free(o);
    return o != NULL && p == v + len && strcmp(text, dotted) == 0;
}

static EVP_PKEY *public_key(int sm2, const unsigned char point[65])
{
    EVP_PKEY *key = NULL;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, sm2 ? "SM2" : "EC", NULL);
    OSSL_PARAM params[3];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, sm2 ? "SM2" : "prime256v1", 0);
    params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)point, 65);
    params[2] = OSSL_PARAM_construct_end();
    if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
        key = NULL;
    EVP_PKEY_CTX_free(ctx);
    return key;
}

/* DER of a signature given as r || s (len 64) or already DER (der = 1, strict: re-encodes the same). */
static int to_der(const unsigned char *sig, size_t len, int der, unsigned char *out, size_t *outlen)
{
    ECDSA_SIG *es;
    unsigned char *p = out;
    int n;
    if (der) {
        const unsigned char *q = sig;
        es = d2i_ECDSA_SIG(NULL, &q, (long)len);
        if (es == NULL || q != sig + len) {
            ECDSA_SIG_free(es);
            return 0;
        }
    } else {
        if (len != 64)
            return 0;
        es = ECDSA_SIG_new();
        ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    }
    n = i2d_ECDSA_SIG(es, &p);
    ECDSA_SIG_free(es);
    if (n <= 0 || (der && ((size_t)n != len || memcmp(out, sig, len) != 0)))
        return 0;
    *outlen = (size_t)n;
    return 1;
}

/* OpenSSL verifies a signature over a digest (SM2: e, no further hashing; P-256: the hash). */
static int verify_digest(int sm2, const unsigned char point[65], const unsigned char *e, size_t elen,
                         const unsigned char *sig, size_t siglen, int der)
{
    unsigned char d[80];
    size_t dlen;
    EVP_PKEY *key = public_key(sm2, point);
    EVP_PKEY_CTX *ctx = key ? EVP_PKEY_CTX_new(key, NULL) : NULL;
    int ok = ctx != NULL && to_der(sig, siglen, der, d, &dlen) && EVP_PKEY_verify_init(ctx) == 1 &&
             EVP_PKEY_verify(ctx, d, dlen, e, elen) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

/* OpenSSL verifies an SM2 signature over the message with an ID, computing Z and SM3 itself. */
static int verify_message(const unsigned char point[65], const char *id, const unsigned char *msg, size_t len,
                          const unsigned char *sig, size_t siglen, int der)
{
    unsigned char d[80];
    size_t dlen;
    EVP_PKEY *key = public_key(1, point);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(key, NULL);
    int ok = key && md && pctx && to_der(sig, siglen, der, d, &dlen) &&
             EVP_PKEY_CTX_set1_id(pctx, id, strlen(id)) == 1 && (EVP_MD_CTX_set_pkey_ctx(md, pctx), 1) &&
             EVP_DigestVerifyInit(md, NULL, EVP_sm3(), NULL, key) == 1 && EVP_DigestVerify(md, d, dlen, msg, len) == 1;
    EVP_MD_CTX_free(md);
    EVP_PKEY_CTX_free(pctx);
    EVP_PKEY_free(key);
    return ok;
}

/* e = SM3(Z || M), Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA), computed here. */
static void sm2_e(const unsigned char point[65], const unsigned char *msg, size_t len, unsigned char e[32])
{
    EC_GROUP *g = EC_GROUP_new_by_curve_name(NID_sm2);
    BIGNUM *p = BN_new(), *a = BN_new(), *b = BN_new(), *x = BN_new(), *y = BN_new();
    unsigned char buf[2 + 16 + 6 * 32], z[32];
    unsigned int n;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EC_GROUP_get_curve(g, p, a, b, NULL);
    EC_POINT_get_affine_coordinates(g, EC_GROUP_get0_generator(g), x, y, NULL);
    buf[0] = 0;
    buf[1] = 128;
    memcpy(buf + 2, ID, 16);
    BN_bn2binpad(a, buf + 18, 32);
    BN_bn2binpad(b, buf + 50, 32);
    BN_bn2binpad(x, buf + 82, 32);
    BN_bn2binpad(y, buf + 114, 32);
    memcpy(buf + 146, point + 1, 64);
    EVP_Digest(buf, sizeof(buf), z, &n, EVP_sm3(), NULL);
    EVP_DigestInit_ex(md, EVP_sm3(), NULL);
    EVP_DigestUpdate(md, z, 32);
    EVP_DigestUpdate(md, msg, len);
    EVP_DigestFinal_ex(md, e, &n);
    EVP_MD_CTX_free(md);
    BN_free(p);
    BN_free(a);
    BN_free(b);
    BN_free(x);
    BN_free(y);
    EC_GROUP_free(g);
}

/* C_SignInit + C_Sign with the size query first. Returns the C_Sign result. */
static CK_RV sign(CK_SESSION_HANDLE h, CK_MECHANISM_TYPE mech, CK_OBJECT_HANDLE key, const unsigned char *data,
                  size_t len, unsigned char *sig, CK_ULONG *siglen)
{
    CK_MECHANISM m = {mech, NULL, 0};
    CK_ULONG cap = 0;
    CK_RV rv = F->C_SignInit(h, &m, key);
    if (rv != CKR_OK)
        return rv;
    rv = F->C_Sign(h, (CK_BYTE_PTR)data, len, NULL, &cap);
    if (rv != CKR_OK)
        return rv;
    if (cap > *siglen)
        return CKR_BUFFER_TOO_SMALL;
    *siglen = cap;
    return F->C_Sign(h, (CK_BYTE_PTR)data, len, sig, siglen);
}

/* ---- ABI and library ------------------------------------------------------------- */

static void test_abi(void *lib)
{
    CK_INFO info;
    CK_ULONG n = 5;
    CK_SESSION_HANDLE h;
#define CHECK_ENTRY(name, args) CHECK((void *)F->name == dlsym(lib, #name));
    CK_FUNCTIONS(CHECK_ENTRY)
#undef CHECK_ENTRY
    CHECK(F->version.major == 2 && F->version.minor == 40);
    CHECK(dlsym(lib, "token_load") == NULL && dlsym(lib, "crypto_sign") == NULL && dlsym(lib, "hooks_enter") == NULL);
    CHECK_RV(F->C_GetFunctionList(NULL), CKR_ARGUMENTS_BAD);
    /* before C_Initialize */
    CHECK_RV(F->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(F->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(F->C_SignUpdate(1, NULL, 0), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(F->C_GenerateKeyPair(1, NULL, NULL, 0, NULL, 0, NULL, NULL), CKR_FUNCTION_NOT_SUPPORTED);
}

/* MOCKP11_SetListPerCall: lists after the first belong to instances nobody initialised. */
static void test_list_per_call(void *lib)
{
    CK_RV (*per_call)(int) = (CK_RV(*)(int))dlsym(lib, "MOCKP11_SetListPerCall");
    CK_FUNCTION_LIST_PTR first = NULL, second = NULL;
    CK_ULONG n = 0;
    CHECK(per_call != NULL);
    if (per_call == NULL)
        return;
    CHECK_RV(per_call(1), CKR_OK);
    CHECK_RV(F->C_GetFunctionList(&first), CKR_OK);
    CHECK_RV(F->C_GetFunctionList(&second), CKR_OK);
    CHECK(first == F && second != NULL && second != F);
    CHECK_RV(second->C_GetSlotList(CK_TRUE, NULL, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(second->C_Initialize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED);
    CHECK_RV(h_reset(), CKR_OK);
    CHECK_RV(F->C_GetFunctionList(&second), CKR_OK);
    CHECK(second == F);
}

static CK_RV fake_mutex(CK_VOID_PTR p)
{
    (void)p;
    return CKR_OK;
}

static CK_RV fake_create(CK_VOID_PTR_PTR p)
{
    *p = NULL;
    return CKR_OK;
}

static void test_initialize(void)
{
    char good[512];
    static const char *const bad[] = {
        "label=x\npin=1\n",                                                   /* before [token] */
        "[token]\nlabel=x\n",                                                 /* no pin */
        "[token]\npin=1\n",                                                   /* no label */
        "[token]\nlabel=x\npin=1\ncolour=red\n",                              /* unknown name */
        "[token]\nlabel=x\npin=1\nprofile=acme\n",                            /* unknown profile */
        "[token]\nlabel=123456789012345678901234567890123\npin=1\n",          /* label > 32 */
        "[token]\nlabel=x\npin=1\n[key]\nlabel=k\ntype=sm2\n",                /* no private */
        "[token]\nlabel=x\npin=1\n[key]\ntype=sm2\nprivate=zz\n",             /* bad hex */
        "[token]\nlabel=x\npin=1\n[key]\ntype=ed25519\nprivate=01\n",         /* bad type */
        "[token]\nlabel=x\npin=1\n[key]\ntype=sm2\nid=abc\nprivate=" /* odd id */
        "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8\n",
        "[token]\nlabel=x\npin=1\nmechanism=0x80008104,digest\n",             /* short mechanism */
        "[token]\nlabel=x\npin=1\n[key]\ntype=sm2\nflags=shiny\nprivate="
        "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8\n", /* unknown flag */
        NULL,
    };
    char name[32], nm1[300];
    CK_C_INITIALIZE_ARGS args;
    MOCKP11_Counters c0 = counters(), c;
    int i;

    snprintf(good, sizeof(good), "%s", token_dir("good", "[token]\nlabel=good\npin=1\n"));

    /* no directory, missing file, bad files */
    h_dir(NULL);
    unsetenv("MOCKP11_DIR");
    CHECK_RV(quietly(init_dir, NULL), CKR_GENERAL_ERROR);
    snprintf(nm1, sizeof(nm1), "%s/missing", g_base);
    CHECK_RV(quietly(init_dir, nm1), CKR_GENERAL_ERROR);
    for (i = 0; bad[i] != NULL; i++) {
        snprintf(name, sizeof(name), "bad%d", i);
        CHECK_RV(quietly(init_dir, token_dir(name, bad[i])), CKR_GENERAL_ERROR);
    }
    /* the range of d: n - 2 is the largest SM2 key, n - 1 is refused */
    {
        BIGNUM *b = NULL;
        char *hex, text[256];
        BN_hex2bn(&b, SM2_N);
        BN_sub_word(b, 1);
        hex = BN_bn2hex(b);
        snprintf(text, sizeof(text), "[token]\nlabel=x\npin=1\n[key]\ntype=sm2\nprivate=%s\n", hex);
        CHECK_RV(quietly(init_dir, token_dir("n1", text)), CKR_GENERAL_ERROR);
        OPENSSL_free(hex);
        BN_sub_word(b, 1);
        hex = BN_bn2hex(b);
        snprintf(text, sizeof(text), "[token]\nlabel=x\npin=1\n[key]\ntype=sm2\nprivate=%s\n", hex);
        CHECK_RV(init_dir(token_dir("n2", text)), CKR_OK);
        CHECK_RV(F->C_Finalize(NULL), CKR_OK);
        OPENSSL_free(hex);
        BN_free(b);
        CHECK_RV(quietly(init_dir, token_dir("zero", "[token]\nlabel=x\npin=1\n[key]\ntype=p256\nprivate="
                                                     "00000000000000000000000000000000"
                                                     "00000000000000000000000000000000\n")),
                 CKR_GENERAL_ERROR);
    }
    c = counters();
    CHECK(c.initializeCount == c0.initializeCount + 1 && c.initialized == 0);

    /* the environment variable is read when MOCKP11_SetDir is not set */
    h_dir(NULL);
    setenv("MOCKP11_DIR", good, 1);
    CHECK_RV(F->C_Initialize(NULL), CKR_OK);
    CHECK_RV(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CHECK_RV(F->C_Finalize((CK_VOID_PTR)&args), CKR_ARGUMENTS_BAD);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    unsetenv("MOCKP11_DIR");
    h_dir(good);

    /* CK_C_INITIALIZE_ARGS */
    memset(&args, 0, sizeof(args));
    args.pReserved = &args;
    CHECK_RV(F->C_Initialize(&args), CKR_ARGUMENTS_BAD);
    memset(&args, 0, sizeof(args));
    args.CreateMutex = fake_create;
    CHECK_RV(F->C_Initialize(&args), CKR_ARGUMENTS_BAD); /* some mutex functions, not all */
    args.DestroyMutex = fake_mutex;
    args.LockMutex = fake_mutex;
    args.UnlockMutex = fake_mutex;
    CHECK_RV(F->C_Initialize(&args), CKR_CANT_LOCK); /* the application's mutexes only */
    args.flags = CKF_OS_LOCKING_OK;
    CHECK_RV(F->C_Initialize(&args), CKR_OK);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    memset(&args, 0, sizeof(args));
    args.flags = CKF_OS_LOCKING_OK;
    CHECK_RV(F->C_Initialize(&args), CKR_OK);
    CHECK_RV(F->C_Initialize(&args), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    c = counters();
    CHECK(c.initializeCount == c0.initializeCount + 4 && c.finalizeCount == c0.finalizeCount + 3 &&
          c.initialized == 1);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    CHECK(counters().initialized == 0);
}

/* ---- token, slots, sessions, login ----------------------------------------------------- */

static const char *SANSEC_TOKEN = "# a Sansec-like token\n"
                                  "[token]\n"
                                  "label=fisco-sm2\n"
                                  "pin=cu1:Pa#ss:w0rd\n"
                                  "profile=sansec\n"
                                  "slot_id=7\n"
                                  "max_sessions=4\n"
                                  "\n"
                                  "[key]\n"
                                  "label=node0\n"
                                  "id=0a0b0c\n"
                                  "type=sm2\n"
                                  "private=3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8\n"
                                  "\n"
                                  "[key]\r\n"
                                  "  label = node1  \r\n"
                                  "id=01\r\n"
                                  "type=sm2\r\n"
                                  "flags=point_on_private\r\n"
                                  "private=1649ab77a00637bd5e2efe283fbf353534aa7f7cb89463f208ddbc2920bb0da0\r\n"
                                  "[key]\n"
                                  "label=ec\n"
                                  "id=02\n"
                                  "type=p256\n"
                                  "private=c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721\n";

static void test_token(void)
{
    CK_INFO info;
    CK_SLOT_ID slots[2];
    CK_SLOT_INFO si;
    CK_TOKEN_INFO ti;
    CK_MECHANISM_TYPE mechs[16];
    CK_MECHANISM_INFO mi;
    CK_ULONG n;
    CK_SESSION_HANDLE h[5], ro;
    CK_SESSION_INFO sinfo;
    MOCKP11_Counters c;
    int i;

    CHECK_RV(init_dir(token_dir("sansec", SANSEC_TOKEN)), CKR_OK);
    CHECK_RV(F->C_GetInfo(&info), CKR_OK);
    CHECK(info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor == 40 && info.flags == 0);
    CHECK(memcmp(info.manufacturerID, "gmt0018 mockp11", 15) == 0 && info.manufacturerID[31] == ' ');
    CHECK_RV(F->C_GetInfo(NULL), CKR_ARGUMENTS_BAD);

    /* slot list: size, too small, value */
    n = 99;
    CHECK_RV(F->C_GetSlotList(CK_TRUE, NULL, &n), CKR_OK);
    CHECK(n == 1);
    n = 0;
    CHECK_RV(F->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
    CHECK(n == 1);
    n = 2;
    CHECK_RV(F->C_GetSlotList(CK_FALSE, slots, &n), CKR_OK);
    CHECK(n == 1 && slots[0] == 7);
    CHECK_RV(F->C_GetSlotList(CK_TRUE, slots, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(F->C_GetSlotInfo(7, &si), CKR_OK);
    CHECK((si.flags & CKF_TOKEN_PRESENT) && memcmp(si.manufacturerID, "Sansec", 6) == 0);
    CHECK_RV(F->C_GetSlotInfo(0, &si), CKR_SLOT_ID_INVALID);
    CHECK_RV(F->C_GetTokenInfo(8, &ti), CKR_SLOT_ID_INVALID);

    /* token info */
    CHECK_RV(F->C_GetTokenInfo(7, &ti), CKR_OK);
    CHECK(memcmp(ti.label, "fisco-sm2                       ", 32) == 0);
    CHECK(memcmp(ti.serialNumber, "0000000000000001", 16) == 0 && memcmp(ti.model, "mockp11         ", 16) == 0);
    CHECK(ti.ulMaxRwSessionCount == 4 && ti.ulMaxSessionCount == 4 && ti.ulSessionCount == 0);
    CHECK((ti.flags & (CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED)) ==
          (CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED));
    CHECK(ti.ulMinPinLen == 1 && ti.ulMaxPinLen == 255);

    /* mechanisms */
    n = 0;
    CHECK_RV(F->C_GetMechanismList(7, NULL, &n), CKR_OK);
    CHECK(n == 7);
    n = 3;
    CHECK_RV(F->C_GetMechanismList(7, mechs, &n), CKR_BUFFER_TOO_SMALL);
    CHECK(n == 7);
    n = 16;
    CHECK_RV(F->C_GetMechanismList(7, mechs, &n), CKR_OK);
    CHECK(n == 7 && mechs[0] == 0x80008100UL && mechs[4] == 0x80008104UL && mechs[6] == CKM_ECDSA);
    CHECK_RV(F->C_GetMechanismInfo(7, 0x80008104UL, &mi), CKR_OK);
    CHECK(mi.ulMinKeySize == 256 && mi.ulMaxKeySize == 256 && (mi.flags & CKF_SIGN));
    CHECK_RV(F->C_GetMechanismInfo(7, 0x80008000UL, &mi), CKR_MECHANISM_INVALID);
    CHECK_RV(F->C_GetMechanismInfo(0, CKM_ECDSA, &mi), CKR_SLOT_ID_INVALID);

    /* sessions */
    CHECK_RV(F->C_OpenSession(7, CKF_RW_SESSION, NULL, NULL, &h[0]), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, NULL), CKR_ARGUMENTS_BAD);
    CHECK_RV(F->C_OpenSession(1, CKF_SERIAL_SESSION, NULL, NULL, &h[0]), CKR_SLOT_ID_INVALID);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &ro), CKR_OK);
    for (i = 0; i < 3; i++)
        CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h[i]), CKR_OK);
    CHECK(ro != h[0] && h[0] != h[1] && h[1] != h[2] && ro != CK_INVALID_HANDLE);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h[3]), CKR_SESSION_COUNT);
    CHECK_RV(F->C_GetTokenInfo(7, &ti), CKR_OK);
    CHECK(ti.ulSessionCount == 4 && ti.ulRwSessionCount == 3);
    c = counters();
    CHECK(c.openSessions == 4 && c.rwSessions == 3 && c.loggedIn == 0);
    CHECK_RV(F->C_GetSessionInfo(ro, &sinfo), CKR_OK);
    CHECK(sinfo.slotID == 7 && sinfo.state == CKS_RO_PUBLIC_SESSION && sinfo.flags == CKF_SERIAL_SESSION);
    CHECK_RV(F->C_GetSessionInfo(h[0], &sinfo), CKR_OK);
    CHECK(sinfo.state == CKS_RW_PUBLIC_SESSION && sinfo.flags == (CKF_SERIAL_SESSION | CKF_RW_SESSION));
    CHECK_RV(F->C_GetSessionInfo(0, &sinfo), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_GetSessionInfo(h[0] + 1, &sinfo), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_GetSessionInfo(~0UL, &sinfo), CKR_SESSION_HANDLE_INVALID);

    /* login: the PIN holds ':' and '#' */
    CHECK_RV(F->C_Logout(h[0]), CKR_USER_NOT_LOGGED_IN);
    CHECK_RV(F->C_Login(h[0], CKU_USER, (CK_UTF8CHAR_PTR) "cu1", 3), CKR_PIN_INCORRECT);
    CHECK_RV(F->C_Login(h[0], CKU_USER, (CK_UTF8CHAR_PTR) "cu1:Pa#ss:w0rdX", 15), CKR_PIN_INCORRECT);
    CHECK_RV(F->C_Login(h[0], CKU_SO, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_USER_TYPE_INVALID);
    CHECK_RV(F->C_Login(h[0], CKU_USER, NULL, 0), CKR_ARGUMENTS_BAD);
    c = counters();
    CHECK(c.failedLogins == 2 && c.loggedIn == 0);
    CHECK_RV(F->C_Login(ro, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
    CHECK_RV(F->C_Login(h[1], CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_USER_ALREADY_LOGGED_IN);
    CHECK_RV(F->C_GetSessionInfo(h[0], &sinfo), CKR_OK); /* login is for every session */
    CHECK(sinfo.state == CKS_RW_USER_FUNCTIONS);
    CHECK_RV(F->C_GetSessionInfo(ro, &sinfo), CKR_OK);
    CHECK(sinfo.state == CKS_RO_USER_FUNCTIONS);
    c = counters();
    CHECK(c.loggedIn == 1 && c.loginCount == 1);
    CHECK_RV(F->C_Logout(h[2]), CKR_OK);
    CHECK(counters().loggedIn == 0);
    CHECK_RV(F->C_Login(h[2], CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);

    /* closing */
    CHECK_RV(F->C_CloseSession(h[0]), CKR_OK);
    CHECK_RV(F->C_CloseSession(h[0]), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_GetSessionInfo(h[0], &sinfo), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h[4]), CKR_OK);
    CHECK(h[4] != h[0]); /* a reused table slot gets a new handle */
    CHECK_RV(F->C_GetSessionInfo(h[0], &sinfo), CKR_SESSION_HANDLE_INVALID);
    CHECK(counters().loggedIn == 1);
    CHECK_RV(F->C_CloseAllSessions(8), CKR_SLOT_ID_INVALID);
    CHECK_RV(F->C_CloseAllSessions(7), CKR_OK);
    c = counters();
    CHECK(c.openSessions == 0 && c.rwSessions == 0 && c.loggedIn == 0); /* the last close logs out */
    CHECK_RV(F->C_GetSessionInfo(h[1], &sinfo), CKR_SESSION_HANDLE_INVALID);
    h[0] = open_session(7, 1);
    CHECK_RV(F->C_CloseSession(h[0]), CKR_OK);
    CHECK(counters().loggedIn == 0);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

/* ---- objects and attributes ------------------------------------------------------------- */

static void test_objects(void)
{
    static const unsigned char id0[] = {0x0a, 0x0b, 0x0c}, id2[] = {0x02};
    CK_SESSION_HANDLE h, h2;
    CK_OBJECT_HANDLE pub0, priv0, priv1, o, objs[8];
    CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
    CK_KEY_TYPE kt = MOCKP11_CKK_SM2_SANSEC;
    unsigned char buf[128], point[65], want[65];
    CK_ULONG n;
    CK_BBOOL yes = CK_TRUE;
    long len;

    CHECK_RV(init_dir(token_dir("sansec", SANSEC_TOKEN)), CKR_OK);
    h = open_session(7, 0);
    h2 = open_session(7, 0);
    /* logged out: public objects only */
    CHECK(find(h, 0, NULL, NULL, 0, &o) == 3);
    CHECK(find(h, CKO_PRIVATE_KEY, NULL, NULL, 0, &o) == 0);
    pub0 = find_one(h, CKO_PUBLIC_KEY, "node0");
    CHECK_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
    CHECK(find(h, 0, NULL, NULL, 0, &o) == 6);
    priv0 = find_one(h, CKO_PRIVATE_KEY, "node0");
    priv1 = find_one(h, CKO_PRIVATE_KEY, "node1"); /* "  label = node1  " is trimmed */
    CHECK(find(h, CKO_PRIVATE_KEY, NULL, id0, sizeof(id0), &o) == 1 && o == priv0);
    CHECK(find(h, 0, "node0", id0, sizeof(id0), &o) == 2);
    CHECK(find(h, CKO_PRIVATE_KEY, "node0", id2, sizeof(id2), &o) == 0);
    CHECK(find(h, CKO_PUBLIC_KEY, "ec", id2, sizeof(id2), &o) == 1);
    CHECK(find(h, CKO_PRIVATE_KEY, "node", NULL, 0, &o) == 0); /* no prefix match */
    CHECK(pub0 != priv0 && priv0 != priv1);
    {
        CK_ATTRIBUTE t[3] = {{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)}, {CKA_SIGN, &yes, 1}};
        CHECK_RV(F->C_FindObjectsInit(h, t, 3), CKR_OK);
        CHECK_RV(F->C_FindObjectsInit(h, t, 3), CKR_OPERATION_ACTIVE);
        CHECK_RV(F->C_FindObjectsInit(h2, t, 3), CKR_OK); /* one search per session */
        CHECK(counters().activeFinds == 2);
        CHECK_RV(F->C_FindObjects(h, objs, 1, &n), CKR_OK);
        CHECK(n == 1 && objs[0] == priv0);
        CHECK_RV(F->C_FindObjects(h, objs, 8, &n), CKR_OK);
        CHECK(n == 1 && objs[0] == priv1);
        CHECK_RV(F->C_FindObjects(h, objs, 8, &n), CKR_OK);
        CHECK(n == 0);
        CHECK_RV(F->C_FindObjects(h, objs, 8, NULL), CKR_ARGUMENTS_BAD);
        CHECK_RV(F->C_FindObjectsFinal(h), CKR_OK);
        CHECK_RV(F->C_FindObjectsFinal(h), CKR_OPERATION_NOT_INITIALIZED);
        CHECK_RV(F->C_FindObjects(h, objs, 8, &n), CKR_OPERATION_NOT_INITIALIZED);
        CHECK_RV(F->C_FindObjectsFinal(h2), CKR_OK);
        /* a CK_ULONG given in 4 bytes matches nothing */
        t[0].ulValueLen = 4;
        CHECK_RV(F->C_FindObjectsInit(h, t, 1), CKR_OK);
        CHECK_RV(F->C_FindObjects(h, objs, 8, &n), CKR_OK);
        CHECK(n == 0);
        CHECK_RV(F->C_FindObjectsFinal(h), CKR_OK);
        t[0].pValue = NULL;
        CHECK_RV(F->C_FindObjectsInit(h, t, 1), CKR_ATTRIBUTE_VALUE_INVALID);
        CHECK_RV(F->C_FindObjectsInit(h, NULL, 1), CKR_ARGUMENTS_BAD);
    }

    /* attributes: class, key type, label two-call, EC params and point */
    CHECK(get_ulong(h, priv0, CKA_CLASS) == CKO_PRIVATE_KEY && get_ulong(h, pub0, CKA_CLASS) == CKO_PUBLIC_KEY);
    CHECK(get_ulong(h, priv0, CKA_KEY_TYPE) == 0x80000004UL && get_ulong(h, pub0, CKA_KEY_TYPE) == 0x80000004UL);
    {
        CK_ATTRIBUTE a = {CKA_LABEL, NULL, 0};
        CHECK_RV(F->C_GetAttributeValue(h, priv0, &a, 1), CKR_OK);
        CHECK(a.ulValueLen == 5);
        a.pValue = buf;
        a.ulValueLen = 4;
        CHECK_RV(F->C_GetAttributeValue(h, priv0, &a, 1), CKR_BUFFER_TOO_SMALL);
        CHECK(a.ulValueLen == CK_UNAVAILABLE_INFORMATION);
        a.ulValueLen = 5;
        CHECK_RV(F->C_GetAttributeValue(h, priv0, &a, 1), CKR_OK);
        CHECK(a.ulValueLen == 5 && memcmp(buf, "node0", 5) == 0);
    }
    len = get_attr(h, priv0, CKA_ID, buf, sizeof(buf));
    CHECK(len == 3 && memcmp(buf, id0, 3) == 0);
    len = get_attr(h, pub0, CKA_EC_PARAMS, buf, sizeof(buf));
    CHECK(len == 10 && oid_is(buf, len, "1.2.156.10197.1.301"));
    len = get_attr(h, priv0, CKA_EC_PARAMS, buf, sizeof(buf));
    CHECK(len == 10 && oid_is(buf, len, "1.2.156.10197.1.301"));
    expected_point(1, SM2_A, want);
    len = get_attr(h, pub0, CKA_EC_POINT, buf, sizeof(buf));
    CHECK(len == 67 && point_of(buf, len, 0, point) && memcmp(point, want, 65) == 0);
    CHECK(get_attr(h, priv0, CKA_EC_POINT, buf, sizeof(buf)) == -1); /* not on the private key */
    expected_point(1, SM2_B, want);
    len = get_attr(h, priv1, CKA_EC_POINT, buf, sizeof(buf)); /* point_on_private */
    CHECK(len == 67 && point_of(buf, len, 0, point) && memcmp(point, want, 65) == 0);
    CHECK(find(h, CKO_PUBLIC_KEY, "ec", NULL, 0, &o) == 1);
    len = get_attr(h, o, CKA_EC_PARAMS, buf, sizeof(buf));
    CHECK(len == 10 && oid_is(buf, len, "1.2.840.10045.3.1.7"));
    CHECK(get_ulong(h, o, CKA_KEY_TYPE) == CKK_EC);
    expected_point(0, P256_A, want);
    len = get_attr(h, o, CKA_EC_POINT, buf, sizeof(buf));
    CHECK(len == 67 && point_of(buf, len, 0, point) && memcmp(point, want, 65) == 0);
    {
        CK_BBOOL sign = 9, sens = 9, extr = 9, priv = 9, tok = 9;
        CK_ULONG cl = 0;
        unsigned char lbl[8];
        CK_ATTRIBUTE t[8] = {{CKA_SIGN, &sign, 1},  {CKA_SENSITIVE, &sens, 1}, {CKA_VALUE, buf, sizeof(buf)},
                             {CKA_EXTRACTABLE, &extr, 1}, {0x120 /* CKA_MODULUS */, buf, sizeof(buf)},
                             {CKA_PRIVATE, &priv, 1}, {CKA_TOKEN, &tok, 1}, {CKA_LABEL, lbl, 2}};
        CHECK_RV(F->C_GetAttributeValue(h, priv0, t, 8), CKR_ATTRIBUTE_SENSITIVE); /* the first error */
        CHECK(sign == CK_TRUE && sens == CK_TRUE && extr == CK_FALSE && priv == CK_TRUE && tok == CK_TRUE);
        CHECK(t[2].ulValueLen == CK_UNAVAILABLE_INFORMATION && t[4].ulValueLen == CK_UNAVAILABLE_INFORMATION &&
              t[7].ulValueLen == CK_UNAVAILABLE_INFORMATION && t[0].ulValueLen == 1);
        t[0].type = CKA_CLASS;
        t[0].pValue = &cl;
        t[0].ulValueLen = sizeof(cl);
        t[1].type = 0x120;
        CHECK_RV(F->C_GetAttributeValue(h, priv0, t, 2), CKR_ATTRIBUTE_TYPE_INVALID);
        CHECK(cl == CKO_PRIVATE_KEY && t[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);
        t[0].type = CKA_SIGN;
        t[0].pValue = &sign;
        t[0].ulValueLen = 1;
        CHECK_RV(F->C_GetAttributeValue(h, pub0, t, 1), CKR_ATTRIBUTE_TYPE_INVALID); /* no CKA_SIGN on public */
        t[0].type = CKA_VERIFY;
        CHECK_RV(F->C_GetAttributeValue(h, pub0, t, 1), CKR_OK);
        CHECK(sign == CK_TRUE);
        CHECK_RV(F->C_GetAttributeValue(h, pub0, NULL, 1), CKR_ARGUMENTS_BAD);
    }
    CHECK_RV(F->C_GetAttributeValue(h, 12345, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(F->C_GetAttributeValue(h, priv0 + 2 * 3, NULL, 0), CKR_OBJECT_HANDLE_INVALID); /* past the keys */
    CHECK_RV(F->C_GetAttributeValue(h, 0, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
    CHECK_RV(F->C_GetAttributeValue(0, priv0, NULL, 0), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_Logout(h), CKR_OK);
    CHECK_RV(F->C_GetAttributeValue(h, priv0, NULL, 0), CKR_OBJECT_HANDLE_INVALID); /* private, logged out */
    CHECK_RV(F->C_GetAttributeValue(h, pub0, NULL, 0), CKR_OK);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

/* ---- signing ------------------------------------------------------------------------ */

typedef struct {
    CK_MECHANISM_TYPE mech;
    int message; /* the module hashes SM3(Z || M) */
    int der;     /* DER output, else r || s */
} sm2_mech;

/* Signs with mech and checks the signature with OpenSSL, the size protocol and the end of the
 * operation. */
static void check_sm2_mech(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, const unsigned char point[65], sm2_mech m)
{
    static const unsigned char msg[] = "transfer 100 to 0x1234 at block 42";
    unsigned char e[32], sig[128], d[80];
    const unsigned char *in;
    size_t inlen, dlen;
    CK_MECHANISM mech = {m.mech, NULL, 0};
    CK_ULONG len = sizeof(sig), need;

    sm2_e(point, msg, sizeof(msg) - 1, e);
    in = m.message ? msg : e;
    inlen = m.message ? sizeof(msg) - 1 : 32;

    /* the two calls; the size query and a too-small buffer keep the operation */
    CHECK_RV(F->C_SignInit(h, &mech, key), CKR_OK);
    CHECK(counters().activeSigns == 1);
    need = 0;
    CHECK_RV(F->C_Sign(h, (CK_BYTE_PTR)in, inlen, NULL, &need), CKR_OK);
    CHECK(need == (m.der ? 72u : 64u));
    len = 8;
    CHECK_RV(F->C_Sign(h, (CK_BYTE_PTR)in, inlen, sig, &len), CKR_BUFFER_TOO_SMALL);
    CHECK(m.der ? (len >= 8 && len <= 72) : len == 64);
    CHECK_RV(F->C_SignInit(h, &mech, key), CKR_OPERATION_ACTIVE);
    len = sizeof(sig);
    CHECK_RV(F->C_Sign(h, (CK_BYTE_PTR)in, inlen, sig, &len), CKR_OK);
    CHECK(m.der ? (len >= 8 && len <= 72 && sig[0] == 0x30) : len == 64);
    CHECK_RV(F->C_Sign(h, (CK_BYTE_PTR)in, inlen, sig, &len), CKR_OPERATION_NOT_INITIALIZED); /* C_Sign ended it */
    CHECK(counters().activeSigns == 0);

    /* OpenSSL: over e (no further hash), and over the message with the default ID */
    CHECK(to_der(sig, len, m.der, d, &dlen));
    CHECK(verify_digest(1, point, e, 32, sig, len, m.der));
    CHECK(verify_message(point, ID, msg, sizeof(msg) - 1, sig, len, m.der));
    CHECK(!verify_message(point, "1234567812345679", msg, sizeof(msg) - 1, sig, len, m.der));
    CHECK(!verify_message(point, ID, msg, sizeof(msg) - 2, sig, len, m.der));

    /* a fresh signature each time (random k) that verifies too */
    {
        unsigned char sig2[128];
        CK_ULONG len2 = sizeof(sig2);
        CHECK_RV(sign(h, m.mech, key, in, inlen, sig2, &len2), CKR_OK);
        CHECK(len2 != len || memcmp(sig, sig2, len) != 0);
        CHECK(verify_message(point, ID, msg, sizeof(msg) - 1, sig2, len2, m.der));
    }
    /* wrong lengths of a digest end the operation */
    if (!m.message) {
        CHECK_RV(F->C_SignInit(h, &mech, key), CKR_OK);
        len = sizeof(sig);
        CHECK_RV(F->C_Sign(h, e, 31, sig, &len), CKR_DATA_LEN_RANGE);
        CHECK_RV(F->C_Sign(h, e, 32, sig, &len), CKR_OPERATION_NOT_INITIALIZED);
        CHECK_RV(F->C_SignInit(h, &mech, key), CKR_OK);
        CHECK_RV(F->C_Sign(h, e, 33, NULL, &len), CKR_DATA_LEN_RANGE);
    } else { /* the empty message */
        len = sizeof(sig);
        CHECK_RV(sign(h, m.mech, key, msg, 0, sig, &len), CKR_OK);
        CHECK(verify_message(point, ID, msg, 0, sig, len, m.der));
    }
    /* the faulty-module hook: the signature no longer verifies */
    h_wrong(1);
    len = sizeof(sig);
    CHECK_RV(sign(h, m.mech, key, in, inlen, sig, &len), CKR_OK);
    CHECK(!verify_message(point, ID, msg, sizeof(msg) - 1, sig, len, m.der));
    CHECK(!verify_digest(1, point, e, 32, sig, len, m.der));
    h_wrong(0);
}

/* ECDSA P-256 over SHA-256(M), r || s */
static void check_ecdsa(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE key, const unsigned char point[65])
{
    static const unsigned char msg[] = "sample";
    unsigned char dg[32], sig[80];
    unsigned int n;
    CK_ULONG len = sizeof(sig);
    EVP_Digest(msg, 6, dg, &n, EVP_sha256(), NULL);
    CHECK_RV(sign(h, CKM_ECDSA, key, dg, 32, sig, &len), CKR_OK);
    CHECK(len == 64 && verify_digest(0, point, dg, 32, sig, len, 0));
    dg[0] ^= 1;
    CHECK(!verify_digest(0, point, dg, 32, sig, len, 0));
    len = sizeof(sig);
    CHECK_RV(sign(h, CKM_ECDSA, key, dg, 19, sig, &len), CKR_DATA_LEN_RANGE);
}

static CK_OBJECT_HANDLE key_point(CK_SESSION_HANDLE h, const char *label, int sm2, unsigned char point[65])
{
    unsigned char buf[80];
    CK_OBJECT_HANDLE pub = find_one(h, CKO_PUBLIC_KEY, label), priv = find_one(h, CKO_PRIVATE_KEY, label);
    long len = get_attr(h, pub, CKA_EC_POINT, buf, sizeof(buf));
    CHECK(len > 0 && point_of(buf, len, 0, point));
    (void)sm2;
    return priv;
}

typedef struct {
    const char *name;
    const char *profile;
    CK_KEY_TYPE sm2_key_type;
    sm2_mech mechs[6];
    int nmechs;
} profile_case;

static void test_signing(void)
{
    static const profile_case cases[] = {
        {"sansec", "sansec", 0x80000004UL,
         {{0x80008100UL, 1, 0}, {0x80008101UL, 1, 1}, {0x80008102UL, 1, 0}, {0x80008103UL, 1, 1},
          {0x80008104UL, 0, 0}, {0x80008105UL, 0, 0}},
         6},
        {"tass", "tass", 0x80000004UL, {{0x80008000UL, 0, 1}}, 1},
        {"luna", "luna", 0x80000016UL, {{0x80000B21UL, 0, 0}}, 1},
        {"ibm-ep11", "ibm-ep11", CKK_EC, {{0x8005000BUL, 0, 0}}, 1},
        {"standard", "standard", CKK_EC, {{0}}, 0},
    };
    size_t i;
    int j;
    char text[1024];
    unsigned char sm2_point[65], ec_point[65], buf[16];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const profile_case *pc = &cases[i];
        CK_SESSION_HANDLE h, h2;
        CK_OBJECT_HANDLE sm2, ec, pub;
        CK_MECHANISM_TYPE list[16];
        CK_ULONG n = 16;
        long len;
        snprintf(text, sizeof(text),
                 "[token]\nlabel=%s\npin=%s\nprofile=%s\n"
                 "[key]\nlabel=sm2\nid=aa\ntype=sm2\nprivate=%s\n"
                 "[key]\nlabel=ec\nid=bb\ntype=p256\nprivate=%s\n",
                 pc->name, PIN, pc->profile, SM2_A, P256_A);
        CHECK_RV(init_dir(token_dir(pc->name, text)), CKR_OK);
        CHECK_RV(F->C_GetMechanismList(0, list, &n), CKR_OK);
        CHECK(n == (CK_ULONG)pc->nmechs + 1 && list[n - 1] == CKM_ECDSA);
        for (j = 0; j < pc->nmechs; j++)
            CHECK(list[j] == pc->mechs[j].mech);
        h = open_session(0, 1);
        sm2 = key_point(h, "sm2", 1, sm2_point);
        ec = key_point(h, "ec", 0, ec_point);
        CHECK(get_ulong(h, sm2, CKA_KEY_TYPE) == pc->sm2_key_type);
        len = get_attr(h, sm2, CKA_EC_PARAMS, buf, sizeof(buf));
        CHECK(len == 10 && oid_is(buf, len, "1.2.156.10197.1.301"));
        {
            unsigned char want[65];
            expected_point(1, SM2_A, want);
            CHECK(memcmp(want, sm2_point, 65) == 0);
        }
        for (j = 0; j < pc->nmechs; j++)
            check_sm2_mech(h, sm2, sm2_point, pc->mechs[j]);
        check_ecdsa(h, ec, ec_point);

        /* what SignInit refuses */
        {
            CK_MECHANISM m = {CKM_ECDSA, NULL, 0};
            CK_MECHANISM vendor = {pc->nmechs ? pc->mechs[0].mech : 0x80008104UL, NULL, 0};
            unsigned char param[16] = {0};
            CK_ULONG slen = 0;
            CHECK_RV(F->C_SignInit(h, &m, sm2), CKR_KEY_TYPE_INCONSISTENT);
            CHECK_RV(F->C_SignInit(h, &vendor, ec), pc->nmechs ? CKR_KEY_TYPE_INCONSISTENT : CKR_MECHANISM_INVALID);
            pub = find_one(h, CKO_PUBLIC_KEY, "ec");
            CHECK_RV(F->C_SignInit(h, &m, pub), CKR_KEY_FUNCTION_NOT_PERMITTED);
            CHECK_RV(F->C_SignInit(h, &m, 777), CKR_KEY_HANDLE_INVALID);
            CHECK_RV(F->C_SignInit(h, NULL, ec), CKR_ARGUMENTS_BAD);
            m.mechanism = 0x1044; /* CKM_ECDSA_SHA256: not offered */
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_MECHANISM_INVALID);
            m.mechanism = CKM_ECDSA;
            m.pParameter = param;
            m.ulParameterLen = sizeof(param);
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_MECHANISM_PARAM_INVALID);
            m.pParameter = NULL;
            m.ulParameterLen = 0;
            CHECK_RV(F->C_Sign(h, buf, 0, NULL, &slen), CKR_OPERATION_NOT_INITIALIZED);
            /* one operation per session, one per session only */
            h2 = open_session(0, 0);
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_OK);
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_OPERATION_ACTIVE);
            CHECK_RV(F->C_SignInit(h2, &m, ec), CKR_OK);
            CHECK(counters().activeSigns == 2);
            CHECK_RV(F->C_Sign(h, buf, 32, NULL, NULL), CKR_ARGUMENTS_BAD); /* ends it */
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_OK);
            /* the login goes: C_Sign fails, SignInit on a private key says so */
            CHECK_RV(F->C_Logout(h2), CKR_OK);
            slen = 64;
            CHECK_RV(F->C_Sign(h2, buf, 32, buf, &slen), CKR_USER_NOT_LOGGED_IN);
            CHECK_RV(F->C_Sign(h, buf, 32, buf, &slen), CKR_USER_NOT_LOGGED_IN); /* the login is the token's */
            CHECK_RV(F->C_SignInit(h, &m, ec), CKR_USER_NOT_LOGGED_IN);
            CHECK_RV(F->C_CloseSession(h2), CKR_OK);
            CHECK(counters().activeSigns == 0);
        }
        CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    }

    /* mechanism lines: 0x80008104 as DER on a TASS token, ECDSA removed */
    snprintf(text, sizeof(text),
             "[token]\nlabel=edit\npin=%s\nprofile=tass\nmechanism=0x80008104,digest,der\n"
             "mechanism = 0x80008000 , digest , rs , sm2\nno_mechanism=0x1041\nmechanism=4164,message,rs,p256\n"
             "[key]\nlabel=sm2\ntype=sm2\nprivate=%s\n[key]\nlabel=ec\ntype=p256\nprivate=%s\n",
             PIN, SM2_A, P256_A);
    CHECK_RV(init_dir(token_dir("edit", text)), CKR_OK);
    {
        CK_SESSION_HANDLE h = open_session(0, 1);
        CK_OBJECT_HANDLE sm2 = key_point(h, "sm2", 1, sm2_point), ec = key_point(h, "ec", 0, ec_point);
        CK_MECHANISM_TYPE list[8];
        CK_ULONG n = 8, len;
        unsigned char sig[80], dg[32];
        unsigned int dn;
        sm2_mech der104 = {0x80008104UL, 0, 1}, rs8000 = {0x80008000UL, 0, 0};
        CHECK_RV(F->C_GetMechanismList(0, list, &n), CKR_OK);
        CHECK(n == 3 && list[0] == 0x80008000UL && list[1] == 0x80008104UL && list[2] == 0x1044);
        check_sm2_mech(h, sm2, sm2_point, der104);
        check_sm2_mech(h, sm2, sm2_point, rs8000);
        len = sizeof(sig);
        CHECK_RV(sign(h, CKM_ECDSA, ec, sig, 32, sig, &len), CKR_MECHANISM_INVALID);
        len = sizeof(sig);
        CHECK_RV(sign(h, 0x1044, ec, (const unsigned char *)"sample", 6, sig, &len), CKR_OK);
        EVP_Digest("sample", 6, dg, &dn, EVP_sha256(), NULL);
        CHECK(len == 64 && verify_digest(0, ec_point, dg, 32, sig, len, 0));
    }
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

/* ---- AWS CloudHSM-like token: user:password PIN, no public objects, raw points ----------- */

static void test_cloudhsm(void)
{
    char text[1024];
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE o, k;
    unsigned char buf[80], point[65], want[65], dg[32], sig[80];
    unsigned int dn;
    CK_ULONG len;
    long alen;
    snprintf(text, sizeof(text),
             "[token]\nlabel=cavium\npin=%s\nprofile=standard\nslot_id=1\nmanufacturer=Marvell Semiconductors, Inc.\n"
             "[key]\nlabel=signer\nid=c0ffee\ntype=p256\nflags=no_public_object\nprivate=%s\n"
             "[key]\nlabel=raw\ntype=sm2\nflags=no_public_object, raw_point\nprivate=%s\n",
             PIN, P256_A, SM2_B);
    CHECK_RV(init_dir(token_dir("cloudhsm", text)), CKR_OK);
    h = open_session(1, 0);
    CHECK(find(h, 0, NULL, NULL, 0, &o) == 0); /* nothing without login */
    CHECK_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR) "cu1:Pa#ss:w0rd ", 15), CKR_PIN_INCORRECT);
    CHECK_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_OK);
    CHECK(find(h, CKO_PUBLIC_KEY, NULL, NULL, 0, &o) == 0);
    CHECK(find(h, 0, NULL, NULL, 0, &o) == 2);
    k = find_one(h, CKO_PRIVATE_KEY, "signer");
    alen = get_attr(h, k, CKA_EC_POINT, buf, sizeof(buf));
    expected_point(0, P256_A, want);
    CHECK(alen == 67 && point_of(buf, alen, 0, point) && memcmp(point, want, 65) == 0);
    EVP_Digest("cloud", 5, dg, &dn, EVP_sha256(), NULL);
    len = sizeof(sig);
    CHECK_RV(sign(h, CKM_ECDSA, k, dg, 32, sig, &len), CKR_OK);
    CHECK(len == 64 && verify_digest(0, point, dg, 32, sig, len, 0));
    /* the public handle a binding might compute is not there */
    CHECK_RV(F->C_GetAttributeValue(h, k - 1, NULL, 0), CKR_OBJECT_HANDLE_INVALID);
    o = find_one(h, CKO_PRIVATE_KEY, "raw");
    alen = get_attr(h, o, CKA_EC_POINT, buf, sizeof(buf));
    expected_point(1, SM2_B, want);
    CHECK(alen == 65 && point_of(buf, alen, 1, point) && memcmp(point, want, 65) == 0);
    CHECK(get_ulong(h, o, CKA_KEY_TYPE) == CKK_EC);
    {
        CK_SLOT_INFO si;
        CHECK_RV(F->C_GetSlotInfo(1, &si), CKR_OK);
        CHECK(memcmp(si.manufacturerID, "Marvell Semiconductors, Inc.    ", 32) == 0);
    }
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

/* ---- faults, stalls, latency, proxy restart ---------------------------------------------- */

static void test_faults(void)
{
    CK_SESSION_HANDLE h, h2;
    CK_OBJECT_HANDLE k;
    CK_SESSION_INFO si;
    CK_MECHANISM m = {0x80008104UL, NULL, 0};
    unsigned char e[32] = {1}, sig[80], point[65];
    CK_ULONG len;
    unsigned long long calls0 = 0, calls1 = 0;
    double t0;
    int i;

    CHECK_RV(init_dir(token_dir("sansec", SANSEC_TOKEN)), CKR_OK);
    h = open_session(7, 1);
    k = key_point(h, "node0", 1, point);

    CHECK_RV(h_fault("C_Bogus", CKR_DEVICE_ERROR, 0, 1), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_fault("C_Sign", CKR_OK, 0, 1), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_fault("C_Sign", CKR_DEVICE_ERROR, 0, 0), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_fault("C_Sign", CKR_DEVICE_ERROR, 0, -2), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_fault("C_GetFunctionList", CKR_DEVICE_ERROR, 0, 1), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_call_count("C_Nope", &calls0), CKR_ARGUMENTS_BAD);
    CHECK_RV(h_counters(NULL), CKR_ARGUMENTS_BAD);

    /* C_Sign: the second call after now fails once with CKR_DEVICE_ERROR and does nothing */
    CHECK_RV(h_call_count("C_Sign", &calls0), CKR_OK);
    CHECK_RV(h_fault("Sign", CKR_DEVICE_ERROR, 1, 1), CKR_OK);
    CHECK_RV(F->C_SignInit(h, &m, k), CKR_OK);
    len = sizeof(sig);
    CHECK_RV(F->C_Sign(h, e, 32, NULL, &len), CKR_OK);
    CHECK_RV(F->C_Sign(h, e, 32, sig, &len), CKR_DEVICE_ERROR);
    CHECK(counters().activeSigns == 1); /* the faulted call did nothing */
    CHECK_RV(F->C_Sign(h, e, 32, sig, &len), CKR_OK);
    CHECK(len == 64 && verify_digest(1, point, e, 32, sig, len, 0));
    CHECK_RV(h_call_count("Sign", &calls1), CKR_OK);
    CHECK(calls1 == calls0 + 3);

    /* C_GetSessionInfo: CKR_SESSION_HANDLE_INVALID twice, then normal */
    CHECK_RV(h_fault("C_GetSessionInfo", CKR_SESSION_HANDLE_INVALID, 0, 2), CKR_OK);
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_SESSION_HANDLE_INVALID);
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    /* C_OpenSession: CKR_DEVICE_REMOVED for ever, until cleared */
    CHECK_RV(h_fault("C_OpenSession", CKR_DEVICE_REMOVED, 0, -1), CKR_OK);
    for (i = 0; i < 3; i++)
        CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h2), CKR_DEVICE_REMOVED);
    CHECK_RV(h_fault(NULL, 0, 0, 0), CKR_OK);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h2), CKR_OK);
    /* a faulted C_CloseSession closes nothing */
    CHECK_RV(h_fault("C_CloseSession", CKR_DEVICE_ERROR, 0, 1), CKR_OK);
    CHECK_RV(F->C_CloseSession(h2), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_GetSessionInfo(h2, &si), CKR_OK);
    CHECK_RV(F->C_CloseSession(h2), CKR_OK);
    /* faults on unsupported functions and on C_Finalize */
    CHECK_RV(h_fault("C_DigestInit", CKR_GENERAL_ERROR, 0, 1), CKR_OK);
    CHECK_RV(F->C_DigestInit(h, NULL), CKR_GENERAL_ERROR);
    CHECK_RV(F->C_DigestInit(h, NULL), CKR_FUNCTION_NOT_SUPPORTED);
    CHECK_RV(h_fault("C_Finalize", CKR_DEVICE_ERROR, 0, 1), CKR_OK);
    CHECK_RV(F->C_Finalize(NULL), CKR_DEVICE_ERROR);
    CHECK(counters().initialized == 1 && counters().openSessions == 1);

    /* stall: 60 ms once */
    CHECK_RV(h_stall("C_GetSessionInfo", 60, 0, 1), CKR_OK);
    t0 = now_ms();
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    CHECK(now_ms() - t0 >= 59);
    t0 = now_ms();
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    CHECK(now_ms() - t0 < 50);
    CHECK_RV(h_stall("C_GetSessionInfo", 0, 0, 1), CKR_ARGUMENTS_BAD);
    /* latency: every call, faulted ones too */
    CHECK_RV(h_latency(30000), CKR_OK);
    t0 = now_ms();
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    CHECK(now_ms() - t0 >= 29);
    CHECK_RV(h_latency(0), CKR_OK);
    t0 = now_ms();
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    CHECK(now_ms() - t0 < 25);

    /* MOCKP11_Reset clears faults and call counts, keeps the state */
    CHECK_RV(h_fault("C_GetSessionInfo", CKR_DEVICE_ERROR, 0, -1), CKR_OK);
    CHECK_RV(h_reset(), CKR_OK);
    CHECK_RV(F->C_GetSessionInfo(h, &si), CKR_OK);
    CHECK_RV(h_call_count("C_Sign", &calls1), CKR_OK);
    CHECK(calls1 == 0 && counters().totalCalls == 1 && counters().openSessions == 1 && counters().loggedIn == 1);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

static void test_proxy_restart(void)
{
    CK_SESSION_HANDLE h, h2;
    CK_OBJECT_HANDLE k, k2;
    CK_ULONG n = 1, len;
    CK_SLOT_ID slot;
    CK_INFO info;
    CK_MECHANISM m = {0x80008104UL, NULL, 0};
    unsigned char e[32] = {7}, sig[80], point[65];
    MOCKP11_Counters c;

    CHECK_RV(init_dir(token_dir("sansec", SANSEC_TOKEN)), CKR_OK);
    h = open_session(7, 1);
    k = key_point(h, "node0", 1, point);
    len = sizeof(sig);
    CHECK_RV(sign(h, 0x80008104UL, k, e, 32, sig, &len), CKR_OK);
    CHECK_RV(F->C_SignInit(h, &m, k), CKR_OK);

    CHECK_RV(h_restart(), CKR_OK);
    c = counters();
    CHECK(c.proxyRestart == 1 && c.openSessions == 0 && c.loggedIn == 0 && c.activeSigns == 0 && c.initialized == 1);
    len = sizeof(sig);
    CHECK_RV(F->C_Sign(h, e, 32, sig, &len), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_GetSlotList(CK_TRUE, &slot, &n), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_GetInfo(&info), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_OpenSession(7, CKF_SERIAL_SESSION, NULL, NULL, &h2), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_Login(h, CKU_USER, (CK_UTF8CHAR_PTR)PIN, strlen(PIN)), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_CloseSession(h), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_CloseAllSessions(7), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_SignUpdate(h, e, 32), CKR_DEVICE_ERROR);
    CHECK_RV(F->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED);
    CHECK(counters().proxyRestart == 1);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    CHECK(counters().proxyRestart == 0);
    CHECK_RV(init_dir(token_dir("sansec", SANSEC_TOKEN)), CKR_OK);
    /* everything of before is gone */
    CHECK_RV(F->C_GetSessionInfo(h, NULL), CKR_SESSION_HANDLE_INVALID);
    h2 = open_session(7, 1);
    CHECK(h2 != h);
    len = sizeof(sig);
    CHECK_RV(sign(h2, 0x80008104UL, k, e, 32, sig, &len), CKR_KEY_HANDLE_INVALID); /* a stale key handle */
    k2 = key_point(h2, "node0", 1, point);
    CHECK(k2 != k);
    len = sizeof(sig);
    CHECK_RV(sign(h2, 0x80008104UL, k2, e, 32, sig, &len), CKR_OK);
    CHECK(verify_digest(1, point, e, 32, sig, len, 0));
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
}

/* ---- threads ------------------------------------------------------------------------- */

typedef struct {
    CK_OBJECT_HANDLE key;
    unsigned char point[65];
    int rounds, ok, churn;
} job;

static void *sign_worker(void *arg)
{
    job *j = arg;
    CK_SESSION_HANDLE h;
    int i;
    if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
        return NULL;
    for (i = 0; i < j->rounds; i++) {
        unsigned char e[32], sig[80];
        CK_ULONG len = sizeof(sig);
        RAND_bytes(e, sizeof(e));
        if (sign(h, i % 2 ? 0x80008104UL : 0x80008101UL, j->key, e, 32, sig, &len) != CKR_OK)
            break;
        if (i % 2 && !verify_digest(1, j->point, e, 32, sig, len, 0))
            break;
        if (!(i % 2) && (i % 20) == 0 && !verify_message(j->point, ID, e, 32, sig, len, 1))
            break;
        j->ok++;
    }
    F->C_CloseSession(h);
    return NULL;
}

static void *churn_worker(void *arg)
{
    job *j = arg;
    int i;
    for (i = 0; i < j->rounds; i++) {
        CK_SESSION_HANDLE h;
        CK_TOKEN_INFO ti;
        CK_OBJECT_HANDLE o;
        CK_ULONG n;
        if (F->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK) {
            j->churn++; /* the session limit may be reached: counted, not an error */
            continue;
        }
        if (F->C_GetTokenInfo(0, &ti) != CKR_OK || F->C_FindObjectsInit(h, NULL, 0) != CKR_OK ||
            F->C_FindObjects(h, &o, 1, &n) != CKR_OK || n != 1 || F->C_FindObjectsFinal(h) != CKR_OK ||
            F->C_CloseSession(h) != CKR_OK)
            break;
        j->ok++;
    }
    return NULL;
}

static void test_threads(void)
{
    enum { SIGNERS = 8, CHURNERS = 4, ROUNDS = 120 };
    char text[1024];
    pthread_t th[SIGNERS + CHURNERS];
    job jobs[SIGNERS + CHURNERS];
    CK_SESSION_HANDLE h;
    CK_OBJECT_HANDLE k;
    unsigned char point[65];
    int i, signed_ok = 0, churned = 0;
    snprintf(text, sizeof(text),
             "[token]\nlabel=threads\npin=%s\nmax_sessions=1024\n[key]\nlabel=k\ntype=sm2\nprivate=%s\n", PIN,
             SM2_A);
    CHECK_RV(init_dir(token_dir("threads", text)), CKR_OK);
    h = open_session(0, 1); /* keeps the login */
    k = key_point(h, "k", 1, point);
    for (i = 0; i < SIGNERS + CHURNERS; i++) {
        memset(&jobs[i], 0, sizeof(jobs[i]));
        jobs[i].key = k;
        memcpy(jobs[i].point, point, 65);
        jobs[i].rounds = ROUNDS;
        pthread_create(&th[i], NULL, i < SIGNERS ? sign_worker : churn_worker, &jobs[i]);
    }
    for (i = 0; i < SIGNERS + CHURNERS; i++) {
        pthread_join(th[i], NULL);
        if (i < SIGNERS)
            signed_ok += jobs[i].ok;
        else
            churned += jobs[i].ok + jobs[i].churn;
    }
    CHECK(signed_ok == SIGNERS * ROUNDS);
    CHECK(churned == CHURNERS * ROUNDS);
    CHECK(counters().openSessions == 1 && counters().loggedIn == 1 && counters().activeFinds == 0);
    CHECK_RV(F->C_Finalize(NULL), CKR_OK);
    CHECK(counters().openSessions == 0);
}

/* ---- environment (a fresh process each) ------------------------------------------------- */

static CK_RV init_null(const char *unused)
{
    (void)unused;
    return F->C_Initialize(NULL);
}

static int child_env(void)
{
    CK_TOKEN_INFO ti;
    double t0;
    const char *mode = getenv("SELFTEST_CHILD");
    if (strcmp(mode, "bad") == 0)
        return quietly(init_null, NULL) == CKR_GENERAL_ERROR ? 0 : 10;
    if (F->C_Initialize(NULL) != CKR_OK)
        return 11;
    if (F->C_GetTokenInfo(7, &ti) != CKR_OK)
        return 12;
    t0 = now_ms();
    if (F->C_GetTokenInfo(7, &ti) != CKR_DEVICE_REMOVED || now_ms() - t0 < 19)
        return 13;
    if (F->C_GetTokenInfo(7, &ti) != CKR_OK)
        return 14;
    if (F->C_GetSlotList(CK_TRUE, NULL, NULL) != 0x30)
        return 15;
    if (F->C_Finalize(NULL) != CKR_OK)
        return 16;
    return 0;
}

static int run_child(const char *mode, const char *faults, const char *latency)
{
    pid_t pid = fork();
    int status = -1;
    if (pid == 0) {
        setenv("SELFTEST_CHILD", mode, 1);
        setenv("MOCKP11_DIR", token_dir("sansec", SANSEC_TOKEN), 1);
        setenv("MOCKP11_FAULTS", faults, 1);
        setenv("MOCKP11_LATENCY_US", latency, 1);
        execl(g_self, g_self, g_lib, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_environment(void)
{
    CHECK(run_child("good", " GetTokenInfo:CKR_DEVICE_REMOVED:after=1:count=1 , C_GetSlotList:0x30", "20000") == 0);
    CHECK(run_child("bad", "C_GetTokenInfo:CKR_NO_SUCH_CODE", "") == 0);
    CHECK(run_child("bad", "C_Sign:0x30:after=x", "") == 0);
    CHECK(run_child("bad", "", "soon") == 0);
}

/* ---- main ------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    void *lib;
    CK_C_GetFunctionList get;
    char cmd[600];
    ssize_t n;

    if (argc > 2) {
        fprintf(stderr, "usage: selftest [path/to/libmockp11.so]\n");
        return 2;
    }
    n = readlink("/proc/self/exe", g_self, sizeof(g_self) - 1);
    if (n <= 0) {
        perror("/proc/self/exe");
        return 1;
    }
    g_self[n] = '\0';
    if (argc == 2) {
        snprintf(g_lib, sizeof(g_lib), "%s", argv[1]);
    } else {
        char *slash = strrchr(g_self, '/');
        snprintf(g_lib, sizeof(g_lib), "%.*s/libmockp11.so", (int)(slash - g_self), g_self);
    }
    lib = dlopen(g_lib, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL) {
        fprintf(stderr, "selftest: %s\n", dlerror());
        return 1;
    }
    get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
    h_counters = (CK_RV(*)(MOCKP11_Counters *))dlsym(lib, "MOCKP11_GetCounters");
    h_call_count = (CK_RV(*)(const char *, unsigned long long *))dlsym(lib, "MOCKP11_GetCallCount");
    h_fault = (CK_RV(*)(const char *, CK_RV, unsigned long, long))dlsym(lib, "MOCKP11_SetFault");
    h_stall = (CK_RV(*)(const char *, unsigned int, unsigned long, long))dlsym(lib, "MOCKP11_SetStall");
    h_restart = (CK_RV(*)(void))dlsym(lib, "MOCKP11_ProxyRestart");
    h_latency = (CK_RV(*)(unsigned int))dlsym(lib, "MOCKP11_SetLatencyUs");
    h_wrong = (CK_RV(*)(int))dlsym(lib, "MOCKP11_SetWrongSignatures");
    h_dir = (CK_RV(*)(const char *))dlsym(lib, "MOCKP11_SetDir");
    h_reset = (CK_RV(*)(void))dlsym(lib, "MOCKP11_Reset");
    if (!get || !h_counters || !h_call_count || !h_fault || !h_stall || !h_restart || !h_latency || !h_wrong ||
        !h_dir || !h_reset || get(&F) != CKR_OK || F == NULL) {
        fprintf(stderr, "selftest: %s lacks C_GetFunctionList or a MOCKP11_ hook\n", g_lib);
        return 1;
    }
    snprintf(g_base, sizeof(g_base), "%s/mockp11-selftest-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (getenv("SELFTEST_CHILD") != NULL) {
        int rc = child_env();
        if (rc != 0)
            fprintf(stderr, "selftest child %s: step %d failed\n", getenv("SELFTEST_CHILD"), rc);
        return rc;
    }
    if (mkdtemp(g_base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("MOCKP11_FAULTS");
    unsetenv("MOCKP11_LATENCY_US");
    printf("mockp11 selftest: %s\n", g_lib);

    test_abi(lib);
    test_list_per_call(lib);
    test_initialize();
    test_token();
    test_objects();
    test_signing();
    test_cloudhsm();
    test_faults();
    test_proxy_restart();
    test_threads();
    test_environment();

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_base);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_base);
    printf("mockp11: %d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}
