import { EventEmitter } from 'node:events'
import type pg from 'pg'
import { encodeBatch, type RawRecord } from '../shared/batch-codec.js'
import { claimPartition } from '../postgres/schema.js'
import { IdleWatch } from './idle-watch.js'
import { log } from '../shared/log.js'
import {
  ActorTask,
  WriterTask,
  type CommitResult,
  type CommitTask,
  type Flush,
  type IdlePartition,
  type PartitionFailure,
  type PartitionFlush,
} from '../shared/protocol.js'
import { retry } from '../shared/retry.js'
import type { ActorThread } from './serial-worker.js'

// The supervisor's coordinator, on the main thread. It owns no window state: it decides
// which actor owns which partition, hands records over in batches, asks actors for
// flushes, and feeds the writer one commit at a time. Postgres is the source of truth
// for positions: every recovery (rebalance, thread crash, fenced commit) is the same
// "claim": bump the partition's epoch, reset its actor, resume from the stored offset.
// The one exception is a partition whose commit Postgres refuses for good (the writer's
// CommitResult.failed): it is paused where it stands and stays so until the process restarts.

export interface ConsumerControl {
  seek(partition: number, offset: string): void
  pause(partition: number): void
  resume(partition: number): void
  commitOffsets(offsets: { partition: number; offset: string }[]): Promise<void>
  lowOffsets(): Promise<Map<number, string>>
}

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
}

interface Part {
  partition: number
  actor: number
  /** Bumped on every claim and release: a claim that finds it changed was superseded. */
  generation: number
  state: 'claiming' | 'active'
  ready: Promise<boolean>
  epoch: string
  /** Next offset to hand to the actor; below it, records are already there. */
  nextDispatch: bigint
  /** Next offset committed in Postgres. */
  committed: bigint
  /** The first batch after a claim must not start past nextDispatch (Kafka's position may be ahead of Postgres). */
  checkFirstBatch: boolean
  paused: boolean
  /** Set when Postgres refused this partition's commit for good: paused in the consumer, never resumed or claimed again here. */
  failure: (PartitionFailure & { atMs: number }) | null
  /** When a batch of this partition last arrived (ms), for the position watchdog. */
  lastBatchMs: number
  /** Bytes of the batches dispatched but not yet committed, and where each batch ends (its next offset). */
  inFlightBytes: number
  batches: { end: bigint; bytes: number }[]
  idle: IdleWatch
}

export interface PipelineStats {
  consumed: number
  dispatchedBatches: number
  commits: number
  fencedPartitions: number
  claims: number
}

export class Pipeline extends EventEmitter {
  private readonly parts = new Map<number, Part>()
  private assigned = new Set<number>()
  private pending: PartitionFlush[] = []
  private committing = false
  private outstandingFlushes = 0
  private readonly unflushed: { records: number; bytes: number }[]
  private timer: NodeJS.Timeout | null = null
  private readonly watchdog: NodeJS.Timeout
  private stopping = false
  private idleWaiters: (() => void)[] = []
  /** Partitions of the topic, from Kafka's metadata; 0 until known (no window becomes final before). */
  private partitionCount = 0
  private lastCommitSentMs = 0
  readonly stats: PipelineStats = { consumed: 0, dispatchedBatches: 0, commits: 0, fencedPartitions: 0, claims: 0 }

  constructor(
    private readonly opts: PipelineOptions,
    private readonly db: pg.Pool,
    private readonly actors: ActorThread[],
    private readonly writer: ActorThread,
    private readonly consumer: ConsumerControl,
  ) {
    super()
    this.unflushed = actors.map(() => ({ records: 0, bytes: 0 }))
    actors.forEach((a, i) => a.on('restart', () => this.resync(this.partitionsOf(i), `actor ${i} restarted`)))
    writer.on('restart', () => this.resync([...this.parts.keys()], 'writer restarted'))
    this.timer = setInterval(() => {
      this.flushAll()
      this.commitIdle()
    }, opts.flushMs)
    this.watchdog = setInterval(() => this.reassertPositions(), POSITION_WATCHDOG_MS)
    this.watchdog.unref()
  }

