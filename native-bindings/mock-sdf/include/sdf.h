/*
 * sdf.h - GM/T 0018-2012 ("SDF") cipher card interface, as implemented by the
 * gmt0018 mock card (libgmt0018.so).
 *
 * Types, structures, constants and prototypes follow the standard. The mock
 * implements only the functions declared below; everything else a real card
 * exports is absent from the library.
 *
 * Behaviour of the mock (where the standard leaves a choice):
 *  - Handles are opaque values looked up in a table of live devices/sessions;
 *    they are never dereferenced. A NULL, closed or garbage handle gives
 *    SDR_INARGERR. Closing a device closes its sessions.
 *  - NULL input pointers give SDR_INARGERR, NULL output pointers SDR_OUTARGERR.
 *  - SM2 values are 32 bytes, big-endian, right-aligned in ECCref_MAX_LEN-byte
 *    fields (for the standard 512-bit fields the first 32 bytes are zero) and
 *    `bits` is 256 on output. On input, non-zero leading padding gives
 *    SDR_INARGERR; ECCrefPublicKey.bits must be 256 (0 is tolerated).
 *  - A public key that is not a point of the SM2 curve gives SDR_INARGERR.
 *  - SDF_GenerateRandom accepts any length (it fills the buffer in chunks);
 *    SDF_HashUpdate accepts any length too (0 included). Strict: see below.
 *  - SDF_InternalSign_ECC / SDF_InternalVerify_ECC / SDF_ExternalVerify_ECC
 *    take the 32-byte digest e (length != 32 gives SDR_INARGERR) and do no
 *    hashing. Sign checks, in order: key index exists (SDR_KEYNOTEXIST), key
 *    file valid (SDR_KEYERR), access right granted on this session for this
 *    index (SDR_PARDENY).
 *  - SDF_GetPrivateKeyAccessRight: unknown index SDR_KEYNOTEXIST, bad key file
 *    SDR_KEYERR, wrong password SDR_PARDENY. A right lasts until
 *    SDF_ReleasePrivateKeyAccessRight or the session closes. Releasing a right
 *    never granted is SDR_OK (SDR_KEYNOTEXIST if the index has no key).
 *  - SDF_HashInit: SGD_SM3 only (else SDR_ALGNOTSUPPORT). With a public key
 *    the ID is required (NULL ID gives SDR_INARGERR, at most 8191 bytes) and
 *    the hash starts with Z; with a NULL public key the ID is ignored and the
 *    hash is plain SM3. HashInit during a hash restarts it. One hash per
 *    session; Update/Final without Init give SDR_STEPERR. Final ends the hash.
 *  - Limits: 64 live devices (strict: 1; SDR_OPENDEVICE beyond), 1024 live sessions
 *    (SDR_OPENSESSION beyond).
 *  - In/out length arguments (*puiHashLength, *puiDataLength, *puiKeyLength,
 *    *puiEncDataLength, *puiMACLength) are only written, never read, except
 *    in the strict variant.
 *
 * Strict variant (built with -DMOCK_STRICT; ECCref_MAX_BITS must be 512): as
 * strict as the strictest real library we know, so that a binding's tests
 * catch what would crash or fail on it. Differences from the above:
 *  - ECCCipher has the fixed 419-byte layout (see its declaration) and every
 *    function that writes one clears all sizeof(ECCCipher) bytes first.
 *  - One open device per process: SDF_OpenDevice while a device is open gives
 *    SDR_OPENDEVICE (after SDF_CloseDevice a new open works).
 *  - SDF_HashUpdate with uiDataLength 0 gives SDR_INARGERR.
 *  - SDF_GenerateRandom with uiLength above 256 gives SDR_INARGERR (although
 *    DEVICEINFO.BufferSize still says 65536).
 *  - SDF_GenerateKeyWithKEK / SDF_ImportKeyWithKEK take SGD_SM4_CBC only.
 *  - SDF_GenerateKeyPair_ECC takes SGD_SM2_1 or SGD_SM2_3 only.
 *  - Every in/out length argument is read on entry as the capacity of the
 *    caller's buffer: below what the call would write gives SDR_NOBUFFER and
 *    nothing is written (nor any state changed: a hash stays open).
 *  - The library is not thread-safe for its lifecycle: SDF_OpenDevice,
 *    SDF_CloseDevice, SDF_OpenSession and SDF_CloseSession must not overlap
 *    one another in the process. A call of these that starts while another is
 *    inside prints "gmt0018 mock (strict): concurrent SDF_<inside> and
 *    SDF_<entering>: the library is not thread-safe" on stderr and abort()s.
 *    Each of these calls stays inside for at least 2 ms, so that a race is
 *    caught every time rather than now and then. Other calls may overlap
 *    them and one another.
 *
 * Keystore: directory named by GMT0018_MOCK_KEYSTORE (or MOCK_SetKeystore),
 * read at every SDF_OpenDevice (unset or empty: no keys; set but not a
 * readable directory: SDR_OPENDEVICE). Files sign-<N>.key and enc-<N>.key (N decimal, no leading
 * zeros), text lines name=value ('#' comments and blank lines ignored, unknown
 * names ignored):
 *     private=<64 hex chars, the SM2 private key d, 1 <= d <= n-2>
 *     salt=<hex, 1..64 bytes; mock-import writes 16>
 *     password_sm3=<64 hex chars = SM3(salt || password)>
 * All three are required in every file. A file kek-<N>.key holds a key-encryption key instead,
 * one line (plus comments):
 *     kek=<32 hex chars, the 16-byte SM4 key>
 * written by `gmt0018 mock-import --kek`; using a KEK needs no access right.
 * A file that is malformed (or unreadable, or over 64 KiB) does not load: its
 * key reports SDR_KEYERR on every use. The access password of an index is the one of its sign file
 * (of its enc file when it has no sign file). Key material is cleansed when
 * the device closes.
 *
 * Environment, read once at the first SDF_OpenDevice of the process (a bad
 * value makes SDF_OpenDevice fail with SDR_OPENDEVICE and prints one line on
 * stderr):
 *     GMT0018_MOCK_LATENCY_US=<microseconds>
 *     GMT0018_MOCK_FAULTS=Fn:CODE[:after=N][:count=M][,...]
 *     GMT0018_MOCK_SERIAL=1    (0 or empty: off; see MOCK_SetSerialCheck)
 * where Fn is an SDF function name (with or without "SDF_"), CODE a decimal
 * or 0x-hex number or an SDR name such as SDR_COMMFAIL, after defaults to 0
 * and count to -1 (forever). Env faults are added to faults already set.
 */
