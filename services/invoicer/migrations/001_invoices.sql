-- The invoicer's tables (docs/invoicer.md). Applied with search_path set to the
-- invoicer's schema (BILLING_INVOICER_SCHEMA): names are unqualified. Money and
-- quantities are bigint micros; times are timestamptz (UTC). The invoicer is the only
-- writer (one instance per schema, under an advisory lock).

-- One row per (billing group, month). While state = 'estimate' total_vat_zero is the
-- accumulated cost (exact micros, unrounded) and total_inc_vat is null; finalization
-- sets both (at the minor unit), the dates, revision 1 and state 'due', and the row and
-- its lines never change again.
CREATE TABLE invoices (
        invoice_number     text PRIMARY KEY,
        billing_group_id   uuid NOT NULL,
        account_id         uuid NOT NULL,
        billing_group_name text NOT NULL,
        currency           text NOT NULL,
        period_begin       timestamptz NOT NULL,
        period_end         timestamptz NOT NULL,
        state              text NOT NULL CHECK (state IN ('estimate', 'due')),
        total_vat_zero     bigint NOT NULL DEFAULT 0,
        total_inc_vat      bigint,
        vat_percent        bigint,              -- micros of a percent: 25.5 % = 25500000
        country_code       text,
        issue_date         timestamptz,
        due_date           timestamptz,
        revision           bigint NOT NULL DEFAULT 0,
        finalized_at       timestamptz,         -- the invoicer's clock when it finalized
        UNIQUE (billing_group_id, period_begin)
);
CREATE INDEX invoices_open ON invoices (period_end) WHERE state = 'estimate';

-- line_key identifies a line within its invoice:
--   usage lines   "<project id>/<line type>/<late period YYYYMM or ->/<service name>"
--   credits       "credit/<code>"
--   rounding      "rounding"
-- amount is the exact sum (micros); line_total is null while the invoice is an estimate
-- and the amount rounded to the minor unit once final (credits: minus what was used).
CREATE TABLE invoice_lines (
        invoice_number    text NOT NULL,
        line_key          text NOT NULL,
        line_type         text NOT NULL,
        sort_group        int NOT NULL DEFAULT 0,  -- 0 charges, 1 credits, 2 rounding
        description       text NOT NULL,
        project_id        uuid,
        project_name      text,
        service_name      text,
        service_type      text,
        service_plan      text,
        unit              text,
        quantity          bigint NOT NULL DEFAULT 0,
        amount            bigint NOT NULL,
        line_total        bigint,
        timestamp_begin   timestamptz,
        timestamp_end     timestamptz,
        late_period_begin timestamptz,          -- extra_charge: the finalized period
        credit_code       text,
        usage_records     bigint NOT NULL DEFAULT 0,
        tags              jsonb NOT NULL DEFAULT '{}',
        PRIMARY KEY (invoice_number, line_key)
);

-- Credits the invoicer has applied: value from the log, remaining after every final
-- invoice that used it.
CREATE TABLE credits (
        account_id       uuid NOT NULL,
        code             text NOT NULL,
        billing_group_id uuid NOT NULL,
        project_id       uuid,
        value            bigint NOT NULL,
        remaining        bigint NOT NULL CHECK (remaining >= 0),
        PRIMARY KEY (account_id, code)
);

-- Usage ids billed, with the record's timestamp_begin (ms since the epoch): the
-- de-duplication set, loaded at start; rows older than the window are pruned. The
-- in-memory set is authoritative (one writer), so no unique index is paid for on every
-- insert; rows arrive in binary COPY (the hot path: one row per record); BRIN keeps
-- pruning cheap.
CREATE TABLE usage_seen (
        usage_id uuid NOT NULL,
        ts_ms    bigint NOT NULL
);
CREATE INDEX usage_seen_time ON usage_seen USING brin (ts_ms);

-- Usage records waiting for their project to appear in billing.events (the raw message,
-- so nothing is lost when the consumed offsets move past them).
CREATE TABLE held_usage (
        usage_id     uuid PRIMARY KEY,
        project_id   uuid NOT NULL,
        source_partition int NOT NULL,
        source_offset    bigint NOT NULL,
        held_at      timestamptz NOT NULL,      -- the invoicer's clock
        payload      bytea NOT NULL
);

-- Next offset to consume per input partition, written in the transaction of the rows the
-- records changed.
CREATE TABLE consumer_offsets (
        topic       text NOT NULL,
        partition   int NOT NULL,
        next_offset bigint NOT NULL,
        PRIMARY KEY (topic, partition)
);

-- Final invoices to publish to billing.invoices; written in the finalizing transaction.
-- published turns true once a Kafka transaction carrying the record committed.
CREATE TABLE invoice_outbox (
        outbox_id      bigserial PRIMARY KEY,
        invoice_number text NOT NULL,
        revision       bigint NOT NULL,
        payload        bytea NOT NULL,
        published      boolean NOT NULL DEFAULT false,
        UNIQUE (invoice_number, revision)
);
CREATE INDEX invoice_outbox_pending ON invoice_outbox (outbox_id) WHERE NOT published;
