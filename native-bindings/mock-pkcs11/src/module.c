/* The PKCS #11 entry points a signer needs: library, slot, token, session, login, object
 * search, attributes, signing. Unsupported ones are in stubs.c.
 *
 * Locking: m_lock guards all module state. C_Sign computes outside it, with its session marked
 * busy; closing that session, C_CloseAllSessions, C_Finalize and the proxy restart wait until no
 * session they drop is busy. Handles are looked up in tables, never dereferenced. */
#define _POSIX_C_SOURCE 200809L
#include "p11.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

typedef struct {
    CK_SESSION_HANDLE handle; /* 0: free slot */
    CK_FLAGS flags;
    int busy; /* a C_Sign is computing outside the lock */
    int find_active;
    CK_OBJECT_HANDLE *found;
    size_t nfound, pos;
    int sign_active;
    mech_def mech;
    size_t key;
    int cached; /* a signature made by a C_Sign that found the buffer too small */
    unsigned char cache_e[64];
    size_t cache_elen;
    unsigned char cache_sig[P11_MAX_SIG];
    size_t cache_len;
} session;

static pthread_mutex_t m_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t m_idle = PTHREAD_COND_INITIALIZER;
static int m_initialized;
static token_def *m_token;
static unsigned long m_generation; /* C_Initialize count: part of every object handle */
static unsigned long long m_inits, m_finals;
static int m_logged_in;
static session m_sessions[P11_MAX_SESSIONS];
static size_t m_nsessions, m_nrw;
static unsigned long long m_seq;
static unsigned int m_busy;

#define SESSION_INDEX_BITS 12
#define OBJECT_BASE 0x1000UL

/* ---- helpers (under m_lock) --------------------------------------------------- */

static void pad(unsigned char *field, size_t size, const char *text)
{
    size_t n = strlen(text);
    memset(field, ' ', size);
    memcpy(field, text, n < size ? n : size);
}

static session *session_find(CK_SESSION_HANDLE h)
{
    size_t idx = (size_t)(h & ((1UL << SESSION_INDEX_BITS) - 1));
    if (h == CK_INVALID_HANDLE || idx == 0 || idx > P11_MAX_SESSIONS)
        return NULL;
    return m_sessions[idx - 1].handle == h ? &m_sessions[idx - 1] : NULL;
}

