import type pg from 'pg'
import { msOf, msText } from './pg-types.js'

// The claim-and-fence protocol, in one place (docs/architecture.md, "The commit protocol").
// tumbler_progress (topic, partition) holds the partition's owner `epoch`, `next_offset` (the
// next Kafka offset to count), `max_event_ms` and `idle_watermark_ms`; Postgres, not Kafka, is
// the source of truth for positions.
//
// 1. Claim (main thread, claimPartition): a supervisor that takes a partition, or must recover
//    one, raises its epoch and resumes from the stored next_offset. The UPDATE waits for the row
//    lock of a commit in flight, so it sees that commit's result.
// 2. Fence (writer, inside its commit transaction): lockForCommit takes the topic's advisory
//    lock, then the progress rows of the commit's partitions FOR UPDATE in partition order;
//    fenceReason then refuses a partition's flushes unless the stored epoch is theirs, the stored
//    next_offset is where they start, and the stored idle watermark is the one their records were
//    judged against.
// 3. Advance (same transaction, advanceProgress): the accepted partitions' next_offset and
//    max_event_ms move, atomically with the counts they cover.
//
// So a flush of an older epoch (a zombie supervisor, a dead thread's leftovers) and the repeat of
// a commit that did land (a retry after an unknown COMMIT outcome) are refused, never applied
// twice. No deadlock: every writer takes the advisory lock first and then rows in one order, and
// a claim locks only its own row.

/** Where a claimed partition resumes (claimPartition). */
export interface Claim {
  epoch: string
  nextOffset: string
  maxEventMs: number | null
  /** Watermark an idle advance raised the partition to (ms since epoch), null if never. */
  idleWatermarkMs: number | null
  /** The stored next offset, when the claim moved past it to the log start (retention deleted records before they were counted); else null. */
  skippedFrom: string | null
}

/**
 * Makes `owner` the partition's owner under a new epoch and returns where to resume.
 * The UPDATE waits for the row lock of a commit in flight, so it sees that commit's offset;
 * any later commit of an older epoch is fenced. `lowOffset` is where a partition never
 * seen before starts (the log start); such a partition starts at the topic's committed low
 * watermark (tumbler_topics), so a window that is final already stays final for it too
 * (partitions added to the topic after windows closed).
 */
export async function claimPartition(pool: pg.Pool, topic: string, partition: number, owner: string, lowOffset: string): Promise<Claim> {
  // Read before the claim only to report a skip (a commit landing in between could only move it up to what the claim returns).
  const before = await pool.query<{ next_offset: string }>('SELECT next_offset FROM tumbler_progress WHERE topic = $1 AND partition = $2', [
    topic,
    partition,
  ])
  const { rows } = await pool.query<{ epoch: string; next_offset: string; max_event_ms: string | null; idle_watermark_ms: string | null }>(
    `INSERT INTO tumbler_progress AS p (topic, partition, next_offset, epoch, owner, idle_watermark_ms)
     VALUES ($1, $2, $3, 1, $4, (SELECT low_watermark_ms FROM tumbler_topics WHERE topic = $1))
     ON CONFLICT (topic, partition) DO UPDATE SET
       epoch = p.epoch + 1, owner = EXCLUDED.owner, updated_at = now(),
       -- a log truncated by retention past the stored offset resumes at the log start
       next_offset = GREATEST(p.next_offset, EXCLUDED.next_offset)
     RETURNING epoch, next_offset, max_event_ms, idle_watermark_ms`,
    [topic, partition, lowOffset, owner],
  )
  const row = rows[0]!
  const stored = before.rows[0]?.next_offset
  return {
    epoch: row.epoch,
    nextOffset: row.next_offset,
    maxEventMs: msOf(row.max_event_ms),
    idleWatermarkMs: msOf(row.idle_watermark_ms),
    skippedFrom: stored !== undefined && row.next_offset === lowOffset && BigInt(stored) < BigInt(lowOffset) ? stored : null,
  }
}

/** One tumbler_progress row as the writer reads it: bigints as decimal strings (src/shared/pg-types.ts). */
export interface ProgressRow {
  partition: number
  epoch: string
  next_offset: string
  max_event_ms: string | null
  idle_watermark_ms: string | null
  idle_from_offset: string | null
}

/** The columns of a ProgressRow, for SELECTs of tumbler_progress. */
export const PROGRESS_COLUMNS = 'partition, epoch, next_offset, max_event_ms, idle_watermark_ms, idle_from_offset'

/** First key of the per-topic advisory lock (the second is hashtext(topic)): "tmbl". */
export const TOPIC_LOCK_CLASS = 0x746d626c

/**
 * The locking half of the fence, inside the writer's open transaction: the topic's advisory
 * lock, then the progress rows of `partitions` FOR UPDATE, in partition order. The advisory lock
 * serialises the writers of all supervisors of the topic, so the rows read under it are every
 * partition's committed state (the finality step relies on that too). It is held in memory,
 * nothing written, until the transaction ends. Returns the locked rows by partition; a
 * partition never claimed has none.
 */
export async function lockForCommit(c: pg.ClientBase, topic: string, partitions: number[]): Promise<Map<number, ProgressRow>> {
  await c.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [TOPIC_LOCK_CLASS, topic])
  const { rows } = await c.query<ProgressRow>(
    `SELECT ${PROGRESS_COLUMNS} FROM tumbler_progress WHERE topic = $1 AND partition = ANY($2::int[]) ORDER BY partition FOR UPDATE`,
    [topic, partitions],
  )
  return new Map(rows.map((r) => [r.partition, r]))
}

/** What the fence checks of a partition's chained flushes. */
export interface FencedRun {
  epoch: string
  /** Where the first flush starts. */
  fromOffset: string
  /** The idle watermark the first flush's records were judged against (ms), null if none. */
  idleWatermarkMs: number | null
}

/**
 * The checking half of the fence: why the flushes `run` of a partition must not be applied
 * given its locked progress row `stored` (undefined: the partition was never claimed), or null
 * if they may. The reason is for logs and CommitResult.fenced.
 */
export function fenceReason(stored: ProgressRow | undefined, run: FencedRun): string | null {
  if (!stored) return 'partition was never claimed'
  if (stored.epoch !== run.epoch) return `stale epoch ${run.epoch}, owner holds ${stored.epoch}`
  if (stored.next_offset !== run.fromOffset) return `flush starts at ${run.fromOffset}, stored next offset is ${stored.next_offset}`
  if (stored.idle_watermark_ms !== msText(run.idleWatermarkMs))
    return `idle advance to ${stored.idle_watermark_ms} committed after these records were judged against ${run.idleWatermarkMs}`
  return null
}

/**
 * The advance, in the transaction that fenced: moves each accepted partition's next_offset
 * (exclusive end of its flushes, a decimal string) and max_event_ms (ms or null).
 */
export async function advanceProgress(
  c: pg.ClientBase,
  topic: string,
  accepted: { partition: number; nextOffset: string; maxEventMs: number | null }[],
): Promise<void> {
  if (accepted.length === 0) return
  await c.query(
    `UPDATE tumbler_progress p SET next_offset = v.next_offset, max_event_ms = v.max_event_ms, updated_at = now()
       FROM unnest($2::int[], $3::bigint[], $4::bigint[]) AS v(partition, next_offset, max_event_ms)
      WHERE p.topic = $1 AND p.partition = v.partition`,
    [topic, accepted.map((g) => g.partition), accepted.map((g) => g.nextOffset), accepted.map((g) => msText(g.maxEventMs))],
  )
}
