#include "bg_env.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *bg_env_str(const char *name, const char *def) {
        const char *v = getenv(name);
        return (v != NULL && *v != '\0') ? v : def;
}

bool bg_env_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                char *errstr, size_t errstr_size) {
        const char *v = getenv(name);
        char *end;
        long long n;

        if (v == NULL || *v == '\0') {
                *out = def;
                return true;
        }
        errno = 0;
        n = strtoll(v, &end, 10);
        if (errno != 0 || end == v || *end != '\0' || n < min || n > max) {
                snprintf(errstr, errstr_size,
                         "invalid %s \"%s\": expected an integer from %" PRId64 " to %" PRId64,
                         name, v, min, max);
                return false;
        }
        *out = n;
        return true;
}
