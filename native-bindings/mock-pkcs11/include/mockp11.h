/*
 * mockp11.h - the gmt0018 mock PKCS#11 module (libmockp11.so): vendor codes it
 * speaks, its token file, and its test hooks. The standard interface is in
 * pkcs11.h; README.md beside include/ explains the same with examples.
 *
 * Token directory: MOCKP11_DIR (or MOCKP11_SetDir) names a directory read at
 * every successful C_Initialize; the module reads the file token.conf in it
 * (at most 1 MiB). Unset, empty, unreadable or malformed: C_Initialize gives
 * CKR_GENERAL_ERROR and prints one line "mockp11: ..." on stderr.
 *
 * token.conf: UTF-8 text lines. A line whose first non-blank character is
 * '#' is a comment (only whole lines: '#' inside a value is kept); blank
 * lines are ignored; a trailing CR is dropped. Sections "[token]" (exactly
 * one, first) and "[key]" (any number, one per key pair) hold name=value
 * lines. Names and values are trimmed of blanks, except the value of pin,
 * which is everything after the first '=' (so a PIN may hold ' ', ':', '#',
 * '='). Unknown names and sections are errors.
 *
 *   [token]
 *   label=<1..32 bytes>                          required
 *   pin=<1..255 bytes, the CKU_USER PIN>         required
 *   profile=sansec|tass|luna|ibm-ep11|standard   default sansec
 *   slot_id=<decimal or 0x-hex CK_SLOT_ID>       default 0
 *   serial=<1..16 chars>                         default 0000000000000001
 *   manufacturer=<1..32 bytes>                   default by profile
 *   model=<1..16 bytes>                          default mockp11
 *   max_sessions=<1..1024>                       default 16 (C_OpenSession beyond:
 *                                                CKR_SESSION_COUNT)
 *   mechanism=<code>,<digest|message>,<rs|der>[,<sm2|p256>]   repeatable; adds
 *       a signing mechanism or replaces the profile's one with that code.
 *       digest: C_Sign takes the 32-byte e (sm2) or a 20..64-byte hash (p256);
 *       message: the module hashes, SM3(Z || M) with the default ID
 *       1234567812345678 (sm2) or SHA-256(M) (p256). rs: r || s, 32 + 32
 *       bytes; der: SEQUENCE { INTEGER r, INTEGER s }. Curve default sm2.
 *   no_mechanism=<code>                          repeatable; removes one
 *
 *   [key]
 *   label=<0..255 bytes>                         CKA_LABEL of both objects
 *   id=<hex, 0..128 bytes>                       CKA_ID of both objects
 *   type=sm2|p256                                required
 *   private=<64 hex digits, d>                   required; 1 <= d < n (sm2: d < n - 1)
 *   key_type=<decimal or 0x-hex>                 CKA_KEY_TYPE instead of the profile's
 *   flags=<comma list>                           optional:
 *       no_public_object   no CKO_PUBLIC_KEY object (AWS CloudHSM-like); the
 *                          point is on the private key as CKA_EC_POINT
 *       point_on_private   CKA_EC_POINT on the private key as well
 *       raw_point          CKA_EC_POINT is the raw 65 bytes 04||x||y instead of
 *                          the DER OCTET STRING 04 41 04||x||y
 *
 * Environment, read at the first C_Initialize of the process (bad value:
 * CKR_GENERAL_ERROR and a line on stderr):
 *     MOCKP11_FAULTS=Fn:CODE[:after=N][:count=M][,...]   as MOCKP11_SetFault;
 *         Fn with or without "C_", CODE a number or a CKR_ name below
 *     MOCKP11_LATENCY_US=<microseconds>                    as MOCKP11_SetLatencyUs
 */
#ifndef GMT0018_MOCKP11_H
#define GMT0018_MOCKP11_H

#include "pkcs11.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- vendor codes (see README.md for where each comes from) ------------------------ */
/* Sansec (swpkcs11.h): CKK_SM2 = CKK_VENDOR_DEFINED + 4, CKM_SM2 = CKM_VENDOR_DEFINED + 0x8000 */
#define MOCKP11_CKK_SM2_SANSEC 0x80000004UL
#define MOCKP11_CKM_SANSEC_SM3_SM2 0x80008100UL        /* message; r||s */
#define MOCKP11_CKM_SANSEC_SM3_SM2_DER 0x80008101UL    /* message; DER */
#define MOCKP11_CKM_SANSEC_SM3_SM2_APPID1 0x80008102UL /* message, ID 1234567812345678; r||s */
#define MOCKP11_CKM_SANSEC_SM3_SM2_APPID1_DER 0x80008103UL
#define MOCKP11_CKM_SANSEC_SM2_SIGN 0x80008104UL        /* digest e; r||s (see README) */
#define MOCKP11_CKM_SANSEC_SM2_SIGN_NO_DER 0x80008105UL /* digest e; r||s */
/* TASS */
#define MOCKP11_CKK_SM2_TASS 0x80000004UL
#define MOCKP11_CKM_TASS_SM2 0x80008000UL /* digest e; DER */
/* Thales Luna */
#define MOCKP11_CKK_SM2_LUNA 0x80000016UL
#define MOCKP11_CKM_LUNA_SM2DSA 0x80000B21UL /* digest e; r||s */
/* IBM EP11: keys are CKK_EC with the SM2 curve in CKA_EC_PARAMS */
#define MOCKP11_CKM_IBM_SM2 0x8005000BUL /* digest e; r||s */

