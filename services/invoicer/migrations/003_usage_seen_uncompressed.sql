-- A block's ids are stored out of line and never compressed. The usage ids are random and
-- only the timestamps repeat, so pglz found just enough matches to keep trying on the
-- whole 1.2 MB of a 50,000-record block, spent ~40-50 ms doing it, and saved nothing:
-- that was most of PostgreSQL's share of a batch, and the committer thread was the
-- invoicer's bottleneck (docs/invoicer.md, "Performance"). Only new rows are affected.
ALTER TABLE usage_seen_blocks ALTER COLUMN ids SET STORAGE EXTERNAL;
