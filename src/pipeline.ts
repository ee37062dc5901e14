import { EventEmitter } from 'node:events'
import type pg from 'pg'
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
  }

  /** The partitions this process owns now, with their committed and dispatched positions. */
  partitions(): { partition: number; actor: number; epoch: string; committed: string; dispatched: string; paused: boolean; state: string }[] {
    return [...this.parts.values()]
      .sort((a, b) => a.partition - b.partition)
      .map((p) => ({ partition: p.partition, actor: p.actor, epoch: p.epoch, committed: p.committed.toString(), dispatched: p.nextDispatch.toString(), paused: p.paused, state: p.state }))
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
    }
    if (toClaim.length) void this.claim(toClaim)
    log.info('assignment', { partitions, claiming: toClaim })
  }

  private async claim(partitions: number[]): Promise<void> {
    const claims = partitions.map((partition) => {
      const previous = this.parts.get(partition)
      const part: Part = {
        partition,
        actor: partition % this.actors.length,
        generation: (previous?.generation ?? 0) + 1,
        state: 'claiming',
        ready: Promise.resolve(false),
        epoch: previous?.epoch ?? '0',
        nextDispatch: 0n,
        committed: 0n,
        checkFirstBatch: true,
        paused: previous?.paused ?? false,
      }
      this.parts.set(partition, part)
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
            log.info('claimed partition', { partition: part.partition, epoch: claim.epoch, nextOffset: claim.nextOffset, actor: part.actor })
            return true
          } catch (err) {
            lows = null
            const backoffMs = Math.min(5000, 200 * attempt)
            log.warn('claim failed, retrying', { partition: part.partition, attempt, backoffMs, error: err as Error })
            await new Promise((r) => setTimeout(r, backoffMs))
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
    if (part.paused) this.consumer.resume(partition)
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
  async dispatch(partition: number, messages: RawRecord[], isStale: () => boolean): Promise<string | null> {
    const part = this.parts.get(partition)
    if (!part || this.stopping) return null
    if (!(await part.ready) || part.state !== 'active' || isStale() || this.stopping) return null
    let first = 0
    while (first < messages.length && BigInt(messages[first]!.offset) < part.nextDispatch) first++
    if (first === messages.length) return messages.length ? messages[messages.length - 1]!.offset : null
    const records = first === 0 ? messages : messages.slice(first)
    if (part.checkFirstBatch) {
      part.checkFirstBatch = false
      if (BigInt(records[0]!.offset) > part.nextDispatch) {
        log.warn('fetch position ahead of Postgres; seeking back', { partition, fetched: records[0]!.offset, stored: part.nextDispatch.toString() })
        this.consumer.seek(partition, part.nextDispatch.toString())
        return null
      }
    }
    const buffer = encodeBatch(records)
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
    u.bytes += buffer.byteLength
    if (u.records >= this.opts.flushRecords || u.bytes >= this.opts.flushBytes) this.flush(part.actor)
    if (part.nextDispatch - part.committed >= BigInt(this.opts.maxInFlightRecords)) this.setPaused(part, true)
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
      offsets.push({ partition: c.partition, offset: c.nextOffset })
      if (part.paused && part.nextDispatch - part.committed < BigInt(this.opts.maxInFlightRecords) / 2n) this.setPaused(part, false)
    }
    const fenced = result.fenced.filter((f) => this.parts.get(f.partition)?.epoch === f.epoch)
    if (fenced.length) {
      this.stats.fencedPartitions += fenced.length
      log.warn('commit fenced', { fenced })
      this.resync(fenced.map((f) => f.partition), 'fenced')
    }
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
  }
}