#ifndef GMT0018_MOCK_SDF_H
#define GMT0018_MOCK_SDF_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define SDF_API __attribute__((visibility("default")))
#else
#define SDF_API
#endif

typedef void *SGD_HANDLE;

/* ---- ECC structures ---------------------------------------------------- */
#ifndef ECCref_MAX_BITS
#define ECCref_MAX_BITS 512
#endif
#define ECCref_MAX_LEN ((ECCref_MAX_BITS + 7) / 8)

typedef struct ECCrefPublicKey_st {
    unsigned int bits;
    unsigned char x[ECCref_MAX_LEN];
    unsigned char y[ECCref_MAX_LEN];
} ECCrefPublicKey;

typedef struct ECCrefPrivateKey_st {
    unsigned int bits;
    unsigned char K[ECCref_MAX_LEN];
} ECCrefPrivateKey;

typedef struct ECCSignature_st {
    unsigned char r[ECCref_MAX_LEN];
    unsigned char s[ECCref_MAX_LEN];
} ECCSignature;

#ifdef MOCK_STRICT
#if ECCref_MAX_BITS != 512
#error "the strict mock (MOCK_STRICT) has 64-byte ECC fields: ECCref_MAX_BITS 512"
#endif
/* Strict: the fixed layout of another vendor's header: C[1] then padding, packed, so that
 * sizeof(ECCCipher) is 419 (C starts at byte 164, 255 bytes of C fit inside the struct). Every
 * function that writes an ECCCipher (SDF_ExternalEncrypt_ECC, SDF_InternalEncrypt_ECC,
 * SDF_GenerateKeyWithIPK_ECC, SDF_GenerateKeyWithEPK_ECC) first clears all 419 bytes, as that
 * library memsets the whole struct, then writes the header and the L bytes of C, past the end
 * of the struct when L > 255 (the caller allocates room for L, as the standard says). A caller
 * must therefore allocate max(419, offsetof(ECCCipher, C) + L) bytes. */
