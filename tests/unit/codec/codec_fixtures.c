#include "codec_fixtures.h"

#include <stdio.h>
#include <string.h>

void fx_uuid(bg_uuid_t *out, uint8_t seed) {
        for (int i = 0; i < 16; i++)
                out->b[i] = (uint8_t)(seed * 17 + i * 3 + 1);
        out->b[6] = (uint8_t)(0x40 | (out->b[6] & 0x0f));   /* version 4 */
        out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3f));   /* RFC 4122 variant */
}

void fx_profile(bg_profile_t *p) {
        memset(p, 0, sizeof(*p));
        strcpy(p->billing_emails[0], "billing@example.com");
        strcpy(p->billing_emails[1], "ap@example.com");
        p->n_billing_emails = 2;
        strcpy(p->billing_contact_emails[0], "cfo@example.com");
        p->n_billing_contact_emails = 1;
        strcpy(p->billing_extra_text, "PO 4711 / cost center Ω-42");
        p->payment_method = BG_PAYMENT_ACCRUAL;
        strcpy(p->card_id, "card_123");
        strcpy(p->company, "Müller & Söhne GmbH");
        strcpy(p->address_lines[0], "Bahnhofstraße 1");
        strcpy(p->address_lines[1], "3. OG");
        p->n_address_lines = 2;
        strcpy(p->city, "Zürich");
        strcpy(p->state, "ZH");
        strcpy(p->zip_code, "8001");
        strcpy(p->country_code, "CH");
        strcpy(p->vat_id, "CHE-123.456.789");
        p->billing_currency = BG_CURRENCY_CHF;
}

