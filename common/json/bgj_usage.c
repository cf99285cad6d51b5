/* Usage records <-> JSON. */
#include <string.h>

#include "bgj_int.h"

json_t *bgj_usage_to_json(const codec_usage_t *u) {
        codec_line_type_t lt;
        json_t *o;
        int rc = 0;

        if (u == NULL)
                return NULL;
        lt = u->line_type == CODEC_LINE_UNSET ? CODEC_LINE_SERVICE_CHARGE : u->line_type;
        o = json_object();
        if (o == NULL)
                return NULL;
        rc |= bgj__put(o, "usage_id", bgj__w_uuid(&u->usage_id));
        rc |= bgj__put(o, "project_id", bgj__w_uuid(&u->project_id));
        rc |= bgj__put(o, "service_name", BGJ_W_STR(u->service_name));
        rc |= bgj__put(o, "service_type", BGJ_W_STR(u->service_type));
        rc |= bgj__put(o, "service_plan", BGJ_W_STR(u->service_plan));
        rc |= bgj__put(o, "line_type", bgj__w_enum(BGJ_ENUM_LINE_TYPE, lt));
        rc |= bgj__put(o, "quantity", bgj__w_money(u->quantity));
        rc |= bgj__put(o, "unit", BGJ_W_STR(u->unit));
        rc |= bgj__put(o, "unit_price",
                       u->has_unit_price ? bgj__w_money(u->unit_price) : json_null());
        rc |= bgj__put(o, "amount", u->has_amount ? bgj__w_money(u->amount) : json_null());
        rc |= bgj__put(o, "currency", bgj__w_enum(BGJ_ENUM_CURRENCY, u->currency));
        rc |= bgj__put(o, "timestamp_begin", bgj__w_time(u->timestamp_begin));
        rc |= bgj__put(o, "timestamp_end", bgj__w_time(u->timestamp_end));
        rc |= bgj__put(o, "tags", bgj__w_tags(u->tags, u->n_tags));
        if (rc != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int bgj_usage_from_json(const json_t *j, codec_usage_t *out,
                        char *errstr, size_t errstr_size) {
        static const char *const keys[] = {
                "usage_id", "project_id", "service_name", "service_type", "service_plan",
                "line_type", "quantity", "unit", "unit_price", "amount", "currency",
                "timestamp_begin", "timestamp_end", "tags", NULL,
        };
        bgj_in_t in = { errstr, errstr_size };
        int line_type = CODEC_LINE_SERVICE_CHARGE, currency;

        if (out == NULL)
                return bgj__fail(&in, "", "no output usage record");
        memset(out, 0, sizeof(*out));
        if (bgj__object(&in, j, "") != 0 ||
            bgj__check_keys(&in, j, "", keys, false) != 0 ||
            bgj__uuid(&in, j, "", "usage_id", BGJ_REQ, &out->usage_id, NULL) != 0 ||
            bgj__uuid(&in, j, "", "project_id", BGJ_REQ, &out->project_id, NULL) != 0 ||
            bgj__str(&in, j, "", "service_name", BGJ_REQ, CODEC_SERVICE_NAME_MAX,
                     out->service_name, sizeof(out->service_name), NULL) != 0 ||
            bgj__str(&in, j, "", "service_type", BGJ_REQ, CODEC_SERVICE_TYPE_MAX,
                     out->service_type, sizeof(out->service_type), NULL) != 0 ||
            bgj__str(&in, j, "", "service_plan", BGJ_REQ, CODEC_SERVICE_PLAN_MAX,
                     out->service_plan, sizeof(out->service_plan), NULL) != 0 ||
            bgj__enum(&in, j, "", "line_type", BGJ_NULLOK, BGJ_ENUM_LINE_TYPE, &line_type,
                      NULL) != 0 ||
            bgj__money(&in, j, "", "quantity", BGJ_REQ, &out->quantity, NULL) != 0 ||
            bgj__str(&in, j, "", "unit", BGJ_REQ, CODEC_UNIT_MAX, out->unit,
                     sizeof(out->unit), NULL) != 0 ||
            bgj__money(&in, j, "", "unit_price", BGJ_NULLOK, &out->unit_price,
                       &out->has_unit_price) != 0 ||
            bgj__money(&in, j, "", "amount", BGJ_NULLOK, &out->amount,
                       &out->has_amount) != 0 ||
            bgj__enum(&in, j, "", "currency", BGJ_REQ, BGJ_ENUM_CURRENCY, &currency,
                      NULL) != 0 ||
            bgj__time(&in, j, "", "timestamp_begin", BGJ_REQ, &out->timestamp_begin,
                      NULL) != 0 ||
            bgj__time(&in, j, "", "timestamp_end", BGJ_REQ, &out->timestamp_end,
                      NULL) != 0 ||
            bgj__tags(&in, j, "", "tags", out->tags, &out->n_tags) != 0) {
                memset(out, 0, sizeof(*out));
                return -1;
        }
        out->line_type = (codec_line_type_t)line_type;
        out->currency = (bg_currency_t)currency;
        return 0;
}
