/*
 * Internal to bg_domain: the state layout and the validators shared by decide and evolve.
 */
#ifndef ACCT_INTERNAL_H
#define ACCT_INTERNAL_H

#include <stdarg.h>

#include "acct.h"

/* One remembered command id (open addressing; used == false marks an empty slot). */
typedef struct acct_cmdrec_s {
        bg_uuid_t id;
        int64_t first_seq;
        int64_t last_seq;
        bool used;
} acct_cmdrec_t;

struct acct_state_s {
        int64_t version;
        bg_uuid_t account_id;
        char name[BG_NAME_SIZE];
        uint8_t last_hash[BG_HASH_SIZE];
        bool has_primary;
        bg_uuid_t primary;

        acct_member_t *members;
        size_t n_members, cap_members;
        acct_group_t *groups;
        size_t n_groups, cap_groups;
        acct_project_t *projects;
        size_t n_projects, cap_projects;
        acct_credit_t *credits;
        size_t n_credits, cap_credits;

        acct_cmdrec_t *cmds;                    /* cap_cmds slots, a power of two */
        size_t n_cmds, cap_cmds;
        bool has_last_command;
        bg_uuid_t last_command_id;              /* the command of the last event */
};

/* Mutable lookups for evolve; NULL when absent. */
acct_group_t *acct__group(acct_state_t *st, const bg_uuid_t *id);
acct_project_t *acct__project(acct_state_t *st, const bg_uuid_t *id);
acct_credit_t *acct__credit(acct_state_t *st, const char *code);
acct_member_t *acct__member(acct_state_t *st, const char *user);
acct_cmdrec_t *acct__cmd_find(const acct_state_t *st, const bg_uuid_t *id);
/* Makes room for one more item in each array and command record: after it returns
 * ACCT_OK, adding one of each cannot fail. */
acct_err_t acct__reserve(acct_state_t *st);
/* Inserts (room reserved). */
void acct__cmd_insert(acct_state_t *st, const bg_uuid_t *id, int64_t seq);

/* ---- validators: return true when valid, else write "<field>: <reason>" ---- */

typedef enum {
        BG_PRINCIPAL_INVALID = 0,
        BG_PRINCIPAL_USER,
        BG_PRINCIPAL_SERVICE,
} bg_principal_kind_t;

/* True when @buf holds a NUL within @size bytes. */
bool bg_v_terminated(const char *buf, size_t size);
/* UTF-8 text, at most @max_chars characters, no control characters (tab, LF and CR
 * allowed when @multiline), and, when @required, not empty or blank. */
bool bg_v_text(const char *buf, size_t size, size_t max_chars, bool multiline,
               bool required, const char *field, char *msg, size_t msg_size);
bool bg_v_email(const char *buf, size_t size, const char *field, char *msg,
                size_t msg_size);
bool bg_v_project_name(const char *buf, size_t size, const char *field, char *msg,
                       size_t msg_size);
bool bg_v_credit_code(const char *buf, size_t size, const char *field, char *msg,
                      size_t msg_size);
bg_principal_kind_t bg_v_principal(const char *buf, size_t size);
/* Validates the fields of @p named in @fields. @resolved: payment_method and
 * billing_currency must be set, and payment_method card needs a card_id. */
bool bg_v_profile(const bg_profile_t *p, uint32_t fields, bool resolved,
                  const char *prefix, char *msg, size_t msg_size);

void bg_fmt(char *buf, size_t size, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
void bg_vfmt(char *buf, size_t size, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));

bool bg_email_equal(const char *a, const char *b);

#endif /* ACCT_INTERNAL_H */
