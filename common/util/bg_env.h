/*
 * bg_env: configuration from environment variables, range-checked.
 */
#ifndef BG_ENV_H
#define BG_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of @name, or @def when unset or empty. Never NULL unless @def is NULL. */
const char *bg_env_str(const char *name, const char *def);

/* Reads @name as a decimal integer in [@min, @max] into *out; unset or empty gives @def.
 * Returns false and writes a reason into @errstr when the value is not such an integer. */
bool bg_env_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                char *errstr, size_t errstr_size);

#endif /* BG_ENV_H */
