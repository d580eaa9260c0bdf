/* Test hooks: call counters, latency, fault, stall and outage injection; the strict lifecycle
 * check and the serial check. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_FAULTS 32 /* also the number of stalls */

static const char *const fn_names[FN_COUNT] = {
    "SDF_OpenDevice",
    "SDF_CloseDevice",
    "SDF_OpenSession",
    "SDF_CloseSession",
    "SDF_GetDeviceInfo",
    "SDF_GenerateRandom",
    "SDF_GetPrivateKeyAccessRight",
    "SDF_ReleasePrivateKeyAccessRight",
    "SDF_ExportSignPublicKey_ECC",
    "SDF_ExportEncPublicKey_ECC",
    "SDF_InternalSign_ECC",
    "SDF_InternalVerify_ECC",
    "SDF_ExternalVerify_ECC",
    "SDF_HashInit",
    "SDF_HashUpdate",
    "SDF_HashFinal",
    "SDF_GenerateKeyPair_ECC",
    "SDF_ExternalSign_ECC",
    "SDF_ExternalEncrypt_ECC",
    "SDF_ExternalDecrypt_ECC",
    "SDF_InternalEncrypt_ECC",
    "SDF_InternalDecrypt_ECC",
    "SDF_GenerateKeyWithIPK_ECC",
    "SDF_GenerateKeyWithEPK_ECC",
    "SDF_ImportKeyWithISK_ECC",
    "SDF_GenerateKeyWithKEK",
    "SDF_ImportKeyWithKEK",
    "SDF_DestroyKey",
    "SDF_Encrypt",
    "SDF_Decrypt",
    "SDF_CalculateMAC",
};

static const struct {
    const char *name;
    int code;
} sdr_names[] = {
    {"SDR_OK", SDR_OK},
    {"SDR_UNKNOWERR", SDR_UNKNOWERR},
    {"SDR_NOTSUPPORT", SDR_NOTSUPPORT},
    {"SDR_COMMFAIL", SDR_COMMFAIL},
    {"SDR_HARDFAIL", SDR_HARDFAIL},
    {"SDR_OPENDEVICE", SDR_OPENDEVICE},
    {"SDR_OPENSESSION", SDR_OPENSESSION},
    {"SDR_PARDENY", SDR_PARDENY},
    {"SDR_KEYNOTEXIST", SDR_KEYNOTEXIST},
    {"SDR_ALGNOTSUPPORT", SDR_ALGNOTSUPPORT},
    {"SDR_ALGMODNOTSUPPORT", SDR_ALGMODNOTSUPPORT},
    {"SDR_PKOPERR", SDR_PKOPERR},
    {"SDR_SKOPERR", SDR_SKOPERR},
    {"SDR_SIGNERR", SDR_SIGNERR},
    {"SDR_VERIFYERR", SDR_VERIFYERR},
    {"SDR_SYMOPERR", SDR_SYMOPERR},
    {"SDR_STEPERR", SDR_STEPERR},
    {"SDR_FILESIZEERR", SDR_FILESIZEERR},
    {"SDR_FILENOEXIST", SDR_FILENOEXIST},
    {"SDR_FILEOFSERR", SDR_FILEOFSERR},
    {"SDR_KEYTYPEERR", SDR_KEYTYPEERR},
    {"SDR_KEYERR", SDR_KEYERR},
    {"SDR_ENCDATAERR", SDR_ENCDATAERR},
    {"SDR_RANDERR", SDR_RANDERR},
    {"SDR_PRKRERR", SDR_PRKRERR},
    {"SDR_MACERR", SDR_MACERR},
    {"SDR_FILEEXSITS", SDR_FILEEXSITS},
    {"SDR_FILEWERR", SDR_FILEWERR},
    {"SDR_NOBUFFER", SDR_NOBUFFER},
    {"SDR_INARGERR", SDR_INARGERR},
    {"SDR_OUTARGERR", SDR_OUTARGERR},
};

/* A fault (value: the SDR code) or a stall (value: milliseconds) of one function. */
typedef struct {
    int active;
    enum fn_id fn;
    unsigned int value;
    unsigned int after;
    int count; /* remaining firings, -1 = forever */
    unsigned long long seen;
} trigger;

static pthread_mutex_t h_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long long h_total;
static unsigned long long h_calls[FN_COUNT];
static unsigned int h_latency_us;
static trigger h_faults[MAX_FAULTS];
static trigger h_stalls[MAX_FAULTS];
static int h_outage_active;
static int h_outage_code;
static struct timespec h_outage_end;
static int h_env_done;

/* In-call marks: fn + 1 of the call inside, 0 when none. */
enum { MARK_LIFECYCLE = 1, MARK_SERIAL = 2 };
static atomic_int h_lifecycle_inside; /* strict: a lifecycle call */
static atomic_int h_serial_inside;    /* any call, while the serial check is on */
static atomic_int h_serial_on;