#define MOCK_ECCCIPHER_SIZE 419
#pragma pack(push, 1)
typedef struct ECCCipher_st {
    unsigned char x[ECCref_MAX_LEN];
    unsigned char y[ECCref_MAX_LEN];
    unsigned char M[32];
    unsigned int L;
    unsigned char C[1];
    unsigned char reserved[MOCK_ECCCIPHER_SIZE - 2 * ECCref_MAX_LEN - 32 - 4 - 1]; /* 254 */
} ECCCipher;
#pragma pack(pop)
#else
/* C holds L bytes. Declared C[1] as in the standard and GmSSL's sdf.h: the caller allocates
 * offsetof(ECCCipher, C) + L bytes (some vendor headers declare C[136] instead, which only changes
 * sizeof). For ECCref_MAX_BITS 512, C starts at byte 164; for 256, at byte 100. Writers clear the
 * header only and write L bytes of C, nothing past them. */
typedef struct ECCCipher_st {
    unsigned char x[ECCref_MAX_LEN];
    unsigned char y[ECCref_MAX_LEN];
    unsigned char M[32];
    unsigned int L;
    unsigned char C[1];
} ECCCipher;
#endif

typedef struct DeviceInfo_st {
    unsigned char IssuerName[40];
    unsigned char DeviceName[16];
    unsigned char DeviceSerial[16];
    unsigned int DeviceVersion;
    unsigned int StandardVersion;
    unsigned int AsymAlgAbility[2];
    unsigned int SymAlgAbility;
    unsigned int HashAlgAbility;
    unsigned int BufferSize;
} DEVICEINFO;

/* ---- Algorithm identifiers --------------------------------------------- */
#define SGD_SM1_ECB 0x00000101
#define SGD_SM1_CBC 0x00000102
#define SGD_SM4_ECB 0x00000401
#define SGD_SM4_CBC 0x00000402
#define SGD_SM4_MAC 0x00000410
#define SGD_SM2     0x00020100
#define SGD_SM2_1   0x00020200
#define SGD_SM2_2   0x00020400
#define SGD_SM2_3   0x00020800
#define SGD_SM3     0x00000001
#define SGD_SHA1    0x00000002
#define SGD_SHA256  0x00000004

/* ---- Return codes ------------------------------------------------------ */
#define SDR_OK               0x0
#define SDR_BASE             0x01000000
#define SDR_UNKNOWERR        (SDR_BASE + 0x00000001)
#define SDR_NOTSUPPORT       (SDR_BASE + 0x00000002)
#define SDR_COMMFAIL         (SDR_BASE + 0x00000003)
#define SDR_HARDFAIL         (SDR_BASE + 0x00000004)
#define SDR_OPENDEVICE       (SDR_BASE + 0x00000005)
#define SDR_OPENSESSION      (SDR_BASE + 0x00000006)
#define SDR_PARDENY          (SDR_BASE + 0x00000007)
#define SDR_KEYNOTEXIST      (SDR_BASE + 0x00000008)
#define SDR_ALGNOTSUPPORT    (SDR_BASE + 0x00000009)
#define SDR_ALGMODNOTSUPPORT (SDR_BASE + 0x0000000A)
#define SDR_PKOPERR          (SDR_BASE + 0x0000000B)
#define SDR_SKOPERR          (SDR_BASE + 0x0000000C)
#define SDR_SIGNERR          (SDR_BASE + 0x0000000D)
#define SDR_VERIFYERR        (SDR_BASE + 0x0000000E)
#define SDR_SYMOPERR         (SDR_BASE + 0x0000000F)
#define SDR_STEPERR          (SDR_BASE + 0x00000010)
#define SDR_FILESIZEERR      (SDR_BASE + 0x00000011)
#define SDR_FILENOEXIST      (SDR_BASE + 0x00000012)
#define SDR_FILEOFSERR       (SDR_BASE + 0x00000013)
#define SDR_KEYTYPEERR       (SDR_BASE + 0x00000014)
#define SDR_KEYERR           (SDR_BASE + 0x00000015)
#define SDR_ENCDATAERR       (SDR_BASE + 0x00000016)
#define SDR_RANDERR          (SDR_BASE + 0x00000017)
#define SDR_PRKRERR          (SDR_BASE + 0x00000018)
#define SDR_MACERR           (SDR_BASE + 0x00000019)
#define SDR_FILEEXSITS       (SDR_BASE + 0x0000001A)
#define SDR_FILEWERR         (SDR_BASE + 0x0000001B)
#define SDR_NOBUFFER         (SDR_BASE + 0x0000001C)
#define SDR_INARGERR         (SDR_BASE + 0x0000001D)
#define SDR_OUTARGERR        (SDR_BASE + 0x0000001E)

