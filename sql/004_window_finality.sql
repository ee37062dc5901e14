-- Window finality (CONTRACT "Window semantics"; issue 12).

-- Set, in the writer's transaction, on every row whose window end is at or before the
-- topic's new low watermark; a row never changes once it is set. Null while the window is open.
ALTER TABLE category_sales ADD COLUMN IF NOT EXISTS closed_at timestamptz;

-- The closing step looks for open rows below the low watermark: only the open rows (the last
-- few windows) are in this index, so it stays small however long the table grows.
CREATE INDEX IF NOT EXISTS category_sales_open_by_end ON category_sales (window_end) WHERE closed_at IS NULL;

-- An idle partition's watermark, raised by an idle advance (or, for a partition first claimed
-- after windows became final, the topic's low watermark at that claim). The partition's
-- watermark is GREATEST(max_event_ms - LATENESS, idle_watermark_ms); it never moves back.
-- idle_from_offset: the next_offset at which the owner last reported the partition idle; the
-- raise applies to the records from that offset on, and the partition counts as idle while
-- next_offset still equals it.
ALTER TABLE tumbler_progress
  ADD COLUMN IF NOT EXISTS idle_watermark_ms bigint,
  ADD COLUMN IF NOT EXISTS idle_from_offset  bigint;

-- Per topic: the low watermark the last closing step committed (minimum over the topic's
-- partitions of their watermarks; no row, or null, until every partition has one). The
-- writers of a topic serialise on an advisory lock (workers/writer.ts), so each computes the
-- low watermark and the idle advances from what the others committed.
CREATE TABLE IF NOT EXISTS tumbler_topics (
  topic            text        PRIMARY KEY,
  low_watermark_ms bigint,
  updated_at       timestamptz NOT NULL DEFAULT now()
);
