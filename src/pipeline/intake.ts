import { encodeBatch, type RawRecord } from '../shared/batch-codec.js'
import type { FetchReport } from '../shared/actor-fetch.js'
import type { ActorClient } from './clients.js'
import type { ConsumerControl } from './consumer-control.js'
import { fetchStartOk, firstBatchOk } from './fetch-position.js'
import type { GroupCommit } from './group-commit.js'
import type { Part, PartitionTable } from './partition-table.js'
import type { PipelineStats } from './events.js'

// How records reach the actors, for the coordinator (coordinator.ts), in one of two ways
// (KAFKA_FETCH): `dispatch` hands over what kafkajs fetched on the main thread, as batches;
// `fetched` takes the report of an actor that fetched for itself (workers/fetch-loop.ts). Both
// keep the same in-flight view, counters and flush bounds.

/** What the intake uses of the coordinator. */
export interface IntakeHost {
  parts: PartitionTable
  actors: ActorClient[]
  consumer: ConsumerControl
  commits: GroupCommit
  stats: PipelineStats
  stopping(): boolean
  /** Pauses or resumes the partition in the consumer (flow control), and shows it. */
  setPaused(part: Part, paused: boolean): void
  /** Shows the partition as paused or not (an actor that fetches for itself decided it). */
  showPaused(part: Part, paused: boolean): void
  resync(partitions: number[], why: string): void
}

export class Intake {
  constructor(private readonly h: IntakeHost) {}

  /**
   * Hands a fetched batch to its partition's actor. Returns the offset to resolve in the
   * consumer (everything up to it is with the actor), or null to resolve nothing.
   */
  async dispatch(partition: number, messages: RawRecord[], isStale: () => boolean, fetchedOffset?: string): Promise<string | null> {
    const part = this.h.parts.get(partition)
    if (!part || this.h.stopping()) return null
    // Not yet claimed: dropped unresolved; the claim seeks and resumes the partition. Failed: stays in Kafka.
    if (part.state !== 'active' || part.failure || isStale() || this.h.stopping()) return null
    part.lastBatchMs = Date.now()
    if (fetchedOffset !== undefined) {
      const current = () => this.h.parts.get(partition) === part && part.state === 'active' && !isStale() && !this.h.stopping()
      if (!(await fetchStartOk(part, fetchedOffset, this.h.consumer, current))) return null
    }
    let first = 0
    while (first < messages.length && BigInt(messages[first]!.offset) < part.flow.dispatched) first++
    if (first === messages.length) return messages.length ? messages[messages.length - 1]!.offset : null
    let records = first === 0 ? messages : messages.slice(first)
    if (!firstBatchOk(part, records[0]!.offset, this.h.consumer)) return null
    // Hand over only what fits under the in-flight bounds (InFlight.fit).
    const fit = part.flow.fit(records)
    if (fit === 0) {
      this.h.setPaused(part, true)
      return first > 0 ? messages[first - 1]!.offset : null
    }
    if (fit < records.length) records = records.slice(0, fit)
    const buffer = encodeBatch(records)
    // Read before batch(): transferring the buffer to an idle actor detaches it (byteLength 0).
    const bytes = buffer.byteLength
    const generation = part.generation
    this.h.actors[part.actor]!.batch(partition, part.epoch, buffer).catch((err: Error) => {
      if (this.h.parts.get(partition)?.generation === generation) this.h.resync([partition], `batch failed: ${err.message}`)
    })
    const last = records[records.length - 1]!.offset
    if (this.handedOver(part, BigInt(last) + 1n, records.length, bytes, Date.now())) this.h.setPaused(part, true)
    return last
  }

  /**
   * The actor has the partition's records up to `next` (`records` of them, `bytes`): the
   * in-flight view, idleness, counters and flush bounds learn it. Returns true at an in-flight bound.
   */
  private handedOver(part: Part, next: bigint, records: number, bytes: number, nowMs: number): boolean {
    const atBound = part.flow.dispatch(next, bytes)
    part.idle.busy(nowMs)
    this.h.stats.consumed += records
    this.h.stats.dispatchedBatches++
    this.h.commits.dispatched(part.actor, records, bytes)
    return atBound
  }

  /**
   * KAFKA_FETCH=actors: an actor counted a fetch (FetchReport). Takes the part of a partition
   * still held under the reported epoch by that actor into the in-flight view and the flush
   * bounds, as dispatch() does for a batch; the actor decides its own pauses, reported here.
   */
  fetched(report: FetchReport): void {
    const now = Date.now()
    for (const f of report.partitions) {
      const part = this.h.parts.get(f.partition)
      if (!part || part.state !== 'active' || part.epoch !== f.epoch || part.actor !== report.actor || this.h.stopping()) continue
      const next = BigInt(f.nextOffset)
      // Moved without records: transaction markers or aborted transactions, committed by the next flush.
      if (f.records > 0 || next > part.flow.dispatched) this.handedOver(part, next, f.records, f.bytes, now)
      if (part.paused !== f.paused && !part.failure) this.h.showPaused(part, f.paused)
    }
  }
}
