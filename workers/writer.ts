import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { workerData } from 'node:worker_threads'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { log } from '../src/shared/log.js'
import { pgErrorKind, sqlState } from '../src/shared/pg-errors.js'
import {
  ThreadCounter,
  type AdvancedPartition,
  type CommitResult,
  type CommitTask,
  type CommittedPartition,
  type CommittedRow,
  type PartitionFailure,
  type PartitionFlush,
  type RejectedRecord,
  type RejectReason,
  type WriterData,
} from '../src/shared/protocol.js'
import { retry } from '../src/shared/retry.js'
import { faultCounter } from '../src/shared/faults.js'
import { idleAdvances, lowWatermark, type PartitionProgress } from './finality.js'
import { countInThread, reportThreadStats } from '../src/shared/thread-stats.js'

// The batching writer: turns the flushes of all actors into ONE Postgres transaction that
// adds their deltas to category_sales, stores their rejected records and moves their
// partitions' next_offset, behind the epoch/offset fence; then, in the same transaction,
// applies idle advances and closes the windows the topic's new low watermark passed
// (closed_at, NOTIFY tumbler_windows_closed). Runs alone in its own single-thread piscina
// pool, so commits never overlap. A transaction Postgres refuses for good (a data exception
// or constraint violation) is not retried: the partitions it refuses are found and reported
// failed, and the others are committed.

/** The channel of the NOTIFY sent by a transaction that closed windows (CONTRACT "Window semantics"). */
export const WINDOWS_CLOSED_CHANNEL = 'tumbler_windows_closed'

const data = workerData as WriterData
const fault = faultCounter(data.faults, 'writer', new Int32Array(data.faultFired))
reportThreadStats('writer')

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