static CK_RV lookup(CK_SESSION_HANDLE h, session **out)
{
    if (!m_initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    *out = session_find(h);
    return *out ? CKR_OK : CKR_SESSION_HANDLE_INVALID;
}

static void find_end(session *s)
{
    free(s->found);
    s->found = NULL;
    s->nfound = s->pos = 0;
    s->find_active = 0;
}

static void sign_end(session *s)
{
    s->sign_active = 0;
    s->cached = 0;
    OPENSSL_cleanse(s->cache_e, sizeof(s->cache_e));
    OPENSSL_cleanse(s->cache_sig, sizeof(s->cache_sig));
}

static void session_close(session *s)
{
    find_end(s);
    sign_end(s);
    if (s->flags & CKF_RW_SESSION)
        m_nrw--;
    m_nsessions--;
    memset(s, 0, sizeof(*s));
    if (m_nsessions == 0)
        m_logged_in = 0; /* closing the last session logs the user out */
}

static void wait_all_idle(void)
{
    while (m_busy > 0)
        pthread_cond_wait(&m_idle, &m_lock);
}

static void close_all(void)
{
    size_t i;
    wait_all_idle();
    for (i = 0; i < P11_MAX_SESSIONS; i++)
        if (m_sessions[i].handle != CK_INVALID_HANDLE)
            session_close(&m_sessions[i]);
    m_logged_in = 0;
}

static CK_OBJECT_HANDLE object_handle(size_t key, int priv)
{
    return ((m_generation & 0xFFFFUL) << 20) | (OBJECT_BASE + 2 * key + (priv ? 1 : 0));
}

enum { OBJ_OK = 0, OBJ_INVALID = -1, OBJ_NOT_LOGGED_IN = -2 };

/* The key and class of a visible object handle. */
static int object_find(CK_OBJECT_HANDLE h, size_t *key, int *priv)
{
    CK_ULONG low = h & 0xFFFFFUL;
    size_t idx;
    if ((h >> 20) != (m_generation & 0xFFFFUL) || low < OBJECT_BASE)
        return OBJ_INVALID;
    idx = (size_t)((low - OBJECT_BASE) / 2);
    if (idx >= m_token->nkeys)
        return OBJ_INVALID;
    *key = idx;
    *priv = (int)(low & 1);
    if (!*priv && (m_token->keys[idx].flags & KEY_NO_PUBLIC_OBJECT))
        return OBJ_INVALID;
    if (*priv && !m_logged_in)
        return OBJ_NOT_LOGGED_IN;
    return OBJ_OK;
}

/* ---- attributes --------------------------------------------------------------- */

enum { ATTR_OK = 0, ATTR_SENSITIVE, ATTR_INVALID };

static const CK_BBOOL k_true = CK_TRUE, k_false = CK_FALSE;

/* Value of one attribute of an object; *scratch holds CK_ULONG values. */
static int attr_get(const key_def *k, int priv, CK_ATTRIBUTE_TYPE type, const void **value, size_t *len,
                    CK_ULONG *scratch)
{
    const CK_BBOOL *b = NULL;
    *value = scratch;
    *len = sizeof(CK_ULONG);
    switch (type) {
    case CKA_CLASS:
        *scratch = priv ? CKO_PRIVATE_KEY : CKO_PUBLIC_KEY;
        return ATTR_OK;
    case CKA_KEY_TYPE:
        *scratch = k->key_type;
        return ATTR_OK;
    case CKA_LABEL:
        *value = k->label;
        *len = k->label_len;
        return ATTR_OK;
    case CKA_ID:
        *value = k->id;
        *len = k->id_len;
        return ATTR_OK;
    case CKA_EC_PARAMS:
        *value = k->curve == CURVE_SM2 ? MOCKP11_EC_PARAMS_SM2 : MOCKP11_EC_PARAMS_P256;
        *len = MOCKP11_EC_PARAMS_LEN;
        return ATTR_OK;
    case CKA_EC_POINT:
        if (priv && !(k->flags & (KEY_NO_PUBLIC_OBJECT | KEY_POINT_ON_PRIVATE)))
            return ATTR_INVALID;
        *value = k->ec_point;
        *len = k->ec_point_len;
        return ATTR_OK;
    case CKA_VALUE:
        return priv ? ATTR_SENSITIVE : ATTR_INVALID;
    case CKA_TOKEN:
        b = &k_true;
        break;
    case CKA_PRIVATE:
        b = priv ? &k_true : &k_false;
        break;
    case CKA_MODIFIABLE:
    case CKA_LOCAL:
    case CKA_DERIVE:
        b = &k_false;
        break;
    case CKA_VERIFY:
        b = priv ? NULL : &k_true;
        break;
    case CKA_ENCRYPT:
    case CKA_WRAP:
    case CKA_VERIFY_RECOVER:
        b = priv ? NULL : &k_false;
        break;
    case CKA_SIGN:
    case CKA_SENSITIVE:
    case CKA_ALWAYS_SENSITIVE:
    case CKA_NEVER_EXTRACTABLE:
        b = priv ? &k_true : NULL;
        break;
    case CKA_DECRYPT:
    case CKA_UNWRAP:
    case CKA_SIGN_RECOVER:
    case CKA_EXTRACTABLE:
    case CKA_ALWAYS_AUTHENTICATE:
        b = priv ? &k_false : NULL;
        break;
    default:
        break;
    }
    if (b == NULL)
        return ATTR_INVALID;
    *value = b;
    *len = 1;
    return ATTR_OK;
}

static int matches(const key_def *k, int priv, const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
    CK_ULONG i, scratch;
    for (i = 0; i < n; i++) {
        const void *v;
        size_t len;
        if (attr_get(k, priv, tmpl[i].type, &v, &len, &scratch) != ATTR_OK || len != tmpl[i].ulValueLen ||
            (len > 0 && memcmp(v, tmpl[i].pValue, len) != 0))
            return 0;
    }
    return 1;
}

/* ---- library ------------------------------------------------------------------ */

CK_RV C_Initialize(CK_VOID_PTR pInitArgs)
{
    const CK_C_INITIALIZE_ARGS *args = pInitArgs;
    token_def *t = NULL;
    char *dir;
    CK_RV rv = hooks_load_env();
    if (rv != CKR_OK)
        return rv;
    {
        P11_ENTER(C_Initialize, ENTER_NO_RESTART);
        if (args != NULL) {
            int fns = (args->CreateMutex != NULL) + (args->DestroyMutex != NULL) + (args->LockMutex != NULL) +
                      (args->UnlockMutex != NULL);
            if (args->pReserved != NULL || (fns != 0 && fns != 4))
                return CKR_ARGUMENTS_BAD;
            if (fns == 4 && !(args->flags & CKF_OS_LOCKING_OK))
                return CKR_CANT_LOCK; /* only the OS's locking is used */
        }
        pthread_mutex_lock(&m_lock);
        if (m_initialized) {
            pthread_mutex_unlock(&m_lock);
            return CKR_CRYPTOKI_ALREADY_INITIALIZED;
        }
        dir = hooks_dir();
        rv = token_load(dir != NULL ? dir : getenv("MOCKP11_DIR"), &t);
        free(dir);
        if (rv == CKR_OK) {
            m_token = t;
            m_initialized = 1;
            m_generation++;
            m_inits++;
            m_logged_in = 0;
            hooks_proxy_restart_end();
        }
        pthread_mutex_unlock(&m_lock);
        return rv;
    }
}

CK_RV C_Finalize(CK_VOID_PTR pReserved)
{
    P11_ENTER(C_Finalize, ENTER_NO_RESTART);
    if (pReserved != NULL)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&m_lock);
    if (!m_initialized) {
        pthread_mutex_unlock(&m_lock);
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    }
    close_all();
    token_free(m_token);
    m_token = NULL;
    m_initialized = 0;
    m_finals++;
    hooks_proxy_restart_end();
    pthread_mutex_unlock(&m_lock);
    return CKR_OK;
}

