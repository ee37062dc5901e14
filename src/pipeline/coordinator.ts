import { EventEmitter } from 'node:events'
import type pg from 'pg'
import type { RawRecord } from '../shared/batch-codec.js'
import { log } from '../shared/log.js'
import type { CommitResult, CommittedTask, PartitionFailure } from '../shared/protocol.js'
import type { FetchReport } from '../shared/actor-fetch.js'
import { claim } from './claims.js'
import { POSITION_WATCHDOG_MS, reassertPositions } from './fetch-position.js'
import { Intake } from './intake.js'
import type { ActorClient, WriterClient } from './clients.js'
import type { ConsumerControl } from './consumer-control.js'
import type { PipelineEvents, PipelineStats } from './events.js'
import { GroupCommit } from './group-commit.js'
import { PartitionTable, type Part, type PartitionView } from './partition-table.js'

export type { ConsumerControl } from './consumer-control.js'

// The supervisor's coordinator, on the main thread. It owns no window state: it decides
// which actor owns which partition, hands records over in batches, asks actors for
// flushes, and feeds the writer one commit at a time (GroupCommit). Postgres is the source
// of truth for positions: every recovery (rebalance, thread crash, fenced commit) is the
// same claim (claims.ts): bump the partition's epoch, reset its actor, resume from the
// stored offset. The one exception is a partition whose commit Postgres refuses for good
// (the writer's CommitResult.failed): it is paused where it stands and stays so until the
// process restarts.

export interface PipelineOptions {
  topic: string
  owner: string
  flushMs: number
  flushRecords: number
  flushBytes: number
  maxInFlightRecords: number
  /** Record bytes of one partition read but not yet committed before it is paused (default: no byte bound). */
  maxInFlightBytes?: number
  /** IDLE_PARTITION_SECONDS in ms: how long a partition has nothing to read before its watermark may be advanced; 0 (default) = never. */
  idleMs?: number
  /** KAFKA_FETCH=actors: the actors fetch their partitions themselves and send FetchReports (fetched()); no dispatch(). */
  fetchInActors?: boolean
}

export type { PipelineStats } from './events.js'

export type { PipelineEvents } from './events.js'

export class Pipeline extends EventEmitter<PipelineEvents> {
  private readonly parts = new PartitionTable()
  private assigned = new Set<number>()
  private readonly commits: GroupCommit
  private readonly intake: Intake
  private timer: NodeJS.Timeout | null = null
  private readonly watchdog: NodeJS.Timeout
  private stopping = false
  /** Partitions of the topic, from Kafka's metadata; 0 until known (no window becomes final before). */
  private partitionCount = 0
  readonly stats: PipelineStats = { consumed: 0, dispatchedBatches: 0, commits: 0, fencedPartitions: 0, claims: 0 }

  constructor(
    private readonly opts: PipelineOptions,
    private readonly db: pg.Pool,
    private readonly actors: ActorClient[],
    writer: WriterClient,
    private readonly consumer: ConsumerControl,
  ) {
    super()
    this.commits = new GroupCommit(opts.topic, opts, actors, writer, {
      isFailed: (partition) => !!this.parts.get(partition)?.failure,
      idlePartitions: () => this.parts.idlePartitions(Date.now()),
      partitionCount: () => this.partitionCount,
      committed: (result) => this.onCommitted(result),
      lost: () => this.resync([...this.parts.keys()], 'commit lost'),
      flushFailed: (actor, err) => this.resync(this.parts.partitionsOf(actor), `flush failed: ${err.message}`),
    })
    this.intake = new Intake({
      parts: this.parts,
      actors,
      consumer,
      commits: this.commits,
      stats: this.stats,
      stopping: () => this.stopping,
      setPaused: (part, paused) => this.setPaused(part, paused),
      showPaused: (part, paused) => {
        part.paused = paused
        this.emit('paused', part.partition, paused)
      },
      resync: (partitions, why) => this.resync(partitions, why),
    })
    actors.forEach((a, i) => a.thread.on('restart', () => this.resync(this.parts.partitionsOf(i), `actor ${i} restarted`)))
    writer.thread.on('restart', () => this.resync([...this.parts.keys()], 'writer restarted'))
    this.timer = setInterval(() => {
      this.flushAll()
      if (!this.stopping) this.commits.commitIdle() // idle partitions and no commit for a while: a commit with no records
    }, opts.flushMs)
    this.watchdog = setInterval(() => this.reassertPositions(), POSITION_WATCHDOG_MS)
    this.watchdog.unref()
  }

