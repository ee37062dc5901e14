-- The contract's tables, plus tumbler's own progress table.

-- One row per (window, category), updated in place as the window fills ("update mode").
-- Widened from the seed's DECIMAL(10,2)/INT so a busy minute cannot overflow.
CREATE TABLE IF NOT EXISTS category_sales (
  window_start      timestamptz   NOT NULL,
  window_end        timestamptz   NOT NULL,
  category          varchar(50)   NOT NULL,
  total_sales       numeric(18,2) NOT NULL,
  transaction_count bigint        NOT NULL,
  updated_at        timestamptz   NOT NULL DEFAULT now(),
  PRIMARY KEY (window_start, category)
);

-- Every record that was consumed but not counted, with its raw bytes and why.
CREATE TABLE IF NOT EXISTS rejected_events (
  topic           text        NOT NULL,
  partition       integer     NOT NULL,
  "offset"        bigint      NOT NULL,
  reason          text        NOT NULL,
  detail          text        NOT NULL,
  payload         bytea,
  kafka_timestamp timestamptz NOT NULL,
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition, "offset")
);

-- Per partition: where counting resumes, the watermark's input, and the owner's epoch.
-- next_offset moves in the same transaction as the category_sales deltas it covers, so
-- "resume from next_offset" after any failure counts every record exactly once.
-- epoch is bumped by each new owner; a commit carrying an older epoch is refused (fence).
CREATE TABLE IF NOT EXISTS tumbler_progress (
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  next_offset  bigint      NOT NULL,
  max_event_ms bigint,
  epoch        bigint      NOT NULL,
  owner        text        NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, partition)
);
