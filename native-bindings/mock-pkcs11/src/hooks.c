/* Test hooks: call counters, faults, stalls, latency, wrong signatures, the proxy-restart
 * mode, the token directory override. */
#define _POSIX_C_SOURCE 200809L
#include "p11.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIGGERS 32

#define P11_FN_NAME(name, args) #name,
static const char *const fn_names[FN_COUNT] = {CK_FUNCTIONS(P11_FN_NAME)};
#undef P11_FN_NAME

static const struct {
    const char *name;
    CK_RV rv;
} ckr_names[] = {
    {"CKR_CANCEL", CKR_CANCEL},
    {"CKR_HOST_MEMORY", CKR_HOST_MEMORY},
    {"CKR_SLOT_ID_INVALID", CKR_SLOT_ID_INVALID},
    {"CKR_GENERAL_ERROR", CKR_GENERAL_ERROR},
    {"CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED},
    {"CKR_ARGUMENTS_BAD", CKR_ARGUMENTS_BAD},
    {"CKR_DEVICE_ERROR", CKR_DEVICE_ERROR},
    {"CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY},
    {"CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED},
    {"CKR_FUNCTION_CANCELED", CKR_FUNCTION_CANCELED},
    {"CKR_FUNCTION_NOT_SUPPORTED", CKR_FUNCTION_NOT_SUPPORTED},
    {"CKR_KEY_HANDLE_INVALID", CKR_KEY_HANDLE_INVALID},
    {"CKR_OBJECT_HANDLE_INVALID", CKR_OBJECT_HANDLE_INVALID},
    {"CKR_OPERATION_ACTIVE", CKR_OPERATION_ACTIVE},
    {"CKR_PIN_INCORRECT", CKR_PIN_INCORRECT},
    {"CKR_PIN_LOCKED", CKR_PIN_LOCKED},
    {"CKR_SESSION_CLOSED", CKR_SESSION_CLOSED},
    {"CKR_SESSION_COUNT", CKR_SESSION_COUNT},
    {"CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID},
    {"CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT},
    {"CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN},
    {"CKR_CRYPTOKI_NOT_INITIALIZED", CKR_CRYPTOKI_NOT_INITIALIZED},
};

/* A fault (value: CKR code) or a stall (value: milliseconds) of one function. */
typedef struct {
    int active;
    enum fn_id fn;
    CK_RV value;
    unsigned long after;
    long count; /* remaining firings, -1 = forever */
    unsigned long long seen;
} trigger;

static pthread_mutex_t h_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long h_total;
static unsigned long long h_calls[FN_COUNT];
static unsigned long long h_logins, h_failed_logins;
static unsigned int h_latency_us;
static trigger h_faults[MAX_TRIGGERS];
static trigger h_stalls[MAX_TRIGGERS];
static int h_proxy_restart;
static int h_list_per_call;
static atomic_size_t h_signature_padding;
static unsigned long h_lists_handed;
static int h_env_done;
static char *h_dir;
static atomic_int h_wrong_signatures;

static int lookup_fn(const char *name, size_t len, enum fn_id *out)
{
    int i;
    if (len >= 2 && memcmp(name, "C_", 2) == 0) {
        name += 2;
        len -= 2;
    }
    for (i = 0; i < FN_COUNT; i++) {
        const char *n = fn_names[i] + 2;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = (enum fn_id)i;
            return 0;
        }
    }
    return -1;
}

static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
        ;
}

static void add_ns(struct timespec *t, long long ns)
{
    t->tv_sec += (time_t)(ns / 1000000000LL);
    t->tv_nsec += (long)(ns % 1000000000LL);
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

/* Calls inside the module now, and whether one of them is C_Finalize (hooks_enter). */
static atomic_int h_inside;
static atomic_int h_finalizing;

static void check_finalize(enum fn_id fn)
{
    int inside;
    if (fn == FN_C_GetFunctionList)
        return; /* a function of the library, not of an initialised module */
    inside = atomic_fetch_add(&h_inside, 1) + 1;
    if (fn == FN_C_Finalize) {
        atomic_store(&h_finalizing, 1);
        if (inside > 1) {
            fprintf(stderr, "mockp11: C_Finalize called while %d other calls are inside the module\n", inside - 1);
            abort();
        }
    } else if (atomic_load(&h_finalizing)) {
        fprintf(stderr, "mockp11: %s called while C_Finalize runs\n", fn_names[fn]);
        abort();
    }
}

void hooks_leave(p11_call *call)
{
    if (call->due.tv_sec >= 0)
        sleep_until(&call->due);
    if (call->fn == FN_C_GetFunctionList)
        return;
    if (call->fn == FN_C_Finalize)
        atomic_store(&h_finalizing, 0);
    atomic_fetch_sub(&h_inside, 1);
}

/* under h_lock: 1 (with *value) if a trigger of fn fires for this call */
static int fire_locked(trigger *table, enum fn_id fn, CK_RV *value)
{
    int i;
    for (i = 0; i < MAX_TRIGGERS; i++) {
        trigger *t = &table[i];
        if (!t->active || t->fn != fn)
            continue;
        if (++t->seen <= t->after)
            return 0;
        *value = t->value;
        if (t->count > 0 && --t->count == 0)
            t->active = 0;
        return 1;
    }
    return 0;
}

CK_RV hooks_enter(enum fn_id fn, p11_call *call, int flags)
{
    CK_RV rv = CKR_OK, value;
    unsigned int latency;
    unsigned long stall_ms = 0;
    struct timespec start;
    call->fn = fn;
    call->due.tv_sec = -1;
    check_finalize(fn);
    clock_gettime(CLOCK_MONOTONIC, &start);
    pthread_mutex_lock(&h_lock);
    h_total++;
    h_calls[fn]++;
    latency = h_latency_us;
    if (!(flags & ENTER_NO_FAULT)) {
        if (fire_locked(h_stalls, fn, &value))
            stall_ms = value;
        if (fire_locked(h_faults, fn, &value))
            rv = value;
    }
    if (rv == CKR_OK && h_proxy_restart && !(flags & ENTER_NO_RESTART))
        rv = CKR_DEVICE_ERROR;
    pthread_mutex_unlock(&h_lock);
    if (latency > 0) {
        call->due = start;
        add_ns(&call->due, (long long)latency * 1000LL);
    }
    if (stall_ms > 0) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        add_ns(&t, (long long)stall_ms * 1000000LL);
        sleep_until(&t);
    }
    return rv;
}

int hooks_wrong_signatures(void)
{
    return atomic_load(&h_wrong_signatures);
}

char *hooks_dir(void)
{
    char *copy = NULL;
    pthread_mutex_lock(&h_lock);
    if (h_dir != NULL)
        copy = strdup(h_dir);
    pthread_mutex_unlock(&h_lock);
    return copy;
}

int hooks_proxy_restart_on(void)
{
    int on;
    pthread_mutex_lock(&h_lock);
    on = h_proxy_restart;
    pthread_mutex_unlock(&h_lock);
    return on;
}

void hooks_proxy_restart_end(void)
{
    pthread_mutex_lock(&h_lock);
    h_proxy_restart = 0;
    pthread_mutex_unlock(&h_lock);
}

void hooks_count_login(int ok)
{
    pthread_mutex_lock(&h_lock);
    if (ok)
        h_logins++;
    else
        h_failed_logins++;
    pthread_mutex_unlock(&h_lock);
}

/* under h_lock */
static int set_trigger_locked(trigger *table, enum fn_id fn, CK_RV value, unsigned long after, long count)
{
    int i, slot = -1;
    for (i = 0; i < MAX_TRIGGERS; i++) {
        if (table[i].active && table[i].fn == fn) {
            slot = i;
            break;
        }
        if (!table[i].active && slot < 0)
            slot = i;
    }
    if (slot < 0)
        return -1;
    table[slot].active = 1;
    table[slot].fn = fn;
    table[slot].value = value;
    table[slot].after = after;
    table[slot].count = count;
    table[slot].seen = 0;
    return 0;
}

static CK_RV set_trigger(trigger *table, const char *fn, CK_RV value, unsigned long after, long count)
{
    enum fn_id id;
    int rc;
    if (fn == NULL) {
        pthread_mutex_lock(&h_lock);
        memset(table, 0, MAX_TRIGGERS * sizeof(trigger));
        pthread_mutex_unlock(&h_lock);
        return CKR_OK;
    }
    if (lookup_fn(fn, strlen(fn), &id) != 0 || id == FN_C_GetFunctionList || value == 0 || count == 0 || count < -1)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&h_lock);
    rc = set_trigger_locked(table, id, value, after, count);
    pthread_mutex_unlock(&h_lock);
    return rc == 0 ? CKR_OK : CKR_ARGUMENTS_BAD;
}

MOCKP11_API CK_RV MOCKP11_SetFault(const char *fn, CK_RV rv, unsigned long afterCalls, long count)
{
    return set_trigger(h_faults, fn, rv, afterCalls, count);
}

MOCKP11_API CK_RV MOCKP11_SetStall(const char *fn, unsigned int ms, unsigned long afterCalls, long count)
{
    return set_trigger(h_stalls, fn, ms, afterCalls, count);
}

MOCKP11_API CK_RV MOCKP11_ProxyRestart(void)
{
    pthread_mutex_lock(&h_lock);
    h_proxy_restart = 1;
    pthread_mutex_unlock(&h_lock);
    module_drop_state();
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_SetListPerCall(int on)
{
    pthread_mutex_lock(&h_lock);
    h_list_per_call = on != 0;
    h_lists_handed = 0;
    pthread_mutex_unlock(&h_lock);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_SetSignaturePadding(unsigned long bytes)
{
    atomic_store(&h_signature_padding, (size_t)bytes);
    return CKR_OK;
}

size_t hooks_signature_padding(void)
{
    return atomic_load(&h_signature_padding);
}

int hooks_fresh_instance(void)
{
    int fresh;
    pthread_mutex_lock(&h_lock);
    fresh = h_list_per_call && h_lists_handed++ > 0;
    pthread_mutex_unlock(&h_lock);
    return fresh;
}

MOCKP11_API CK_RV MOCKP11_SetLatencyUs(unsigned int us)
{
    pthread_mutex_lock(&h_lock);
    h_latency_us = us;
    pthread_mutex_unlock(&h_lock);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_SetWrongSignatures(int on)
{
    atomic_store(&h_wrong_signatures, on != 0);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_SetDir(const char *dir)
{
    char *copy = NULL;
    if (dir != NULL && (copy = strdup(dir)) == NULL)
        return CKR_HOST_MEMORY;
    pthread_mutex_lock(&h_lock);
    free(h_dir);
    h_dir = copy;
    pthread_mutex_unlock(&h_lock);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_Reset(void)
{
    pthread_mutex_lock(&h_lock);
    memset(h_faults, 0, sizeof(h_faults));
    memset(h_stalls, 0, sizeof(h_stalls));
    memset(h_calls, 0, sizeof(h_calls));
    h_total = 0;
    h_logins = 0;
    h_failed_logins = 0;
    h_latency_us = 0;
    h_proxy_restart = 0;
    h_list_per_call = 0;
    h_lists_handed = 0;
    pthread_mutex_unlock(&h_lock);
    atomic_store(&h_wrong_signatures, 0);
    atomic_store(&h_signature_padding, 0);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_GetCounters(MOCKP11_Counters *out)
{
    if (out == NULL)
        return CKR_ARGUMENTS_BAD;
    memset(out, 0, sizeof(*out));
    module_counters(out);
    pthread_mutex_lock(&h_lock);
    out->loginCount = h_logins;
    out->failedLogins = h_failed_logins;
    out->proxyRestart = (unsigned long long)h_proxy_restart;
    out->totalCalls = h_total;
    pthread_mutex_unlock(&h_lock);
    return CKR_OK;
}

MOCKP11_API CK_RV MOCKP11_GetCallCount(const char *fn, unsigned long long *out)
{
    enum fn_id id;
    if (fn == NULL || out == NULL || lookup_fn(fn, strlen(fn), &id) != 0)
        return CKR_ARGUMENTS_BAD;
    pthread_mutex_lock(&h_lock);
    *out = h_calls[id];
    pthread_mutex_unlock(&h_lock);
    return CKR_OK;
}

/* ---- environment ------------------------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* Decimal or 0x-hex number (a leading '-' allowed when min < 0): 0 ok. */
static int parse_number(const char *s, size_t len, long long min, unsigned long long max, long long *out)
{
    char buf[32], *end;
    int neg;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    neg = buf[0] == '-';
    errno = 0;
    if (neg) {
        long long v = strtoll(buf, &end, 10);
        if (errno != 0 || *end != '\0' || end == buf + 1 || v < min)
            return -1;
        *out = v;
    } else {
        int hex = len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
        unsigned long long v;
        if (buf[0] < '0' || buf[0] > '9')
            return -1;
        v = strtoull(hex ? buf + 2 : buf, &end, hex ? 16 : 10);
        if (errno != 0 || *end != '\0' || v > max)
            return -1;
        *out = (long long)v;
    }
    return 0;
}

static int parse_code(const char *s, size_t len, CK_RV *out)
{
    size_t i;
    long long v;
    for (i = 0; i < sizeof(ckr_names) / sizeof(ckr_names[0]); i++)
        if (strlen(ckr_names[i].name) == len && memcmp(ckr_names[i].name, s, len) == 0) {
            *out = ckr_names[i].rv;
            return 0;
        }
    if (parse_number(s, len, 0, 0xFFFFFFFFULL, &v) != 0 || v == 0)
        return -1;
    *out = (CK_RV)v;
    return 0;
}

typedef struct {
    enum fn_id fn;
    CK_RV rv;
    unsigned long after;
    long count;
} fault_spec;

/* "Fn:CODE[:after=N][:count=M]" */
static int parse_fault(const char *s, size_t len, fault_spec *f)
{
    int field = 0;
    f->after = 0;
    f->count = -1;
    for (;;) {
        const char *colon = memchr(s, ':', len);
        size_t flen = colon ? (size_t)(colon - s) : len;
        const char *part = s;
        size_t plen = flen;
        long long v;
        trim(&part, &plen);
        if (field == 0) {
            if (lookup_fn(part, plen, &f->fn) != 0 || f->fn == FN_C_GetFunctionList)
                return -1;
        } else if (field == 1) {
            if (parse_code(part, plen, &f->rv) != 0)
                return -1;
        } else if (plen > 6 && memcmp(part, "after=", 6) == 0) {
            if (parse_number(part + 6, plen - 6, 0, ULONG_MAX, &v) != 0)
                return -1;
            f->after = (unsigned long)v;
        } else if (plen > 6 && memcmp(part, "count=", 6) == 0) {
            if (parse_number(part + 6, plen - 6, -1, LONG_MAX, &v) != 0 || v == 0)
                return -1;
            f->count = (long)v;
        } else {
            return -1;
        }
        field++;
        if (colon == NULL)
            break;
        s = colon + 1;
        len -= flen + 1;
    }
    return field >= 2 ? 0 : -1;
}

CK_RV hooks_load_env(void)
{
    const char *lat = getenv("MOCKP11_LATENCY_US");
    const char *faults = getenv("MOCKP11_FAULTS");
    fault_spec specs[MAX_TRIGGERS];
    int nspecs = 0, i;
    long long latency = -1;
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&h_lock);
    if (h_env_done)
        goto out;
    if (lat != NULL && lat[0] != '\0' && parse_number(lat, strlen(lat), 0, UINT_MAX, &latency) != 0) {
        fprintf(stderr, "mockp11: MOCKP11_LATENCY_US is not a number of microseconds: %s\n", lat);
        rv = CKR_GENERAL_ERROR;
        goto out;
    }
    if (faults != NULL) {
        const char *s = faults;
        size_t len = strlen(faults);
        while (len > 0) {
            const char *comma = memchr(s, ',', len);
            size_t elen = comma ? (size_t)(comma - s) : len;
            const char *entry = s;
            size_t tlen = elen;
            trim(&entry, &tlen);
            if (tlen > 0) {
                if (nspecs == MAX_TRIGGERS || parse_fault(entry, tlen, &specs[nspecs]) != 0) {
                    fprintf(stderr,
                            "mockp11: bad MOCKP11_FAULTS entry \"%.*s\" (want Fn:CODE[:after=N][:count=M], at "
                            "most %d)\n",
                            (int)tlen, entry, MAX_TRIGGERS);
                    rv = CKR_GENERAL_ERROR;
                    goto out;
                }
                nspecs++;
            }
            if (comma == NULL)
                break;
            s = comma + 1;
            len -= elen + 1;
        }
    }
    for (i = 0; i < nspecs; i++)
        if (set_trigger_locked(h_faults, specs[i].fn, specs[i].rv, specs[i].after, specs[i].count) != 0) {
            fprintf(stderr, "mockp11: MOCKP11_FAULTS: fault table full\n");
            rv = CKR_GENERAL_ERROR;
            goto out;
        }
    if (latency >= 0)
        h_latency_us = (unsigned int)latency;
    h_env_done = 1;
out:
    pthread_mutex_unlock(&h_lock);
    return rv;
}
