-- The projector's read models (docs/read-models.md). Applied with search_path set to the
-- target schema (BILLING_PG_SCHEMA, or the rebuild schema): names are unqualified.
-- Every column is derived from events only (never now()), so that a replay from offset 0
-- builds identical tables. Money is bigint micros; times are timestamptz (UTC).
-- No foreign keys: the projector is the only writer and loads rows in bulk, in whatever
-- order a batch needs; the log is the source of truth.

CREATE TABLE accounts (
        account_id               uuid PRIMARY KEY,
        name                     text NOT NULL,
        owner                    text NOT NULL,
        primary_billing_group_id uuid,
        created_at               timestamptz NOT NULL
);

CREATE TABLE account_members (
        account_id  uuid NOT NULL,
        user_email  text NOT NULL,
        role        text NOT NULL CHECK (role IN ('admin', 'billing_admin', 'viewer')),
        granted_at  timestamptz NOT NULL
);
-- E-mails identify members case-insensitively (the domain's rule); the spelling of the
-- grant that made the user a member is kept.
CREATE UNIQUE INDEX account_members_key ON account_members (account_id, lower(user_email));

CREATE TABLE billing_groups (
        billing_group_id       uuid PRIMARY KEY,
        account_id             uuid NOT NULL,
        name                   text NOT NULL,
        status                 text NOT NULL CHECK (status IN ('active', 'deleted')),
        billing_currency       text NOT NULL,
        payment_method         text NOT NULL,
        billing_emails         text[] NOT NULL,
        billing_contact_emails text[] NOT NULL,
        billing_extra_text     text,
        card_id                text,
        company                text,
        address_lines          text[] NOT NULL,
        city                   text,
        state                  text,
        zip_code               text,
        country_code           text,
        vat_id                 text,
        copied_from            uuid,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        deleted_at             timestamptz
) WITH (fillfactor = 80);
CREATE INDEX billing_groups_account ON billing_groups (account_id);

CREATE TABLE projects (
        project_id       uuid PRIMARY KEY,
        account_id       uuid NOT NULL,
        name             text NOT NULL,
        billing_group_id uuid NOT NULL,
        status           text NOT NULL CHECK (status IN ('active', 'deleted')),
        created_at       timestamptz NOT NULL,
        updated_at       timestamptz NOT NULL,
        deleted_at       timestamptz
) WITH (fillfactor = 80);
-- Moves only change unindexed columns, so they are HOT updates (fillfactor leaves room).
-- A group's projects: WHERE account_id = <the group's account> AND billing_group_id = $1.
CREATE INDEX projects_account ON projects (account_id);

CREATE TABLE project_moves (
        account_id            uuid NOT NULL,
        seq                   bigint NOT NULL,
        project_id            uuid NOT NULL,
        from_billing_group_id uuid NOT NULL,
        to_billing_group_id   uuid NOT NULL,
        moved_at              timestamptz NOT NULL,
        actor                 text NOT NULL,
        PRIMARY KEY (account_id, seq)
);
-- A project's history: WHERE account_id = <its account> AND project_id = $1 ORDER BY seq.

CREATE TABLE credits (
        account_id       uuid NOT NULL,
        code             text NOT NULL,
        credit_type      text NOT NULL,
        currency         text NOT NULL,
        value_micros     bigint NOT NULL,
        remaining_micros bigint NOT NULL,
        start_time       timestamptz NOT NULL,
        expire_time      timestamptz,
        issued_at        timestamptz NOT NULL,
        billing_group_id uuid,
        project_id       uuid,
        claimed_at       timestamptz,
        PRIMARY KEY (account_id, code)
) WITH (fillfactor = 90);
CREATE INDEX credits_billing_group ON credits (billing_group_id) WHERE billing_group_id IS NOT NULL;

CREATE TABLE audit_log (
        account_id                uuid NOT NULL,
        seq                       bigint NOT NULL,
        log_entry_id              uuid NOT NULL,        -- the event_id (unique by construction)
        time                      timestamptz NOT NULL,
        actor                     text NOT NULL,
        event_type                text NOT NULL,
        event_desc                text NOT NULL,
        billing_group_id          uuid,
        previous_billing_group_id uuid,
        project_id                uuid,
        project_name              text,
        command_id                uuid NOT NULL,
        PRIMARY KEY (account_id, seq)
);
CREATE INDEX audit_log_billing_group ON audit_log (billing_group_id, time)
        WHERE billing_group_id IS NOT NULL;
CREATE INDEX audit_log_previous_billing_group ON audit_log (previous_billing_group_id, time)
        WHERE previous_billing_group_id IS NOT NULL;

CREATE TABLE account_seq (
        account_id uuid PRIMARY KEY,
        seq        bigint NOT NULL,
        last_hash  bytea NOT NULL,
        updated_at timestamptz NOT NULL
);

CREATE TABLE kafka_offsets (
        topic       text NOT NULL,
        partition   integer NOT NULL,
        next_offset bigint NOT NULL,
        PRIMARY KEY (topic, partition)
);