void fx_command(bg_command_t *cmd, bg_command_type_t type) {
        memset(cmd, 0, sizeof(*cmd));
        fx_uuid(&cmd->command_id, 1);
        fx_uuid(&cmd->account_id, 2);
        strcpy(cmd->actor, "user:alice@example.com");
        cmd->issued_at = INT64_C(1764158400123);
        cmd->has_expected_version = true;
        cmd->expected_version = 41;
        cmd->type = type;
        switch (type) {
        case BG_CMD_CREATE_ACCOUNT:
                strcpy(cmd->payload.create_account.name, "Acme Ünïcode Corp");
                strcpy(cmd->payload.create_account.owner, "alice@example.com");
                break;
        case BG_CMD_GRANT_ROLE:
                strcpy(cmd->payload.grant_role.user, "bob@example.com");
                cmd->payload.grant_role.role = BG_ROLE_BILLING_ADMIN;
                break;
        case BG_CMD_REVOKE_ROLE:
                strcpy(cmd->payload.revoke_role.user, "bob@example.com");
                cmd->payload.revoke_role.role = BG_ROLE_VIEWER;
                break;
        case BG_CMD_CREATE_BILLING_GROUP: {
                bg_cmd_create_billing_group_t *c = &cmd->payload.create_billing_group;
                fx_uuid(&c->billing_group_id, 3);
                strcpy(c->name, "Engineering");
                fx_profile(&c->profile.v);
                /* A patch: some fields present, others not (zeroed in v). */
                c->profile.present = BG_PROFILE_F_BILLING_EMAILS | BG_PROFILE_F_CITY |
                                     BG_PROFILE_F_PAYMENT_METHOD | BG_PROFILE_F_BILLING_CURRENCY |
                                     BG_PROFILE_F_ADDRESS_LINES | BG_PROFILE_F_VAT_ID;
                memset(c->profile.v.billing_contact_emails, 0,
                       sizeof(c->profile.v.billing_contact_emails));
                c->profile.v.n_billing_contact_emails = 0;
                memset(c->profile.v.billing_extra_text, 0, sizeof(c->profile.v.billing_extra_text));
                memset(c->profile.v.card_id, 0, sizeof(c->profile.v.card_id));
                memset(c->profile.v.company, 0, sizeof(c->profile.v.company));
                memset(c->profile.v.state, 0, sizeof(c->profile.v.state));
                memset(c->profile.v.zip_code, 0, sizeof(c->profile.v.zip_code));
                memset(c->profile.v.country_code, 0, sizeof(c->profile.v.country_code));
                c->has_copy_from = true;
                fx_uuid(&c->copy_from, 4);
                break;
        }
        case BG_CMD_UPDATE_BILLING_GROUP: {
                bg_cmd_update_billing_group_t *c = &cmd->payload.update_billing_group;
                fx_uuid(&c->billing_group_id, 3);
                c->has_name = true;
                strcpy(c->name, "Engineering (EU)");
                fx_profile(&c->profile.v);
                c->profile.present = BG_PROFILE_F_ALL;
                break;
        }
        case BG_CMD_DELETE_BILLING_GROUP:
                fx_uuid(&cmd->payload.delete_billing_group.billing_group_id, 5);
                break;
        case BG_CMD_SET_PRIMARY_BILLING_GROUP:
                fx_uuid(&cmd->payload.set_primary_billing_group.billing_group_id, 6);
                break;
        case BG_CMD_CREATE_PROJECT:
                fx_uuid(&cmd->payload.create_project.project_id, 7);
                strcpy(cmd->payload.create_project.name, "web-frontend");
                cmd->payload.create_project.has_billing_group_id = true;
                fx_uuid(&cmd->payload.create_project.billing_group_id, 3);
                break;
        case BG_CMD_ASSIGN_PROJECTS: {
                bg_cmd_assign_projects_t *c = &cmd->payload.assign_projects;
                fx_uuid(&c->billing_group_id, 3);
                c->n_projects = 3;
                strcpy(c->project_names[0], "web-frontend");
                strcpy(c->project_names[1], "analytics");
                /* The longest name: 63 bytes. */
                memset(c->project_names[2], 'a', BG_PROJECT_NAME_MAX);
                break;
        }
        case BG_CMD_DELETE_PROJECT:
                fx_uuid(&cmd->payload.delete_project.project_id, 7);
                break;
        case BG_CMD_ISSUE_CREDIT: {
                bg_cmd_issue_credit_t *c = &cmd->payload.issue_credit;
                strcpy(c->code, "WELCOME-2026.a_b");
                c->value = INT64_C(250000000);     /* 250.000000 */
                c->currency = BG_CURRENCY_EUR;
                c->type = BG_CREDIT_TYPE_PROMOTION;
                c->start_time = INT64_C(1764158400000);
                c->has_expire_time = true;
                c->expire_time = INT64_C(1795694400000);
                break;
        }
        case BG_CMD_CLAIM_CREDIT: {
                bg_cmd_claim_credit_t *c = &cmd->payload.claim_credit;
                fx_uuid(&c->billing_group_id, 3);
                strcpy(c->code, "WELCOME-2026.a_b");
                c->has_project_id = true;
                fx_uuid(&c->project_id, 7);
                break;
        }
        default:
                break;
        }
}

