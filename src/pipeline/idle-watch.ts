// When a partition counts as idle (docs/contract.md "Window semantics", IDLE_PARTITION_SECONDS): it
// had nothing to read — its committed position equal to its high watermark, and nothing
// read and not yet committed — for the whole idle time. The main thread watches this for the
// partitions it owns; the writer then raises an idle partition's watermark (workers/finality.ts).

/**
 * A high watermark older than this does not show a partition idle: with Kafka unreachable, a
 * partition must not look idle just because no news of new records arrives.
 */
export const HIGH_WATERMARK_FRESH_MS = 10_000

export class IdleWatch {
  /** The last moment the partition was known to have something to read or in flight. */
  private busySinceMs: number
  private highWatermark: bigint | null = null
  private highWatermarkAtMs = Number.NEGATIVE_INFINITY

  /** `idleMs` = IDLE_PARTITION_SECONDS × 1000; 0 = never idle. Starts busy at `nowMs` (a claim). */
  constructor(
    private readonly idleMs: number,
    nowMs: number,
  ) {
    this.busySinceMs = nowMs
  }

  /** Records of the partition were read or committed at `nowMs`. */
  busy(nowMs: number): void {
    this.busySinceMs = nowMs
  }

  /** Kafka said the partition's high watermark (log end offset) at `nowMs`. */
  sawHighWatermark(highWatermark: bigint, committed: bigint, nowMs: number): void {
    this.highWatermark = highWatermark
    this.highWatermarkAtMs = nowMs
    if (highWatermark > committed) this.busySinceMs = nowMs
  }

  /**
   * Idle at `nowMs`: nothing in flight (`dispatched` = `committed`), the latest high
   * watermark, seen within HIGH_WATERMARK_FRESH_MS, is not past `committed`, and the
   * partition has been like this for the idle time.
   */
  isIdle(committed: bigint, dispatched: bigint, nowMs: number): boolean {
    if (this.idleMs <= 0 || this.highWatermark === null) return false
    if (dispatched !== committed || this.highWatermark > committed) return false
    if (nowMs - this.highWatermarkAtMs > HIGH_WATERMARK_FRESH_MS) return false
    return nowMs - this.busySinceMs >= this.idleMs
  }
}