CK_RV C_GetInfo(CK_INFO_PTR pInfo)
{
    CK_RV rv = CKR_OK;
    P11_ENTER(C_GetInfo, 0);
    pthread_mutex_lock(&m_lock);
    if (!m_initialized)
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    else if (pInfo == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else {
        memset(pInfo, 0, sizeof(*pInfo));
        pInfo->cryptokiVersion.major = 2;
        pInfo->cryptokiVersion.minor = 40;
        pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "gmt0018 mockp11");
        pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription), "gmt0018 mock PKCS#11 module");
        pInfo->libraryVersion.major = 1;
        pInfo->libraryVersion.minor = 0;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

#define P11_LIST_ENTRY(name, args) name,
static CK_FUNCTION_LIST m_functions = {{2, 40}, CK_FUNCTIONS(P11_LIST_ENTRY)};
#undef P11_LIST_ENTRY

/* The functions of an instance nobody initialised (MOCKP11_SetListPerCall). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#define P11_UNINITIALIZED(name, args)                                                                                  \
    static CK_RV uninitialized_##name args { return CKR_CRYPTOKI_NOT_INITIALIZED; }
CK_FUNCTIONS(P11_UNINITIALIZED)
#undef P11_UNINITIALIZED
#pragma GCC diagnostic pop
#define P11_LIST_ENTRY(name, args) uninitialized_##name,
static CK_FUNCTION_LIST m_uninitialized_functions = {{2, 40}, CK_FUNCTIONS(P11_LIST_ENTRY)};
#undef P11_LIST_ENTRY

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    P11_ENTER(C_GetFunctionList, ENTER_NO_FAULT | ENTER_NO_RESTART);
    if (ppFunctionList == NULL)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = hooks_fresh_instance() ? &m_uninitialized_functions : &m_functions;
    return CKR_OK;
}

/* ---- slot and token ----------------------------------------------------------- */