void fx_event(bg_event_t *ev, bg_event_type_t type) {
        memset(ev, 0, sizeof(*ev));
        fx_uuid(&ev->event_id, 10);
        fx_uuid(&ev->account_id, 2);
        ev->seq = 42;
        ev->type = type;
        ev->occurred_at = INT64_C(1764158400456);
        fx_uuid(&ev->command_id, 1);
        strcpy(ev->actor, "service:metering");
        for (int i = 0; i < BG_HASH_SIZE; i++) {
                ev->prev_hash[i] = (uint8_t)(0xa0 + i);
                ev->hash[i] = (uint8_t)(0x10 + i);
        }
        switch (type) {
        case BG_EVT_ACCOUNT_CREATED:
                strcpy(ev->payload.account_created.name, "Acme Ünïcode Corp");
                strcpy(ev->payload.account_created.owner, "alice@example.com");
                break;
        case BG_EVT_ROLE_GRANTED:
                strcpy(ev->payload.role_granted.user, "bob@example.com");
                ev->payload.role_granted.role = BG_ROLE_ADMIN;
                ev->payload.role_granted.previous_role = BG_ROLE_VIEWER;
                break;
        case BG_EVT_ROLE_REVOKED:
                strcpy(ev->payload.role_revoked.user, "bob@example.com");
                ev->payload.role_revoked.role = BG_ROLE_BILLING_ADMIN;
                break;
        case BG_EVT_BILLING_GROUP_CREATED: {
                bg_evt_billing_group_created_t *e = &ev->payload.billing_group_created;
                fx_uuid(&e->billing_group_id, 3);
                strcpy(e->name, "Engineering");
                fx_profile(&e->profile);
                e->has_copied_from = true;
                fx_uuid(&e->copied_from, 4);
                break;
        }
        case BG_EVT_BILLING_GROUP_RENAMED: {
                bg_evt_billing_group_renamed_t *e = &ev->payload.billing_group_renamed;
                fx_uuid(&e->billing_group_id, 3);
                strcpy(e->previous_name, "Engineering");
                strcpy(e->name, "Engineering (EU)");
                break;
        }
        case BG_EVT_BILLING_PROFILE_UPDATED: {
                bg_evt_billing_profile_updated_t *e = &ev->payload.billing_profile_updated;
                fx_uuid(&e->billing_group_id, 3);
                e->changed = BG_PROFILE_F_CITY | BG_PROFILE_F_VAT_ID | BG_PROFILE_F_BILLING_EMAILS;
                fx_profile(&e->profile);
                break;
        }
        case BG_EVT_BILLING_GROUP_DELETED:
                fx_uuid(&ev->payload.billing_group_deleted.billing_group_id, 5);
                break;
        case BG_EVT_PRIMARY_BILLING_GROUP_SET:
                fx_uuid(&ev->payload.primary_billing_group_set.billing_group_id, 6);
                ev->payload.primary_billing_group_set.has_previous = true;
                fx_uuid(&ev->payload.primary_billing_group_set.previous, 5);
                break;
        case BG_EVT_PROJECT_CREATED:
                fx_uuid(&ev->payload.project_created.project_id, 7);
                strcpy(ev->payload.project_created.name, "web-frontend");
                fx_uuid(&ev->payload.project_created.billing_group_id, 3);
                break;
        case BG_EVT_PROJECT_MOVED:
                fx_uuid(&ev->payload.project_moved.project_id, 7);
                fx_uuid(&ev->payload.project_moved.from_billing_group_id, 3);
                fx_uuid(&ev->payload.project_moved.to_billing_group_id, 6);
                break;
        case BG_EVT_PROJECT_DELETED:
                fx_uuid(&ev->payload.project_deleted.project_id, 7);
                fx_uuid(&ev->payload.project_deleted.billing_group_id, 6);
                break;
        case BG_EVT_CREDIT_ISSUED: {
                bg_evt_credit_issued_t *e = &ev->payload.credit_issued;
                strcpy(e->code, "WELCOME-2026.a_b");
                e->value = INT64_C(-1);              /* odd on purpose: sign handling */
                e->currency = BG_CURRENCY_JPY;
                e->type = BG_CREDIT_TYPE_TRIAL_OVER;
                e->start_time = INT64_C(1764158400000);
                e->has_expire_time = true;
                e->expire_time = INT64_C(1795694400000);
                break;
        }
        case BG_EVT_CREDIT_CLAIMED: {
                bg_evt_credit_claimed_t *e = &ev->payload.credit_claimed;
                strcpy(e->code, "WELCOME-2026.a_b");
                fx_uuid(&e->billing_group_id, 3);
                e->has_project_id = true;
                fx_uuid(&e->project_id, 7);
                break;
        }
        default:
                break;
        }
}

void fx_result(bg_command_result_t *res, bg_outcome_t outcome) {
        memset(res, 0, sizeof(*res));
        fx_uuid(&res->command_id, 1);
        fx_uuid(&res->account_id, 2);
        res->outcome = outcome;
        res->first_seq = 42;
        res->last_seq = 44;
        if (outcome == BG_OUTCOME_REJECTED) {
                res->first_seq = 0;
                res->last_seq = 0;
                res->rejection.code = BG_REJECT_FAILED_PRECONDITION;
                strcpy(res->rejection.message,
                       "cannot delete billing group \"x\": 2 projects are still assigned");
        }
}

