/* sdf-loop: native baseline for signing benchmarks.
 *
 *   sdf-loop KEY_INDEX PASSWORD N
 *
 * Opens a device and a session of the SDF library it is linked against, gets
 * the access right to KEY_INDEX with PASSWORD and runs N SDF_InternalSign_ECC
 * over a fixed 32-byte digest on one thread, then prints the rate.
 * Exit 0 on success, 1 on an SDF error, 2 on bad usage. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdf.h"

static int parse_uint(const char *s, unsigned long *out)
{
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9')
        return -1;
    *out = strtoul(s, &end, 10);
    return errno == 0 && *end == '\0' && *out <= UINT_MAX ? 0 : -1;
}

static int check(const char *fn, int rc)
{
    if (rc != SDR_OK)
        fprintf(stderr, "sdf-loop: %s failed: 0x%08X\n", fn, (unsigned int)rc);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long index, n, i;
    unsigned char digest[32];
    ECCSignature sig;
    void *dev = NULL, *ses = NULL;
    struct timespec t0, t1;
    double seconds;
    int rc = 0;

    if (argc != 4 || parse_uint(argv[1], &index) != 0 || parse_uint(argv[3], &n) != 0 || n == 0) {
        fprintf(stderr, "usage: sdf-loop KEY_INDEX PASSWORD N\n");
        return 2;
    }
    for (i = 0; i < sizeof(digest); i++)
        digest[i] = (unsigned char)(0xA5 ^ i);

    if (check("SDF_OpenDevice", SDF_OpenDevice(&dev)) != SDR_OK)
        return 1;
    if (check("SDF_OpenSession", SDF_OpenSession(dev, &ses)) != SDR_OK) {
        rc = 1;
        goto close_device;
    }
    if (check("SDF_GetPrivateKeyAccessRight",
              SDF_GetPrivateKeyAccessRight(ses, (unsigned int)index, (unsigned char *)argv[2],
                                           (unsigned int)strlen(argv[2]))) != SDR_OK) {
        rc = 1;
        goto close_session;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++) {
#ifdef MOCK_SIGN_WITH_ALGID
        int r = SDF_InternalSign_ECC(ses, SGD_SM2_1, (unsigned int)index, digest, 32, &sig);
#else
        int r = SDF_InternalSign_ECC(ses, (unsigned int)index, digest, 32, &sig);
#endif
        if (check("SDF_InternalSign_ECC", r) != SDR_OK) {
            rc = 1;
            break;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == 0) {
        seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        printf("%lu signs in %.3f s: %.0f ops/s\n", n, seconds, seconds > 0 ? (double)n / seconds : 0.0);
    }
    SDF_ReleasePrivateKeyAccessRight(ses, (unsigned int)index);
close_session:
    SDF_CloseSession(ses);
close_device:
    SDF_CloseDevice(dev);
    return rc;
}