const STAGING = `
  CREATE TEMP TABLE IF NOT EXISTS stage_sales (partition integer, epoch bigint, window_start_ms bigint, category text, cents numeric, cnt bigint) ON COMMIT DELETE ROWS;
  CREATE TEMP TABLE IF NOT EXISTS stage_rejected (partition integer, epoch bigint, "offset" bigint, reason text, detail text, payload bytea, payload_bytes integer, payload_sha256 bytea, kafka_timestamp_ms bigint) ON COMMIT DELETE ROWS;
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

/** Waits between attempts of a transaction Postgres refused for a transient reason. */
const COMMIT_BACKOFF = { baseMs: 100, maxMs: 5000 }

type Committed = Omit<CommitResult, 'attempts' | 'durationMs' | 'committedAtMs'>

/** The COMMIT task: see the header comment; never rejects for a Postgres error (transient: retried; deterministic: CommitResult.failed). */
export default async function commit(task: CommitTask): Promise<CommitResult> {
  const started = Date.now()
  let attempts = 0
  // Postgres away, slow, deadlocked: the same work is retried after a rollback; the caller's
  // in-flight bound pauses the consumer meanwhile. An unknown outcome (connection lost during
  // COMMIT) is safe to retry: if it did commit, the fence refuses the repeat. A deterministic
  // refusal (src/shared/pg-errors.ts) ends the loop at once.
  const attempt = async (flushes: PartitionFlush[]): Promise<Committed> => {
    const { value } = await retry(
      () => {
        attempts++
        return commitOnce(task, flushes)
      },
      {
        ...COMMIT_BACKOFF,
        retryable: (err) => pgErrorKind(err) === 'transient',
        onRetry: (err, attempt, backoffMs) => {
          log.warn('commit failed, retrying', { attempt, backoffMs, sqlstate: sqlState(err), error: err as Error })
          countInThread(ThreadCounter.TRANSACTION_RETRIES)
        },
      },
    )
    return value
  }
  let result: Committed
  try {
    result = await attempt(task.flushes)
  } catch (err) {
    result = await isolate(task.flushes, err, attempt)
  }
  return { ...result, attempts, durationMs: Date.now() - started, committedAtMs: Date.now() }
}

/**
 * Postgres refused the transaction of all these flushes for a reason that does not go away.
 * One transaction per partition then finds the partitions it refuses (a CHECK or trigger on
 * one category, a total one partition's delta pushes past the column): those are reported
 * as failed, the others are committed. Each partition is tried once more here, never in a loop.
 */
async function isolate(
  flushes: PartitionFlush[],
  refusal: unknown,
  attempt: (flushes: PartitionFlush[]) => Promise<Committed>,
): Promise<Committed> {
  const byPartition = new Map<number, PartitionFlush[]>()
  for (const f of flushes) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f])
  const partitions = [...byPartition.keys()].sort((a, b) => a - b)
  log.error('Postgres refused the commit (not retried); committing each partition alone to find the ones it refuses', {
    partitions,
    sqlstate: sqlState(refusal),
    error: refusal as Error,
  })
  const results: Committed[] = []
  const failed: PartitionFailure[] = []
  for (const partition of partitions) {
    const own = byPartition.get(partition)!
    try {
      // With one partition, the refusal already is its own.
      if (partitions.length === 1) throw refusal
      results.push(await attempt(own))
    } catch (err) {
      const failure: PartitionFailure = {
        partition,
        epoch: own.at(-1)!.epoch,
        fromOffset: own[0]!.fromOffset,
        sqlstate: sqlState(err) ?? '?????',
        message: (err as Error).message,
      }
      log.error('partition failed: Postgres refuses its commit', { ...failure, error: err as Error })
      failed.push(failure)
    }
  }
  return {
    committed: results.flatMap((r) => r.committed),
    fenced: results.flatMap((r) => r.fenced),
    failed,
    rows: results.flatMap((r) => r.rows),
    rejected: results.reduce((n, r) => n + r.rejected, 0),
    rejectedByReason: results.reduce<CommitResult['rejectedByReason']>((sum, r) => {
      for (const [reason, n] of Object.entries(r.rejectedByReason) as [RejectReason, number][]) sum[reason] = (sum[reason] ?? 0) + n
      return sum
    }, {}),
    counted: results.reduce((n, r) => n + r.counted, 0),
    appendTimes: results.flatMap((r) => r.appendTimes),
    advanced: results.flatMap((r) => r.advanced),
    lowWatermarkMs: results.reduce<number | null>(
      (low, r) => (r.lowWatermarkMs === null ? low : Math.max(low ?? r.lowWatermarkMs, r.lowWatermarkMs)),
      null,
    ),
    closedWindows: [...new Set(results.flatMap((r) => r.closedWindows))].sort((a, b) => a - b),
  }
}

interface Group {
  partition: number
  epoch: string
  fromOffset: string
  nextOffset: string
  maxEventMs: number | null
  /** The idle watermark the first flush was judged against (the fence compares it with the stored one). */
  idleWatermarkMs: number | null
  flushes: PartitionFlush[]
}

/** Chains the consecutive flushes of one (partition, epoch). */
function groupFlushes(flushes: PartitionFlush[]): Group[] {
  const groups = new Map<string, Group>()
  for (const f of flushes) {
    const key = `${f.partition}:${f.epoch}`
    const g = groups.get(key)
    if (!g) {
      groups.set(key, {
        partition: f.partition,
        epoch: f.epoch,
        fromOffset: f.fromOffset,
        nextOffset: f.nextOffset,
        maxEventMs: f.maxEventMs,
        idleWatermarkMs: f.idleWatermarkMs,
        flushes: [f],
      })
      continue
    }
    if (g.nextOffset !== f.fromOffset)
      throw new Error(`flushes of partition ${f.partition} do not chain: ${g.nextOffset} then ${f.fromOffset}`)
    g.nextOffset = f.nextOffset
    if (f.maxEventMs !== null && (g.maxEventMs === null || f.maxEventMs > g.maxEventMs)) g.maxEventMs = f.maxEventMs
    g.flushes.push(f)
  }
  return [...groups.values()].sort((a, b) => a.partition - b.partition)
}

/** One transaction over these flushes; rolled back (and the error rethrown) if any statement fails. */
async function commitOnce(task: CommitTask, flushes: PartitionFlush[]): Promise<Committed> {
  const c = await connection()
  try {
    return await transaction(c, task, flushes)
  } catch (err) {
    await c.query('ROLLBACK').catch(dropConnection)
    throw err
  }
}

async function transaction(c: pg.Client, task: CommitTask, flushes: PartitionFlush[]): Promise<Committed> {
  const topic = task.topic
  const groups = groupFlushes(flushes)
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
      groups.flatMap((g) =>
        g.flushes.flatMap((f) =>
          f.deltas.map((d) => `${g.partition}\t${g.epoch}\t${d.windowStartMs}\t${copyText(d.category)}\t${d.cents}\t${d.count}\n`),
        ),
      ),
    )
  }
  const rejectedLines = groups.flatMap((g) =>
    g.flushes.flatMap((f) =>
      f.rejected.map(
        (r) =>
          `${g.partition}\t${g.epoch}\t${r.offset}\t${r.reason}\t${copyText(r.detail)}\t${copyBytea(r.payload)}\t${r.payloadBytes ?? '\\N'}\t${copyBytea(r.payloadSha256)}\t${Math.trunc(r.kafkaTimestampMs)}\n`,
      ),
    ),
  )
  if (rejectedLines.length > 0)
    await copyRows(
      c,
      'COPY stage_rejected (partition, epoch, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp_ms) FROM STDIN',
      rejectedLines,
    )
  // The topic's lock first: it serialises the writers of all supervisors of the topic, so the
  // progress rows read below are the committed state of every partition (what the low
  // watermark and the idle advances are computed from). Nothing before it takes a lock, and
  // every writer takes it first: no deadlock. Advisory: held in memory, nothing written.
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TOPIC_LOCK_CLASS, task.topic])
  // Then this commit's progress rows, in partition order, and the fence.
  const mine = [...new Set([...groups.map((g) => g.partition), ...task.idle.map((i) => i.partition)])]
  const { rows: progress } = await c.query<ProgressRow>(
    `SELECT ${PROGRESS_COLUMNS} FROM tumbler_progress WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE`,
    [task.topic, mine],
  )
  const stored = new Map(progress.map((r) => [r.partition, r]))
  const accepted: Group[] = []
  const fenced: CommitResult['fenced'] = []
  for (const g of groups) {
    const row = stored.get(g.partition)
    if (!row) fenced.push({ partition: g.partition, epoch: g.epoch, reason: 'partition was never claimed' })
    else if (row.epoch !== g.epoch)
      fenced.push({ partition: g.partition, epoch: g.epoch, reason: `stale epoch ${g.epoch}, owner holds ${row.epoch}` })
    else if (row.next_offset !== g.fromOffset)
      fenced.push({
        partition: g.partition,
        epoch: g.epoch,
        reason: `flush starts at ${g.fromOffset}, stored next offset is ${row.next_offset}`,
      })
    else if (row.idle_watermark_ms !== msText(g.idleWatermarkMs))
      fenced.push({
        partition: g.partition,
        epoch: g.epoch,
        reason: `idle advance to ${row.idle_watermark_ms} committed after these records were judged against ${g.idleWatermarkMs}`,
      })
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
    const sorted = [...sums.values()].sort(
      (a, b) => a.windowStartMs - b.windowStartMs || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
    )
    // bench/upsert.ts: a multi-row INSERT over unnest() arrays takes half the time of COPY +
    // INSERT…SELECT for the usual few dozen rows; COPY wins from about a thousand rows on.
    let source = `(SELECT window_start_ms, category, sum(cents) AS cents, sum(cnt) AS cnt FROM stage_sales
                    WHERE (partition, epoch) IN (SELECT * FROM unnest($2::int[], $3::bigint[])) GROUP BY 1, 2) AS s`
    let params: unknown[] = [data.windowMs, accepted.map((g) => g.partition), accepted.map((g) => g.epoch)]
    if (!copySales) {
      source = 'unnest($2::bigint[], $3::text[], $4::numeric[], $5::bigint[]) AS v(window_start_ms, category, cents, cnt)'
      params = [
        data.windowMs,
        sorted.map((s) => s.windowStartMs),
        sorted.map((s) => s.category),
        sorted.map((s) => s.cents.toString()),
        sorted.map((s) => s.count),
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
    rows = res.rows.map((r) => ({
      windowStartMs: Number(r.window_start_ms),
      category: r.category,
      totalSales: r.total_sales,
      transactionCount: r.transaction_count,
    }))
  }
  if (rejected.length > 0) {
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
  if (accepted.length > 0) {
    await c.query(
      `UPDATE tumbler_progress p SET next_offset = v.next_offset, max_event_ms = v.max_event_ms, updated_at = now()
         FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition, next_offset, max_event_ms)
        WHERE p.topic = $1 AND p.partition = v.partition`,
      [task.topic, accepted.map((g) => g.partition), accepted.map((g) => g.nextOffset), accepted.map((g) => msText(g.maxEventMs))],
    )
  }
  const { advanced, lowWatermarkMs, closedWindows } = await finality(c, task, accepted, stored)
  await c.query('COMMIT')
  fault('commit') // test hook: dying here leaves the main thread not knowing the outcome
  const committed: CommittedPartition[] = accepted.map((g) => ({
    partition: g.partition,
    epoch: g.epoch,
    nextOffset: g.nextOffset,
    maxEventMs: g.maxEventMs,
  }))
  return {
    committed,
    fenced,
    failed: [],
    rows,
    rejected: rejected.length,
    rejectedByReason,
    counted,
    appendTimes: [...appendTimes],
    advanced,
    lowWatermarkMs,
    closedWindows,
  }
}

interface ProgressRow {
  partition: number
  epoch: string
  next_offset: string
  max_event_ms: string | null
  idle_watermark_ms: string | null
  idle_from_offset: string | null
}

const PROGRESS_COLUMNS = 'partition, epoch, next_offset, max_event_ms, idle_watermark_ms, idle_from_offset'

const msText = (ms: number | null): string | null => (ms === null ? null : String(ms))
const msOf = (text: string | null): number | null => (text === null ? null : Number(text))

/** First key of the per-topic advisory lock (the second is hashtext(topic)): "tmbl". */
const TOPIC_LOCK_CLASS = 0x746d626c

/**
 * The finality step, last in the transaction (CONTRACT "Window semantics"): records the idle
 * reports, raises idle partitions' watermarks, and when the topic's low watermark moves,
 * stores it and closes every open row whose window ends at or before it, with one NOTIFY.
 * Runs under the topic's lock: the rows it reads are every partition's committed state.
 */
async function finality(
  c: pg.Client,
  task: CommitTask,
  accepted: Group[],
  locked: Map<number, ProgressRow>,
): Promise<{ advanced: AdvancedPartition[]; lowWatermarkMs: number | null; closedWindows: number[] }> {
  // The stored low watermark, with the rows of the partitions this commit did not lock (one row with nulls if none).
  const { rows: read } = await c.query<ProgressRow & { stored_low: string | null }>(
    `SELECT t.stored_low, p.partition, p.epoch, p.next_offset, p.max_event_ms, p.idle_watermark_ms, p.idle_from_offset
       FROM (SELECT (SELECT low_watermark_ms FROM tumbler_topics WHERE topic = $1) AS stored_low) AS t
       LEFT JOIN tumbler_progress p ON p.topic = $1 AND NOT (p.partition = ANY($2::int[]))`,
    [task.topic, [...locked.keys()]],
  )
  const storedLow = msOf(read[0]!.stored_low)
  const others = read.filter((r) => r.partition !== null)
  // Every partition's row as this transaction leaves it.
  const state = new Map<number, PartitionProgress & { epoch: string }>()
  for (const r of [...locked.values(), ...others]) {
    state.set(r.partition, {
      partition: r.partition,
      epoch: r.epoch,
      nextOffset: r.next_offset,
      maxEventMs: msOf(r.max_event_ms),
      idleWatermarkMs: msOf(r.idle_watermark_ms),
      idleFromOffset: r.idle_from_offset,
    })
  }
  for (const g of accepted) Object.assign(state.get(g.partition)!, { nextOffset: g.nextOffset, maxEventMs: g.maxEventMs })
  // An idle report counts while its owner still holds the partition at that position.
  const idle = task.idle.filter((i) => state.get(i.partition)?.epoch === i.epoch && state.get(i.partition)!.nextOffset === i.offset)
  for (const i of idle) state.get(i.partition)!.idleFromOffset = i.offset
  const rows = [...state.values()]
  const raised = idleAdvances(
    rows,
    idle.map((i) => i.partition),
    task.partitionCount,
    data.latenessMs,
  )
  const advanced: AdvancedPartition[] = []
  const changed = idle.filter((i) => raised.has(i.partition) || locked.get(i.partition)!.idle_from_offset !== i.offset)
  for (const i of idle) {
    const w = raised.get(i.partition)
    if (w === undefined) continue
    state.get(i.partition)!.idleWatermarkMs = w
    advanced.push({ partition: i.partition, epoch: i.epoch, fromOffset: i.offset, idleWatermarkMs: w })
  }
  if (changed.length > 0) {
    await c.query(
      `UPDATE tumbler_progress p SET idle_from_offset = v.idle_from_offset, idle_watermark_ms = GREATEST(p.idle_watermark_ms, v.idle_watermark_ms)
         FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition, idle_from_offset, idle_watermark_ms)
        WHERE p.topic = $1 AND p.partition = v.partition`,
      [
        task.topic,
        changed.map((i) => i.partition),
        changed.map((i) => i.offset),
        changed.map((i) => msText(raised.get(i.partition) ?? null)),
      ],
    )
  }

  // A watermark never moves back: a lower value (fewer partitions known, a longer LATENESS) keeps the stored one.
  const computed = lowWatermark(rows, task.partitionCount, data.latenessMs)
  if (computed === null || (storedLow !== null && computed <= storedLow)) return { advanced, lowWatermarkMs: storedLow, closedWindows: [] }
  // Stored, and every open row it passed closed, in one statement.
  const { rows: closed } = await c.query<{ window_start_ms: string; window_end_ms: string }>(
    `WITH low AS (
       INSERT INTO tumbler_topics AS t (topic, low_watermark_ms) VALUES ($1, $2)
       ON CONFLICT (topic) DO UPDATE SET low_watermark_ms = GREATEST(t.low_watermark_ms, EXCLUDED.low_watermark_ms), updated_at = now()),
     closed AS (
       UPDATE category_sales SET closed_at = now()
        WHERE closed_at IS NULL AND window_end <= 'epoch'::timestamptz + $2::bigint * interval '1 millisecond'
        RETURNING window_start, window_end)
     SELECT DISTINCT (extract(epoch FROM window_start) * 1000)::bigint AS window_start_ms, (extract(epoch FROM window_end) * 1000)::bigint AS window_end_ms
       FROM closed ORDER BY 1`,
    [task.topic, computed],
  )
  const closedWindows = closed.map((r) => Number(r.window_start_ms))
  if (closed.length > 0) {
    // One NOTIFY per closing transaction, delivered when it commits: every window in [windowStart, windowEnd) with rows is final now.
    const payload = {
      windowStart: new Date(closedWindows[0]!).toISOString(),
      windowEnd: new Date(Number(closed.at(-1)!.window_end_ms)).toISOString(),
    }
    await c.query('SELECT pg_notify($1, $2)', [WINDOWS_CLOSED_CHANNEL, JSON.stringify(payload)])
  }
  return { advanced, lowWatermarkMs: computed, closedWindows }
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

/** Bytes as a COPY text-format bytea (hex), or COPY's null. */
function copyBytea(bytes: Uint8Array | null): string {
  return bytes ? '\\\\x' + Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex') : '\\N'
}

/** Escapes a value for COPY's text format. */
function copyText(s: string): string {
  return s.replace(/[\\\t\n\r]/g, (ch) => (ch === '\\' ? '\\\\' : ch === '\t' ? '\\t' : ch === '\n' ? '\\n' : '\\r'))
}
