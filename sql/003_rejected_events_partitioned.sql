-- rejected_events, bounded (CONTRACT "Postgres"; issue 10 item 5):
-- * payload keeps at most REJECTED_PAYLOAD_MAX_BYTES of the value (capped by the supervisor,
--   not here), payload_bytes its full length, payload_sha256 the SHA-256 of the whole value
--   (bytea, 32 bytes: what Postgres' own sha256(bytea) returns). All three are null only for a
--   tombstone (a null value).
-- * Partitioned by UTC day of kafka_timestamp, so that retention drops whole days
--   (REJECTED_RETENTION_DAYS; src/postgres/rejected-retention.ts). The key includes the partition
--   column; a replay reads the same kafka_timestamp back, so ON CONFLICT DO NOTHING stays
--   idempotent. Daily partitions are named rejected_events_pYYYYMMDD and cover
--   [day 00:00 UTC, next day 00:00 UTC). rejected_events_default takes every row no daily
--   partition covers (far-past or far-future Kafka timestamps), so no insert ever fails.
--
-- Existing rows are moved over: rows keep their payload whole (the cap applies to new rows),
-- and get their length and hash. Days present from 366 days back (the longest retention) to 3
-- days ahead (as far as the supervisor creates partitions) get their own partition; the rest
-- go to the DEFAULT partition. The old table is locked by the rename for the migration's
-- transaction: supervisors of the previous version must be stopped first (their inserts name
-- the old key and would fail until they are).

ALTER TABLE rejected_events RENAME TO rejected_events_unpartitioned;
ALTER INDEX rejected_events_pkey RENAME TO rejected_events_unpartitioned_pkey;

CREATE TABLE rejected_events (
  topic           text        NOT NULL,
  partition       integer     NOT NULL,
  "offset"        bigint      NOT NULL,
  reason          text        NOT NULL,
  detail          text        NOT NULL,
  payload         bytea,
  payload_bytes   integer,
  payload_sha256  bytea,
  kafka_timestamp timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kafka_timestamp, topic, partition, "offset")
) PARTITION BY RANGE (kafka_timestamp);

CREATE TABLE rejected_events_default PARTITION OF rejected_events DEFAULT;

-- Hours, not days: interval arithmetic on timestamptz in days follows the session's zone (DST).
DO $$
DECLARE
  today timestamptz := date_trunc('day', now(), 'UTC');
  day   timestamptz;
BEGIN
  FOR day IN
    SELECT DISTINCT date_trunc('day', kafka_timestamp, 'UTC') FROM rejected_events_unpartitioned
     WHERE kafka_timestamp >= today - 366 * interval '24 hours' AND kafka_timestamp < today + 4 * interval '24 hours'
  LOOP
    EXECUTE format('CREATE TABLE %I PARTITION OF rejected_events FOR VALUES FROM (%L) TO (%L)',
                   'rejected_events_p' || to_char(day AT TIME ZONE 'UTC', 'YYYYMMDD'), day, day + interval '24 hours');
  END LOOP;
END $$;

INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp, recorded_at)
SELECT topic, partition, "offset", reason, detail, payload, octet_length(payload), sha256(payload), kafka_timestamp, recorded_at
  FROM rejected_events_unpartitioned;

DROP TABLE rejected_events_unpartitioned;
