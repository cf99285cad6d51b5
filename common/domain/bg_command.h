/*
 * bg_command: the commands of the account aggregate (DESIGN.md section 4), the rejection
 * codes, and the result of deciding a command.
 *
 * A command is a plain value (fixed-size arrays, no pointers): the codec fills one, the
 * domain reads it, nobody frees anything inside it. bg_command_t is large (AssignProjects
 * holds up to 1000 project names, about 64 KiB): allocate it on the heap in services.
 *
 * Principals (the actor of a command or event) are strings:
 *   "user:<email>"    a person; <email> as BG_EMAIL_MAX, ASCII
 *   "service:<name>"  a platform service; <name> 1..64 of [a-z0-9._-]; it is trusted only
 *                     when listed in the service principals of acct_ctx_t
 */
#ifndef BG_COMMAND_H
#define BG_COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_profile.h"
#include "bg_uuid.h"

#define BG_ACTOR_MAX              259   /* "user:" + BG_EMAIL_MAX */
#define BG_ACTOR_SIZE             (BG_ACTOR_MAX + 1)
#define BG_SERVICE_NAME_MAX       64
#define BG_PROJECT_NAME_MAX       63    /* [a-z0-9-], starts with a letter, no trailing '-' */
#define BG_PROJECT_NAME_SIZE      (BG_PROJECT_NAME_MAX + 1)
#define BG_CREDIT_CODE_MAX        64    /* [A-Za-z0-9._-], case-sensitive */
#define BG_CREDIT_CODE_SIZE       (BG_CREDIT_CODE_MAX + 1)
#define BG_ASSIGN_PROJECTS_MAX    1000  /* project names in one AssignProjects */
#define BG_CREDIT_VALUE_MAX       INT64_C(1000000000000000) /* micros: 1e9 units */
#define BG_REJECT_MESSAGE_SIZE    256

/* Account roles. 0 is "none" (not a member). */
typedef enum {
        BG_ROLE_NONE = 0,
        BG_ROLE_ADMIN,
        BG_ROLE_BILLING_ADMIN,
        BG_ROLE_VIEWER,
        BG_ROLE__COUNT
} bg_role_t;

/* Credit types (Aiven's list). 0 is "not given". */
typedef enum {
        BG_CREDIT_TYPE_UNSET = 0,
        BG_CREDIT_TYPE_DISCOUNT,
        BG_CREDIT_TYPE_EMPLOYEE,
        BG_CREDIT_TYPE_EVALUATION,
        BG_CREDIT_TYPE_INTERNAL,
        BG_CREDIT_TYPE_OTHER,
        BG_CREDIT_TYPE_OUTAGE,
        BG_CREDIT_TYPE_PARTNER,
        BG_CREDIT_TYPE_PROMOTION,
        BG_CREDIT_TYPE_PURCHASE,
        BG_CREDIT_TYPE_REFERRAL,
        BG_CREDIT_TYPE_SPONSORSHIP,
        BG_CREDIT_TYPE_TRIAL,
        BG_CREDIT_TYPE_TRIAL_OVER,
        BG_CREDIT_TYPE__COUNT
} bg_credit_type_t;

/* Values are stable: never renumber (they may be persisted or logged). 0 is invalid. */
typedef enum {
        BG_CMD_NONE = 0,
        BG_CMD_CREATE_ACCOUNT,
        BG_CMD_GRANT_ROLE,
        BG_CMD_REVOKE_ROLE,
        BG_CMD_CREATE_BILLING_GROUP,
        BG_CMD_UPDATE_BILLING_GROUP,
        BG_CMD_DELETE_BILLING_GROUP,
        BG_CMD_SET_PRIMARY_BILLING_GROUP,
        BG_CMD_CREATE_PROJECT,
        BG_CMD_ASSIGN_PROJECTS,
        BG_CMD_DELETE_PROJECT,
        BG_CMD_ISSUE_CREDIT,
        BG_CMD_CLAIM_CREDIT,
        BG_CMD__COUNT
} bg_command_type_t;

typedef struct bg_cmd_create_account_s {
        char name[BG_NAME_SIZE];
        char owner[BG_EMAIL_SIZE];              /* e-mail of the first admin */
} bg_cmd_create_account_t;

/* GrantRole and RevokeRole. */
typedef struct bg_cmd_role_s {
        char user[BG_EMAIL_SIZE];
        bg_role_t role;
} bg_cmd_role_t;

/* The profile is a patch over a base: the profile of @copy_from when given, else the
 * defaults (payment_method email, billing_currency USD, everything else empty). */
typedef struct bg_cmd_create_billing_group_s {
        bg_uuid_t billing_group_id;
        char name[BG_NAME_SIZE];
        bg_profile_patch_t profile;
        bool has_copy_from;
        bg_uuid_t copy_from;
} bg_cmd_create_billing_group_t;

typedef struct bg_cmd_update_billing_group_s {
        bg_uuid_t billing_group_id;
        bool has_name;
        char name[BG_NAME_SIZE];
        bg_profile_patch_t profile;             /* present == 0: profile unchanged */
} bg_cmd_update_billing_group_t;

/* DeleteBillingGroup and SetPrimaryBillingGroup. */
typedef struct bg_cmd_billing_group_ref_s {
        bg_uuid_t billing_group_id;
} bg_cmd_billing_group_ref_t;