/* ---- Device management ------------------------------------------------- */
SDF_API int SDF_OpenDevice(void **phDeviceHandle);
SDF_API int SDF_CloseDevice(void *hDeviceHandle);
SDF_API int SDF_OpenSession(void *hDeviceHandle, void **phSessionHandle);
SDF_API int SDF_CloseSession(void *hSessionHandle);
/* Issuer "gmt0018 mock", name "MockSDF", serial "MOCK0000000001",
 * AsymAlgAbility {SGD_SM2_1|SGD_SM2_2|SGD_SM2_3, 256},
 * SymAlgAbility SGD_SM4_ECB|SGD_SM4_CBC|SGD_SM4_MAC,
 * HashAlgAbility SGD_SM3, BufferSize 65536. */
SDF_API int SDF_GetDeviceInfo(void *hSessionHandle, DEVICEINFO *pstDeviceInfo);
SDF_API int SDF_GenerateRandom(void *hSessionHandle, unsigned int uiLength,
                               unsigned char *pucRandom);
SDF_API int SDF_GetPrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex,
                                         unsigned char *pucPassword, unsigned int uiPwdLength);
SDF_API int SDF_ReleasePrivateKeyAccessRight(void *hSessionHandle, unsigned int uiKeyIndex);

/* ---- Key management ---------------------------------------------------- */
SDF_API int SDF_ExportSignPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                        ECCrefPublicKey *pucPublicKey);
SDF_API int SDF_ExportEncPublicKey_ECC(void *hSessionHandle, unsigned int uiKeyIndex,
                                       ECCrefPublicKey *pucPublicKey);

/* ---- Asymmetric operations --------------------------------------------- */
#ifdef MOCK_SIGN_WITH_ALGID
/* Vendor variant: leading algorithm ID, which must be SGD_SM2_1
 * (else SDR_ALGNOTSUPPORT). */
SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                 unsigned int uiISKIndex, unsigned char *pucData,
                                 unsigned int uiDataLength, ECCSignature *pucSignature);
#else
SDF_API int SDF_InternalSign_ECC(void *hSessionHandle, unsigned int uiISKIndex,
                                 unsigned char *pucData, unsigned int uiDataLength,
                                 ECCSignature *pucSignature);
#endif
SDF_API int SDF_InternalVerify_ECC(void *hSessionHandle, unsigned int uiIPKIndex,
                                   unsigned char *pucData, unsigned int uiDataLength,
                                   ECCSignature *pucSignature);
/* uiAlgID must be SGD_SM2_1 (else SDR_ALGNOTSUPPORT). Bad signature,
 * r or s outside [1, n-1]: SDR_VERIFYERR. */
SDF_API int SDF_ExternalVerify_ECC(void *hSessionHandle, unsigned int uiAlgID,
                                   ECCrefPublicKey *pucPublicKey, unsigned char *pucDataInput,
                                   unsigned int uiInputLength, ECCSignature *pucSignature);