static int lookup_fn(const char *name, size_t len, enum fn_id *out)
{
    int i;
    if (len >= 4 && memcmp(name, "SDF_", 4) == 0) {
        name += 4;
        len -= 4;
    }
    for (i = 0; i < FN_COUNT; i++) {
        const char *n = fn_names[i] + 4;
        if (strlen(n) == len && memcmp(n, name, len) == 0) {
            *out = (enum fn_id)i;
            return 0;
        }
    }
    return -1;
}

/* call->due = start + us, or "at once" when us is 0. */
static void set_due(mock_call *call, const struct timespec *start, unsigned int us)
{
    if (us == 0) {
        call->due.tv_sec = -1;
        return;
    }
    call->due = *start;
    call->due.tv_sec += us / 1000000u;
    call->due.tv_nsec += (long)(us % 1000000u) * 1000L;
    if (call->due.tv_nsec >= 1000000000L) {
        call->due.tv_sec++;
        call->due.tv_nsec -= 1000000000L;
    }
}

static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
        ;
}

static void sleep_ns(long long ns)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec += (long)(ns % 1000000000LL);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    sleep_until(&t);
}

static int is_lifecycle(enum fn_id fn)
{
    return fn == FN_OpenDevice || fn == FN_CloseDevice || fn == FN_OpenSession || fn == FN_CloseSession;
}

/* Sets *inside to fn + 1, or prints the overlap and aborts when another call holds it. */
static void mark_or_die(atomic_int *inside, enum fn_id fn, const char *check, const char *verdict)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(inside, &expected, (int)fn + 1))
        return;
    fprintf(stderr, "gmt0018 mock (%s): concurrent %s and %s: %s\n", check,
            expected > 0 && expected <= FN_COUNT ? fn_names[expected - 1] : "?", fn_names[fn], verdict);
    abort();
}

void hooks_leave(mock_call *call)
{
    if (call->due.tv_sec >= 0)
        sleep_until(&call->due);
    session_end_hold();
    if (call->marks & MARK_LIFECYCLE)
        atomic_store(&h_lifecycle_inside, 0);
    if (call->marks & MARK_SERIAL)
        atomic_store(&h_serial_inside, 0);
}

static int time_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* under h_lock: counts a call to fn against its trigger in table; 1 (with *value) if it fires */
static int fire_locked(trigger *table, enum fn_id fn, unsigned int *value)
{
    int i;
    for (i = 0; i < MAX_FAULTS; i++) {
        trigger *t = &table[i];
        if (!t->active || t->fn != fn)
            continue;
        if (++t->seen <= t->after)
            return 0;
        *value = t->value;
        if (t->count > 0 && --t->count == 0)
            t->active = 0;
        return 1; /* at most one trigger per function */
    }
    return 0;
}

int hooks_enter(enum fn_id fn, mock_call *call)
{
    int rc = SDR_OK;
    unsigned int latency, value, stall_ms = 0;
    struct timespec start;
    call->marks = 0;
    call->due.tv_sec = -1;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (atomic_load(&h_serial_on)) {
        mark_or_die(&h_serial_inside, fn, "serial check", "calls must not overlap");
        call->marks |= MARK_SERIAL;
    }
    if (MOCK_IS_STRICT && is_lifecycle(fn)) {
        mark_or_die(&h_lifecycle_inside, fn, "strict", "the library is not thread-safe");
        call->marks |= MARK_LIFECYCLE;
        sleep_ns(MOCK_STRICT_HOLD_NS); /* stay inside long enough for a racing call to be caught */
    }
    pthread_mutex_lock(&h_lock);
    h_total++;
    h_calls[fn]++;
    latency = h_latency_us;
    if (fire_locked(h_stalls, fn, &value))
        stall_ms = value;
    if (fire_locked(h_faults, fn, &value))
        rc = (int)value;
    if (rc == SDR_OK && h_outage_active) {
        if (time_before(&start, &h_outage_end))
            rc = h_outage_code;
        else
            h_outage_active = 0;
    }
    pthread_mutex_unlock(&h_lock);
    /* A stall is slept in hooks_leave, as the latency is: after the function took its session, so
     * that the strict mock's hold covers it (a stuck call holds its session as a card's does). */
    set_due(call, &start, latency > stall_ms * 1000u ? latency : stall_ms * 1000u);
    return rc;
}

