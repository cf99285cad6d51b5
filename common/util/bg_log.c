#include "bg_log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *log_service = "billing";
static bg_log_level_t log_min = BG_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void bg_log_setup(const char *service) {
        const char *lv = getenv("BILLING_LOG_LEVEL");

        log_service = service;
        if (lv == NULL)
                return;
        for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
                if (strcasecmp(lv, level_names[i]) == 0)
                        log_min = (bg_log_level_t)i;
}

void bg_log(bg_log_level_t level, const char *fmt, ...) {
        char msg[2048], ts[32];
        struct timespec now;
        struct tm tm;
        va_list ap;
        json_t *line;
        char *text;

        if (level < log_min)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);

        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        {
                char secs[24];
                strftime(secs, sizeof(secs), "%Y-%m-%dT%H:%M:%S", &tm);
                snprintf(ts, sizeof(ts), "%s.%03dZ", secs, (int)(now.tv_nsec / 1000000));
        }

        /* jansson escapes the message; a message that is not UTF-8 is logged as such. */
        line = json_pack("{s:s, s:s, s:s, s:s?}", "ts", ts, "level", level_names[level], "svc",
                         log_service, "msg", msg);
        if (line != NULL && json_object_get(line, "msg") == NULL)
                json_object_set_new(line, "msg", json_string("(message is not valid UTF-8)"));
        text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text != NULL) {
                size_t n = strlen(text);
                char *buf = malloc(n + 1);
                if (buf != NULL) {
                        memcpy(buf, text, n);
                        buf[n] = '\n';
                        if (write(STDERR_FILENO, buf, n + 1) < 0) {
                                /* Nowhere left to report it. */
                        }
                        free(buf);
                }
                free(text);
        }
        json_decref(line);
}
