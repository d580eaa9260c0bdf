/* The token file <dir>/token.conf (format in include/mockp11.h and README.md). */
#define _POSIX_C_SOURCE 200809L
#include "p11.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define TOKEN_FILE "token.conf"
#define TOKEN_FILE_MAX (1024L * 1024L)

typedef struct {
    const char *name;
    int profile;
    CK_KEY_TYPE sm2_key_type;
    const char *manufacturer;
    mech_def mechs[8];
    size_t nmechs;
} profile_def;

#define ECDSA_MECH {CKM_ECDSA, IN_DIGEST, OUT_RS, CURVE_P256}

static const profile_def profiles[] = {
    {"sansec",
     PROFILE_SANSEC,
     MOCKP11_CKK_SM2_SANSEC,
     "Sansec (mockp11)",
     {{MOCKP11_CKM_SANSEC_SM3_SM2, IN_MESSAGE, OUT_RS, CURVE_SM2},
      {MOCKP11_CKM_SANSEC_SM3_SM2_DER, IN_MESSAGE, OUT_DER, CURVE_SM2},
      {MOCKP11_CKM_SANSEC_SM3_SM2_APPID1, IN_MESSAGE, OUT_RS, CURVE_SM2},
      {MOCKP11_CKM_SANSEC_SM3_SM2_APPID1_DER, IN_MESSAGE, OUT_DER, CURVE_SM2},
      {MOCKP11_CKM_SANSEC_SM2_SIGN, IN_DIGEST, OUT_RS, CURVE_SM2},
      {MOCKP11_CKM_SANSEC_SM2_SIGN_NO_DER, IN_DIGEST, OUT_RS, CURVE_SM2},
      ECDSA_MECH},
     7},
    {"tass", PROFILE_TASS, MOCKP11_CKK_SM2_TASS, "TASS (mockp11)",
     {{MOCKP11_CKM_TASS_SM2, IN_DIGEST, OUT_DER, CURVE_SM2}, ECDSA_MECH}, 2},
    {"luna", PROFILE_LUNA, MOCKP11_CKK_SM2_LUNA, "Thales Luna (mockp11)",
     {{MOCKP11_CKM_LUNA_SM2DSA, IN_DIGEST, OUT_RS, CURVE_SM2}, ECDSA_MECH}, 2},
    {"ibm-ep11", PROFILE_IBM_EP11, CKK_EC, "IBM EP11 (mockp11)",
     {{MOCKP11_CKM_IBM_SM2, IN_DIGEST, OUT_RS, CURVE_SM2}, ECDSA_MECH}, 2},
    {"standard", PROFILE_STANDARD, CKK_EC, "mockp11", {ECDSA_MECH}, 1},
};

typedef struct {
    const char *path;
    unsigned int line;
} where;

static CK_RV bad(const where *w, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "mockp11: %s:%u: ", w->path, w->line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return CKR_GENERAL_ERROR;
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && ((*s)[*len - 1] == ' ' || (*s)[*len - 1] == '\t'))
        (*len)--;
}