/* under h_lock */
static int set_trigger_locked(trigger *table, enum fn_id fn, unsigned int value, unsigned int after, int count)
{
    int i, slot = -1;
    for (i = 0; i < MAX_FAULTS; i++) {
        if (table[i].active && table[i].fn == fn) {
            slot = i;
            break;
        }
        if (!table[i].active && slot < 0)
            slot = i;
    }
    if (slot < 0)
        return SDR_NOBUFFER;
    table[slot].active = 1;
    table[slot].fn = fn;
    table[slot].value = value;
    table[slot].after = after;
    table[slot].count = count;
    table[slot].seen = 0;
    return SDR_OK;
}

/* MOCK_SetFault and MOCK_SetStall: value 0 is refused. */
static int set_trigger(trigger *table, const char *fnName, unsigned int value, unsigned int after, int count)
{
    enum fn_id fn;
    int rc;
    if (fnName == NULL) {
        pthread_mutex_lock(&h_lock);
        memset(table, 0, MAX_FAULTS * sizeof(trigger));
        pthread_mutex_unlock(&h_lock);
        return SDR_OK;
    }
    if (lookup_fn(fnName, strlen(fnName), &fn) != 0 || value == 0 || count == 0 || count < -1)
        return SDR_INARGERR;
    pthread_mutex_lock(&h_lock);
    rc = set_trigger_locked(table, fn, value, after, count);
    pthread_mutex_unlock(&h_lock);
    return rc;
}

SDF_API int MOCK_SetFault(const char *fnName, int sdrCode, unsigned int afterCalls, int count)
{
    return set_trigger(h_faults, fnName, (unsigned int)sdrCode, afterCalls, count);
}

SDF_API int MOCK_SetStall(const char *fnName, unsigned int ms, unsigned int afterCalls, int count)
{
    return set_trigger(h_stalls, fnName, ms, afterCalls, count);
}

SDF_API int MOCK_SetSerialCheck(int on)
{
    atomic_store(&h_serial_on, on != 0);
    return SDR_OK;
}

static atomic_int h_wrong_signatures;

SDF_API int MOCK_SetWrongSignatures(int on)
{
    atomic_store(&h_wrong_signatures, on != 0);
    return SDR_OK;
}

int hooks_wrong_signatures(void)
{
    return atomic_load(&h_wrong_signatures);
}

SDF_API int MOCK_SetLatencyUs(unsigned int us)
{
    pthread_mutex_lock(&h_lock);
    h_latency_us = us;
    pthread_mutex_unlock(&h_lock);
    return SDR_OK;
}

SDF_API int MOCK_SetOutage(unsigned int durationMs, int sdrCode)
{
    struct timespec end;
    if (durationMs == 0) {
        pthread_mutex_lock(&h_lock);
        h_outage_active = 0;
        pthread_mutex_unlock(&h_lock);
        return SDR_OK;
    }
    if (sdrCode == SDR_OK)
        return SDR_INARGERR;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += durationMs / 1000u;
    end.tv_nsec += (long)(durationMs % 1000u) * 1000000L;
    if (end.tv_nsec >= 1000000000L) {
        end.tv_sec++;
        end.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h_lock);
    h_outage_active = 1;
    h_outage_code = sdrCode;
    h_outage_end = end;
    pthread_mutex_unlock(&h_lock);
    return SDR_OK;
}

SDF_API int MOCK_Reset(void)
{
    pthread_mutex_lock(&h_lock);
    memset(h_faults, 0, sizeof(h_faults));
    memset(h_stalls, 0, sizeof(h_stalls));
    atomic_store(&h_serial_on, 0);
    atomic_store(&h_wrong_signatures, 0);
    h_latency_us = 0;
    h_outage_active = 0;
    h_total = 0;
    memset(h_calls, 0, sizeof(h_calls));
    pthread_mutex_unlock(&h_lock);
    return SDR_OK;
}

SDF_API int MOCK_GetCounters(MOCK_Counters *out)
{
    unsigned int devices, sessions;
    if (out == NULL)
        return SDR_OUTARGERR;
    registry_counts(&devices, &sessions);
    out->openDevices = devices;
    out->openSessions = sessions;
    out->accessRights = access_rights_count();
    pthread_mutex_lock(&h_lock);
    out->totalCalls = h_total;
    pthread_mutex_unlock(&h_lock);
    return SDR_OK;
}

SDF_API int MOCK_GetCallCount(const char *fnName, unsigned long long *out)
{
    enum fn_id fn;
    if (fnName == NULL || lookup_fn(fnName, strlen(fnName), &fn) != 0)
        return SDR_INARGERR;
    if (out == NULL)
        return SDR_OUTARGERR;
    pthread_mutex_lock(&h_lock);
    *out = h_calls[fn];
    pthread_mutex_unlock(&h_lock);
    return SDR_OK;
}

/* ---- environment ----------------------------------------------------------- */

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