/* External key pair: uiAlgID SGD_SM2, SGD_SM2_1, SGD_SM2_2 or SGD_SM2_3 (strict: SGD_SM2_1 or
 * SGD_SM2_3 only; else SDR_ALGNOTSUPPORT), uiKeyBits 256 (else SDR_INARGERR). */
SDF_API int SDF_GenerateKeyPair_ECC(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKeyBits,
                                    ECCrefPublicKey *pucPublicKey, ECCrefPrivateKey *pucPrivateKey);
/* uiAlgID SGD_SM2_1; the data is the 32-byte digest e. A private key outside [1, n-2], a bits
 * value other than 256 (or 0) or non-zero padding gives SDR_INARGERR. */
SDF_API int SDF_ExternalSign_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPrivateKey *pucPrivateKey,
                                 unsigned char *pucData, unsigned int uiDataLength,
                                 ECCSignature *pucSignature);
/* SM2 encryption (GB/T 32918.4): x||y = C1, M = C3 = SM3(x2||data||y2), C = C2, L = data length.
 * uiAlgID SGD_SM2_3 (else SDR_ALGNOTSUPPORT); 1 <= uiDataLength <= BufferSize (else
 * SDR_INARGERR). pucEncData must have room for offsetof(ECCCipher, C) + uiDataLength bytes. */
SDF_API int SDF_ExternalEncrypt_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPublicKey *pucPublicKey,
                                    unsigned char *pucData, unsigned int uiDataLength, ECCCipher *pucEncData);
/* Writes L bytes to pucData and L to *puiDataLength. A C1 off the curve or a wrong C3 gives
 * SDR_ENCDATAERR; L of 0 or above BufferSize SDR_INARGERR. Strict: *puiDataLength < L on entry
 * gives SDR_NOBUFFER. */
SDF_API int SDF_ExternalDecrypt_ECC(void *hSessionHandle, unsigned int uiAlgID, ECCrefPrivateKey *pucPrivateKey,
                                    ECCCipher *pucEncData, unsigned char *pucData, unsigned int *puiDataLength);
/* As the external pair, with the encryption key (enc-<N>.key) at the index: no such key gives
 * SDR_KEYNOTEXIST. Decrypting needs the access right of the index on this session (SDR_PARDENY).
 * Argument order as GmSSL's sdf.h: index first, then uiAlgID. */
SDF_API int SDF_InternalEncrypt_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiAlgID,
                                    unsigned char *pucData, unsigned int uiDataLength, ECCCipher *pucEncData);
SDF_API int SDF_InternalDecrypt_ECC(void *hSessionHandle, unsigned int uiISKIndex, unsigned int uiAlgID,
                                    ECCCipher *pucEncData, unsigned char *pucData, unsigned int *puiDataLength);

/* ---- Session keys (SM4, 128 bits) ---------------------------------------
 * A session holds up to 1024 keys; handles are opaque, unique in the process,
 * and die with SDF_DestroyKey or the session. uiKeyBits must be 128 (else
 * SDR_INARGERR). An unknown or destroyed handle gives SDR_KEYNOTEXIST. */

/* The new key encrypted with SM2 to the internal encryption key at the index. */
SDF_API int SDF_GenerateKeyWithIPK_ECC(void *hSessionHandle, unsigned int uiIPKIndex, unsigned int uiKeyBits,
                                       ECCCipher *pucKey, void **phKeyHandle);
/* uiAlgID SGD_SM2_3. */
SDF_API int SDF_GenerateKeyWithEPK_ECC(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
                                       ECCrefPublicKey *pucPublicKey, ECCCipher *pucKey, void **phKeyHandle);
/* Decrypts a 16-byte key (L must be 16) with the internal encryption key: needs the access right. */
SDF_API int SDF_ImportKeyWithISK_ECC(void *hSessionHandle, unsigned int uiISKIndex, ECCCipher *pucKey,
                                     void **phKeyHandle);