static int is(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Decimal or 0x-hex CK_ULONG of len chars: 0 ok. */
static int parse_ulong(const char *s, size_t len, CK_ULONG *out)
{
    char buf[40], *end;
    unsigned long long v;
    int hex;
    if (len == 0 || len >= sizeof(buf) || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    hex = len > 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X');
    errno = 0;
    v = strtoull(hex ? buf + 2 : buf, &end, hex ? 16 : 10);
    if (errno != 0 || *end != '\0' || end == (hex ? buf + 2 : buf) || v > (unsigned long long)~0UL)
        return -1;
    *out = (CK_ULONG)v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Hex of len chars into out (at most max bytes): byte count, or -1. */
static long parse_hex(const char *s, size_t len, unsigned char *out, size_t max)
{
    size_t i;
    if (len % 2 != 0 || len / 2 > max)
        return -1;
    for (i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

/* Blank-padded fixed field. */
static int set_padded(unsigned char *field, size_t size, const char *s, size_t len)
{
    if (len == 0 || len > size)
        return -1;
    memset(field, ' ', size);
    memcpy(field, s, len);
    return 0;
}

typedef struct {
    CK_MECHANISM_TYPE type;
    int remove;
    mech_def def;
} mech_edit;

/* "<code>,<digest|message>,<rs|der>[,<sm2|p256>]" */
static int parse_mechanism(const char *s, size_t len, mech_def *m)
{
    const char *part[4];
    size_t plen[4];
    int n = 0;
    while (n < 4) {
        const char *comma = memchr(s, ',', len);
        size_t l = comma ? (size_t)(comma - s) : len;
        part[n] = s;
        plen[n] = l;
        trim(&part[n], &plen[n]);
        n++;
        if (comma == NULL)
            break;
        s = comma + 1;
        len -= l + 1;
        if (n == 4)
            return -1;
    }
    if (n < 3 || parse_ulong(part[0], plen[0], &m->type) != 0)
        return -1;
    if (is(part[1], plen[1], "digest"))
        m->input = IN_DIGEST;
    else if (is(part[1], plen[1], "message"))
        m->input = IN_MESSAGE;
    else
        return -1;
    if (is(part[2], plen[2], "rs"))
        m->output = OUT_RS;
    else if (is(part[2], plen[2], "der"))
        m->output = OUT_DER;
    else
        return -1;
    m->curve = CURVE_SM2;
    if (n == 4) {
        if (is(part[3], plen[3], "p256"))
            m->curve = CURVE_P256;
        else if (!is(part[3], plen[3], "sm2"))
            return -1;
    }
    return 0;
}

static void apply_edit(token_def *t, const mech_edit *e)
{
    size_t i;
    for (i = 0; i < t->nmechs; i++)
        if (t->mechs[i].type == e->type)
            break;
    if (e->remove) {
        if (i < t->nmechs) {
            memmove(&t->mechs[i], &t->mechs[i + 1], (t->nmechs - i - 1) * sizeof(mech_def));
            t->nmechs--;
        }
    } else if (i < t->nmechs) {
        t->mechs[i] = e->def;
    } else if (t->nmechs < P11_MAX_MECHS) {
        t->mechs[t->nmechs++] = e->def;
    }
}

typedef struct {
    int has_type, has_private;
    int key_type_set;
    unsigned int line; /* of its [key] */
    unsigned char d[32];
} key_extra;

static CK_RV finish_key(const where *w, const profile_def *prof, key_def *k, key_extra *x)
{
    int rc;
    where at = {w->path, x->line};
    w = &at;
    if (!x->has_type)
        return bad(w, "[key] without type=");
    if (!x->has_private)
        return bad(w, "[key] without private=");
    rc = crypto_key(k, x->d);
    OPENSSL_cleanse(x->d, sizeof(x->d));
    if (rc == -1)
        return bad(w, "[key] private= is out of range for the curve");
    if (rc != 0)
        return bad(w, "[key] OpenSSL could not load the key");
    if (k->flags & KEY_RAW_POINT) {
        memcpy(k->ec_point, k->point, 65);
        k->ec_point_len = 65;
    } else {
        k->ec_point[0] = 0x04; /* OCTET STRING */
        k->ec_point[1] = 65;
        memcpy(k->ec_point + 2, k->point, 65);
        k->ec_point_len = 67;
    }
    if (!x->key_type_set)
        k->key_type = k->curve == CURVE_SM2 ? prof->sm2_key_type : CKK_EC;
    return CKR_OK;
}

static CK_RV parse(const char *path, char *text, size_t size, token_def *t)
{
    enum { NONE, TOKEN, KEY } section = NONE;
    int seen_token = 0, has_label = 0, has_pin = 0, has_manufacturer = 0;
    const profile_def *prof = &profiles[0];
    mech_edit edits[64];
    size_t nedits = 0, i;
    key_def *k = NULL;
    key_extra x;
    where w = {path, 0};
    char *p = text, *end = text + size;
    CK_RV rv;

    memset(&x, 0, sizeof(x));
    set_padded(t->serial, sizeof(t->serial), "0000000000000001", 16);
    set_padded(t->model, sizeof(t->model), "mockp11", 7);
    t->max_sessions = 16;
    while (p < end) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line = p, *name, *value;
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), nlen, vlen;
        const char *eq;
        p = nl ? nl + 1 : end;
        w.line++;
        if (len > 0 && line[len - 1] == '\r')
            len--;
        if (memchr(line, '\0', len) != NULL)
            return bad(&w, "NUL byte in the line");
        {
            const char *s = line;
            size_t l = len;
            trim(&s, &l);
            if (l == 0 || s[0] == '#')
                continue;
            if (s[0] == '[') {
                if (section == KEY && (rv = finish_key(&w, prof, k, &x)) != CKR_OK)
                    return rv;
                if (is(s, l, "[token]")) {
                    if (seen_token || section != NONE)
                        return bad(&w, "[token] must come once, first");
                    section = TOKEN;
                    seen_token = 1;
                } else if (is(s, l, "[key]")) {
                    if (section == NONE)
                        return bad(&w, "[key] before [token]");
                    if (t->nkeys == P11_MAX_KEYS)
                        return bad(&w, "more than %u keys", P11_MAX_KEYS);
                    k = &t->keys[t->nkeys++];
                    memset(k, 0, sizeof(*k));
                    memset(&x, 0, sizeof(x));
                    x.line = w.line;
                    section = KEY;
                } else {
                    return bad(&w, "unknown section %.*s", (int)l, s);
                }
                continue;
            }
        }
        eq = memchr(line, '=', len);
        if (eq == NULL)
            return bad(&w, "expected name=value");
        if (section == NONE)
            return bad(&w, "name=value before [token]");
        name = line;
        nlen = (size_t)(eq - line);
        trim(&name, &nlen);
        value = eq + 1;
        vlen = (size_t)((line + len) - value);
        if (!(section == TOKEN && is(name, nlen, "pin")))
            trim(&value, &vlen);

        if (section == TOKEN) {
            if (is(name, nlen, "label")) {
                if (set_padded(t->label, sizeof(t->label), value, vlen) != 0)
                    return bad(&w, "label must be 1..32 bytes");
                has_label = 1;
            } else if (is(name, nlen, "pin")) {
                if (vlen == 0 || vlen > sizeof(t->pin))
                    return bad(&w, "pin must be 1..255 bytes");
                memcpy(t->pin, value, vlen);
                t->pin_len = vlen;
                has_pin = 1;
            } else if (is(name, nlen, "profile")) {
                for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
                    if (is(value, vlen, profiles[i].name))
                        break;
                if (i == sizeof(profiles) / sizeof(profiles[0]))
                    return bad(&w, "profile must be sansec, tass, luna, ibm-ep11 or standard");
                prof = &profiles[i];
            } else if (is(name, nlen, "slot_id")) {
                if (parse_ulong(value, vlen, &t->slot_id) != 0)
                    return bad(&w, "slot_id is not a number");
            } else if (is(name, nlen, "serial")) {
                if (set_padded(t->serial, sizeof(t->serial), value, vlen) != 0)
                    return bad(&w, "serial must be 1..16 chars");
            } else if (is(name, nlen, "manufacturer")) {
                if (set_padded(t->manufacturer, sizeof(t->manufacturer), value, vlen) != 0)
                    return bad(&w, "manufacturer must be 1..32 bytes");
                has_manufacturer = 1;
            } else if (is(name, nlen, "model")) {
                if (set_padded(t->model, sizeof(t->model), value, vlen) != 0)
                    return bad(&w, "model must be 1..16 bytes");
            } else if (is(name, nlen, "max_sessions")) {
                if (parse_ulong(value, vlen, &t->max_sessions) != 0 || t->max_sessions == 0 ||
                    t->max_sessions > P11_MAX_SESSIONS)
                    return bad(&w, "max_sessions must be 1..%u", P11_MAX_SESSIONS);
            } else if (is(name, nlen, "mechanism") || is(name, nlen, "no_mechanism")) {
                mech_edit *e = &edits[nedits];
                if (nedits == sizeof(edits) / sizeof(edits[0]))
                    return bad(&w, "too many mechanism lines");
                memset(e, 0, sizeof(*e));
                if (is(name, nlen, "no_mechanism")) {
                    if (parse_ulong(value, vlen, &e->type) != 0)
                        return bad(&w, "no_mechanism is not a number");
                    e->remove = 1;
                } else {
                    if (parse_mechanism(value, vlen, &e->def) != 0)
                        return bad(&w, "mechanism must be <code>,<digest|message>,<rs|der>[,<sm2|p256>]");
                    e->type = e->def.type;
                }
                nedits++;
            } else {
                return bad(&w, "unknown name in [token]: %.*s", (int)nlen, name);
            }
        } else {
            if (is(name, nlen, "label")) {
                if (vlen > sizeof(k->label))
                    return bad(&w, "label must be at most 255 bytes");
                memcpy(k->label, value, vlen);
                k->label_len = vlen;
            } else if (is(name, nlen, "id")) {
                long n = parse_hex(value, vlen, k->id, sizeof(k->id));
                if (n < 0)
                    return bad(&w, "id must be hex, at most 128 bytes");
                k->id_len = (size_t)n;
            } else if (is(name, nlen, "type")) {
                if (is(value, vlen, "sm2"))
                    k->curve = CURVE_SM2;
                else if (is(value, vlen, "p256"))
                    k->curve = CURVE_P256;
                else
                    return bad(&w, "type must be sm2 or p256");
                x.has_type = 1;
            } else if (is(name, nlen, "private")) {
                if (vlen != 64 || parse_hex(value, vlen, x.d, 32) != 32)
                    return bad(&w, "private must be 64 hex digits");
                x.has_private = 1;
            } else if (is(name, nlen, "key_type")) {
                if (parse_ulong(value, vlen, &k->key_type) != 0)
                    return bad(&w, "key_type is not a number");
                x.key_type_set = 1;
            } else if (is(name, nlen, "flags")) {
                const char *s = value;
                size_t l = vlen;
                while (l > 0) {
                    const char *comma = memchr(s, ',', l);
                    size_t fl = comma ? (size_t)(comma - s) : l;
                    const char *f = s;
                    size_t ff = fl;
                    trim(&f, &ff);
                    if (is(f, ff, "no_public_object"))
                        k->flags |= KEY_NO_PUBLIC_OBJECT;
                    else if (is(f, ff, "point_on_private"))
                        k->flags |= KEY_POINT_ON_PRIVATE;
                    else if (is(f, ff, "raw_point"))
                        k->flags |= KEY_RAW_POINT;
                    else if (ff != 0)
                        return bad(&w, "unknown flag %.*s (no_public_object, point_on_private, raw_point)",
                                   (int)ff, f);
                    if (comma == NULL)
                        break;
                    s = comma + 1;
                    l -= fl + 1;
                }
            } else {
                return bad(&w, "unknown name in [key]: %.*s", (int)nlen, name);
            }
        }
    }
    if (section == KEY && (rv = finish_key(&w, prof, k, &x)) != CKR_OK)
        return rv;
    if (!seen_token)
        return bad(&w, "no [token] section");
    if (!has_label)
        return bad(&w, "[token] without label=");
    if (!has_pin)
        return bad(&w, "[token] without pin=");
    if (!has_manufacturer)
        set_padded(t->manufacturer, sizeof(t->manufacturer), prof->manufacturer, strlen(prof->manufacturer));
    t->profile = prof->profile;
    memcpy(t->mechs, prof->mechs, prof->nmechs * sizeof(mech_def));
    t->nmechs = prof->nmechs;
    for (i = 0; i < nedits; i++)
        apply_edit(t, &edits[i]);
    return CKR_OK;
}

CK_RV token_load(const char *dir, token_def **out)
{
    char path[4096];
    where w = {TOKEN_FILE, 0};
    FILE *f;
    char *text = NULL;
    size_t size = 0;
    long fsize;
    token_def *t;
    CK_RV rv;

    *out = NULL;
    if (dir == NULL || dir[0] == '\0') {
        fprintf(stderr, "mockp11: no token directory: set MOCKP11_DIR (or call MOCKP11_SetDir)\n");
        return CKR_GENERAL_ERROR;
    }
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, TOKEN_FILE) >= sizeof(path)) {
        fprintf(stderr, "mockp11: token directory name too long\n");
        return CKR_GENERAL_ERROR;
    }
    w.path = path;
    f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "mockp11: cannot read %s: %s\n", path, strerror(errno));
        return CKR_GENERAL_ERROR;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (fsize = ftell(f)) < 0 || fsize > TOKEN_FILE_MAX || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return bad(&w, "unreadable or larger than 1 MiB");
    }
    text = malloc((size_t)fsize + 1);
    if (text != NULL)
        size = fread(text, 1, (size_t)fsize, f);
    fclose(f);
    if (text == NULL || size != (size_t)fsize) {
        free(text);
        return bad(&w, "cannot read the file");
    }
    t = calloc(1, sizeof(*t));
    if (t != NULL)
        t->keys = calloc(P11_MAX_KEYS, sizeof(key_def));
    if (t == NULL || t->keys == NULL) {
        free(t);
        free(text);
        fprintf(stderr, "mockp11: out of memory\n");
        return CKR_HOST_MEMORY;
    }
    rv = parse(path, text, size, t);
    OPENSSL_cleanse(text, size);
    free(text);
    if (rv != CKR_OK) {
        token_free(t);
        return rv;
    }
    *out = t;
    return CKR_OK;
}

void token_free(token_def *t)
{
    size_t i;
    if (t == NULL)
        return;
    for (i = 0; i < t->nkeys; i++)
        crypto_key_free(&t->keys[i]);
    free(t->keys);
    OPENSSL_cleanse(t, sizeof(*t));
    free(t);
}

const mech_def *token_mech(const token_def *t, CK_MECHANISM_TYPE type)
{
    size_t i;
    for (i = 0; i < t->nmechs; i++)
        if (t->mechs[i].type == type)
            return &t->mechs[i];
    return NULL;
}