/* DER of the curve OIDs in CKA_EC_PARAMS */
#define MOCKP11_EC_PARAMS_SM2 "\x06\x08\x2a\x81\x1c\xcf\x55\x01\x82\x2d"   /* 1.2.156.10197.1.301 */
#define MOCKP11_EC_PARAMS_P256 "\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07" /* 1.2.840.10045.3.1.7 */
#define MOCKP11_EC_PARAMS_LEN 10
#define MOCKP11_DEFAULT_ID "1234567812345678"

/* ---- test hooks ------------------------------------------------------------------------ *
 * Not part of PKCS #11. They return CKR_OK or CKR_ARGUMENTS_BAD, work whether or not the
 * module is initialised, are not counted as calls, are not subject to faults, latency or
 * the proxy-restart mode, and are thread-safe. Function names (fn) are "C_Sign" or "Sign".
 */
#if defined(__GNUC__) || defined(__clang__)
#define MOCKP11_API __attribute__((visibility("default")))
#else
#define MOCKP11_API
#endif

typedef struct {
    unsigned long long initializeCount; /* successful C_Initialize since load */
    unsigned long long finalizeCount;   /* successful C_Finalize since load */
    unsigned long long initialized;     /* 1 between them */
    unsigned long long openSessions;    /* live session handles */
    unsigned long long rwSessions;      /* of which read/write */
    unsigned long long loggedIn;        /* 1 while CKU_USER is logged in */
    unsigned long long loginCount;      /* successful C_Login since load or MOCKP11_Reset */
    unsigned long long failedLogins;    /* C_Login that gave CKR_PIN_INCORRECT, idem */
    unsigned long long activeSigns;     /* sessions with a sign operation */
    unsigned long long activeFinds;     /* sessions with a find operation */
    unsigned long long proxyRestart;    /* 1 while the proxy-restart mode is on */
    unsigned long long totalCalls;      /* C_* calls since load or MOCKP11_Reset (faulted too) */
} MOCKP11_Counters;

/* CKR_ARGUMENTS_BAD if out is NULL. */
MOCKP11_API CK_RV MOCKP11_GetCounters(MOCKP11_Counters *out);

/* Calls of one C_ function since load or MOCKP11_Reset. CKR_ARGUMENTS_BAD for an unknown name
 * or a NULL out. */
MOCKP11_API CK_RV MOCKP11_GetCallCount(const char *fn, unsigned long long *out);

/* Fault injection: of the calls to fn made from now on, the first afterCalls run normally and
 * the next `count` ones (-1 = all) return rv without doing anything (a faulted C_CloseSession
 * closes nothing). Replaces a fault already set for fn. fn NULL clears every fault. Any C_
 * function but C_GetFunctionList. CKR_ARGUMENTS_BAD for an unknown name, rv CKR_OK, count 0 or
 * below -1, or a full table (32). */
MOCKP11_API CK_RV MOCKP11_SetFault(const char *fn, CK_RV rv, unsigned long afterCalls, long count);

/* Stalls, for deadline tests: the selected calls (as for faults) first sleep ms milliseconds
 * holding no lock, then run (a fault of the same call still applies). fn NULL clears all. */
MOCKP11_API CK_RV MOCKP11_SetStall(const char *fn, unsigned int ms, unsigned long afterCalls, long count);

/* p11-kit proxy restart: the server behind the module went away. Every session and the login
 * are lost at once, and from now on every call returns CKR_DEVICE_ERROR except C_Finalize
 * (which succeeds and ends the mode), C_Initialize (CKR_CRYPTOKI_ALREADY_INITIALIZED while
 * initialised, as ever) and C_GetFunctionList. After C_Finalize + C_Initialize the token is
 * read again and works; session and object handles of before are invalid. */
MOCKP11_API CK_RV MOCKP11_ProxyRestart(void);

/* While on, as p11-kit's client module: every C_GetFunctionList after the first (since this
 * call) hands out the list of an instance of its own, which nobody initialised. Every function
 * through such a list returns CKR_CRYPTOKI_NOT_INITIALIZED (the mock carries that instance no
 * further: its C_Initialize too). A caller must keep to the list the module was initialised
 * through. Off after MOCKP11_Reset. */
MOCKP11_API CK_RV MOCKP11_SetListPerCall(int on);

/* C_Sign appends `bytes` zero bytes to every signature, as a module returning more than the
 * mechanism's signature would (size queries and CKR_BUFFER_TOO_SMALL count them). 0 = none. */
MOCKP11_API CK_RV MOCKP11_SetSignaturePadding(unsigned long bytes);

/* Every C_ call returns `us` microseconds after it began, its own work included, holding no
 * lock meanwhile. 0 = none. */
MOCKP11_API CK_RV MOCKP11_SetLatencyUs(unsigned int us);

/* While on, C_Sign returns a well-formed signature of another digest (the last bit of e
 * flipped), as a faulty module would. */
MOCKP11_API CK_RV MOCKP11_SetWrongSignatures(int on);

/* Token directory for the next C_Initialize instead of MOCKP11_DIR; NULL goes back to the
 * environment (needed where the host's environment is a copy getenv() does not see, as in
 * jest). Not undone by MOCKP11_Reset. */
MOCKP11_API CK_RV MOCKP11_SetDir(const char *dir);

/* Clears faults, stalls, latency, wrong signatures, the proxy-restart mode and the call,
 * login and failed-login counters. Initialisation, sessions and login stay. */
MOCKP11_API CK_RV MOCKP11_Reset(void);

#ifdef __cplusplus
}
#endif

#endif /* GMT0018_MOCKP11_H */
