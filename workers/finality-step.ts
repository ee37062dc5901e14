import type pg from 'pg'
import { msOf, msText } from '../src/shared/pg-types.js'
import type { ProgressRow } from '../src/shared/progress.js'
import type { AdvancedPartition, CommitTask } from '../src/shared/protocol.js'
import type { PartitionRun } from './commit-plan.js'
import { idleAdvances, lowWatermark, type PartitionProgress } from './finality.js'

// The finality step of the writer's transaction (docs/architecture.md, "Where finality is
// decided"): the SQL around the pure rules of workers/finality.ts.

/** The channel of the NOTIFY sent by a transaction that closed windows (docs/architecture.md, "Where finality is decided"). */
export const WINDOWS_CLOSED_CHANNEL = 'tumbler_windows_closed'

/** What the finality step changed, for CommitResult. */
export interface Finality {
  advanced: AdvancedPartition[]
  /** The topic's low watermark after the commit (ms since epoch), null while unknown. */
  lowWatermarkMs: number | null
  /** Starts (ms since epoch, ascending) of the windows whose rows were closed. */
  closedWindows: number[]
}

/**
 * Last in the transaction: records the idle reports, raises idle partitions' watermarks, and
 * when the topic's low watermark moves, stores it and closes every open row whose window ends at
 * or before it, with one NOTIFY. Runs under the topic's lock (src/shared/progress.ts
 * lockForCommit): `locked` are the progress rows the fence locked, `accepted` the runs it let
 * through (their new positions are applied here); the other partitions' rows it reads are
 * their committed state.
 */
export async function finality(
  c: pg.ClientBase,
  task: CommitTask,
  accepted: PartitionRun[],
  locked: Map<number, ProgressRow>,
  latenessMs: number,
): Promise<Finality> {
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
    latenessMs,
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
  const computed = lowWatermark(rows, task.partitionCount, latenessMs)
  if (computed === null || (storedLow !== null && computed <= storedLow)) return { advanced, lowWatermarkMs: storedLow, closedWindows: [] }
  return { advanced, lowWatermarkMs: computed, closedWindows: await closeWindows(c, task.topic, computed) }
}

/** Stores the topic's new low watermark `lowMs` and closes every open row it passed, in one statement; one NOTIFY if any closed. Returns the closed windows' starts. */
async function closeWindows(c: pg.ClientBase, topic: string, lowMs: number): Promise<number[]> {
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
    [topic, lowMs],
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
  return closedWindows
}
