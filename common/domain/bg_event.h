/*
 * bg_event: the events of the account aggregate (DESIGN.md sections 4 and 7).
 *
 * An event is a plain value (fixed-size arrays, no pointers). Events are self-describing:
 * BillingGroupCreated and BillingProfileUpdated carry the full resulting profile, moves
 * and deletions name the groups involved, so that the projector, the invoicer and the
 * audit log need no other source. bg_event_t is about 12 KiB (the profile).
 *
 * hash = SHA-256(prev_hash || canonical Avro encoding with hash empty); prev_hash of an
 * account's first event is 32 zero bytes. The domain leaves both zero in the events it
 * decides; the caller chains them (common/hashchain) before appending and evolving.
 */
#ifndef BG_EVENT_H
#define BG_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bg_command.h"
#include "bg_profile.h"
#include "bg_uuid.h"

#define BG_HASH_SIZE 32

/* Values are stable: never renumber. 0 is invalid. */
typedef enum {
        BG_EVT_NONE = 0,
        BG_EVT_ACCOUNT_CREATED,
        BG_EVT_ROLE_GRANTED,
        BG_EVT_ROLE_REVOKED,
        BG_EVT_BILLING_GROUP_CREATED,
        BG_EVT_BILLING_GROUP_RENAMED,
        BG_EVT_BILLING_PROFILE_UPDATED,
        BG_EVT_BILLING_GROUP_DELETED,
        BG_EVT_PRIMARY_BILLING_GROUP_SET,
        BG_EVT_PROJECT_CREATED,
        BG_EVT_PROJECT_MOVED,
        BG_EVT_PROJECT_DELETED,
        BG_EVT_CREDIT_ISSUED,
        BG_EVT_CREDIT_CLAIMED,
        BG_EVT__COUNT
} bg_event_type_t;

typedef struct bg_evt_account_created_s {
        char name[BG_NAME_SIZE];
        char owner[BG_EMAIL_SIZE];              /* becomes admin */
} bg_evt_account_created_t;

typedef struct bg_evt_role_granted_s {
        char user[BG_EMAIL_SIZE];
        bg_role_t role;
        bg_role_t previous_role;                /* BG_ROLE_NONE: new member */
} bg_evt_role_granted_t;

typedef struct bg_evt_role_revoked_s {
        char user[BG_EMAIL_SIZE];
        bg_role_t role;                         /* the role removed; user is no member now */
} bg_evt_role_revoked_t;

typedef struct bg_evt_billing_group_created_s {
        bg_uuid_t billing_group_id;
        char name[BG_NAME_SIZE];
        bg_profile_t profile;                   /* resolved: copy_from + patch + defaults */
        bool has_copied_from;
        bg_uuid_t copied_from;
} bg_evt_billing_group_created_t;

typedef struct bg_evt_billing_group_renamed_s {
        bg_uuid_t billing_group_id;
        char previous_name[BG_NAME_SIZE];
        char name[BG_NAME_SIZE];
} bg_evt_billing_group_renamed_t;

typedef struct bg_evt_billing_profile_updated_s {
        bg_uuid_t billing_group_id;
        uint32_t changed;                       /* BG_PROFILE_F_* bits, never 0 */
        bg_profile_t profile;                   /* the full profile after the change */
} bg_evt_billing_profile_updated_t;

/* BillingGroupDeleted. */
typedef struct bg_evt_billing_group_ref_s {
        bg_uuid_t billing_group_id;
} bg_evt_billing_group_ref_t;

typedef struct bg_evt_primary_billing_group_set_s {
        bg_uuid_t billing_group_id;
        bool has_previous;
        bg_uuid_t previous;                     /* the primary group before, if any */
} bg_evt_primary_billing_group_set_t;

typedef struct bg_evt_project_created_s {
        bg_uuid_t project_id;
        char name[BG_PROJECT_NAME_SIZE];
        bg_uuid_t billing_group_id;             /* where it was assigned */
} bg_evt_project_created_t;

typedef struct bg_evt_project_moved_s {
        bg_uuid_t project_id;
        bg_uuid_t from_billing_group_id;
        bg_uuid_t to_billing_group_id;
} bg_evt_project_moved_t;

typedef struct bg_evt_project_deleted_s {
        bg_uuid_t project_id;
        bg_uuid_t billing_group_id;             /* the group it was in */
} bg_evt_project_deleted_t;

typedef struct bg_evt_credit_issued_s {
        char code[BG_CREDIT_CODE_SIZE];
        int64_t value;                          /* micros */
        bg_currency_t currency;
        bg_credit_type_t type;
        int64_t start_time;                     /* ms since epoch */
        bool has_expire_time;
        int64_t expire_time;
} bg_evt_credit_issued_t;

typedef struct bg_evt_credit_claimed_s {
        char code[BG_CREDIT_CODE_SIZE];
        bg_uuid_t billing_group_id;
        bool has_project_id;
        bg_uuid_t project_id;
} bg_evt_credit_claimed_t;

typedef struct bg_event_s {
        bg_uuid_t event_id;
        bg_uuid_t account_id;
        int64_t seq;                            /* the account's version: 1, 2, 3 ... */
        bg_event_type_t type;
        int64_t occurred_at;                    /* ms since epoch */
        bg_uuid_t command_id;                   /* the cause */
        char actor[BG_ACTOR_SIZE];
        uint8_t prev_hash[BG_HASH_SIZE];
        uint8_t hash[BG_HASH_SIZE];
        union {
                bg_evt_account_created_t account_created;
                bg_evt_role_granted_t role_granted;
                bg_evt_role_revoked_t role_revoked;
                bg_evt_billing_group_created_t billing_group_created;
                bg_evt_billing_group_renamed_t billing_group_renamed;
                bg_evt_billing_profile_updated_t billing_profile_updated;
                bg_evt_billing_group_ref_t billing_group_deleted;
                bg_evt_primary_billing_group_set_t primary_billing_group_set;
                bg_evt_project_created_t project_created;
                bg_evt_project_moved_t project_moved;
                bg_evt_project_deleted_t project_deleted;
                bg_evt_credit_issued_t credit_issued;
                bg_evt_credit_claimed_t credit_claimed;
        } payload;
} bg_event_t;

/* "AccountCreated", "BillingGroupCreated" ... or NULL when out of range. */
const char *bg_event_type_name(bg_event_type_t t);
/* Exact name; BG_EVT_NONE for anything else, NULL included. */
bg_event_type_t bg_event_type_from_name(const char *s);

#endif /* BG_EVENT_H */