static CK_RV slot_check(CK_SLOT_ID slot)
{
    if (!m_initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return slot == m_token->slot_id ? CKR_OK : CKR_SLOT_ID_INVALID;
}

CK_RV C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_RV rv = CKR_OK;
    P11_ENTER(C_GetSlotList, 0);
    (void)tokenPresent; /* the one slot always has its token */
    pthread_mutex_lock(&m_lock);
    if (!m_initialized)
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    else if (pulCount == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (pSlotList == NULL)
        *pulCount = 1;
    else if (*pulCount < 1) {
        *pulCount = 1;
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        pSlotList[0] = m_token->slot_id;
        *pulCount = 1;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv;
    P11_ENTER(C_GetSlotInfo, 0);
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK && pInfo == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        memset(pInfo, 0, sizeof(*pInfo));
        pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), "gmt0018 mockp11 slot");
        memcpy(pInfo->manufacturerID, m_token->manufacturer, sizeof(pInfo->manufacturerID));
        pInfo->flags = CKF_TOKEN_PRESENT | CKF_HW_SLOT;
        pInfo->hardwareVersion.major = 1;
        pInfo->firmwareVersion.major = 1;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv;
    P11_ENTER(C_GetTokenInfo, 0);
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK && pInfo == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        memset(pInfo, 0, sizeof(*pInfo));
        memcpy(pInfo->label, m_token->label, sizeof(pInfo->label));
        memcpy(pInfo->manufacturerID, m_token->manufacturer, sizeof(pInfo->manufacturerID));
        memcpy(pInfo->model, m_token->model, sizeof(pInfo->model));
        memcpy(pInfo->serialNumber, m_token->serial, sizeof(pInfo->serialNumber));
        pInfo->flags = CKF_LOGIN_REQUIRED | CKF_USER_PIN_INITIALIZED | CKF_TOKEN_INITIALIZED;
        pInfo->ulMaxSessionCount = m_token->max_sessions;
        pInfo->ulSessionCount = m_nsessions;
        pInfo->ulMaxRwSessionCount = m_token->max_sessions;
        pInfo->ulRwSessionCount = m_nrw;
        pInfo->ulMaxPinLen = sizeof(m_token->pin);
        pInfo->ulMinPinLen = 1;
        pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
        pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
        pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
        pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
        pInfo->hardwareVersion.major = 1;
        pInfo->firmwareVersion.major = 1;
        memset(pInfo->utcTime, ' ', sizeof(pInfo->utcTime));
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList, CK_ULONG_PTR pulCount)
{
    CK_RV rv;
    size_t i;
    P11_ENTER(C_GetMechanismList, 0);
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK && pulCount == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        if (pMechanismList != NULL && *pulCount < m_token->nmechs)
            rv = CKR_BUFFER_TOO_SMALL;
        else if (pMechanismList != NULL)
            for (i = 0; i < m_token->nmechs; i++)
                pMechanismList[i] = m_token->mechs[i].type;
        *pulCount = m_token->nmechs;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv;
    P11_ENTER(C_GetMechanismInfo, 0);
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK && pInfo == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK && token_mech(m_token, type) == NULL)
        rv = CKR_MECHANISM_INVALID;
    if (rv == CKR_OK) {
        pInfo->ulMinKeySize = 256;
        pInfo->ulMaxKeySize = 256;
        pInfo->flags = CKF_HW | CKF_SIGN | CKF_EC_F_P | CKF_EC_NAMEDCURVE | CKF_EC_UNCOMPRESS;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

/* ---- sessions ------------------------------------------------------------------ */

CK_RV C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                    CK_SESSION_HANDLE_PTR phSession)
{
    CK_RV rv;
    size_t i;
    P11_ENTER(C_OpenSession, 0);
    (void)pApplication; /* no notifications are ever sent */
    (void)Notify;
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK && !(flags & CKF_SERIAL_SESSION))
        rv = CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    else if (rv == CKR_OK && phSession == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (rv == CKR_OK && m_nsessions >= m_token->max_sessions)
        rv = CKR_SESSION_COUNT;
    if (rv == CKR_OK) {
        for (i = 0; i < P11_MAX_SESSIONS && m_sessions[i].handle != CK_INVALID_HANDLE; i++)
            ;
        if (i == P11_MAX_SESSIONS) {
            rv = CKR_SESSION_COUNT;
        } else {
            session *s = &m_sessions[i];
            memset(s, 0, sizeof(*s));
            s->handle = (CK_SESSION_HANDLE)(++m_seq << SESSION_INDEX_BITS) | (CK_SESSION_HANDLE)(i + 1);
            s->flags = flags & (CKF_SERIAL_SESSION | CKF_RW_SESSION);
            m_nsessions++;
            if (flags & CKF_RW_SESSION)
                m_nrw++;
            *phSession = s->handle;
        }
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_CloseSession(CK_SESSION_HANDLE hSession)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_CloseSession, 0);
    pthread_mutex_lock(&m_lock);
    while ((rv = lookup(hSession, &s)) == CKR_OK && s->busy)
        pthread_cond_wait(&m_idle, &m_lock);
    if (rv == CKR_OK)
        session_close(s);
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv;
    P11_ENTER(C_CloseAllSessions, 0);
    pthread_mutex_lock(&m_lock);
    rv = slot_check(slotID);
    if (rv == CKR_OK)
        close_all();
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_GetSessionInfo, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && pInfo == NULL)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        int rw = (s->flags & CKF_RW_SESSION) != 0;
        pInfo->slotID = m_token->slot_id;
        pInfo->state = m_logged_in ? (rw ? CKS_RW_USER_FUNCTIONS : CKS_RO_USER_FUNCTIONS)
                                   : (rw ? CKS_RW_PUBLIC_SESSION : CKS_RO_PUBLIC_SESSION);
        pInfo->flags = s->flags;
        pInfo->ulDeviceError = 0;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_Login, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK) {
        if (userType != CKU_USER)
            rv = CKR_USER_TYPE_INVALID; /* the mock has no security officer */
        else if (m_logged_in)
            rv = CKR_USER_ALREADY_LOGGED_IN;
        else if (pPin == NULL)
            rv = CKR_ARGUMENTS_BAD; /* no protected authentication path */
        else if (ulPinLen != m_token->pin_len || CRYPTO_memcmp(pPin, m_token->pin, ulPinLen) != 0) {
            rv = CKR_PIN_INCORRECT;
            hooks_count_login(0);
        } else {
            m_logged_in = 1;
            hooks_count_login(1);
        }
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_Logout(CK_SESSION_HANDLE hSession)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_Logout, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && !m_logged_in)
        rv = CKR_USER_NOT_LOGGED_IN;
    if (rv == CKR_OK)
        m_logged_in = 0;
    pthread_mutex_unlock(&m_lock);
    return rv;
}

