// Consumer lag in seconds, the way kafka-lag-exporter computes it: remember when each high
// watermark was first seen, and read the lag of a committed offset as "how long ago did the
// partition's end reach past it". It needs no record timestamps, so producer clocks do not matter.

const MAX_SAMPLES = 256

interface Sample {
  /** The partition's high watermark (records below it exist)... */
  offset: bigint
  /** ...as first seen at this time (ms). */
  atMs: number
}

export class OffsetClock {
  private samples: Sample[] = []

  /** Records a high watermark seen at nowMs; a lower or equal one adds nothing. */
  observe(highWatermark: bigint, nowMs: number): void {
    const last = this.samples[this.samples.length - 1]
    if (last && highWatermark <= last.offset) return
    this.samples.push({ offset: highWatermark, atMs: nowMs })
    // Halve the resolution rather than forget the oldest point: a long backlog keeps its age.
    if (this.samples.length > MAX_SAMPLES)
      this.samples = this.samples.filter((_, i) => i === 0 || i % 2 === 1 || i === this.samples.length - 1)
  }

  /** The newest high watermark seen, or null before the first. */
  get highWatermark(): bigint | null {
    return this.samples[this.samples.length - 1]?.offset ?? null
  }

  /**
   * Seconds since the record at `committed` (the next one to process) was appended, 0 when
   * there is none. For a record older than the first sample it is a lower bound: the time
   * since that sample.
   */
  lagSeconds(committed: bigint, nowMs: number): number {
    const s = this.samples
    const first = s.findIndex((x) => x.offset > committed)
    if (first === -1) return 0
    // Forget what no committed offset can need again: committed positions only move forward.
    if (first > 1) {
      this.samples = s.slice(first - 1)
      return this.lagSeconds(committed, nowMs)
    }
    let appendedMs = s[first]!.atMs
    if (first === 1) {
      // The record's offset + 1 became the high watermark between the two samples.
      const a = s[0]!
      const b = s[1]!
      appendedMs = a.atMs + (Number(committed + 1n - a.offset) / Number(b.offset - a.offset)) * (b.atMs - a.atMs)
    }
    return Math.max(0, nowMs - appendedMs) / 1000
  }
}