/* Decimal or 0x-hex number of `len` chars; 0 ok. */
static int parse_number(const char *s, size_t len, long long min, long long max, long long *out)
{
    char buf[32], *end;
    long long v;
    int neg = 0;
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (buf[0] == '-')
        neg = 1;
    errno = 0;
    if (!neg && len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X'))
        v = (long long)strtoull(buf + 2, &end, 16);
    else
        v = strtoll(buf, &end, 10);
    if (errno != 0 || *end != '\0' || end == buf || (!neg && (buf[0] < '0' || buf[0] > '9')) || v < min ||
        v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_code(const char *s, size_t len, int *out)
{
    size_t i;
    long long v;
    for (i = 0; i < sizeof(sdr_names) / sizeof(sdr_names[0]); i++)
        if (strlen(sdr_names[i].name) == len && memcmp(sdr_names[i].name, s, len) == 0) {
            *out = sdr_names[i].code;
            return 0;
        }
    if (parse_number(s, len, INT_MIN, 0xFFFFFFFFLL, &v) != 0)
        return -1;
    *out = (int)(unsigned int)v;
    return 0;
}

typedef struct {
    enum fn_id fn;
    int code;
    unsigned int after;
    int count;
} fault_spec;

/* Parses "Fn:CODE[:after=N][:count=M]". */
static int parse_fault(const char *s, size_t len, fault_spec *f)
{
    int field = 0;
    f->after = 0;
    f->count = -1;
    while (len > 0 || field == 0) {
        const char *colon = memchr(s, ':', len);
        size_t flen = colon ? (size_t)(colon - s) : len;
        const char *part = s;
        size_t plen = flen;
        long long v;
        trim(&part, &plen);
        if (field == 0) {
            if (lookup_fn(part, plen, &f->fn) != 0)
                return -1;
        } else if (field == 1) {
            if (parse_code(part, plen, &f->code) != 0 || f->code == SDR_OK)
                return -1;
        } else if (plen > 6 && memcmp(part, "after=", 6) == 0) {
            if (parse_number(part + 6, plen - 6, 0, UINT_MAX, &v) != 0)
                return -1;
            f->after = (unsigned int)v;
        } else if (plen > 6 && memcmp(part, "count=", 6) == 0) {
            if (parse_number(part + 6, plen - 6, -1, INT_MAX, &v) != 0 || v == 0)
                return -1;
            f->count = (int)v;
        } else {
            return -1;
        }
        field++;
        if (colon == NULL)
            break;
        s = colon + 1;
        len -= flen + 1;
        if (len == 0)
            return -1; /* trailing ':' */
    }
    return field >= 2 ? 0 : -1;
}

int hooks_load_env(void)
{
    const char *lat = getenv("GMT0018_MOCK_LATENCY_US");
    const char *faults = getenv("GMT0018_MOCK_FAULTS");
    const char *serial = getenv("GMT0018_MOCK_SERIAL");
    fault_spec specs[MAX_FAULTS];
    int nspecs = 0, i, rc = SDR_OK;
    long long latency = -1;

    pthread_mutex_lock(&h_lock);
    if (h_env_done) {
        pthread_mutex_unlock(&h_lock);
        return SDR_OK;
    }
    if (lat != NULL && lat[0] != '\0' && parse_number(lat, strlen(lat), 0, UINT_MAX, &latency) != 0) {
        fprintf(stderr, "gmt0018 mock: GMT0018_MOCK_LATENCY_US is not a number of microseconds: %s\n", lat);
        rc = SDR_OPENDEVICE;
        goto out;
    }
    if (serial != NULL && serial[0] != '\0' && strcmp(serial, "0") != 0 && strcmp(serial, "1") != 0) {
        fprintf(stderr, "gmt0018 mock: GMT0018_MOCK_SERIAL is not 0 or 1: %s\n", serial);
        rc = SDR_OPENDEVICE;
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
                if (nspecs == MAX_FAULTS || parse_fault(entry, tlen, &specs[nspecs]) != 0) {
                    fprintf(stderr,
                            "gmt0018 mock: bad GMT0018_MOCK_FAULTS entry \"%.*s\" "
                            "(want Fn:CODE[:after=N][:count=M], at most %d)\n",
                            (int)tlen, entry, MAX_FAULTS);
                    rc = SDR_OPENDEVICE;
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
        if (set_trigger_locked(h_faults, specs[i].fn, (unsigned int)specs[i].code, specs[i].after, specs[i].count) !=
            SDR_OK) {
            fprintf(stderr, "gmt0018 mock: GMT0018_MOCK_FAULTS: fault table full\n");
            rc = SDR_OPENDEVICE;
            goto out;
        }
    if (latency >= 0)
        h_latency_us = (unsigned int)latency;
    if (serial != NULL && strcmp(serial, "1") == 0)
        atomic_store(&h_serial_on, 1);
    h_env_done = 1;
out:
    pthread_mutex_unlock(&h_lock);
    return rc;
}
