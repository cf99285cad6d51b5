/*
 * Writes: a request becomes a command on billing.commands; the answer waits for the
 * command's result and then for the projector to have applied the account up to the
 * command's last event (account_seq), so that a client reads its own write at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/sha.h>

#include "api.h"
#include "bg_json.h"
#include "bg_log.h"

static bool parse_if_match(const char *s, int64_t *out) {
        char *end;
        long long v;
        size_t len;

        while (*s == ' ')
                s++;
        if (strncmp(s, "W/", 2) == 0)
                s += 2;
        len = strlen(s);
        while (len > 0 && s[len - 1] == ' ')
                len--;
        if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
                s++;
                len -= 2;
        }
        if (len == 0 || len > 19 || s[0] < '0' || s[0] > '9')
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || (size_t)(end - s) != len || v < 0)
                return false;
        *out = v;
        return true;
}

bool api_command_init(api_req_t *req, bg_command_t *cmd, bg_command_type_t type,
                      const bg_uuid_t *account) {
        const char *key = api_header(req, "Idempotency-Key");
        const char *if_match = api_header(req, MHD_HTTP_HEADER_IF_MATCH);

        memset(cmd, 0, sizeof(*cmd));
        if (key != NULL) {
                if (!bg_uuid_parse(key, strlen(key), &cmd->command_id) ||
                    bg_uuid_is_nil(&cmd->command_id)) {
                        api_reply_error(req, 400, "invalid_argument", "Idempotency-Key must "
                                        "be a UUID");
                        return false;
                }
        } else {
                bg_uuid_generate(&cmd->command_id);
        }
        if (if_match != NULL) {
                if (!parse_if_match(if_match, &cmd->expected_version)) {
                        api_reply_error(req, 400, "invalid_argument", "If-Match must be the "
                                        "account version of an ETag, such as \"12\"");
                        return false;
                }
                cmd->has_expected_version = true;
        }
        cmd->account_id = *account;
        snprintf(cmd->actor, sizeof(cmd->actor), "%s", req->ar_who.ap_actor);
        cmd->issued_at = api_now_ms();
        cmd->type = type;
        return true;
}

void api_derived_id(const bg_uuid_t *command_id, const char *what, bg_uuid_t *out) {
        uint8_t buf[16 + 64], md[SHA256_DIGEST_LENGTH];
        size_t n = strlen(what) < 64 ? strlen(what) : 64;

        memcpy(buf, command_id->b, 16);
        memcpy(buf + 16, what, n);
        SHA256(buf, 16 + n, md);
        memcpy(out->b, md, 16);
        out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40);      /* version 4 */
        out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80);      /* RFC 4122 variant */
}

bool api_command_payload(api_req_t *req, bg_command_t *cmd, json_t *payload) {
        char cid[BG_UUID_STR_LEN + 1], aid[BG_UUID_STR_LEN + 1], ts[BGJ_TIME_STR_SIZE];
        char errstr[512];
        bg_command_t *tmp = malloc(sizeof(*tmp));
        json_t *env;
        bool ok = false;

        bg_uuid_format(&cmd->command_id, cid);
        bg_uuid_format(&cmd->account_id, aid);
        bgj_time_format(cmd->issued_at, ts);
        env = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "command_id", cid, "account_id", aid,
                        "actor", cmd->actor, "issued_at", ts, "type",
                        bg_command_type_name(cmd->type), "payload", payload);
        if (tmp == NULL || env == NULL) {
                api_reply_error(req, 500, "internal", "out of memory");
                goto out;
        }
        if (bgj_command_from_json(env, tmp, errstr, sizeof(errstr)) != 0) {
                /* The path of the field, as the client wrote it: without "payload." */
                const char *msg = strncmp(errstr, "payload.", 8) == 0 ? errstr + 8 : errstr;
                api_reply_error(req, 400, "invalid_argument", "%s", msg);
                goto out;
        }
        cmd->payload = tmp->payload;
        ok = true;
out:
        json_decref(env);
        free(tmp);
        return ok;
}

static void sleep_ms(int64_t ms) {
        struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

/* Polls account_seq until it reaches @seq or @deadline_ms. 1 reached, 0 not yet, -1 the
 * query failed (answered). */
static int wait_projected(api_req_t *req, const bg_uuid_t *account, int64_t seq,
                          int64_t deadline_ms) {
        const int64_t poll = req->ar_svc->as_conf->ac_seq_poll_ms;
        char aid[BG_UUID_STR_LEN + 1];
        const char *params[1] = {aid};

        bg_uuid_format(account, aid);
        for (;;) {
                PGresult *res = api_query(req, "SELECT seq FROM account_seq WHERE account_id = $1",
                                          1, params);
                int64_t have = 0;

                if (res == NULL)
                        return -1;
                if (PQntuples(res) == 1)
                        have = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                if (have >= seq)
                        return 1;
                if (api_mono_ms() + poll > deadline_ms)
                        return 0;
                sleep_ms(poll);
        }
}

bool api_command_run(api_req_t *req, const bg_command_t *cmd) {
        api_svc_t *svc = req->ar_svc;
        int64_t t0 = api_mono_ms(), deadline = t0 + svc->as_conf->ac_write_timeout_ms;
        char errstr[API_ERRSTR_SIZE], cid[BG_UUID_STR_LEN + 1];
        bg_command_result_t res;
        api_bus_status_t st;
        int projected;

        bg_uuid_format(&cmd->command_id, cid);
        /* Do not hold a database connection while Kafka decides. */
        api_req_release(req);
        st = api_bus_submit(svc->as_bus, cmd, deadline, &res, errstr, sizeof(errstr));
        if (st == API_BUS_ERROR) {
                bg_log_warn("command %s (%s): %s", cid, bg_command_type_name(cmd->type), errstr);
                api_reply_error(req, 503, "unavailable", "the command could not be published: "
                                "try again");
                return false;
        }
        if (st == API_BUS_TIMEOUT) {
                json_t *body;

                bg_counter_add(svc->m_write_timeout, 1);
                body = json_pack("{s:s, s:s, s:{s:s, s:s}}", "message",
                                 "no result for the command within the write timeout; it may "
                                 "still be applied: retry with the same Idempotency-Key",
                                 "command_id", cid, "error", "code", "timeout", "message",
                                 "no result for the command within the write timeout");
                api_reply_json(req, 504, body);
                return false;
        }
        if (res.outcome < BG_OUTCOME__COUNT)
                bg_counter_add(svc->m_outcome[res.outcome], 1);
        if (res.outcome == BG_OUTCOME_REJECTED) {
                const char *code = bg_reject_code_name(res.rejection.code);

                res.rejection.message[sizeof(res.rejection.message) - 1] = '\0';
                api_reply_error(req, api_reject_status(res.rejection.code),
                                code ? code : "internal", "%s", res.rejection.message);
                return false;
        }
        projected = wait_projected(req, &cmd->account_id, res.last_seq, deadline);
        bg_histogram_observe(svc->m_write_seconds, (double)(api_mono_ms() - t0) / 1000.0);
        if (projected < 0)
                return false;
        if (projected == 0) {
                json_t *body;

                bg_counter_add(svc->m_write_unprojected, 1);
                body = json_pack("{s:s, s:s, s:s, s:I, s:I}", "message",
                                 "accepted; not yet visible in the read models",
                                 "command_id", cid, "outcome", bg_outcome_name(res.outcome),
                                 "first_seq", (json_int_t)res.first_seq,
                                 "last_seq", (json_int_t)res.last_seq);
                api_reply_json(req, 202, body);
                return false;
        }
        return true;
}
