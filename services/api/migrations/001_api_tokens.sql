-- The API's own table (docs/api.md), in BILLING_API_SCHEMA: bearer tokens, stored as the
-- SHA-256 of the token text (the token itself is shown once, when issued, and never
-- stored). A token is scoped to one account, one user and one role; the role that counts
-- is the lower of this one and the user's current role in the account.
CREATE TABLE api_tokens (
        token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
        account_id   uuid NOT NULL,
        user_email   text NOT NULL,
        role         text NOT NULL CHECK (role IN ('admin', 'billing_admin', 'viewer')),
        description  text,
        created_by   text NOT NULL,
        created_at   timestamptz NOT NULL DEFAULT now(),
        revoked_at   timestamptz
);
CREATE INDEX api_tokens_account ON api_tokens (account_id);