  /** The position watchdog (fetch-position.ts). */
  private reassertPositions(): void {
    if (!this.stopping) reassertPositions(this.parts, this.consumer, Date.now())
  }

  /**
   * The partitions this process owns now, with their committed and dispatched positions;
   * `paused` is flow control, `failed` a commit Postgres refuses for good (SQLSTATE and message).
   */
  partitions(): PartitionView[] {
    return this.parts.views(Date.now())
  }

  /** Owned partitions whose commit Postgres refused for good, in partition order; `fromOffset` is where each stands. */
  failures(): (PartitionFailure & { atMs: number })[] {
    return this.parts.failures()
  }

  /** Kafka told this partition's high watermark (log end offset, decimal string): a fetched batch or the periodic poll. */
  sawHighWatermark(partition: number, highWatermark: string): void {
    const part = this.parts.get(partition)
    if (part?.state === 'active') part.idle.sawHighWatermark(BigInt(highWatermark), part.flow.committed, Date.now())
  }

  /** The topic's partition count from Kafka's metadata; windows become final only once it is known. */
  setPartitionCount(n: number): void {
    this.partitionCount = n
  }

  /** The consumer group gave this process a new assignment. */
  onAssignment(partitions: number[]): void {
    this.assigned = new Set(partitions)
    for (const p of [...this.parts.keys()]) if (!this.assigned.has(p)) this.release(p)
    const toClaim = partitions.filter((p) => this.parts.get(p)?.state !== 'active')
    for (const p of partitions) {
      const part = this.parts.get(p)
      // Kept across the rebalance: the group restarts fetching at Kafka's committed offset;
      // seek to where we are instead of re-reading. If another member owned it meanwhile,
      // our next commit is fenced and we claim it again.
      if (part?.state === 'active') this.consumer.seek(p, part.flow.dispatched.toString())
      // A consumer kafkajs restarts after a crash (broker away) starts with nothing paused.
      if (part?.paused || part?.failure) this.consumer.pause(p)
    }
    if (toClaim.length) this.claim(toClaim)
    log.info('assignment', { partitions, claiming: toClaim })
  }

  private claim(partitions: number[]): void {
    claim(
      {
        parts: this.parts,
        db: this.db,
        topic: this.opts.topic,
        owner: this.opts.owner,
        actors: this.actors,
        consumer: this.consumer,
        limits: { maxRecords: this.opts.maxInFlightRecords, maxBytes: this.opts.maxInFlightBytes ?? Number.POSITIVE_INFINITY },
        idleMs: this.opts.idleMs ?? 0,
        stopping: () => this.stopping,
        claimed: (part) => {
          this.stats.claims++
          if (part.paused) this.setPaused(part, false)
          else this.consumer.resume(part.partition)
        },
      },
      partitions,
    )
  }

  private release(partition: number): void {
    const part = this.parts.get(partition)
    if (!part) return
    this.parts.delete(partition)
    part.generation++
    this.consumer.resume(partition) // paused for flow control or for a claim; neither applies now
    // Flush, then release: the actor's last delta is committed if the fence still lets it.
    this.commits.track(this.actors[part.actor]!.release(partition), part.actor)
  }

  /** Claims these partitions again, if they are still assigned here and not failed. */
  resync(partitions: number[], why: string): void {
    const still = partitions.filter((p) => this.assigned.has(p) && !this.parts.get(p)?.failure)
    if (still.length === 0 || this.stopping) return
    log.warn('resyncing partitions from Postgres', { partitions: still, why })
    this.claim(still)
  }

  /** KAFKA_FETCH=supervisor: hands a batch kafkajs fetched to its partition's actor (Intake.dispatch). */
  dispatch(partition: number, messages: RawRecord[], isStale: () => boolean, fetchedOffset?: string): Promise<string | null> {
    return this.intake.dispatch(partition, messages, isStale, fetchedOffset)
  }

  /** KAFKA_FETCH=actors: an actor counted a fetch (Intake.fetched). */
  fetched(report: FetchReport): void {
    this.intake.fetched(report)
  }

