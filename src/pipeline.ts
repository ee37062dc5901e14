import { EventEmitter } from 'node:events'
import type pg from 'pg'
import { backoffMs, type BackoffPolicy } from './backoff.js'
import { encodeBatch, type RawRecord } from './batch-codec.js'
import { claimPartition } from './db.js'
import { log } from './log.js'
import { ActorTask, WriterTask, type CommitResult, type Flush, type PartitionFlush } from './protocol.js'
import type { ActorThread } from './threads.js'

// The supervisor's coordinator, on the main thread. It owns no window state: it decides
// which actor owns which partition, hands records over in batches, asks actors for
// flushes, and feeds the writer one commit at a time. Postgres is the source of truth
// for positions: every recovery (rebalance, thread crash, fenced commit) is the same
// "claim": bump the partition's epoch, reset its actor, resume from the stored offset.

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
  /** When a batch of this partition last arrived (ms), for the position watchdog. */
  lastBatchMs: number
  /** Bytes of the batches dispatched but not yet committed, and where each batch ends (its next offset). */
  inFlightBytes: number
  batches: { end: bigint; bytes: number }[]
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
    this.timer = setInterval(() => this.flushAll(), opts.flushMs)
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

  /** The partitions this process owns now, with their committed and dispatched positions. */
  partitions(): { partition: number; actor: number; epoch: string; committed: string; dispatched: string; inFlightBytes: number; paused: boolean; state: string }[] {
    return [...this.parts.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({ partition: p.partition, actor: p.actor, epoch: p.epoch, committed: p.committed.toString(), dispatched: p.nextDispatch.toString(), inFlightBytes: p.inFlightBytes, paused: p.paused, state: p.state }))
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
      if (part?.paused) this.consumer.pause(p)
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
        lastBatchMs: Date.now(),
        inFlightBytes: 0,
        batches: [],
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
      part.ready = (async () => {
        for (let attempt = 1; ; attempt++) {
          if (this.parts.get(part.partition)?.generation !== generation || this.stopping) return false
          try {
            lows ??= this.consumer.lowOffsets()
            const low = (await lows).get(part.partition) ?? '0'
            const claim = await claimPartition(this.db, this.opts.topic, part.partition, this.opts.owner, low)
            if (this.parts.get(part.partition)?.generation !== generation) return false
            await this.actors[part.actor]!.run({ type: ActorTask.ASSIGN, partition: part.partition, epoch: claim.epoch, nextOffset: claim.nextOffset, maxEventMs: claim.maxEventMs })
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
          } catch (err) {
            lows = null
            const waitMs = backoffMs(attempt, CLAIM_RETRY)
            log.warn('claim failed, retrying', { partition: part.partition, attempt, backoffMs: waitMs, error: err as Error })
            await new Promise((r) => setTimeout(r, waitMs))
          }
        }
      })()
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

  /** Claims these partitions again, if they are still assigned here. */
  resync(partitions: number[], why: string): void {
    const still = partitions.filter((p) => this.assigned.has(p))
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
    // Not yet claimed: dropped unresolved; the claim seeks and resumes the partition.
    if (part.state !== 'active' || isStale() || this.stopping) return null
    part.lastBatchMs = Date.now()
    // kafkajs answers an out-of-range fetch by moving the partition to the log start or end
    // ("resetting to default offset"), seen after rebalances: a fetch that started past
    // nextDispatch would skip records without a trace, so go back, unless retention has
    // deleted them (the log now starts past nextDispatch), where the log start is all there is.
    if (fetchedOffset !== undefined && BigInt(fetchedOffset) > part.nextDispatch) {
      const low = await this.consumer.lowOffsets().then((lows) => BigInt(lows.get(partition) ?? '0'), () => 0n)
      if (this.parts.get(partition) !== part || part.state !== 'active' || isStale() || this.stopping) return null
      if (low <= part.nextDispatch) {
        log.warn('fetch started past the next offset to count; seeking back', { partition, fetched: fetchedOffset, next: part.nextDispatch.toString() })
        this.consumer.seek(partition, part.nextDispatch.toString())
        return null
      }
      log.warn('records deleted from Kafka before they were counted (retention); going on from the log start', { partition, from: part.nextDispatch.toString(), logStart: low.toString() })
    }
    let first = 0
    while (first < messages.length && BigInt(messages[first]!.offset) < part.nextDispatch) first++
    if (first === messages.length) return messages.length ? messages[messages.length - 1]!.offset : null
    let records = first === 0 ? messages : messages.slice(first)
    if (part.checkFirstBatch) {
      part.checkFirstBatch = false
      if (BigInt(records[0]!.offset) > part.nextDispatch) {
        log.warn('fetch position ahead of Postgres; seeking back', { partition, fetched: records[0]!.offset, stored: part.nextDispatch.toString() })
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
    this.stats.consumed += records.length
    this.stats.dispatchedBatches++
    const u = this.unflushed[part.actor]!
    u.records += records.length
    u.bytes += bytes
    if (u.records >= this.opts.flushRecords || u.bytes >= this.opts.flushBytes) this.flush(part.actor)
    // Bytes too: rejected records keep their raw bytes until committed, and 20,000 of 1 MB each would be 20 GB.
    part.inFlightBytes += bytes
    part.batches.push({ end: part.nextDispatch, bytes })
    if (part.nextDispatch - part.committed >= BigInt(this.opts.maxInFlightRecords) || part.inFlightBytes >= this.maxInFlightBytes) this.setPaused(part, true)
    return last
  }

  private setPaused(part: Part, paused: boolean): void {
    if (part.paused === paused) return
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

  private async commitLoop(): Promise<void> {
    if (this.committing || this.pending.length === 0) return
    this.committing = true
    const flushes = this.pending
    this.pending = []
    try {
      const result = await this.writer.run<CommitResult>({ type: WriterTask.COMMIT, topic: this.opts.topic, flushes })
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
      while (part.batches.length && part.batches[0]!.end <= part.committed) part.inFlightBytes -= part.batches.shift()!.bytes
      offsets.push({ partition: c.partition, offset: c.nextOffset })
      if (part.paused && part.nextDispatch - part.committed < BigInt(this.opts.maxInFlightRecords) / 2n && part.inFlightBytes < this.maxInFlightBytes / 2) this.setPaused(part, false)
    }
    // Every refusal counts (as in tumbler_fenced_partitions_total); only a partition still
    // held under the refused epoch needs claiming again (a released one is someone else's).
    if (result.fenced.length) {
      this.stats.fencedPartitions += result.fenced.length
      log.warn('commit fenced', { fenced: result.fenced })
    }
    const stale = result.fenced.filter((f) => this.parts.get(f.partition)?.epoch === f.epoch)
    if (stale.length) this.resync(stale.map((f) => f.partition), 'fenced')
    // Kafka learns the position only after Postgres has it, so lag tools see the group;
    // a failure here is harmless (Postgres decides where to resume).
    if (offsets.length) this.consumer.commitOffsets(offsets).catch((err: Error) => log.debug('kafka offset commit failed', { error: err }))
    this.emit('commit', result)
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

/** A failed claim (Postgres or Kafka away) is tried again after 200 ms, doubling to 5 s. */
const CLAIM_RETRY: BackoffPolicy = { initialMs: 200, maxMs: 5000 }

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
