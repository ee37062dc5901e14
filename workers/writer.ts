import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as delay } from 'node:timers/promises'
import { workerData } from 'node:worker_threads'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { backoffMs, type BackoffPolicy } from '../src/backoff.js'
import { log } from '../src/log.js'
import { ThreadCounter, type CommitResult, type CommitTask, type CommittedPartition, type CommittedRow, type PartitionFlush, type RejectedRecord } from '../src/protocol.js'
import { faultCounter } from './faults.js'
import { countInThread, reportThreadStats } from '../src/thread-stats.js'

// The batching writer: turns the flushes of all actors into ONE Postgres transaction that
// adds their deltas to category_sales, stores their rejected records and moves their
// partitions' next_offset, behind the epoch/offset fence. Runs alone in its own
// single-thread piscina pool, so commits never overlap.

export interface WriterData {
  databaseUrl: string
  windowMs: number
  faults: string
  /** One Int32 shared with the supervisor: set once the injected fault has fired. */
  faultFired: SharedArrayBuffer
}

const data = workerData as WriterData
const fault = faultCounter(data.faults, 'writer', new Int32Array(data.faultFired))
reportThreadStats('writer')

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

const STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS stage_sales (partition integer, epoch bigint, window_start_ms bigint, category text, cents numeric, cnt bigint) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_rejected (partition integer, epoch bigint, "offset" bigint, reason text, detail text, payload bytea, kafka_timestamp_ms bigint) ON COMMIT DELETE ROWS;
  SET idle_in_transaction_session_timeout = '15s';`

/** From this many (window, category) rows on, the upsert goes through COPY. */
const COPY_ROWS = 1000

let client: pg.Client | null = null

async function connection(): Promise<pg.Client> {
  if (client) return client
  const c = new pg.Client({ connectionString: data.databaseUrl, application_name: 'tumbler-writer' })
  c.on('error', () => {}) // a dead connection surfaces on the next query; that path resets it
  await c.connect()
  await c.query(STAGING)
  client = c
  return c
}

function dropConnection(): void {
  client?.end().catch(() => {})
  client = null
}

/** A failed commit is tried again after 100 ms, doubling to 5 s. */
const COMMIT_RETRY: BackoffPolicy = { initialMs: 100, maxMs: 5000 }

export default async function commit(task: CommitTask): Promise<CommitResult> {
  const started = Date.now()
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await commitOnce(task)
      return { ...result, attempts: attempt, durationMs: Date.now() - started, committedAtMs: Date.now() }
    } catch (err) {
      // Postgres away, slow, deadlocked: roll back and retry the same work; the caller's
      // in-flight bound pauses the consumer meanwhile. An unknown outcome (connection lost
      // during COMMIT) is safe to retry: if it did commit, the fence refuses the repeat.
      const waitMs = backoffMs(attempt, COMMIT_RETRY)
      log.warn('commit failed, retrying', { attempt, backoffMs: waitMs, error: err as Error })
      countInThread(ThreadCounter.TRANSACTION_RETRIES)
      if (client) await client.query('ROLLBACK').catch(dropConnection)
      await delay(waitMs)
    }
  }
}

interface Group {
  partition: number
  epoch: string
  fromOffset: string
  nextOffset: string
  maxEventMs: number | null
  flushes: PartitionFlush[]
}

/** Chains the consecutive flushes of one (partition, epoch). */
function groupFlushes(flushes: PartitionFlush[]): Group[] {
  const groups = new Map<string, Group>()
  for (const f of flushes) {
    const key = `${f.partition}:${f.epoch}`
    const g = groups.get(key)
    if (!g) {
      groups.set(key, { partition: f.partition, epoch: f.epoch, fromOffset: f.fromOffset, nextOffset: f.nextOffset, maxEventMs: f.maxEventMs, flushes: [f] })
      continue
    }
    if (g.nextOffset !== f.fromOffset) throw new Error(`flushes of partition ${f.partition} do not chain: ${g.nextOffset} then ${f.fromOffset}`)
    g.nextOffset = f.nextOffset
    if (f.maxEventMs !== null && (g.maxEventMs === null || f.maxEventMs > g.maxEventMs)) g.maxEventMs = f.maxEventMs
    g.flushes.push(f)
  }
  return [...groups.values()].sort((a, b) => a.partition - b.partition)
}

async function commitOnce(task: CommitTask): Promise<Omit<CommitResult, 'attempts' | 'durationMs' | 'committedAtMs'>> {
  const c = await connection()
  const groups = groupFlushes(task.flushes)
  await c.query('BEGIN')
  // COPY first, before any lock: a writer frozen (SIGSTOP, VM pause) or cut off in the
  // middle of a COPY leaves its session waiting for data, which neither
  // idle_in_transaction_session_timeout nor statement_timeout ends, so it must not hold
  // locks that other supervisors wait for. Staged rows carry their (partition, epoch);
  // the fence below decides which of them are used.
  const deltaRows = groups.reduce((n, g) => n + g.flushes.reduce((m, f) => m + f.deltas.length, 0), 0)
  const copySales = deltaRows >= COPY_ROWS
  if (copySales) {
    await copyRows(
      c,
      'COPY stage_sales (partition, epoch, window_start_ms, category, cents, cnt) FROM STDIN',
      groups.flatMap((g) => g.flushes.flatMap((f) => f.deltas.map((d) => `${g.partition}\t${g.epoch}\t${d.windowStartMs}\t${copyText(d.category)}\t${d.cents}\t${d.count}\n`))),
    )
  }
  const rejectedLines = groups.flatMap((g) =>
    g.flushes.flatMap((f) =>
      f.rejected.map((r) => `${g.partition}\t${g.epoch}\t${r.offset}\t${r.reason}\t${copyText(r.detail)}\t${r.payload ? '\\\\x' + Buffer.from(r.payload.buffer, r.payload.byteOffset, r.payload.byteLength).toString('hex') : '\\N'}\t${Math.trunc(r.kafkaTimestampMs)}\n`),
    ),
  )
  if (rejectedLines.length > 0) await copyRows(c, 'COPY stage_rejected (partition, epoch, "offset", reason, detail, payload, kafka_timestamp_ms) FROM STDIN', rejectedLines)
  // Lock the progress rows in partition order (no deadlock between writers), then fence.
  const { rows: progress } = await c.query<{ partition: number; epoch: string; next_offset: string }>(
    'SELECT partition, epoch, next_offset FROM tumbler_progress WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE',
    [task.topic, [...new Set(groups.map((g) => g.partition))]],
  )
  const stored = new Map(progress.map((r) => [r.partition, r]))
  const accepted: Group[] = []
  const fenced: CommitResult['fenced'] = []
  for (const g of groups) {
    const row = stored.get(g.partition)
    if (!row) fenced.push({ partition: g.partition, epoch: g.epoch, reason: 'partition was never claimed' })
    else if (row.epoch !== g.epoch) fenced.push({ partition: g.partition, epoch: g.epoch, reason: `stale epoch ${g.epoch}, owner holds ${row.epoch}` })
    else if (row.next_offset !== g.fromOffset) fenced.push({ partition: g.partition, epoch: g.epoch, reason: `flush starts at ${g.fromOffset}, stored next offset is ${row.next_offset}` })
    else accepted.push(g)
  }

  const sums = new Map<string, { windowStartMs: number; category: string; cents: bigint; count: number }>()
  const rejected: { partition: number; r: RejectedRecord }[] = []
  const rejectedByReason: CommitResult['rejectedByReason'] = {}
  const appendTimes = new Map<number, number>()
  let counted = 0
  for (const g of accepted) {
    for (const f of g.flushes) {
      for (const [ms, n] of f.appendTimes) appendTimes.set(ms, (appendTimes.get(ms) ?? 0) + n)
      for (const d of f.deltas) {
        const key = `${d.windowStartMs}\u0000${d.category}`
        const s = sums.get(key)
        if (s) {
          s.cents += BigInt(d.cents)
          s.count += d.count
        } else sums.set(key, { windowStartMs: d.windowStartMs, category: d.category, cents: BigInt(d.cents), count: d.count })
        counted += d.count
      }
      for (const r of f.rejected) {
        rejected.push({ partition: g.partition, r })
        rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1
      }
    }
  }

  let rows: CommittedRow[] = []
  if (sums.size > 0) {
    // Sorted so that concurrent writers (other supervisors) lock rows in one order.
    const sorted = [...sums.values()].sort((a, b) => a.windowStartMs - b.windowStartMs || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
    // bench/upsert.ts: a multi-row INSERT over unnest() arrays takes half the time of COPY +
    // INSERT…SELECT for the usual few dozen rows; COPY wins from about a thousand rows on.
    let source = `(SELECT window_start_ms, category, sum(cents) AS cents, sum(cnt) AS cnt FROM stage_sales
                    WHERE (partition, epoch) IN (SELECT * FROM unnest($2::int[], $3::bigint[])) GROUP BY 1, 2) AS s`
    let params: unknown[] = [data.windowMs, accepted.map((g) => g.partition), accepted.map((g) => g.epoch)]
    if (!copySales) {
      source = 'unnest($2::bigint[], $3::text[], $4::numeric[], $5::bigint[]) AS v(window_start_ms, category, cents, cnt)'
      params = [data.windowMs, sorted.map((s) => s.windowStartMs), sorted.map((s) => s.category), sorted.map((s) => s.cents.toString()), sorted.map((s) => s.count)]
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
    rows = res.rows.map((r) => ({ windowStartMs: Number(r.window_start_ms), category: r.category, totalSales: r.total_sales, transactionCount: r.transaction_count }))
  }
  if (rejected.length > 0) {
    await c.query(
      `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, kafka_timestamp)
       SELECT $1, partition, "offset", reason, detail, payload, 'epoch'::timestamptz + kafka_timestamp_ms * interval '1 millisecond' FROM stage_rejected
        WHERE (partition, epoch) IN (SELECT * FROM unnest($2::int[], $3::bigint[]))
       ON CONFLICT (topic, partition, "offset") DO NOTHING`,
      [task.topic, accepted.map((g) => g.partition), accepted.map((g) => g.epoch)],
    )
  }
  if (accepted.length > 0) {
    await c.query(
      `UPDATE tumbler_progress p SET next_offset = v.next_offset, max_event_ms = v.max_event_ms, updated_at = now()
         FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition, next_offset, max_event_ms)
        WHERE p.topic = $1 AND p.partition = v.partition`,
      [task.topic, accepted.map((g) => g.partition), accepted.map((g) => g.nextOffset), accepted.map((g) => (g.maxEventMs === null ? null : String(g.maxEventMs)))],
    )
  }
  await c.query('COMMIT')
  fault('commit') // test hook: dying here leaves the main thread not knowing the outcome
  const committed: CommittedPartition[] = accepted.map((g) => ({ partition: g.partition, epoch: g.epoch, nextOffset: g.nextOffset, maxEventMs: g.maxEventMs }))
  return { committed, fenced, rows, rejected: rejected.length, rejectedByReason, counted, appendTimes: [...appendTimes] }
}

async function copyRows(c: pg.Client, sql: string, lines: string[]): Promise<void> {
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

/** Escapes a value for COPY's text format. */
function copyText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'))
}
