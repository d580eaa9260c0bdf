/* The mock card's keystore: a directory of sign-<N>.key / enc-<N>.key / kek-<N>.key files. */
#define _POSIX_C_SOURCE 200809L
#include "mock.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/crypto.h>

#define KEY_FILE_MAX 65536

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly `hexlen` hex chars into hexlen/2 bytes; 0 ok. */
static int hex_decode(const char *hex, size_t hexlen, unsigned char *out, size_t cap)
{
    size_t i;
    if (hexlen % 2 != 0 || hexlen / 2 > cap)
        return -1;
    for (i = 0; i < hexlen / 2; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Parses one key file's text (NUL-terminated, `len` bytes). 0 ok, -1 malformed. */
static int parse_key_text(char *text, size_t len, key_slot *slot, int kek)
{
    unsigned char d[32];
    int have_d = 0, have_salt = 0, have_pw = 0, have_kek = 0, rc = -1;
    char *line = text, *end = text + len;

    if (memchr(text, '\0', len) != NULL)
        return -1;
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        char *eol = nl ? nl : end, *eq, *name_end, *value;
        size_t vlen;
        while (line < eol && is_space(*line))
            line++;
        while (eol > line && is_space(eol[-1]))
            eol--;
        if (line == eol || *line == '#')
            goto next;
        eq = memchr(line, '=', (size_t)(eol - line));
        if (eq == NULL)
            goto done;
        name_end = eq;
        while (name_end > line && is_space(name_end[-1]))
            name_end--;
        value = eq + 1;
        while (value < eol && is_space(*value))
            value++;
        vlen = (size_t)(eol - value);
#define NAME_IS(lit) ((size_t)(name_end - line) == sizeof(lit) - 1 && memcmp(line, lit, sizeof(lit) - 1) == 0)
        if (kek) {
            if (NAME_IS("kek")) {
                if (vlen != 32 || hex_decode(value, vlen, slot->kek, sizeof(slot->kek)) != 0)
                    goto done;
                have_kek = 1;
            }
        } else if (NAME_IS("private")) {
            if (vlen != 64 || hex_decode(value, vlen, d, sizeof(d)) != 0)
                goto done;
            have_d = 1;
        } else if (NAME_IS("salt")) {
            if (vlen < 2 || hex_decode(value, vlen, slot->salt, sizeof(slot->salt)) != 0)
                goto done;
            slot->salt_len = vlen / 2;
            have_salt = 1;
        } else if (NAME_IS("password_sm3")) {
            if (vlen != 64 || hex_decode(value, vlen, slot->pw_sm3, sizeof(slot->pw_sm3)) != 0)
                goto done;
            have_pw = 1;
        }
#undef NAME_IS
    next:
        line = nl ? nl + 1 : end;
    }
    if (kek ? have_kek : (have_d && have_salt && have_pw && sm2_key_from_private(d, &slot->key) == 0))
        rc = 0;
done:
    OPENSSL_cleanse(d, sizeof(d));
    return rc;
}

static void load_key_file(int dirfd, const char *name, key_slot *slot, int kek)
{
    char *buf = NULL;
    size_t len = 0;
    struct stat st;
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

    OPENSSL_cleanse(slot, sizeof(*slot));
    slot->state = SLOT_BAD;
    if (fd < 0)
        return;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > KEY_FILE_MAX)
        goto out;
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
        goto out;
    while (len < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    if (len == (size_t)st.st_size && parse_key_text(buf, len, slot, kek) == 0)
        slot->state = SLOT_OK;
    else {
        OPENSSL_cleanse(slot, sizeof(*slot));
        slot->state = SLOT_BAD;
    }
    OPENSSL_cleanse(buf, len + 1);
out:
    free(buf);
    close(fd);
}

/* "sign-<N>.key" / "enc-<N>.key" / "kek-<N>.key", N canonical decimal: 1 and *kind (0 sign, 1 enc, 2 kek). */
static int parse_file_name(const char *name, unsigned int *index, int *kind)
{
    const char *p;
    unsigned long v = 0;
    size_t digits = 0;
    if (strncmp(name, "sign-", 5) == 0) {
        *kind = 0;
        p = name + 5;
    } else if (strncmp(name, "enc-", 4) == 0) {
        *kind = 1;
        p = name + 4;
    } else if (strncmp(name, "kek-", 4) == 0) {
        *kind = 2;
        p = name + 4;
    } else {
        return 0;
    }
    while (p[digits] >= '0' && p[digits] <= '9') {
        v = v * 10 + (unsigned long)(p[digits] - '0');
        if (v > UINT_MAX)
            return 0;
        digits++;
    }
    if (digits == 0 || (digits > 1 && p[0] == '0') || strcmp(p + digits, ".key") != 0)
        return 0;
    *index = (unsigned int)v;
    return 1;
}

static int cmp_entry(const void *a, const void *b)
{
    unsigned int x = ((const key_entry *)a)->index, y = ((const key_entry *)b)->index;
    return x < y ? -1 : x > y;
}

void keystore_free(keystore *ks)
{
    if (ks == NULL)
        return;
    if (ks->entries != NULL)
        OPENSSL_cleanse(ks->entries, ks->count * sizeof(key_entry));
    free(ks->entries);
    free(ks);
}

/* MOCK_SetKeystore: a path that replaces GMT0018_MOCK_KEYSTORE (in-process hosts such as
 * jest give their code a copy of the environment, which getenv() never sees). */
static pthread_mutex_t g_path_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_path_override;
static int g_path_overridden;

SDF_API int MOCK_SetKeystore(const char *dir)
{
    char *copy = NULL;
    if (dir != NULL && (copy = strdup(dir)) == NULL)
        return SDR_NOBUFFER;
    pthread_mutex_lock(&g_path_lock);
    free(g_path_override);
    g_path_override = copy;
    g_path_overridden = dir != NULL;
    pthread_mutex_unlock(&g_path_lock);
    return SDR_OK;
}

/* The keystore directory to read now, malloc'd, or NULL for none. */
static char *keystore_path(int *oom)
{
    const char *path;
    char *copy = NULL;
    *oom = 0;
    pthread_mutex_lock(&g_path_lock);
    path = g_path_overridden ? g_path_override : getenv("GMT0018_MOCK_KEYSTORE");
    if (path != NULL && path[0] != '\0' && (copy = strdup(path)) == NULL)
        *oom = 1;
    pthread_mutex_unlock(&g_path_lock);
    return copy;
}

int keystore_load(keystore **out)
{
    int oom;
    char *path = keystore_path(&oom);
    keystore *ks = calloc(1, sizeof(*ks));
    size_t cap = 0, i;
    DIR *dir;
    struct dirent *de;
    int rc = SDR_OK;

    *out = NULL;
    if (ks == NULL || oom) {
        free(ks);
        free(path);
        return SDR_NOBUFFER;
    }
    if (path == NULL) {
        *out = ks;
        return SDR_OK;
    }
    dir = opendir(path);
    free(path);
    if (dir == NULL) {
        free(ks);
        return SDR_OPENDEVICE;
    }
    while ((de = readdir(dir)) != NULL) {
        unsigned int index;
        int kind;
        key_entry *entry = NULL;
        if (!parse_file_name(de->d_name, &index, &kind))
            continue;
        for (i = 0; i < ks->count; i++)
            if (ks->entries[i].index == index)
                entry = &ks->entries[i];
        if (entry == NULL) {
            if (ks->count == cap) {
                size_t ncap = cap ? cap * 2 : 8;
                key_entry *grown = calloc(ncap, sizeof(key_entry));
                if (grown == NULL) {
                    rc = SDR_NOBUFFER;
                    break;
                }
                if (ks->count) {
                    memcpy(grown, ks->entries, ks->count * sizeof(key_entry));
                    OPENSSL_cleanse(ks->entries, ks->count * sizeof(key_entry));
                }
                free(ks->entries);
                ks->entries = grown;
                cap = ncap;
            }
            entry = &ks->entries[ks->count++];
            memset(entry, 0, sizeof(*entry));
            entry->index = index;
        }
        load_key_file(dirfd(dir), de->d_name, kind == 0 ? &entry->sign : kind == 1 ? &entry->enc : &entry->kek,
                      kind == 2);
    }
    closedir(dir);
    if (rc != SDR_OK) {
        keystore_free(ks);
        return rc;
    }
    if (ks->count > 1)
        qsort(ks->entries, ks->count, sizeof(key_entry), cmp_entry);
    *out = ks;
    return SDR_OK;
}

const key_entry *keystore_find(const keystore *ks, unsigned int index)
{
    size_t lo = 0, hi = ks->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ks->entries[mid].index == index)
            return &ks->entries[mid];
        if (ks->entries[mid].index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}