/* The wrapped key (blob) by uiAlgID:
 *     SGD_SM4_ECB  SM4-ECB(KEK, key), 16 bytes (not in the strict variant)
 *     SGD_SM4_CBC  IV || SM4-CBC(KEK, IV, key), 32 bytes: a random 16-byte IV, no padding
 * any other uiAlgID gives SDR_ALGNOTSUPPORT. SDF_ImportKeyWithKEK takes a uiKeyLength of exactly the
 * blob's size (else SDR_INARGERR). Strict: *puiKeyLength < the blob's size on entry gives
 * SDR_NOBUFFER. A missing KEK gives SDR_KEYNOTEXIST, a malformed kek file SDR_KEYERR. */
SDF_API int SDF_GenerateKeyWithKEK(void *hSessionHandle, unsigned int uiKeyBits, unsigned int uiAlgID,
                                   unsigned int uiKEKIndex, unsigned char *pucKey, unsigned int *puiKeyLength,
                                   void **phKeyHandle);
SDF_API int SDF_ImportKeyWithKEK(void *hSessionHandle, unsigned int uiAlgID, unsigned int uiKEKIndex,
                                 unsigned char *pucKey, unsigned int uiKeyLength, void **phKeyHandle);
SDF_API int SDF_DestroyKey(void *hSessionHandle, void *hKeyHandle);

/* ---- Symmetric operations ------------------------------------------------
 * SM4 without padding: the length must be a non-zero multiple of 16 up to
 * BufferSize (else SDR_INARGERR). uiAlgID SGD_SM4_ECB or SGD_SM4_CBC (else
 * SDR_ALGNOTSUPPORT); CBC needs the 16-byte IV and leaves the last ciphertext
 * block in it, so that a long input can be processed in pieces. Strict: an output
 * capacity (*puiEncDataLength, *puiDataLength) below the input length, or a
 * *puiMACLength below 16, gives SDR_NOBUFFER. */
SDF_API int SDF_Encrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                        unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucEncData,
                        unsigned int *puiEncDataLength);
SDF_API int SDF_Decrypt(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                        unsigned char *pucEncData, unsigned int uiEncDataLength, unsigned char *pucData,
                        unsigned int *puiDataLength);
/* uiAlgID SGD_SM4_MAC: CBC-MAC, the last block of SM4-CBC over the data with the IV (all zero
 * when pucIV is NULL); 16 bytes. The IV, when given, receives the MAC. */
SDF_API int SDF_CalculateMAC(void *hSessionHandle, void *hKeyHandle, unsigned int uiAlgID, unsigned char *pucIV,
                             unsigned char *pucData, unsigned int uiDataLength, unsigned char *pucMAC,
                             unsigned int *puiMACLength);

/* ---- Hash -------------------------------------------------------------- */
SDF_API int SDF_HashInit(void *hSessionHandle, unsigned int uiAlgID,
                         ECCrefPublicKey *pucPublicKey, unsigned char *pucID,
                         unsigned int uiIDLength);
SDF_API int SDF_HashUpdate(void *hSessionHandle, unsigned char *pucData,
                           unsigned int uiDataLength);
/* Writes 32 bytes to pucHash and 32 to *puiHashLength. Strict: *puiHashLength < 32 on entry
 * gives SDR_NOBUFFER, and the hash stays open. */
SDF_API int SDF_HashFinal(void *hSessionHandle, unsigned char *pucHash,
                          unsigned int *puiHashLength);

/* ======================================================================== *
 * Test hooks (not part of GM/T 0018). They return SDR codes, are not counted
 * as calls, are not subject to latency, faults, stalls, outages or the serial
 * check, and are thread-safe.
 * ======================================================================== */

typedef struct {
    unsigned int openDevices;      /* live device handles */
    unsigned int openSessions;     /* live session handles */
    unsigned int accessRights;     /* granted access rights, summed over live sessions */
    unsigned long long totalCalls; /* SDF_* calls since load or MOCK_Reset (faulted ones too) */
} MOCK_Counters;

