/* Internal declarations of the gmt0018 mock card. Not installed. */
#ifndef GMT0018_MOCK_INTERNAL_H
#define GMT0018_MOCK_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <openssl/opensslv.h>

#if !defined(OPENSSL_VERSION_MAJOR) || OPENSSL_VERSION_MAJOR < 3
#error "the gmt0018 mock needs OpenSSL 3 headers (Debian: apt-get install libssl-dev)"
#endif

#include "sdf.h"

#if ECCref_MAX_LEN < 32
#error "ECCref_MAX_BITS must be at least 256"
#endif

#define MOCK_BUFFER_SIZE 65536u
#define MOCK_MAX_SESSIONS 1024u

/* Variant rules are chosen here at compile time; the code tests MOCK_IS_STRICT in plain
 * conditions, so that every variant compiles (and keeps warning-free) the same paths. */
#ifdef MOCK_STRICT
#define MOCK_IS_STRICT 1
#define MOCK_MAX_DEVICES 1u /* one open device per process */
_Static_assert(sizeof(ECCCipher) == 419, "strict ECCCipher is the fixed 419-byte layout");
_Static_assert(offsetof(ECCCipher, C) == 164, "strict ECCCipher: C at byte 164");
#else
#define MOCK_IS_STRICT 0
#define MOCK_MAX_DEVICES 64u
#endif
#define MOCK_STRICT_RANDOM_MAX 256u /* strict: SDF_GenerateRandom limit */
#define MOCK_STRICT_HOLD_NS 2000000L /* strict: a lifecycle call stays inside at least 2 ms */

/* Bytes a writer of an ECCCipher clears before filling it: the whole fixed struct (strict), or the
 * header before C. */
#define MOCK_CIPHER_CLEAR (MOCK_IS_STRICT ? sizeof(ECCCipher) : offsetof(ECCCipher, C))

/* Strict: *capacity, read on entry, is the size of the caller's buffer, which must hold `need`
 * bytes (else the call gives SDR_NOBUFFER and writes nothing). Other variants do not read it. */
static inline int capacity_ok(const unsigned int *capacity, unsigned int need)
{
    return !MOCK_IS_STRICT || *capacity >= need;
}

/* ---- SM2 / SM3 (sm2.c) --------------------------------------------------- */

/* A loaded SM2 key; d and dinv are secret and cleansed by the owner. */
typedef struct {
    unsigned char d[32];    /* private key */
    unsigned char dinv[32]; /* (1 + d)^-1 mod n */
    unsigned char x[32];    /* public key */
    unsigned char y[32];
} sm2_key;

int sm2_ready(void); /* 1 once the curve and SM3 are available */
/* 0 ok, -1 if d is not in [1, n-2]. */
int sm2_key_from_private(const unsigned char d[32], sm2_key *out);
/* SDR_OK or SDR_SIGNERR. */
int sm2_sign(const sm2_key *key, const unsigned char e[32], unsigned char r[32], unsigned char s[32]);
/* SDR_OK, SDR_VERIFYERR, or SDR_INARGERR when (x, y) is not on the curve. */
int sm2_verify(const unsigned char x[32], const unsigned char y[32], const unsigned char e[32],
               const unsigned char r[32], const unsigned char s[32]);
/* 1 if (x, y) is a point of the SM2 curve (coordinates below p). */
int sm2_point_ok(const unsigned char x[32], const unsigned char y[32]);
/* Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA); 0 ok. */
int sm2_z(const unsigned char *id, size_t idlen, const unsigned char x[32], const unsigned char y[32],
          unsigned char z[32]);
/* out = SM3(a || b); 0 ok. */
int sm3_two(const void *a, size_t alen, const void *b, size_t blen, unsigned char out[32]);
const void *sm3_md(void); /* the fetched EVP_MD for SM3 */
/* (ox, oy) = k * P, P = (px, py) or G when px is NULL: 0 ok, -1 P not on the curve, -2 failure
 * (including the point at infinity). */