void fx_usage(codec_usage_t *u) {
        memset(u, 0, sizeof(*u));
        fx_uuid(&u->usage_id, 20);
        fx_uuid(&u->project_id, 7);
        strcpy(u->service_name, "kafka-prod");
        strcpy(u->service_type, "kafka");
        strcpy(u->service_plan, "business-4");
        u->line_type = CODEC_LINE_EXTRA_CHARGE;
        u->quantity = INT64_C(1500000);            /* 1.5 hours */
        strcpy(u->unit, "hour");
        u->has_unit_price = true;
        u->unit_price = INT64_C(123456);           /* 0.123456 */
        u->has_amount = true;
        u->amount = INT64_C(-999999999999999999);  /* the precision-18 limit */
        u->currency = BG_CURRENCY_USD;
        u->timestamp_begin = INT64_C(1764158400000);
        u->timestamp_end = INT64_C(1764162000000);
        u->n_tags = 2;
        strcpy(u->tags[0].key, "env");
        strcpy(u->tags[0].value, "prod");
        strcpy(u->tags[1].key, "team");
        strcpy(u->tags[1].value, "Datenbank-Ops");
}

void fx_invoice(codec_invoice_t *inv, codec_invoice_line_t *lines, size_t n_lines,
                codec_tag_t *tags) {
        memset(inv, 0, sizeof(*inv));
        strcpy(inv->invoice_number, "BG-2026-11-0000000042");
        fx_uuid(&inv->billing_group_id, 3);
        strcpy(inv->billing_group_name, "Engineering (EU) ✓");
        fx_uuid(&inv->account_id, 2);
        inv->currency = BG_CURRENCY_EUR;
        inv->period_begin = INT64_C(1761955200000);
        inv->period_end = INT64_C(1764547200000);
        inv->state = CODEC_INVOICE_DUE;
        inv->total_vat_zero = INT64_C(1234560000);
        inv->total_inc_vat = INT64_C(1469126400);
        inv->has_issue_date = true;
        inv->issue_date = INT64_C(1764550800000);
        inv->has_due_date = true;
        inv->due_date = INT64_C(1767229200000);
        inv->revision = 3;
        inv->n_lines = n_lines;
        inv->lines = n_lines > 0 ? lines : NULL;
        for (size_t i = 0; i < n_lines; i++) {
                codec_invoice_line_t *l = &lines[i];

                memset(l, 0, sizeof(*l));
                l->line_type = i == n_lines - 1 ? CODEC_LINE_CREDIT_CONSUMPTION
                                                : CODEC_LINE_SERVICE_CHARGE;
                snprintf(l->description, sizeof(l->description), "line %zu: Kafka business-4",
                         i);
                if (i % 2 == 0) {
                        strcpy(l->project_name, "web-frontend");
                        strcpy(l->service_name, "kafka-prod");
                        strcpy(l->service_type, "kafka");
                        strcpy(l->service_plan, "business-4");
                        l->has_timestamp_begin = true;
                        l->timestamp_begin = INT64_C(1761955200000);
                        l->has_timestamp_end = true;
                        l->timestamp_end = INT64_C(1764547200000);
                }
                l->line_total = (int64_t)(i + 1) * INT64_C(100000000) * (i == n_lines - 1 ? -1 : 1);
                l->n_tags = i % 3;
                l->tags = l->n_tags ? &tags[i * 3] : NULL;
                for (size_t t = 0; t < l->n_tags; t++) {
                        memset(&tags[i * 3 + t], 0, sizeof(tags[0]));
                        snprintf(tags[i * 3 + t].key, sizeof(tags[0].key), "k%zu", t);
                        snprintf(tags[i * 3 + t].value, sizeof(tags[0].value), "v%zu-%zu", i, t);
                }
        }
}
