import type { IdlePartition, PartitionFailure } from '../shared/protocol.js'
import type { IdleWatch } from './idle-watch.js'
import type { InFlight } from '../shared/in-flight.js'

// The partitions this process owns, as the coordinator tracks them, and the views of them
// that the HTTP API, the metrics and the writer's idle advances read.

/** One partition owned (or being claimed) here. */
export interface Part {
  partition: number
  /** Index of the actor that counts it; kept across claims. */
  actor: number
  /** Bumped on every claim and release: a claim that finds it changed was superseded. */
  generation: number
  state: 'claiming' | 'active'
  ready: Promise<boolean>
  epoch: string
  /** Dispatched and committed positions, and the flow-control bounds on what lies between. */
  flow: InFlight
  /** The first batch after a claim must not start past flow.dispatched (Kafka's position may be ahead of Postgres). */
  checkFirstBatch: boolean
  paused: boolean
  /** Set when Postgres refused this partition's commit for good: paused in the consumer, never resumed or claimed again here. */
  failure: (PartitionFailure & { atMs: number }) | null
  /** The last seek back fetchStartOk made (to where, from which fetch offset), to tell a position reset from records kafkajs skipped. */
  seekBack: { to: bigint; fetched: string } | null
  /** When a batch of this partition last arrived (ms), for the position watchdog. */
  lastBatchMs: number
  idle: IdleWatch
}

/** A partition as the API shows it (GET /api/health's details, the page). Offsets are decimal strings. */
export interface PartitionView {
  partition: number
  actor: number
  epoch: string
  committed: string
  dispatched: string
  inFlightBytes: number
  /** Paused by flow control (or failed). */
  paused: boolean
  idle: boolean
  state: string
  /** A commit Postgres refuses for good: its SQLSTATE and message. */
  failed: { sqlstate: string; message: string } | null
}

export class PartitionTable extends Map<number, Part> {
  /**
   * A partition keeps its actor across claims; a new one goes to the actor with the fewest
   * partitions. Not p % ACTORS: the group's round-robin assignment gives a member
   * partitions i, i+M, i+2M…, which p % ACTORS would pile onto one actor whenever M and
   * ACTORS share a factor (2 supervisors with ACTORS=2: one actor each would sit idle).
   */
  actorFor(partition: number, actors: number): number {
    const kept = this.get(partition)
    if (kept) return kept.actor
    const load = Array.from({ length: actors }, () => 0)
    for (const p of this.values()) load[p.actor]!++
    return load.indexOf(Math.min(...load))
  }

  /** The partitions counted by this actor. */
  partitionsOf(actor: number): number[] {
    return [...this.values()].filter((p) => p.actor === actor).map((p) => p.partition)
  }

  /** Active, and nothing to read for IDLE_PARTITION_SECONDS (see IdleWatch). */
  isIdle(part: Part, nowMs: number): boolean {
    return part.state === 'active' && part.idle.isIdle(part.flow.committed, part.flow.dispatched, nowMs)
  }

  /** Every partition, in partition order. */
  views(nowMs: number): PartitionView[] {
    return [...this.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({
        partition: p.partition,
        actor: p.actor,
        epoch: p.epoch,
        committed: p.flow.committed.toString(),
        dispatched: p.flow.dispatched.toString(),
        inFlightBytes: p.flow.bytes,
        paused: p.paused,
        idle: this.isIdle(p, nowMs),
        state: p.state,
        failed: p.failure && { sqlstate: p.failure.sqlstate, message: p.failure.message },
      }))
  }

  /** Partitions whose commit Postgres refused for good, in partition order; `fromOffset` is where each stands. */
  failures(): (PartitionFailure & { atMs: number })[] {
    return [...this.values()]
      .filter((p) => p.failure)
      .sort((a, b) => a.partition - b.partition)
      .map((p) => p.failure!)
  }

  /** Partitions that had nothing to read for IDLE_PARTITION_SECONDS, at their committed position. */
  idlePartitions(nowMs: number): IdlePartition[] {
    return [...this.values()]
      .filter((p) => this.isIdle(p, nowMs))
      .map((p) => ({ partition: p.partition, epoch: p.epoch, offset: p.flow.committed.toString() }))
  }
}
