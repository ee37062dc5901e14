// Flow control for one partition (docs/architecture.md, "Flow control"): what was handed to
// its actor and is not yet in Postgres, in records (dispatched − committed) and in bytes, and
// the decisions the coordinator takes from it — how much of a fetched batch to hand over,
// when to pause the partition in the consumer, when to resume it. Pure: no consumer, no clock.

/** The bounds of one partition's in-flight work. */
export interface InFlightLimits {
  /** MAX_INFLIGHT_RECORDS: offsets dispatched but not yet committed at which the partition pauses. */
  maxRecords: number
  /**
   * MAX_INFLIGHT_BYTES: bytes of the batches dispatched but not yet committed at which the
   * partition pauses; Infinity for no byte bound. Bytes too, because rejected records keep
   * their raw bytes until committed, and 20,000 of 1 MB each would be 20 GB.
   */
  maxBytes: number
}

/** A partition's records between its committed position and what its actor was given. */
export class InFlight {
  /** Next offset to hand to the actor; below it, records are already there. */
  dispatched: bigint
  /** Next offset committed in Postgres. */
  committed: bigint
  /** Bytes of the batches dispatched but not yet committed. */
  bytes = 0
  /** Where each batch in flight ends (its next offset) and its bytes, oldest first. */
  private readonly batches: { end: bigint; bytes: number }[] = []

  /** Starts with nothing in flight at `from` (the position a claim read from Postgres). */
  constructor(
    private readonly limits: InFlightLimits,
    from: bigint,
  ) {
    this.dispatched = this.committed = from
  }

  /**
   * How many of these records (offsets ascending, the first at or past `dispatched`) may be handed
   * over now: those below committed + maxRecords, none at all while the byte bound is reached.
   * A fetch can hold a partition's 512 KiB, or one larger record; kafkajs fetches the rest
   * again from the resolved offset once the partition is resumed. With nothing in flight the
   * count starts at the first offset: a gap in the offsets (records deleted by retention) is
   * not in flight, and no commit would come to resume the partition.
   */
  fit(records: readonly Offset[]): number {
    if (records.length === 0) return 0
    const limit = this.limit(BigInt(records[0]!.offset))
    return limit === null ? 0 : countBelow(records, limit)
  }

  /**
   * The first offset that may not be handed over now, for records starting at `first` (at or
   * past `dispatched`): committed + maxRecords, or first + maxRecords with nothing in flight
   * (see fit); null while the byte bound is reached.
   */
  limit(first: bigint): bigint | null {
    if (this.bytes >= this.limits.maxBytes) return null
    return (this.dispatched === this.committed ? first : this.committed) + BigInt(this.limits.maxRecords)
  }

  /** A batch of `bytes` ending before offset `next` went to the actor. Returns true if the partition is now at a bound (pause it). */
  dispatch(next: bigint, bytes: number): boolean {
    this.dispatched = next
    this.bytes += bytes
    this.batches.push({ end: next, bytes })
    return this.atBound()
  }

  /** Postgres holds everything before `next`. Returns true if a paused partition may resume (under half of both bounds). */
  commit(next: bigint): boolean {
    this.committed = next
    while (this.batches.length && this.batches[0]!.end <= next) this.bytes -= this.batches.shift()!.bytes
    return this.dispatched - this.committed < BigInt(this.limits.maxRecords) / 2n && this.bytes < this.limits.maxBytes / 2
  }

  /** At or past either bound: no more until commits bring it down. */
  atBound(): boolean {
    return this.dispatched - this.committed >= BigInt(this.limits.maxRecords) || this.bytes >= this.limits.maxBytes
  }
}

/** A record's Kafka offset (decimal string), as kafkajs gives it. */
export interface Offset {
  offset: string
}

/** How many of these records (offsets ascending) lie below `limit`; the common case, all of them, costs one comparison. */
export function countBelow(records: readonly Offset[], limit: bigint): number {
  if (records.length === 0 || BigInt(records[records.length - 1]!.offset) < limit) return records.length
  let lo = 0
  let hi = records.length - 1 // records[hi] is at or past the limit
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (BigInt(records[mid]!.offset) < limit) lo = mid + 1
    else hi = mid
  }
  return lo
}
