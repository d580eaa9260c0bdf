/* Internal declarations of the gmt0018 mock PKCS#11 module. Not installed. */
#ifndef GMT0018_MOCKP11_INTERNAL_H
#define GMT0018_MOCKP11_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <openssl/opensslv.h>

#if !defined(OPENSSL_VERSION_MAJOR) || OPENSSL_VERSION_MAJOR < 3
#error "the mock PKCS#11 module needs OpenSSL 3 headers (Debian: apt-get install libssl-dev)"
#endif

#include "mockp11.h"

#define P11_MAX_SESSIONS 1024u /* table size; max_sessions is at most this */
#define P11_MAX_KEYS 1024u
#define P11_MAX_MECHS 32u
#define P11_MAX_SIG 72u /* DER of two 32-byte INTEGERs, at most */

/* ---- token (token.c) ------------------------------------------------------ */

enum { CURVE_SM2 = 0, CURVE_P256 = 1 };
enum { IN_DIGEST = 0, IN_MESSAGE = 1 };
enum { OUT_RS = 0, OUT_DER = 1 };
enum { PROFILE_SANSEC = 0, PROFILE_TASS, PROFILE_LUNA, PROFILE_IBM_EP11, PROFILE_STANDARD };

#define KEY_NO_PUBLIC_OBJECT 1u
#define KEY_POINT_ON_PRIVATE 2u
#define KEY_RAW_POINT 4u

typedef struct {
    CK_MECHANISM_TYPE type;
    int input;  /* IN_ */
    int output; /* OUT_ */
    int curve;  /* CURVE_ */
} mech_def;

typedef struct {
    unsigned char label[255];
    size_t label_len;
    unsigned char id[128];
    size_t id_len;
    int curve;
    CK_KEY_TYPE key_type;
    unsigned int flags;       /* KEY_ */
    unsigned char point[65];  /* 04 || x || y */
    unsigned char ec_point[67]; /* CKA_EC_POINT as stored */
    size_t ec_point_len;
    void *pkey; /* EVP_PKEY *, private; shared read-only by signing threads */
} key_def;

typedef struct {
    unsigned char label[32]; /* blank padded */
    unsigned char manufacturer[32];
    unsigned char model[16];
    unsigned char serial[16];
    unsigned char pin[255];
    size_t pin_len;
    int profile;
    CK_SLOT_ID slot_id;
    CK_ULONG max_sessions;
    mech_def mechs[P11_MAX_MECHS];
    size_t nmechs;
    key_def *keys;
    size_t nkeys;
} token_def;

/* Reads <dir>/token.conf: CKR_OK, or CKR_GENERAL_ERROR after one line on stderr. */
CK_RV token_load(const char *dir, token_def **out);
void token_free(token_def *t);
const mech_def *token_mech(const token_def *t, CK_MECHANISM_TYPE type);

/* ---- crypto (crypto.c) ---------------------------------------------------- */

/* Builds k->pkey and k->point from d: 0 ok, -1 d out of range, -2 OpenSSL failure. */
int crypto_key(key_def *k, const unsigned char d[32]);
void crypto_key_free(key_def *k);
/* The value signed: a copy of data (IN_DIGEST) or its hash (IN_MESSAGE). 0 ok. */
int crypto_to_be_signed(const key_def *k, const mech_def *m, const unsigned char *data, size_t len,
                        unsigned char *e, size_t *elen);
/* Signs e with k and encodes as m->output: 0 ok (sig gets *siglen <= P11_MAX_SIG bytes). */
int crypto_sign(const key_def *k, const mech_def *m, const unsigned char *e, size_t elen, unsigned char *sig,
                size_t *siglen);

/* ---- hooks (hooks.c) ---------------------------------------------------- */

#define P11_FN_ENUM(name, args) FN_##name,
enum fn_id { CK_FUNCTIONS(P11_FN_ENUM) FN_COUNT };
#undef P11_FN_ENUM

/* One C_ call in progress: which, and when it may return (tv_sec < 0: at once). */
typedef struct {
    enum fn_id fn;
    struct timespec due;
} p11_call;

#define ENTER_NO_RESTART 1 /* the proxy-restart mode does not apply (C_Initialize, C_Finalize) */
#define ENTER_NO_FAULT 2   /* faults and stalls do not apply (C_GetFunctionList) */

/* Counts the call, sets call->due, sleeps a stall, then returns CKR_OK, the injected code or
 * CKR_DEVICE_ERROR in the proxy-restart mode. Aborts the process on a call made while
 * C_Finalize runs, or a C_Finalize made while other calls are inside the module: PKCS#11 leaves
 * both undefined, and a real module may crash on them. */
CK_RV hooks_enter(enum fn_id fn, p11_call *call, int flags);
void hooks_leave(p11_call *call);
/* Reads MOCKP11_FAULTS / MOCKP11_LATENCY_US once: CKR_OK or CKR_GENERAL_ERROR. */
CK_RV hooks_load_env(void);
int hooks_wrong_signatures(void);
/* The MOCKP11_SetDir directory (a copy to free) or NULL. */
char *hooks_dir(void);
void hooks_proxy_restart_end(void);
int hooks_proxy_restart_on(void);
/* Whether this C_GetFunctionList hands out the list of an instance of its own (MOCKP11_SetListPerCall). */
int hooks_fresh_instance(void);
/* Zero bytes C_Sign appends to every signature (MOCKP11_SetSignaturePadding). */
size_t hooks_signature_padding(void);
void hooks_count_login(int ok);

/* Opens every C_ function; the cleanup attribute (GCC, Clang) runs hooks_leave on every return. */
#define P11_ENTER(fn, flags)                                                    \
    p11_call p11_call_ __attribute__((cleanup(hooks_leave)));                   \
    do {                                                                        \
        CK_RV hook_rv_ = hooks_enter(FN_##fn, &p11_call_, (flags));             \
        if (hook_rv_ != CKR_OK)                                                 \
            return hook_rv_;                                                    \
    } while (0)

/* ---- module state (module.c) ------------------------------------------------ */

/* Fills the state counters of out (sessions, login, operations, initialisation). */
void module_counters(MOCKP11_Counters *out);
/* The proxy went away: drops every session and the login (waits for calls inside). */
void module_drop_state(void);

#endif
