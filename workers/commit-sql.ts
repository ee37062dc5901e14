import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { CommittedRow } from '../src/shared/protocol.js'
import type { CommitPlan, PartitionRun } from './commit-plan.js'

// The writer's data statements, each run inside the commit transaction of workers/writer.ts:
// staging the flushes' rows by COPY, the upsert into category_sales and the insert into
// rejected_events. Staged rows carry their (partition, epoch); the final statements take only
// those of the runs the fence accepted.

/**
 * The connection's staging tables (connection-lifetime temp tables, emptied at each commit) and
 * session settings; run once per connection. The timeout ends a session that holds the topic's
 * lock and stopped talking (a frozen writer, a zombie supervisor), so other writers go on.
 */
export const STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS stage_sales (partition integer, epoch bigint, window_start_ms bigint, category text, cents numeric, cnt bigint) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_rejected (partition integer, epoch bigint, "offset" bigint, reason text, detail text, payload bytea, payload_bytes integer, payload_sha256 bytea, kafka_timestamp_ms bigint) ON COMMIT DELETE ROWS;
  SET idle_in_transaction_session_timeout = '15s';`

/** From this many (window, category) rows on, the upsert goes through COPY. */
export const COPY_ROWS = 1000

/**
 * COPYs every run's deltas (unmerged) into stage_sales if they are COPY_ROWS or more; returns
 * whether it did (upsertSales then reads them from there). Fewer go as arrays in the upsert.
 */
export async function stageSales(c: pg.ClientBase, runs: PartitionRun[]): Promise<boolean> {
  const deltaRows = runs.reduce((n, g) => n + g.flushes.reduce((m, f) => m + f.deltas.length, 0), 0)
  if (deltaRows < COPY_ROWS) return false
  await copyRows(
    c,
    'COPY stage_sales (partition, epoch, window_start_ms, category, cents, cnt) FROM STDIN',
    runs.flatMap((g) =>
      g.flushes.flatMap((f) =>
        f.deltas.map((d) => `${g.partition}\t${g.epoch}\t${d.windowStartMs}\t${copyText(d.category)}\t${d.cents}\t${d.count}\n`),
      ),
    ),
  )
  return true
}

/** COPYs every run's rejected records into stage_rejected (nothing if there are none). */
export async function stageRejected(c: pg.ClientBase, runs: PartitionRun[]): Promise<void> {
  const lines = runs.flatMap((g) =>
    g.flushes.flatMap((f) =>
      f.rejected.map(
        (r) =>
          `${g.partition}\t${g.epoch}\t${r.offset}\t${r.reason}\t${copyText(r.detail)}\t${copyBytea(r.payload)}\t${r.payloadBytes ?? '\\N'}\t${copyBytea(r.payloadSha256)}\t${Math.trunc(r.kafkaTimestampMs)}\n`,
      ),
    ),
  )
  if (lines.length === 0) return
  await copyRows(
    c,
    'COPY stage_rejected (partition, epoch, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp_ms) FROM STDIN',
    lines,
  )
}

/**
 * Adds the plan's merged deltas to category_sales (insert or add to the row; `windowMs` gives
 * window_end) and returns every touched row's new totals. `staged`: the deltas are in
 * stage_sales (stageSales), so the accepted runs' rows are summed from there.
 */
export async function upsertSales(c: pg.ClientBase, plan: CommitPlan, windowMs: number, staged: boolean): Promise<CommittedRow[]> {
  if (plan.sales.length === 0) return []
  // bench/upsert.ts: a multi-row INSERT over unnest() arrays takes half the time of COPY +
  // INSERT…SELECT for the usual few dozen rows; COPY wins from about a thousand rows on.
  let source = `(SELECT window_start_ms, category, sum(cents) AS cents, sum(cnt) AS cnt FROM stage_sales
                  WHERE (partition, epoch) IN (SELECT * FROM unnest($2::int[], $3::bigint[])) GROUP BY 1, 2) AS s`
  let params: unknown[] = [windowMs, plan.accepted.map((g) => g.partition), plan.accepted.map((g) => g.epoch)]
  if (!staged) {
    source = 'unnest($2::bigint[], $3::text[], $4::numeric[], $5::bigint[]) AS v(window_start_ms, category, cents, cnt)'
    params = [
      windowMs,
      plan.sales.map((s) => s.windowStartMs),
      plan.sales.map((s) => s.category),
      plan.sales.map((s) => s.cents.toString()),
      plan.sales.map((s) => s.count),
    ]
  }
  const res = await c.query<{ window_start_ms: string; category: string; total_sales: string; transaction_count: string }>(
    `INSERT INTO category_sales AS c (window_start, window_end, category, total_sales, transaction_count, updated_at)
     SELECT 'epoch'::timestamptz + window_start_ms * interval '1 millisecond',
            'epoch'::timestamptz + (window_start_ms + $1::bigint) * interval '1 millisecond',
            category, cents / 100, cnt, now()
       FROM ${source} ORDER BY window_start_ms, category
     ON CONFLICT (window_start, category) DO UPDATE SET
       total_sales = c.total_sales + EXCLUDED.total_sales,
       transaction_count = c.transaction_count + EXCLUDED.transaction_count,
       updated_at = EXCLUDED.updated_at
     RETURNING (extract(epoch FROM window_start) * 1000)::bigint AS window_start_ms, category, total_sales::text, transaction_count`,
    params,
  )
  return res.rows.map((r) => ({
    windowStartMs: Number(r.window_start_ms),
    category: r.category,
    totalSales: r.total_sales,
    transactionCount: r.transaction_count,
  }))
}

/** Moves the accepted runs' staged rejected records (stageRejected) into rejected_events; `rejected` is how many there are. */
export async function insertRejected(c: pg.ClientBase, topic: string, accepted: PartitionRun[], rejected: number): Promise<void> {
  if (rejected === 0) return
  await c.query(
    // Routed to the day's partition of rejected_events (or its DEFAULT partition); the key
    // holds kafka_timestamp, which a replay reads back unchanged, so DO NOTHING stays idempotent.
    `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp)
     SELECT $1, partition, "offset", reason, detail, payload, payload_bytes, payload_sha256, 'epoch'::timestamptz + kafka_timestamp_ms * interval '1 millisecond' FROM stage_rejected
      WHERE (partition, epoch) IN (SELECT * FROM unnest($2::int[], $3::bigint[]))
     ON CONFLICT (kafka_timestamp, topic, partition, "offset") DO NOTHING`,
    [topic, accepted.map((g) => g.partition), accepted.map((g) => g.epoch)],
  )
}

async function copyRows(c: pg.ClientBase, sql: string, lines: string[]): Promise<void> {
  await pipeline(Readable.from(chunk(lines)), c.query(copyFrom(sql)))
}

/**
 * Joins lines into pieces of about `budget` characters. Not a fixed number of lines: a
 * rejected 1 MB record is a 2 MB line (hex), and 1000 of them would pass V8's string
 * limit (~512 MB), failing every retry of the commit.
 */
function* chunk(lines: string[], budget = 1 << 20): Generator<string> {
  let parts: string[] = []
  let size = 0
  for (const line of lines) {
    parts.push(line)
    size += line.length
    if (size >= budget) {
      yield parts.join('')
      parts = []
      size = 0
    }
  }
  if (parts.length) yield parts.join('')
}

/** Bytes as a COPY text-format bytea (hex), or COPY's null. */
function copyBytea(bytes: Uint8Array | null): string {
  return bytes ? '\\\\x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : '\\N'
}

/** Escapes a value for COPY's text format. */
function copyText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'))
}