  /**
   * kafkajs can move a partition's fetch position to the log end on its own (its answer to an
   * OFFSET_OUT_OF_RANGE, seen from the broker just after a restart): if no more records come,
   * no batch ever shows the jump. A partition that got no batch for a while is sent back to
   * where counting stands; for a partition that is simply idle this seek changes nothing.
   */
  private reassertPositions(): void {
    if (this.stopping) return
    const now = Date.now()
    for (const part of this.parts.values()) {
      if (part.state !== 'active' || part.paused || now - part.lastBatchMs < POSITION_WATCHDOG_MS) continue
      part.lastBatchMs = now
      try {
        this.consumer.seek(part.partition, part.nextDispatch.toString())
      } catch (err) {
        log.debug('position watchdog: seek refused', { partition: part.partition, error: err as Error }) // consumer restarting; next round
      }
    }
  }

  /**
   * The partitions this process owns now, with their committed and dispatched positions;
   * `paused` is flow control, `failed` a commit Postgres refuses for good (SQLSTATE and message).
   */
  partitions(): {
    partition: number
    actor: number
    epoch: string
    committed: string
    dispatched: string
    inFlightBytes: number
    paused: boolean
    idle: boolean
    state: string
    failed: { sqlstate: string; message: string } | null
  }[] {
    const now = Date.now()
    return [...this.parts.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({
        partition: p.partition,
        actor: p.actor,
        epoch: p.epoch,
        committed: p.committed.toString(),
        dispatched: p.nextDispatch.toString(),
        inFlightBytes: p.inFlightBytes,
        paused: p.paused,
        idle: this.isIdle(p, now),
        state: p.state,
        failed: p.failure && { sqlstate: p.failure.sqlstate, message: p.failure.message },
      }))
  }

  /** Owned partitions whose commit Postgres refused for good, in partition order; `fromOffset` is where each stands. */
  failures(): (PartitionFailure & { atMs: number })[] {
    return [...this.parts.values()]
      .filter((p) => p.failure)
      .sort((a, b) => a.partition - b.partition)
      .map((p) => p.failure!)
  }

  /** Kafka told this partition's high watermark (log end offset, decimal string): a fetched batch or the periodic poll. */
  sawHighWatermark(partition: number, highWatermark: string): void {
    const part = this.parts.get(partition)
    if (part?.state === 'active') part.idle.sawHighWatermark(BigInt(highWatermark), part.committed, Date.now())
  }

  /** The topic's partition count from Kafka's metadata; windows become final only once it is known. */
  setPartitionCount(n: number): void {
    this.partitionCount = n
  }

  private isIdle(part: Part, nowMs: number): boolean {
    return part.state === 'active' && part.idle.isIdle(part.committed, part.nextDispatch, nowMs)
  }

  /** Partitions owned here that had nothing to read for IDLE_PARTITION_SECONDS, at their committed position. */
  private idlePartitions(): IdlePartition[] {
    const now = Date.now()
    return [...this.parts.values()]
      .filter((p) => this.isIdle(p, now))
      .map((p) => ({ partition: p.partition, epoch: p.epoch, offset: p.committed.toString() }))
  }

  /**
   * With idle partitions and no commit for IDLE_COMMIT_INTERVAL_MS, a commit with no records:
   * the advance, and the windows it closes, are committed even when no record arrives. Other
   * commits carry the idle partitions too.
   */
  private commitIdle(): void {
    if (this.committing || this.pending.length || this.stopping || Date.now() - this.lastCommitSentMs < IDLE_COMMIT_INTERVAL_MS) return
    if (this.idlePartitions().length) void this.commitLoop(true)
  }