typedef struct bg_cmd_create_project_s {
        bg_uuid_t project_id;
        char name[BG_PROJECT_NAME_SIZE];
        bool has_billing_group_id;
        bg_uuid_t billing_group_id;
} bg_cmd_create_project_t;

/* Projects are named (like Aiven's /billing-group/{id}/projects-assign), resolved among the
 * account's live projects when the command is decided; the events carry ids. */
typedef struct bg_cmd_assign_projects_s {
        bg_uuid_t billing_group_id;
        size_t n_projects;                      /* 1 .. BG_ASSIGN_PROJECTS_MAX */
        char project_names[BG_ASSIGN_PROJECTS_MAX][BG_PROJECT_NAME_SIZE];
} bg_cmd_assign_projects_t;

typedef struct bg_cmd_delete_project_s {
        bg_uuid_t project_id;
} bg_cmd_delete_project_t;

typedef struct bg_cmd_issue_credit_s {
        char code[BG_CREDIT_CODE_SIZE];
        int64_t value;                          /* micros, 1 .. BG_CREDIT_VALUE_MAX */
        bg_currency_t currency;
        bg_credit_type_t type;
        int64_t start_time;                     /* ms since epoch, > 0 */
        bool has_expire_time;                   /* false: never expires */
        int64_t expire_time;                    /* ms since epoch, > start_time */
} bg_cmd_issue_credit_t;

typedef struct bg_cmd_claim_credit_s {
        bg_uuid_t billing_group_id;
        char code[BG_CREDIT_CODE_SIZE];
        bool has_project_id;                    /* credit usable by that project only */
        bg_uuid_t project_id;
} bg_cmd_claim_credit_t;

typedef struct bg_command_s {
        bg_uuid_t command_id;                   /* idempotency key, not nil */
        bg_uuid_t account_id;                   /* not nil */
        char actor[BG_ACTOR_SIZE];              /* principal, see above */
        int64_t issued_at;                      /* ms since epoch (informative only) */
        bool has_expected_version;
        int64_t expected_version;               /* the account's seq the issuer saw */
        bg_command_type_t type;
        union {
                bg_cmd_create_account_t create_account;
                bg_cmd_role_t grant_role;
                bg_cmd_role_t revoke_role;
                bg_cmd_create_billing_group_t create_billing_group;
                bg_cmd_update_billing_group_t update_billing_group;
                bg_cmd_billing_group_ref_t delete_billing_group;
                bg_cmd_billing_group_ref_t set_primary_billing_group;
                bg_cmd_create_project_t create_project;
                bg_cmd_assign_projects_t assign_projects;
                bg_cmd_delete_project_t delete_project;
                bg_cmd_issue_credit_t issue_credit;
                bg_cmd_claim_credit_t claim_credit;
        } payload;
} bg_command_t;

/* Rejection codes: stable, their names go on the wire. 0 is "not rejected". */
typedef enum {
        BG_REJECT_NONE = 0,
        BG_REJECT_INVALID_ARGUMENT,
        BG_REJECT_NOT_FOUND,
        BG_REJECT_ALREADY_EXISTS,
        BG_REJECT_FAILED_PRECONDITION,
        BG_REJECT_CONFLICT,
        BG_REJECT_FORBIDDEN,
        BG_REJECT__COUNT
} bg_reject_code_t;

typedef struct bg_rejection_s {
        bg_reject_code_t code;
        /* Human text, subject first, no trailing full stop:
         * cannot delete billing group "<id>": 2 projects are still assigned */
        char message[BG_REJECT_MESSAGE_SIZE];
} bg_rejection_t;

typedef enum {
        BG_OUTCOME_ACCEPTED = 0,                /* events first_seq..last_seq (maybe none) */
        BG_OUTCOME_REJECTED,                    /* see rejection */
        BG_OUTCOME_DUPLICATE,                   /* command_id accepted before: its seqs */
        BG_OUTCOME__COUNT
} bg_outcome_t;

/* What billing.command-results carries for one command. For ACCEPTED and DUPLICATE,
 * first_seq..last_seq are the events the command produced; a command accepted without
 * events has first_seq = last_seq + 1 (an empty range right after the version it saw). */
typedef struct bg_command_result_s {
        bg_uuid_t command_id;
        bg_uuid_t account_id;
        bg_outcome_t outcome;
        int64_t first_seq;
        int64_t last_seq;
        bg_rejection_t rejection;               /* code NONE unless REJECTED */
} bg_command_result_t;

/* Names: "CreateAccount" ...; "admin" ...; "invalid_argument" ...; "accepted",
 * "rejected", "duplicate"; "discount" ... . NULL for out-of-range values. The _from_name
 * functions take exact names and return the 0 value (NONE / UNSET) for anything else,
 * NULL included. */
const char *bg_command_type_name(bg_command_type_t t);
bg_command_type_t bg_command_type_from_name(const char *s);
const char *bg_role_name(bg_role_t r);
bg_role_t bg_role_from_name(const char *s);
const char *bg_reject_code_name(bg_reject_code_t c);
bg_reject_code_t bg_reject_code_from_name(const char *s);
const char *bg_outcome_name(bg_outcome_t o);
/* Returns BG_OUTCOME__COUNT when @s names no outcome. */
bg_outcome_t bg_outcome_from_name(const char *s);
const char *bg_credit_type_name(bg_credit_type_t t);
bg_credit_type_t bg_credit_type_from_name(const char *s);

#endif /* BG_COMMAND_H */
