/* Stable names of the domain enums: they go on the wire and into logs. */
#include <string.h>

#include "bg_command.h"
#include "bg_event.h"
#include "bg_profile.h"

#define NAME_OF(table, v) \
        ((size_t)(v) < sizeof(table) / sizeof((table)[0]) ? (table)[(size_t)(v)] : NULL)

static size_t index_of(const char *const *table, size_t n, const char *s) {
        if (s == NULL)
                return 0;
        for (size_t i = 0; i < n; i++)
                if (table[i] != NULL && strcmp(table[i], s) == 0)
                        return i;
        return 0;
}

#define INDEX_OF(table, s) index_of((table), sizeof(table) / sizeof((table)[0]), (s))

static const char *const currency_names[BG_CURRENCY__COUNT] = {
        NULL, "AUD", "CAD", "CHF", "DKK", "EUR", "GBP", "JPY", "NOK", "NZD", "SEK", "SGD",
        "USD",
};

static const char *const payment_names[BG_PAYMENT__COUNT] = {
        NULL, "accrual", "card", "disabled", "email", "no_payment_expected", "partner",
};

static const char *const command_names[BG_CMD__COUNT] = {
        NULL,
        "CreateAccount",
        "GrantRole",
        "RevokeRole",
        "CreateBillingGroup",
        "UpdateBillingGroup",
        "DeleteBillingGroup",
        "SetPrimaryBillingGroup",
        "CreateProject",
        "AssignProjects",
        "DeleteProject",
        "IssueCredit",
        "ClaimCredit",
};

static const char *const event_names[BG_EVT__COUNT] = {
        NULL,
        "AccountCreated",
        "RoleGranted",
        "RoleRevoked",
        "BillingGroupCreated",
        "BillingGroupRenamed",
        "BillingProfileUpdated",
        "BillingGroupDeleted",
        "PrimaryBillingGroupSet",
        "ProjectCreated",
        "ProjectMoved",
        "ProjectDeleted",
        "CreditIssued",
        "CreditClaimed",
};

static const char *const role_names[BG_ROLE__COUNT] = {
        NULL, "admin", "billing_admin", "viewer",
};

static const char *const reject_names[BG_REJECT__COUNT] = {
        NULL,
        "invalid_argument",
        "not_found",
        "already_exists",
        "failed_precondition",
        "conflict",
        "forbidden",
};

static const char *const outcome_names[BG_OUTCOME__COUNT] = {
        "accepted", "rejected", "duplicate",
};

static const char *const credit_type_names[BG_CREDIT_TYPE__COUNT] = {
        NULL,
        "discount",
        "employee",
        "evaluation",
        "internal",
        "other",
        "outage",
        "partner",
        "promotion",
        "purchase",
        "referral",
        "sponsorship",
        "trial",
        "trial_over",
};

const char *bg_currency_name(bg_currency_t c) {
        return NAME_OF(currency_names, c);
}

bg_currency_t bg_currency_from_name(const char *s) {
        return (bg_currency_t)INDEX_OF(currency_names, s);
}

const char *bg_payment_method_name(bg_payment_method_t m) {
        return NAME_OF(payment_names, m);
}

bg_payment_method_t bg_payment_method_from_name(const char *s) {
        return (bg_payment_method_t)INDEX_OF(payment_names, s);
}

const char *bg_command_type_name(bg_command_type_t t) {
        return NAME_OF(command_names, t);
}

bg_command_type_t bg_command_type_from_name(const char *s) {
        return (bg_command_type_t)INDEX_OF(command_names, s);
}

const char *bg_event_type_name(bg_event_type_t t) {
        return NAME_OF(event_names, t);
}

bg_event_type_t bg_event_type_from_name(const char *s) {
        return (bg_event_type_t)INDEX_OF(event_names, s);
}

const char *bg_role_name(bg_role_t r) {
        return NAME_OF(role_names, r);
}

bg_role_t bg_role_from_name(const char *s) {
        return (bg_role_t)INDEX_OF(role_names, s);
}

const char *bg_reject_code_name(bg_reject_code_t c) {
        return NAME_OF(reject_names, c);
}

bg_reject_code_t bg_reject_code_from_name(const char *s) {
        return (bg_reject_code_t)INDEX_OF(reject_names, s);
}

const char *bg_outcome_name(bg_outcome_t o) {
        return NAME_OF(outcome_names, o);
}

bg_outcome_t bg_outcome_from_name(const char *s) {
        if (s == NULL)
                return BG_OUTCOME__COUNT;
        for (size_t i = 0; i < BG_OUTCOME__COUNT; i++)
                if (strcmp(outcome_names[i], s) == 0)
                        return (bg_outcome_t)i;
        return BG_OUTCOME__COUNT;
}

const char *bg_credit_type_name(bg_credit_type_t t) {
        return NAME_OF(credit_type_names, t);
}

bg_credit_type_t bg_credit_type_from_name(const char *s) {
        return (bg_credit_type_t)INDEX_OF(credit_type_names, s);
}
