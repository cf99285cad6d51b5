/* Command results <-> JSON. */
#include <string.h>

#include "bgj_int.h"

json_t *bgj_result_to_json(const bg_command_result_t *res) {
        json_t *o, *err;
        int rc = 0;

        if (res == NULL)
                return NULL;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "command_id", bgj__w_uuid(&res->command_id));
        rc |= bgj__put(o, "account_id", bgj__w_uuid(&res->account_id));
        rc |= bgj__put(o, "outcome", bgj__w_enum(BGJ_ENUM_OUTCOME, res->outcome));
        rc |= bgj__put(o, "first_seq", json_integer(res->first_seq));
        rc |= bgj__put(o, "last_seq", json_integer(res->last_seq));
        if (rc == 0 && res->outcome == BG_OUTCOME_REJECTED) {
                err = json_object();
                rc |= bgj__put(o, "error", err);
                if (rc == 0) {
                        rc |= bgj__put(err, "code",
                                       bgj__w_enum(BGJ_ENUM_REJECT, res->rejection.code));
                        rc |= bgj__put(err, "message", BGJ_W_STR(res->rejection.message));
                }
        }
        if (rc != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int bgj_result_from_json(const json_t *j, bg_command_result_t *out,
                         char *errstr, size_t errstr_size) {
        static const char *const keys[] = {
                "command_id", "account_id", "outcome", "first_seq", "last_seq", "error", NULL,
        };
        static const char *const err_keys[] = { "code", "message", NULL };
        bgj_in_t in = { errstr, errstr_size };
        const json_t *err;
        int outcome, code;

        if (out == NULL)
                return bgj__fail(&in, "", "no output result");
        memset(out, 0, sizeof(*out));
        if (bgj__object(&in, j, "") != 0 ||
            bgj__check_keys(&in, j, "", keys, false) != 0 ||
            bgj__uuid(&in, j, "", "command_id", BGJ_REQ, &out->command_id, NULL) != 0 ||
            bgj__uuid(&in, j, "", "account_id", BGJ_REQ, &out->account_id, NULL) != 0 ||
            bgj__enum(&in, j, "", "outcome", BGJ_REQ, BGJ_ENUM_OUTCOME, &outcome,
                      NULL) != 0 ||
            bgj__int(&in, j, "", "first_seq", BGJ_REQ, 0, INT64_MAX, &out->first_seq,
                     NULL) != 0 ||
            bgj__int(&in, j, "", "last_seq", BGJ_REQ, 0, INT64_MAX, &out->last_seq,
                     NULL) != 0 ||
            bgj__member(&in, j, "", "error", BGJ_NULLOK, &err) != 0)
                goto out_err;
        out->outcome = (bg_outcome_t)outcome;
        if (out->outcome != BG_OUTCOME_REJECTED) {
                if (err != NULL) {
                        bgj__fail(&in, "error", "only allowed when outcome is \"rejected\"");
                        goto out_err;
                }
                return 0;
        }
        if (err == NULL) {
                bgj__fail(&in, "error", "required field is missing (outcome is "
                          "\"rejected\")");
                goto out_err;
        }
        if (bgj__object(&in, err, "error") != 0 ||
            bgj__check_keys(&in, err, "error", err_keys, false) != 0 ||
            bgj__enum(&in, err, "error", "code", BGJ_REQ, BGJ_ENUM_REJECT, &code,
                      NULL) != 0 ||
            bgj__str(&in, err, "error", "message", BGJ_REQ, BG_REJECT_MESSAGE_SIZE - 1,
                     out->rejection.message, sizeof(out->rejection.message), NULL) != 0)
                goto out_err;
        out->rejection.code = (bg_reject_code_t)code;
        return 0;
out_err:
        memset(out, 0, sizeof(*out));
        return -1;
}