/* ---- objects ------------------------------------------------------------------ */

CK_RV C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ATTRIBUTE_PTR pTemplate,
                          CK_ULONG ulCount)
{
    session *s;
    size_t key;
    int priv;
    CK_ULONG i, scratch;
    CK_RV rv;
    P11_ENTER(C_GetAttributeValue, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && object_find(hObject, &key, &priv) != OBJ_OK)
        rv = CKR_OBJECT_HANDLE_INVALID;
    if (rv == CKR_OK && pTemplate == NULL && ulCount > 0)
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        const key_def *k = &m_token->keys[key];
        for (i = 0; i < ulCount; i++) {
            CK_ATTRIBUTE *a = &pTemplate[i];
            const void *v;
            size_t len;
            CK_RV err = CKR_OK;
            switch (attr_get(k, priv, a->type, &v, &len, &scratch)) {
            case ATTR_SENSITIVE:
                err = CKR_ATTRIBUTE_SENSITIVE;
                break;
            case ATTR_INVALID:
                err = CKR_ATTRIBUTE_TYPE_INVALID;
                break;
            default:
                if (a->pValue == NULL) {
                    a->ulValueLen = len;
                } else if (a->ulValueLen >= len) {
                    memcpy(a->pValue, v, len);
                    a->ulValueLen = len;
                } else {
                    err = CKR_BUFFER_TOO_SMALL;
                }
            }
            if (err != CKR_OK) {
                a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
                if (rv == CKR_OK)
                    rv = err; /* the first error; every attribute is still processed */
            }
        }
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    session *s;
    CK_ULONG i;
    size_t key;
    CK_RV rv;
    P11_ENTER(C_FindObjectsInit, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && s->find_active)
        rv = CKR_OPERATION_ACTIVE;
    else if (rv == CKR_OK && pTemplate == NULL && ulCount > 0)
        rv = CKR_ARGUMENTS_BAD;
    for (i = 0; rv == CKR_OK && i < ulCount; i++)
        if (pTemplate[i].pValue == NULL && pTemplate[i].ulValueLen > 0)
            rv = CKR_ATTRIBUTE_VALUE_INVALID;
    if (rv == CKR_OK) {
        s->found = malloc((2 * m_token->nkeys + 1) * sizeof(CK_OBJECT_HANDLE));
        if (s->found == NULL)
            rv = CKR_HOST_MEMORY;
    }
    if (rv == CKR_OK) {
        s->nfound = s->pos = 0;
        for (key = 0; key < m_token->nkeys; key++) {
            const key_def *k = &m_token->keys[key];
            if (!(k->flags & KEY_NO_PUBLIC_OBJECT) && matches(k, 0, pTemplate, ulCount))
                s->found[s->nfound++] = object_handle(key, 0);
            if (m_logged_in && matches(k, 1, pTemplate, ulCount))
                s->found[s->nfound++] = object_handle(key, 1);
        }
        s->find_active = 1;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject, CK_ULONG ulMaxObjectCount,
                    CK_ULONG_PTR pulObjectCount)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_FindObjects, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && !s->find_active)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    else if (rv == CKR_OK && (pulObjectCount == NULL || (phObject == NULL && ulMaxObjectCount > 0)))
        rv = CKR_ARGUMENTS_BAD;
    if (rv == CKR_OK) {
        CK_ULONG n = 0;
        while (n < ulMaxObjectCount && s->pos < s->nfound)
            phObject[n++] = s->found[s->pos++];
        *pulObjectCount = n;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    session *s;
    CK_RV rv;
    P11_ENTER(C_FindObjectsFinal, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && !s->find_active)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    if (rv == CKR_OK)
        find_end(s);
    pthread_mutex_unlock(&m_lock);
    return rv;
}

