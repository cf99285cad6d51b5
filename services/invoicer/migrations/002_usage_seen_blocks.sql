-- The billed usage ids, one row per committed batch instead of one per record: the row
-- per record made PostgreSQL's share of a batch (a binary COPY of 50,000 rows) cost about a
-- third of a core at 550,000 records/s. The invoicer only ever writes them in batches,
-- reads them all back at start, and prunes them by time (docs/invoicer.md,
-- "De-duplication").
CREATE TABLE usage_seen_blocks (
        block_id bigserial PRIMARY KEY,
        min_ts   bigint NOT NULL,       -- the smallest and largest timestamp_begin (ms)
        max_ts   bigint NOT NULL,
        n        int NOT NULL CHECK (n > 0),
        ids      bytea NOT NULL CHECK (length(ids) = 24 * n)
                 -- n x (16-byte usage id, 8-byte big-endian timestamp_begin ms)
);
CREATE INDEX usage_seen_blocks_max_ts ON usage_seen_blocks (max_ts);

-- The old rows, oldest first, in blocks of 50,000 (one bytea stays small, and the old
-- blocks can be pruned as time passes).
INSERT INTO usage_seen_blocks (min_ts, max_ts, n, ids)
SELECT min(ts_ms), max(ts_ms), count(*)::int,
       string_agg(uuid_send(usage_id) || int8send(ts_ms), ''::bytea ORDER BY k)
FROM (SELECT usage_id, ts_ms, row_number() OVER (ORDER BY ts_ms, usage_id) - 1 AS k
      FROM usage_seen) r
GROUP BY k / 50000;
DROP TABLE usage_seen;

-- For people and tools: one row per billed id, as the table was ("was this record
-- billed?": SELECT ... FROM usage_seen WHERE usage_id = '...').
CREATE VIEW usage_seen AS
SELECT encode(substring(b.ids FROM i * 24 + 1 FOR 16), 'hex')::uuid AS usage_id,
       ('x' || encode(substring(b.ids FROM i * 24 + 17 FOR 8), 'hex'))::bit(64)::bigint
               AS ts_ms
FROM usage_seen_blocks b, generate_series(0, b.n - 1) AS i;
