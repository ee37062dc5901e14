// Window finality, as the writer decides it inside its transaction (docs/contract.md "Window
// semantics"): each partition's watermark, the topic's low watermark, and the advance of
// idle partitions. Pure functions over tumbler_progress rows, so the rules are unit-tested
// apart from Postgres.
import { watermark } from './partition-state.js'

/** What finality needs of one tumbler_progress row. Offsets are decimal strings. */
export interface PartitionProgress {
  partition: number
  nextOffset: string
  /** Largest accepted event time (ms since the epoch), null before the first. */
  maxEventMs: number | null
  /** Watermark an idle advance raised the partition to (ms), null if never raised. */
  idleWatermarkMs: number | null
  /** next_offset at which the owner last reported the partition idle; null if never. */
  idleFromOffset: string | null
}

/** The partition's watermark (see partition-state.ts `watermark`: the actors judge lateness by the same rule). */
export const partitionWatermark = (p: PartitionProgress, latenessMs: number): number | null =>
  watermark(p.maxEventMs, p.idleWatermarkMs, latenessMs)

/** Whether Postgres knows the partition as idle: reported idle at an offset, and nothing committed since. */
export const isIdle = (p: PartitionProgress): boolean => p.idleFromOffset !== null && p.idleFromOffset === p.nextOffset

/**
 * The topic's low watermark (ms): the smallest watermark over its `partitionCount`
 * partitions; a window is final once its end is at or before it (docs/contract.md "Window
 * semantics"). Null while any partition has no row or no watermark yet, or while the number
 * of partitions is unknown (`partitionCount` < 1). Rows beyond `partitionCount` (partitions
 * added since it was learnt) count too.
 */
export function lowWatermark(rows: PartitionProgress[], partitionCount: number, latenessMs: number): number | null {
  if (partitionCount < 1) return null
  const seen = new Set<number>()
  let low: number | null = null
  for (const r of rows) {
    const w = partitionWatermark(r, latenessMs)
    if (w === null) return null
    seen.add(r.partition)
    if (low === null || w < low) low = w
  }
  for (let p = 0; p < partitionCount; p++) if (!seen.has(p)) return null
  return low
}

/**
 * The idle advance (docs/contract.md "Window semantics"; issue 12): each partition of `idle` has its
 * watermark raised to the lowest watermark among the partitions whose watermark is above its
 * own, so that it never passes a partition still behind that value, and a topic that goes
 * quiet altogether ends with every partition at the highest watermark (its finished windows
 * final). Two refinements keep it from passing a partition that is merely level with it:
 * no advance while a partition that is not idle (or has no row yet) has the same watermark.
 * A partition without a watermark is below every other.
 *
 * `rows` are the topic's progress rows as this transaction leaves them; `idle` the
 * partitions reported idle in it (they are idle in `rows` too). Returns partition → the
 * raised watermark, only for partitions whose watermark rises; computed from the rows as
 * they were (advances of one round do not feed each other), so a quiet topic converges in
 * one round per distinct watermark.
 */
export function idleAdvances(rows: PartitionProgress[], idle: number[], partitionCount: number, latenessMs: number): Map<number, number> {
  const watermarks = rows.map((r) => ({ partition: r.partition, w: partitionWatermark(r, latenessMs), idle: isIdle(r) }))
  const known = new Set(rows.map((r) => r.partition))
  const missing = Array.from({ length: partitionCount }, (_, p) => p).some((p) => !known.has(p))
  const out = new Map<number, number>()
  for (const p of idle) {
    const own = watermarks.find((x) => x.partition === p)
    if (!own) continue
    if (own.w === null && missing) continue // level with a partition that has no row (no watermark either)
    let target: number | null = null
    let blocked = false
    for (const q of watermarks) {
      if (q.partition === p) continue
      if (q.w === own.w && !q.idle) blocked = true
      if (q.w !== null && (own.w === null || q.w > own.w) && (target === null || q.w < target)) target = q.w
    }
    if (!blocked && target !== null) out.set(p, target)
  }
  return out
}