int sm2_mul(const unsigned char k[32], const unsigned char *px, const unsigned char *py, unsigned char ox[32],
            unsigned char oy[32]);
/* (x, y) = k * G from the precomputed table (sm2base.c), constant time in k: 0 ok, -1 if
 * k = 0 mod n (x and y zeroed). */
int sm2_mul_base(const unsigned char k[32], unsigned char x[32], unsigned char y[32]);
/* A fresh random key: 0 ok. */
int sm2_generate(sm2_key *out);
/* SM2 encryption of len bytes (c2 gets len bytes): SDR_OK, SDR_INARGERR (bad public key),
 * SDR_RANDERR or SDR_PKOPERR. */
int sm2_encrypt(const unsigned char x[32], const unsigned char y[32], const unsigned char *m, size_t len,
                unsigned char c1x[32], unsigned char c1y[32], unsigned char c3[32], unsigned char *c2);
/* SDR_OK, SDR_ENCDATAERR (C1 not on the curve or C3 mismatch; m is then zeroed) or SDR_SKOPERR. */
int sm2_decrypt(const unsigned char d[32], const unsigned char c1x[32], const unsigned char c1y[32],
                const unsigned char c3[32], const unsigned char *c2, size_t len, unsigned char *m);

/* ---- Keystore (keystore.c) ----------------------------------------------- */

enum { SLOT_ABSENT = 0, SLOT_OK, SLOT_BAD };

typedef struct {
    int state;
    sm2_key key;
    unsigned char salt[64];
    size_t salt_len;
    unsigned char pw_sm3[32];
    unsigned char kek[16]; /* kek-<N>.key: the SM4 key-encryption key */
} key_slot;

typedef struct {
    unsigned int index;
    key_slot sign;
    key_slot enc;
    key_slot kek;
} key_entry;

typedef struct {
    size_t count;
    key_entry *entries; /* sorted by index */
} keystore;

/* SDR_OK, SDR_OPENDEVICE (directory unreadable) or SDR_NOBUFFER. */
int keystore_load(keystore **out);
void keystore_free(keystore *ks);
const key_entry *keystore_find(const keystore *ks, unsigned int index);

/* ---- Devices and sessions (registry.c) ----------------------------------- */

typedef struct device device;

typedef struct session {
    uintptr_t id;
    unsigned int refs;      /* guarded by the registry lock */
    struct session *next;   /* registry list, guarded by the registry lock */
    device *dev;            /* holds a reference */
    const keystore *ks;     /* the device's, immutable */
    atomic_int in_call;     /* strict: 1 while an SDF function works on the session */
    pthread_mutex_t lock;   /* guards everything below */
    int closed;
    unsigned int *rights;   /* key indices with a granted access right */
    size_t nrights, caprights;
    void *hash;             /* EVP_MD_CTX * */
    int hash_active;
    struct sym_key *keys;   /* session keys (symkeys.c) */
    size_t nkeys, capkeys;
} session;

/* ---- Session keys (symkeys.c) --------------------------------------------- */

#define MOCK_MAX_SESSION_KEYS 1024u

typedef struct sym_key {
    uintptr_t id;
    unsigned char key[16];
} sym_key;

/* Adds an SM4 key to the session and returns its handle: SDR_OK, SDR_NOBUFFER or SDR_INARGERR (closed). */
int session_key_add(session *s, const unsigned char key[16], void **handle);
/* Copies the key of `handle` out: SDR_OK or SDR_KEYNOTEXIST. */
int session_key_get(session *s, void *handle, unsigned char key[16]);
/* Forgets every session key (under s->lock). */
void session_keys_clear(session *s);