/* ---- signing -------------------------------------------------------------------- */

CK_RV C_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism, CK_OBJECT_HANDLE hKey)
{
    session *s;
    const mech_def *m = NULL;
    size_t key = 0;
    int priv = 0, found;
    CK_RV rv;
    P11_ENTER(C_SignInit, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && (s->sign_active || s->busy))
        rv = CKR_OPERATION_ACTIVE;
    else if (rv == CKR_OK && pMechanism == NULL)
        rv = CKR_ARGUMENTS_BAD;
    else if (rv == CKR_OK && (m = token_mech(m_token, pMechanism->mechanism)) == NULL)
        rv = CKR_MECHANISM_INVALID;
    else if (rv == CKR_OK && (pMechanism->pParameter != NULL || pMechanism->ulParameterLen != 0))
        rv = CKR_MECHANISM_PARAM_INVALID;
    if (rv == CKR_OK) {
        found = object_find(hKey, &key, &priv);
        if (found == OBJ_NOT_LOGGED_IN)
            rv = CKR_USER_NOT_LOGGED_IN;
        else if (found != OBJ_OK)
            rv = CKR_KEY_HANDLE_INVALID;
        else if (!priv)
            rv = CKR_KEY_FUNCTION_NOT_PERMITTED; /* a public key: CKA_SIGN false */
        else if (m_token->keys[key].curve != m->curve)
            rv = CKR_KEY_TYPE_INCONSISTENT;
    }
    if (rv == CKR_OK) {
        sign_end(s);
        s->sign_active = 1;
        s->mech = *m;
        s->key = key;
    }
    pthread_mutex_unlock(&m_lock);
    return rv;
}

