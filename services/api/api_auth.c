/*
 * Bearer tokens. A user token is 64 hex digits (32 random bytes) scoped to one account,
 * one user e-mail and one role; only its SHA-256 is stored (api_tokens). The role that
 * counts is the lower of the token's role and the user's current role in the account
 * (account_members), so that revoking a member disables their tokens at once. Service
 * tokens are configured as SHA-256 digests (BILLING_API_SERVICE_TOKENS) and act as
 * "service:<name>" on any account.
 */
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api.h"

#define TOKEN_MAX 256

void api_hex(const uint8_t *bytes, size_t len, char *out) {
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[bytes[i] >> 4];
                out[2 * i + 1] = digits[bytes[i] & 0xf];
        }
        out[2 * len] = '\0';
}

bool api_token_new(char hex[65], uint8_t sha[32]) {
        uint8_t raw[32];

        if (RAND_bytes(raw, sizeof(raw)) != 1)
                return false;
        api_hex(raw, sizeof(raw), hex);
        SHA256((const unsigned char *)hex, 64, sha);
        OPENSSL_cleanse(raw, sizeof(raw));
        return true;
}

static const char SQL_TOKEN[] =
        "SELECT t.account_id, t.user_email, t.role, m.role "
        "FROM api_tokens t LEFT JOIN account_members m "
        "ON m.account_id = t.account_id AND lower(m.user_email) = lower(t.user_email) "
        "WHERE t.token_sha256 = decode($1, 'hex') AND t.revoked_at IS NULL";

bool api_auth(api_req_t *req) {
        const api_conf_t *c = req->ar_svc->as_conf;
        api_principal_t *who = &req->ar_who;
        const char *h = api_header(req, MHD_HTTP_HEADER_AUTHORIZATION);
        const char *token, *params[1];
        char hex[65];
        PGresult *res;
        bg_role_t token_role, member_role;
        size_t len;

        memset(who, 0, sizeof(*who));
        if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0) {
                api_reply_error(req, 401, "unauthenticated", "a bearer token is required "
                                "(Authorization: Bearer <token>)");
                return false;
        }
        token = h + 7;
        while (*token == ' ')
                token++;
        len = strlen(token);
        if (len == 0 || len > TOKEN_MAX) {
                api_reply_error(req, 401, "unauthenticated", "invalid or revoked token");
                return false;
        }
        SHA256((const unsigned char *)token, len, who->ap_token_sha256);

        for (size_t i = 0; i < c->ac_n_service_tokens; i++)
                if (CRYPTO_memcmp(c->ac_service_tokens[i].st_sha256, who->ap_token_sha256,
                                  32) == 0) {
                        who->ap_service = true;
                        who->ap_role = BG_ROLE_ADMIN;
                        snprintf(who->ap_actor, sizeof(who->ap_actor), "service:%s",
                                 c->ac_service_tokens[i].st_name);
                        return true;
                }

        api_hex(who->ap_token_sha256, 32, hex);
        params[0] = hex;
        res = api_query(req, SQL_TOKEN, 1, params);
        if (res == NULL)
                return false;
        if (PQntuples(res) != 1) {
                PQclear(res);
                api_reply_error(req, 401, "unauthenticated", "invalid or revoked token");
                return false;
        }
        if (!bg_uuid_parse(PQgetvalue(res, 0, 0), strlen(PQgetvalue(res, 0, 0)),
                           &who->ap_account) ||
            strlen(PQgetvalue(res, 0, 1)) >= sizeof(who->ap_email)) {
                PQclear(res);
                api_reply_error(req, 500, "internal", "malformed token row");
                return false;
        }
        snprintf(who->ap_email, sizeof(who->ap_email), "%s", PQgetvalue(res, 0, 1));
        snprintf(who->ap_actor, sizeof(who->ap_actor), "user:%s", who->ap_email);
        token_role = bg_role_from_name(PQgetvalue(res, 0, 2));
        member_role = PQgetisnull(res, 0, 3) ? BG_ROLE_NONE :
                      bg_role_from_name(PQgetvalue(res, 0, 3));
        PQclear(res);
        if (member_role == BG_ROLE_NONE) {
                api_reply_error(req, 403, "forbidden", "the token's user is not a member of "
                                "its account");
                return false;
        }
        who->ap_role = api_role_rank(token_role) < api_role_rank(member_role) ? token_role :
                       member_role;
        return true;
}

bool api_scope_account(api_req_t *req, const char *explicit_id, bg_uuid_t *out) {
        const api_principal_t *who = &req->ar_who;
        bg_uuid_t id;

        if (explicit_id != NULL && !bg_uuid_parse(explicit_id, strlen(explicit_id), &id)) {
                api_reply_error(req, 400, "invalid_argument", "account_id: not a UUID");
                return false;
        }
        if (who->ap_service) {
                if (explicit_id == NULL) {
                        api_reply_error(req, 400, "invalid_argument", "account_id is required "
                                        "with a service token");
                        return false;
                }
                *out = id;
                return true;
        }
        if (explicit_id != NULL && !bg_uuid_equal(&id, &who->ap_account)) {
                /* Another account: the same answer whether it exists or not. */
                api_reply_error(req, 404, "not_found", "account not found");
                return false;
        }
        *out = who->ap_account;
        return true;
}

bool api_require_role(api_req_t *req, bg_role_t need) {
        const api_principal_t *who = &req->ar_who;

        if (who->ap_service || api_role_rank(who->ap_role) >= api_role_rank(need))
                return true;
        api_reply_error(req, 403, "forbidden", "role %s does not allow this (needs %s)",
                        bg_role_name(who->ap_role), bg_role_name(need));
        return false;
}