  private setPaused(part: Part, paused: boolean): void {
    if (part.paused === paused || part.failure) return // a failed partition stays paused in the consumer
    part.paused = paused
    if (paused) this.consumer.pause(part.partition)
    else this.consumer.resume(part.partition)
    this.emit('paused', part.partition, paused)
  }

  /** Asks every actor with records since its last flush for a flush (a rebalance is coming, or FLUSH_MS passed). */
  flushAll(): void {
    this.commits.flushAll()
  }

  private onCommitted(result: CommitResult): void {
    this.stats.commits++
    const offsets: { partition: number; offset: string }[] = []
    const byActor = this.actors.map((): CommittedTask['offsets'] => [])
    for (const c of result.committed) {
      const part = this.parts.get(c.partition)
      if (!part || part.epoch !== c.epoch) continue
      const mayResume = part.flow.commit(BigInt(c.nextOffset))
      part.idle.busy(Date.now())
      offsets.push({ partition: c.partition, offset: c.nextOffset })
      byActor[part.actor]!.push({ partition: c.partition, epoch: c.epoch, nextOffset: c.nextOffset })
      if (part.paused && mayResume && !this.opts.fetchInActors) this.setPaused(part, false)
    }
    // An actor that fetches for itself opens its in-flight bounds with the committed offsets.
    if (this.opts.fetchInActors)
      byActor.forEach((committed, i) => {
        if (committed.length)
          this.actors[i]!.committed(committed).catch((err: Error) =>
            this.resync(this.parts.partitionsOf(i), `committed failed: ${err.message}`),
          )
      })
    // Every refusal counts (as in tumbler_fenced_partitions_total); only a partition still
    // held under the refused epoch needs claiming again (a released one is someone else's).
    if (result.fenced.length) {
      this.stats.fencedPartitions += result.fenced.length
      log.warn('commit fenced', { fenced: result.fenced })
    }
    const stale = result.fenced.filter((f) => this.parts.get(f.partition)?.epoch === f.epoch).map((f) => f.partition)
    if (stale.length) this.resync(stale, 'fenced')
    // The actor takes an idle advance only if it read nothing since; if it did, its next
    // flush is fenced and the partition claimed again with the raised watermark.
    for (const a of result.advanced) {
      const part = this.parts.get(a.partition)
      if (!part || part.epoch !== a.epoch || part.state !== 'active') continue
      const generation = part.generation
      const { partition, epoch, fromOffset, idleWatermarkMs } = a
      this.actors[part.actor]!.advance({ partition, epoch, fromOffset, idleWatermarkMs }).catch((err: Error) => {
        if (this.parts.get(a.partition)?.generation === generation) this.resync([a.partition], `advance failed: ${err.message}`)
      })
    }
    for (const f of result.failed) this.fail(f)
    // Kafka learns the position only after Postgres has it, so lag tools see the group;
    // a failure here is harmless (Postgres decides where to resume).
    if (offsets.length) this.consumer.commitOffsets(offsets).catch((err: Error) => log.debug('kafka offset commit failed', { error: err }))
    this.emit('commit', result)
  }

  /**
   * Postgres refused this partition's commit for good (SQLSTATE class 22 or 23): it stops
   * where Postgres has it. Paused in the consumer, its records stay in Kafka and its stored
   * position does not move; its actor drops what it counted past that position. Never
   * claimed or resumed again by this process (a restart tries again; see README, Operations).
   */
  private fail(f: PartitionFailure): void {
    const part = this.parts.get(f.partition)
    // A claim since (a newer epoch, or one under way) re-reads from Postgres: if the data is still refused, it fails again.
    if (!part || part.state !== 'active' || part.epoch !== f.epoch || part.failure) return
    part.failure = { ...f, atMs: Date.now() }
    this.consumer.pause(part.partition)
    this.commits.drop(f.partition)
    this.actors[part.actor]!.release(f.partition).catch(() => {})
    const { partition, epoch, fromOffset: offset, sqlstate, message } = f
    log.error('partition stopped: paused until the supervisor restarts', { partition, epoch, offset, sqlstate, message })
  }

  /** Stops taking batches, flushes every actor and waits until the writer committed it all. */
  async drain(): Promise<void> {
    // Actors that fetch for themselves stop fetching once their partitions are released (final flush each).
    if (this.opts.fetchInActors) for (const p of [...this.parts.keys()]) this.release(p)
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    await this.commits.drain()
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    clearInterval(this.watchdog)
  }
}