/* SDR_OUTARGERR if out is NULL. */
SDF_API int MOCK_GetCounters(MOCK_Counters *out);

/* Calls of one SDF function since load or MOCK_Reset (fnName with or without
 * "SDF_"). SDR_INARGERR for an unknown name, SDR_OUTARGERR for NULL out. */
SDF_API int MOCK_GetCallCount(const char *fnName, unsigned long long *out);

/* Every SDF_* call returns `us` microseconds after it began, its own work
 * included, as a device answers after its latency (work that takes longer
 * returns when done). It waits holding no lock, so calls overlap; faulted
 * calls and calls during an outage wait too. 0 = none. */
SDF_API int MOCK_SetLatencyUs(unsigned int us);

/* Fault injection: of the calls to fnName made from now on, the first
 * `afterCalls` run normally (whatever their result) and the next `count`
 * ones (-1 = all) return sdrCode without doing any work (a faulted
 * SDF_CloseSession / SDF_CloseDevice does NOT close anything). Setting a fault
 * for a function that already has one replaces it. fnName NULL clears all
 * faults. Up to 32 faults. Returns SDR_INARGERR for an unknown function name,
 * sdrCode 0 or count 0 / < -1, SDR_NOBUFFER when the table is full. Faults are
 * checked before outages. */
SDF_API int MOCK_SetFault(const char *fnName, int sdrCode, unsigned int afterCalls, int count);

/* Stalls, for timeout tests: of the calls to fnName made from now on, the
 * first `afterCalls` run normally and the next `count` ones (-1 = all) first
 * sleep `ms` milliseconds, holding no lock (other calls go on meanwhile), then
 * run normally (a fault set for the function still applies). A stalled call
 * is inside the library while it sleeps (the strict lifecycle check and the
 * serial check see it). Setting a stall for a function that already has one
 * replaces it. fnName NULL clears all stalls, as does MOCK_Reset. Up to 32
 * stalls. Returns SDR_INARGERR for an unknown function name, ms 0 or count 0 /
 * < -1, SDR_NOBUFFER when the table is full. */
SDF_API int MOCK_SetStall(const char *fnName, unsigned int ms, unsigned int afterCalls, int count);

/* Serial check (every variant), for tests of a binding that serialises every
 * call into the library: while on, an SDF_* call that starts while another
 * SDF_* call is inside prints "gmt0018 mock (serial check): concurrent
 * SDF_<inside> and SDF_<entering>: calls must not overlap" on stderr and
 * abort()s. A call is inside from entry to return, latency and stalls
 * included. on 0 turns it off. Also GMT0018_MOCK_SERIAL=1; MOCK_Reset turns
 * it off. */
SDF_API int MOCK_SetSerialCheck(int on);

/* Wrong signatures: while on, SDF_InternalSign_ECC returns a well-formed
 * signature of another digest (the last bit of e flipped), as a faulty card
 * would, for tests of host-side verification. MOCK_Reset turns it off. */
SDF_API int MOCK_SetWrongSignatures(int on);

/* Device outage: for the next durationMs milliseconds every SDF_* call
 * returns sdrCode without doing any work. durationMs 0 ends an outage.
 * SDR_INARGERR if sdrCode is 0 while durationMs > 0. */
SDF_API int MOCK_SetOutage(unsigned int durationMs, int sdrCode);

/* Keystore directory for the next SDF_OpenDevice calls, instead of
 * GMT0018_MOCK_KEYSTORE (same rules: "" = no keys). NULL goes back to the
 * environment variable. Needed where the host's environment is a copy that
 * getenv() does not see (jest's sandboxed process.env). Not undone by
 * MOCK_Reset. SDR_NOBUFFER if out of memory. */
SDF_API int MOCK_SetKeystore(const char *dir);

/* Clears faults, stalls, latency, outage, the serial check and call counters;
 * live devices, sessions, access rights and the MOCK_SetKeystore path stay. */
SDF_API int MOCK_Reset(void);

#ifdef __cplusplus
}
#endif

#endif /* GMT0018_MOCK_SDF_H */