int registry_open_device(keystore *ks, void **handle); /* takes ks */
int registry_close_device(void *handle);
int registry_open_session(void *dev_handle, void **handle);
int registry_close_session(void *handle);
/* Looks a live session up and takes a reference: SDR_OK or SDR_INARGERR. */
/* Finds a session and holds it for one SDF function; strict: abort() when another holds it. */
int session_acquire(void *handle, session **out);
void session_release(session *s);
/* Strict: ends this thread's hold on the session its SDF function acquired (from hooks_leave). */
void session_end_hold(void);
void registry_counts(unsigned int *devices, unsigned int *sessions);
unsigned int access_rights_count(void);
void access_rights_add(int delta);

/* ---- ECCref codecs and key lookup (sdf.c) -------------------------------- */

int field_in(const unsigned char *field, unsigned char out[32]);
void field_out(unsigned char *field, const unsigned char in[32]);
int public_key_in(const ECCrefPublicKey *pk, unsigned char x[32], unsigned char y[32]);
void public_key_out(ECCrefPublicKey *pk, const sm2_key *key);
int signature_in(const ECCSignature *sig, unsigned char r[32], unsigned char s[32]);
int find_slot(const session *s, unsigned int index, int enc, const key_slot **out);
int has_right(const session *s, unsigned int index); /* under s->lock */

/* ---- Hooks (hooks.c) ----------------------------------------------------- */

enum fn_id {
    FN_OpenDevice,
    FN_CloseDevice,
    FN_OpenSession,
    FN_CloseSession,
    FN_GetDeviceInfo,
    FN_GenerateRandom,
    FN_GetPrivateKeyAccessRight,
    FN_ReleasePrivateKeyAccessRight,
    FN_ExportSignPublicKey_ECC,
    FN_ExportEncPublicKey_ECC,
    FN_InternalSign_ECC,
    FN_InternalVerify_ECC,
    FN_ExternalVerify_ECC,
    FN_HashInit,
    FN_HashUpdate,
    FN_HashFinal,
    FN_GenerateKeyPair_ECC,
    FN_ExternalSign_ECC,
    FN_ExternalEncrypt_ECC,
    FN_ExternalDecrypt_ECC,
    FN_InternalEncrypt_ECC,
    FN_InternalDecrypt_ECC,
    FN_GenerateKeyWithIPK_ECC,
    FN_GenerateKeyWithEPK_ECC,
    FN_ImportKeyWithISK_ECC,
    FN_GenerateKeyWithKEK,
    FN_ImportKeyWithKEK,
    FN_DestroyKey,
    FN_Encrypt,
    FN_Decrypt,
    FN_CalculateMAC,
    FN_COUNT
};

/* 1 while MOCK_SetWrongSignatures is on. */
int hooks_wrong_signatures(void);

/* Applies GMT0018_MOCK_LATENCY_US / GMT0018_MOCK_FAULTS / GMT0018_MOCK_SERIAL once: SDR_OK or
 * SDR_OPENDEVICE. */
int hooks_load_env(void);
/* One SDF_* call in progress. due: when it may return, its start plus the latency; tv_sec < 0 = at
 * once (no latency). marks: the in-call marks it holds (hooks.c), dropped by hooks_leave. */
typedef struct {
    struct timespec due;
    int marks;
} mock_call;

/* Marks the call inside (strict lifecycle check, serial check: abort() on an overlap), counts it,
 * sets call->due, sleeps a stall, then returns SDR_OK or the injected code. */
int hooks_enter(enum fn_id fn, mock_call *call);
/* Sleeps until call->due, holding no lock, then drops the call's marks. */
void hooks_leave(mock_call *call);

/* Opens every SDF_* function. The latency is the time from entry to return, the
 * call's own work included, as a device answers after that long whatever it computed. The
 * cleanup attribute (GCC, Clang) runs hooks_leave on every return path, faulted ones too. */
#define MOCK_ENTER(fn)                                                          \
    mock_call mock_call_ __attribute__((cleanup(hooks_leave)));                 \
    do {                                                                        \
        int hook_rc_ = hooks_enter(fn, &mock_call_);                            \
        if (hook_rc_ != SDR_OK)                                                 \
            return hook_rc_;                                                    \
    } while (0)

#endif
