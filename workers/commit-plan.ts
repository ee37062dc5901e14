import { fenceReason, type ProgressRow } from '../src/shared/progress.js'
import type { CommitResult, IdlePartition, PartitionFlush } from '../src/shared/protocol.js'

// What one writer transaction does, decided without Postgres: the flushes chained per
// partition, the fence's verdict per partition from the progress rows the transaction locked
// (src/shared/progress.ts), and the accepted flushes merged into the rows to upsert and the
// counts to report. workers/writer.ts runs the SQL around it; test/unit/commit-plan.test.ts
// tests it.

/** A commit's outcome without its timing (attempts, durationMs, committedAtMs): what one transaction, or the isolation of a refused one, returns. */
export type Committed = Omit<CommitResult, 'attempts' | 'durationMs' | 'committedAtMs'>

/**
 * The consecutive flushes of one (partition, epoch) in a commit, as one offset range: from the
 * first flush's `fromOffset` and `idleWatermarkMs` (what the fence compares) to the last one's
 * `nextOffset` (exclusive: the partition's next_offset after the commit), with the largest
 * accepted event time over them (ms, null if none).
 */
export type PartitionRun = Pick<PartitionFlush, 'partition' | 'epoch' | 'fromOffset' | 'nextOffset' | 'maxEventMs' | 'idleWatermarkMs'> & {
  flushes: PartitionFlush[]
}

/**
 * Chains the consecutive flushes of each (partition, epoch), in partition order. Throws if two
 * flushes of one (partition, epoch) do not chain (the second does not start where the first
 * ended): the main thread sends them in order, so that is a bug, not a fence case.
 */
export function chainFlushes(flushes: PartitionFlush[]): PartitionRun[] {
  const runs = new Map<string, PartitionRun>()
  for (const f of flushes) {
    const key = `${f.partition}:${f.epoch}`
    const g = runs.get(key)
    if (!g) {
      runs.set(key, {
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
  return [...runs.values()].sort((a, b) => a.partition - b.partition)
}

/** The partitions whose progress rows a commit locks: those with flushes and those reported idle. */
export function partitionsToLock(runs: PartitionRun[], idle: IdlePartition[]): number[] {
  return [...new Set([...runs.map((g) => g.partition), ...idle.map((i) => i.partition)])]
}

/** One (window, category) row's delta, summed over the accepted flushes. */
export interface SalesDelta {
  windowStartMs: number
  category: string
  /** Integer cents: a BigInt, as the sum of many flushes may pass 2^53. */
  cents: bigint
  count: number
}

/** The transaction's work once the fence has spoken. */
export interface CommitPlan {
  /** Runs the fence let through, in partition order: their deltas, rejected records and positions are written. */
  accepted: PartitionRun[]
  /** Runs the fence refused, with why. */
  fenced: CommitResult['fenced']
  /** The accepted deltas merged per (window, category), sorted by window start then category (code-unit order): concurrent writers lock rows in one order. */
  sales: SalesDelta[]
  /** Rejected records of the accepted runs, in all and by reason (only reasons that occurred). */
  rejected: number
  rejectedByReason: CommitResult['rejectedByReason']
  /** Records counted into `sales`. */
  counted: number
  /** Kafka append-time buckets of the accepted flushes, merged: [bucket ms, records] in first-seen order. */
  appendTimes: [number, number][]
}

/**
 * Applies the fence (src/shared/progress.ts fenceReason) to each run against the progress rows
 * `locked` by the transaction (by partition), and merges what it accepts.
 */
export function planCommit(runs: PartitionRun[], locked: Map<number, ProgressRow>): CommitPlan {
  const accepted: PartitionRun[] = []
  const fenced: CommitResult['fenced'] = []
  for (const g of runs) {
    const reason = fenceReason(locked.get(g.partition), g)
    if (reason === null) accepted.push(g)
    else fenced.push({ partition: g.partition, epoch: g.epoch, reason })
  }

  const sums = new Map<string, SalesDelta>()
  const rejectedByReason: CommitResult['rejectedByReason'] = {}
  const appendTimes = new Map<number, number>()
  let rejected = 0
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
        rejected++
        rejectedByReason[r.reason] = (rejectedByReason[r.reason] ?? 0) + 1
      }
    }
  }
  const sales = [...sums.values()].sort(
    (a, b) => a.windowStartMs - b.windowStartMs || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
  )
  return { accepted, fenced, sales, rejected, rejectedByReason, counted, appendTimes: [...appendTimes] }
}

/**
 * The outcome of several transactions over disjoint partitions (the isolation of a refused
 * commit, one per partition) as one: lists concatenated, counts added, the highest low
 * watermark, closed windows without repeats in ascending order; `failed` as given.
 */
export function mergeCommitted(results: Committed[], failed: CommitResult['failed']): Committed {
  return {
    committed: results.flatMap((r) => r.committed),
    fenced: results.flatMap((r) => r.fenced),
    failed,
    rows: results.flatMap((r) => r.rows),
    rejected: results.reduce((n, r) => n + r.rejected, 0),
    rejectedByReason: results.reduce<CommitResult['rejectedByReason']>((sum, r) => {
      for (const [reason, n] of Object.entries(r.rejectedByReason) as [keyof typeof sum, number][]) sum[reason] = (sum[reason] ?? 0) + n
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