  private get maxInFlightBytes(): number {
    return this.opts.maxInFlightBytes ?? Number.POSITIVE_INFINITY
  }

  /**
   * A partition keeps its actor across claims; a new one goes to the actor with the fewest
   * partitions. Not p % ACTORS: the group's round-robin assignment gives a member
   * partitions i, i+M, i+2M…, which p % ACTORS would pile onto one actor whenever M and
   * ACTORS share a factor (2 supervisors with ACTORS=2: one actor each would sit idle).
   */
  private actorFor(partition: number): number {
    const kept = this.parts.get(partition)
    if (kept) return kept.actor
    const load = this.actors.map(() => 0)
    for (const p of this.parts.values()) load[p.actor]!++
    return load.indexOf(Math.min(...load))
  }

  private partitionsOf(actor: number): number[] {
    return [...this.parts.values()].filter((p) => p.actor === actor).map((p) => p.partition)
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
      if (part?.state === 'active') this.consumer.seek(p, part.nextDispatch.toString())
      // A consumer kafkajs restarts after a crash (broker away) starts with nothing paused.
      if (part?.paused || part?.failure) this.consumer.pause(p)
    }
    if (toClaim.length) void this.claim(toClaim)
    log.info('assignment', { partitions, claiming: toClaim })
  }

  private async claim(partitions: number[]): Promise<void> {
    const claims = partitions.map((partition) => {
      const previous = this.parts.get(partition)
      const part: Part = {
        partition,
        actor: this.actorFor(partition),
        generation: (previous?.generation ?? 0) + 1,
        state: 'claiming',
        ready: Promise.resolve(false),
        epoch: previous?.epoch ?? '0',
        nextDispatch: 0n,
        committed: 0n,
        checkFirstBatch: true,
        paused: previous?.paused ?? false,
        failure: null,
        lastBatchMs: Date.now(),
        inFlightBytes: 0,
        batches: [],
        idle: new IdleWatch(this.opts.idleMs ?? 0, Date.now()),
      }
      this.parts.set(partition, part)
      // Paused until claimed: a claim can wait on a row lock as long as a frozen owner's
      // transaction lives (up to 15 s), and dispatch() must not wait for it, since kafkajs
      // sends no heartbeat while a batch is in eachBatch.
      this.consumer.pause(partition)
      return part
    })
    let lows: Promise<Map<number, string>> | null = null
    for (const part of claims) {
      const generation = part.generation
      const attempt = async (): Promise<boolean> => {
        if (this.parts.get(part.partition)?.generation !== generation || this.stopping) return false
        lows ??= this.consumer.lowOffsets()
        const low = (await lows).get(part.partition) ?? '0'
        const claim = await claimPartition(this.db, this.opts.topic, part.partition, this.opts.owner, low)
        if (this.parts.get(part.partition)?.generation !== generation) return false
        await this.actors[part.actor]!.run({
          type: ActorTask.ASSIGN,
          partition: part.partition,
          epoch: claim.epoch,
          nextOffset: claim.nextOffset,
          maxEventMs: claim.maxEventMs,
          idleWatermarkMs: claim.idleWatermarkMs,
        })
        if (this.parts.get(part.partition)?.generation !== generation) return false
        part.epoch = claim.epoch
        part.nextDispatch = part.committed = BigInt(claim.nextOffset)
        part.state = 'active'
        this.stats.claims++
        this.consumer.seek(part.partition, claim.nextOffset)
        if (part.paused) this.setPaused(part, false)
        else this.consumer.resume(part.partition)
        log.info('claimed partition', { partition: part.partition, epoch: claim.epoch, nextOffset: claim.nextOffset, actor: part.actor })
        return true
      }
      part.ready = retry(attempt, {
        ...CLAIM_BACKOFF,
        onRetry: (err, attempt, backoffMs) => {
          lows = null
          log.warn('claim failed, retrying', { partition: part.partition, attempt, backoffMs, error: err as Error })
        },
      }).then((r) => r.value)
    }
  }

  private release(partition: number): void {
    const part = this.parts.get(partition)
    if (!part) return
    this.parts.delete(partition)
    part.generation++
    this.consumer.resume(partition) // paused for flow control or for a claim; neither applies now
    // Flush, then release: the actor's last delta is committed if the fence still lets it.
    this.track(this.actors[part.actor]!.run<Flush>({ type: ActorTask.RELEASE, partition }), part.actor)
  }

  /** Claims these partitions again, if they are still assigned here and not failed. */
  resync(partitions: number[], why: string): void {
    const still = partitions.filter((p) => this.assigned.has(p) && !this.parts.get(p)?.failure)
    if (still.length === 0 || this.stopping) return
    log.warn('resyncing partitions from Postgres', { partitions: still, why })
    void this.claim(still)
  }

  /**
   * Hands a fetched batch to its partition's actor. Returns the offset to resolve in the
   * consumer (everything up to it is with the actor), or null to resolve nothing.
   */
  async dispatch(partition: number, messages: RawRecord[], isStale: () => boolean, fetchedOffset?: string): Promise<string | null> {
    const part = this.parts.get(partition)
    if (!part || this.stopping) return null
    // Not yet claimed: dropped unresolved; the claim seeks and resumes the partition. Failed: stays in Kafka.
    if (part.state !== 'active' || part.failure || isStale() || this.stopping) return null
    part.lastBatchMs = Date.now()
    // kafkajs answers an out-of-range fetch by moving the partition to the log start or end
    // ("resetting to default offset"), seen after rebalances: a fetch that started past
    // nextDispatch would skip records without a trace, so go back, unless retention has
    // deleted them (the log now starts past nextDispatch), where the log start is all there is.
    if (fetchedOffset !== undefined && BigInt(fetchedOffset) > part.nextDispatch) {
      const low = await this.consumer.lowOffsets().then(
        (lows) => BigInt(lows.get(partition) ?? '0'),
        () => 0n,
      )
      if (this.parts.get(partition) !== part || part.state !== 'active' || isStale() || this.stopping) return null
      if (low <= part.nextDispatch) {
        log.warn('fetch started past the next offset to count; seeking back', {
          partition,
          fetched: fetchedOffset,
          next: part.nextDispatch.toString(),
        })
        this.consumer.seek(partition, part.nextDispatch.toString())
        return null
      }
      log.warn('records deleted from Kafka before they were counted (retention); going on from the log start', {
        partition,
        from: part.nextDispatch.toString(),
        logStart: low.toString(),
      })
    }
    let first = 0
    while (first < messages.length && BigInt(messages[first]!.offset) < part.nextDispatch) first++
    if (first === messages.length) return messages.length ? messages[messages.length - 1]!.offset : null
    let records = first === 0 ? messages : messages.slice(first)
    if (part.checkFirstBatch) {
      part.checkFirstBatch = false
      if (BigInt(records[0]!.offset) > part.nextDispatch) {
        log.warn('fetch position ahead of Postgres; seeking back', {
          partition,
          fetched: records[0]!.offset,
          stored: part.nextDispatch.toString(),
        })
        this.consumer.seek(partition, part.nextDispatch.toString())
        return null
      }
    }
    // Hand over only what fits under the in-flight bound (a fetch can hold a partition's 512 KiB, or one larger record);
    // kafkajs fetches the rest again from the resolved offset once the partition is resumed.
    // With nothing in flight it counts from the first record: a gap in the offsets (records
    // deleted by retention) is not in flight, and no commit would come to resume the partition.
    const base = part.nextDispatch === part.committed ? BigInt(records[0]!.offset) : part.committed
    const fit = part.inFlightBytes >= this.maxInFlightBytes ? 0 : fitting(records, base + BigInt(this.opts.maxInFlightRecords))
    if (fit === 0) {
      this.setPaused(part, true)
      return first > 0 ? messages[first - 1]!.offset : null
    }
    if (fit < records.length) records = records.slice(0, fit)
    const buffer = encodeBatch(records)
    // Read before run(): transferring the buffer to an idle actor detaches it (byteLength 0).
    const bytes = buffer.byteLength
    const actor = this.actors[part.actor]!
    const generation = part.generation
    actor.run<number>({ type: ActorTask.BATCH, partition, epoch: part.epoch, buffer }, [buffer]).catch((err: Error) => {
      if (this.parts.get(partition)?.generation === generation) this.resync([partition], `batch failed: ${err.message}`)
    })
    const last = records[records.length - 1]!.offset
    part.nextDispatch = BigInt(last) + 1n
    part.idle.busy(Date.now())
    this.stats.consumed += records.length
    this.stats.dispatchedBatches++
    const u = this.unflushed[part.actor]!
    u.records += records.length
    u.bytes += bytes
    if (u.records >= this.opts.flushRecords || u.bytes >= this.opts.flushBytes) this.flush(part.actor)
    // Bytes too: rejected records keep their raw bytes until committed, and 20,000 of 1 MB each would be 20 GB.
    part.inFlightBytes += bytes
    part.batches.push({ end: part.nextDispatch, bytes })
    if (part.nextDispatch - part.committed >= BigInt(this.opts.maxInFlightRecords) || part.inFlightBytes >= this.maxInFlightBytes)
      this.setPaused(part, true)
    return last
  }

  private setPaused(part: Part, paused: boolean): void {
    if (part.paused === paused || part.failure) return // a failed partition stays paused in the consumer
    part.paused = paused
    if (paused) this.consumer.pause(part.partition)
    else this.consumer.resume(part.partition)
    this.emit('paused', part.partition, paused)
  }

  flushAll(): void {
    this.unflushed.forEach((u, i) => {
      if (u.records > 0) this.flush(i)
    })
  }

  private flush(actor: number): void {
    this.unflushed[actor] = { records: 0, bytes: 0 }
    this.track(this.actors[actor]!.run<Flush>({ type: ActorTask.FLUSH }), actor)
  }

  private track(flush: Promise<Flush>, actor: number): void {
    this.outstandingFlushes++
    flush
      .then((f) => {
        if (f.partitions.length) {
          this.pending.push(...f.partitions)
          void this.commitLoop()
        }
      })
      .catch((err: Error) => this.resync(this.partitionsOf(actor), `flush failed: ${err.message}`))
      .finally(() => {
        this.outstandingFlushes--
        this.checkIdle()
      })
  }

  /** Sends everything pending to the writer, one COMMIT at a time; `idleOnly`: also with no flushes (see commitIdle). */
  private async commitLoop(idleOnly = false): Promise<void> {
    if (this.committing || (this.pending.length === 0 && !idleOnly)) return
    this.committing = true
    // A failed partition's later flushes start past its stored position: they are dropped
    // here rather than fenced (a fence would claim it again, and it would fail again).
    const flushes = this.pending.filter((f) => !this.parts.get(f.partition)?.failure)
    this.pending = []
    this.lastCommitSentMs = Date.now()
    if (flushes.length === 0 && !idleOnly) {
      this.committing = false
      this.checkIdle()
      return
    }
    try {
      const task: CommitTask = {
        type: WriterTask.COMMIT,
        topic: this.opts.topic,
        partitionCount: this.partitionCount,
        flushes,
        idle: this.idlePartitions(),
      }
      const result = await this.writer.run<CommitResult>(task)
      this.onCommitted(result)
    } catch (err) {
      // The writer died: whether its transaction committed is unknown, so every partition
      // goes back to what Postgres says.
      log.error('commit lost with the writer thread', { error: err as Error, flushes: flushes.length })
      this.resync([...this.parts.keys()], 'commit lost')
    } finally {
      this.committing = false
      if (this.pending.length) void this.commitLoop()
      this.checkIdle()
    }
  }

  private onCommitted(result: CommitResult): void {
    this.stats.commits++
    const offsets: { partition: number; offset: string }[] = []
    for (const c of result.committed) {
      const part = this.parts.get(c.partition)
      if (!part || part.epoch !== c.epoch) continue
      part.committed = BigInt(c.nextOffset)
      part.idle.busy(Date.now())
      while (part.batches.length && part.batches[0]!.end <= part.committed) part.inFlightBytes -= part.batches.shift()!.bytes
      offsets.push({ partition: c.partition, offset: c.nextOffset })
      if (
        part.paused &&
        part.nextDispatch - part.committed < BigInt(this.opts.maxInFlightRecords) / 2n &&
        part.inFlightBytes < this.maxInFlightBytes / 2
      )
        this.setPaused(part, false)
    }
    // Every refusal counts (as in tumbler_fenced_partitions_total); only a partition still
    // held under the refused epoch needs claiming again (a released one is someone else's).
    if (result.fenced.length) {
      this.stats.fencedPartitions += result.fenced.length
      log.warn('commit fenced', { fenced: result.fenced })
    }
    const stale = result.fenced.filter((f) => this.parts.get(f.partition)?.epoch === f.epoch)
    if (stale.length)
      this.resync(
        stale.map((f) => f.partition),
        'fenced',
      )
    // The actor takes an idle advance only if it read nothing since; if it did, its next
    // flush is fenced and the partition claimed again with the raised watermark.
    for (const a of result.advanced) {
      const part = this.parts.get(a.partition)
      if (!part || part.epoch !== a.epoch || part.state !== 'active') continue
      const generation = part.generation
      this.actors[part.actor]!.run({
        type: ActorTask.ADVANCE,
        partition: a.partition,
        epoch: a.epoch,
        fromOffset: a.fromOffset,
        idleWatermarkMs: a.idleWatermarkMs,
      }).catch((err: Error) => {
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
    this.pending = this.pending.filter((p) => p.partition !== f.partition)
    this.actors[part.actor]!.run<Flush>({ type: ActorTask.RELEASE, partition: f.partition }).catch(() => {})
    log.error('partition stopped: paused until the supervisor restarts', {
      partition: f.partition,
      epoch: f.epoch,
      offset: f.fromOffset,
      sqlstate: f.sqlstate,
      message: f.message,
    })
  }

  private checkIdle(): void {
    if (this.committing || this.pending.length || this.outstandingFlushes) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }

  /** Stops taking batches, flushes every actor and waits until the writer committed it all. */
  async drain(): Promise<void> {
    this.stopping = true
    if (this.timer) clearInterval(this.timer)
    this.actors.forEach((_, i) => this.flush(i))
    await new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve)
      this.checkIdle()
    })
  }

  close(): void {
    if (this.timer) clearInterval(this.timer)
    clearInterval(this.watchdog)
  }
}

/** How often a commit with no records carries the idle partitions (see commitIdle). */
const IDLE_COMMIT_INTERVAL_MS = 1_000
/** Waits between attempts of a claim that failed (Postgres or Kafka away). */
const CLAIM_BACKOFF = { baseMs: 200, maxMs: 5000 }

/** How long a partition may go without a batch before its fetch position is set again (see reassertPositions). */
const POSITION_WATCHDOG_MS = 5_000

/** How many of these records (offsets ascending) lie below `limit`; the common case, all of them, costs one comparison. */
function fitting(records: RawRecord[], limit: bigint): number {
  if (BigInt(records[records.length - 1]!.offset) < limit) return records.length
  let lo = 0
  let hi = records.length - 1 // records[hi] is at or past the limit
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (BigInt(records[mid]!.offset) < limit) lo = mid + 1
    else hi = mid
  }
  return lo
}