CK_RV C_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen, CK_BYTE_PTR pSignature,
             CK_ULONG_PTR pulSignatureLen)
{
    session *s;
    const key_def *k;
    mech_def m;
    unsigned char e[64], sig[P11_MAX_SIG];
    size_t elen = 0, siglen = 0;
    int ok;
    CK_RV rv;
    P11_ENTER(C_Sign, 0);
    pthread_mutex_lock(&m_lock);
    rv = lookup(hSession, &s);
    if (rv == CKR_OK && s->busy)
        rv = CKR_OPERATION_ACTIVE; /* another thread is inside C_Sign on this session */
    else if (rv == CKR_OK && !s->sign_active)
        rv = CKR_OPERATION_NOT_INITIALIZED;
    if (rv != CKR_OK)
        goto out;
    m = s->mech;
    k = &m_token->keys[s->key];
    if (pulSignatureLen == NULL || (pData == NULL && ulDataLen > 0))
        rv = CKR_ARGUMENTS_BAD;
    else if (!m_logged_in)
        rv = CKR_USER_NOT_LOGGED_IN;
    else if (m.input == IN_DIGEST &&
             (m.curve == CURVE_SM2 ? ulDataLen != 32 : (ulDataLen < 20 || ulDataLen > 64)))
        rv = CKR_DATA_LEN_RANGE;
    if (rv != CKR_OK) {
        sign_end(s); /* an error ends the operation */
        goto out;
    }
    if (pSignature == NULL) { /* size query: the operation goes on */
        *pulSignatureLen = (s->cached ? s->cache_len : (m.output == OUT_RS ? 64 : P11_MAX_SIG)) + hooks_signature_padding();
        goto out;
    }
    s->busy = 1;
    m_busy++;
    pthread_mutex_unlock(&m_lock);

    ok = crypto_to_be_signed(k, &m, pData, ulDataLen, e, &elen) == 0;
    if (ok && s->cached && s->cache_elen == elen && memcmp(s->cache_e, e, elen) == 0) {
        memcpy(sig, s->cache_sig, s->cache_len); /* the retry after CKR_BUFFER_TOO_SMALL */
        siglen = s->cache_len;
    } else if (ok) {
        unsigned char signed_e[64];
        memcpy(signed_e, e, elen);
        if (hooks_wrong_signatures())
            signed_e[elen - 1] ^= 1;
        ok = crypto_sign(k, &m, signed_e, elen, sig, &siglen) == 0;
    }

    pthread_mutex_lock(&m_lock);
    s->busy = 0;
    m_busy--;
    pthread_cond_broadcast(&m_idle);
    if (!ok) {
        sign_end(s);
        rv = CKR_FUNCTION_FAILED;
    } else if (*pulSignatureLen < siglen + hooks_signature_padding()) {
        s->cached = 1;
        memcpy(s->cache_e, e, elen);
        s->cache_elen = elen;
        memcpy(s->cache_sig, sig, siglen);
        s->cache_len = siglen;
        *pulSignatureLen = siglen + hooks_signature_padding();
        rv = CKR_BUFFER_TOO_SMALL;
    } else {
        memcpy(pSignature, sig, siglen);
        memset(pSignature + siglen, 0, hooks_signature_padding());
        *pulSignatureLen = siglen + hooks_signature_padding();
        sign_end(s);
    }
out:
    pthread_mutex_unlock(&m_lock);
    OPENSSL_cleanse(e, sizeof(e));
    return rv;
}

/* ---- for the hooks ------------------------------------------------------------- */

void module_counters(MOCKP11_Counters *out)
{
    size_t i;
    pthread_mutex_lock(&m_lock);
    out->initializeCount = m_inits;
    out->finalizeCount = m_finals;
    out->initialized = (unsigned long long)m_initialized;
    out->openSessions = m_nsessions;
    out->rwSessions = m_nrw;
    out->loggedIn = (unsigned long long)m_logged_in;
    for (i = 0; i < P11_MAX_SESSIONS; i++) {
        if (m_sessions[i].handle == CK_INVALID_HANDLE)
            continue;
        out->activeSigns += (unsigned long long)m_sessions[i].sign_active;
        out->activeFinds += (unsigned long long)m_sessions[i].find_active;
    }
    pthread_mutex_unlock(&m_lock);
}

void module_drop_state(void)
{
    pthread_mutex_lock(&m_lock);
    if (m_initialized)
        close_all();
    pthread_mutex_unlock(&m_lock);
}
