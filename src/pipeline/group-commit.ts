import { log } from '../shared/log.js'
import type { CommitResult, Flush, IdlePartition, PartitionFlush } from '../shared/protocol.js'
import type { ActorClient, WriterClient } from './clients.js'

// Flushes and group commit (docs/architecture.md, "The commit protocol", step 3): an actor is
// asked for a flush once it holds FLUSH_RECORDS records or FLUSH_BYTES bytes since its last
// one, or every FLUSH_MS; the flushes gather here while the writer commits, and go to it
// together in the next COMMIT — one COMMIT in flight at a time, so Postgres sees one
// transaction per round whatever the flush rate. With idle partitions and nothing else to
// commit, a commit with no records carries them.

/** What the group commit asks of the coordinator. */
export interface GroupCommitHost {
  /** Postgres refused this partition's commit for good: its later flushes are left out. */
  isFailed(partition: number): boolean
  /** The partitions owned here that count as idle now, at their committed position. */
  idlePartitions(): IdlePartition[]
  /** The topic's partition count from Kafka's metadata; 0 while unknown. */
  partitionCount(): number
  /** The writer's reply to one COMMIT. */
  committed(result: CommitResult): void
  /** The writer died under a COMMIT (or handling its reply failed): whether it committed is unknown. */
  lost(): void
  /** This actor failed a FLUSH or RELEASE (it died): what it held is lost. */
  flushFailed(actor: number, err: Error): void
}

/** When an actor is asked for a flush, besides every FLUSH_MS. */
export interface FlushBounds {
  /** FLUSH_RECORDS: records handed to one actor since its last flush. */
  flushRecords: number
  /** FLUSH_BYTES: batch bytes handed to one actor since its last flush. */
  flushBytes: number
}

/** How often a commit with no records carries the idle partitions (see commitIdle). */
export const IDLE_COMMIT_INTERVAL_MS = 1_000

export class GroupCommit {
  private pending: PartitionFlush[] = []
  private committing = false
  private outstandingFlushes = 0
  private idleWaiters: (() => void)[] = []
  private lastCommitSentMs = 0
  /** Records and bytes handed to each actor since its last flush; `moved`: any hand-over at all (also of offsets with no record). */
  private readonly unflushed: { records: number; bytes: number; moved: boolean }[]

  constructor(
    private readonly topic: string,
    private readonly bounds: FlushBounds,
    private readonly actors: ActorClient[],
    private readonly writer: WriterClient,
    private readonly host: GroupCommitHost,
  ) {
    this.unflushed = actors.map(() => ({ records: 0, bytes: 0, moved: false }))
  }

  /** A batch of `records` and `bytes` went to this actor: asks it for a flush once over FLUSH_RECORDS or FLUSH_BYTES. */
  dispatched(actor: number, records: number, bytes: number): void {
    const u = this.unflushed[actor]!
    u.records += records
    u.bytes += bytes
    u.moved = true
    if (u.records >= this.bounds.flushRecords || u.bytes >= this.bounds.flushBytes) this.flush(actor)
  }

  /** Asks every actor with records since its last flush for a flush. */
  flushAll(): void {
    this.unflushed.forEach((u, i) => {
      if (u.moved) this.flush(i)
    })
  }

  /** Asks this actor for a flush. */
  flush(actor: number): void {
    this.unflushed[actor] = { records: 0, bytes: 0, moved: false }
    this.track(this.actors[actor]!.flush(), actor)
  }

  /** Takes the reply of this actor's FLUSH or RELEASE into the next commit. */
  track(flush: Promise<Flush>, actor: number): void {
    this.outstandingFlushes++
    flush
      .then((f) => {
        if (f.partitions.length) {
          this.pending.push(...f.partitions)
          void this.commitLoop()
        }
      })
      .catch((err: Error) => this.host.flushFailed(actor, err))
      .finally(() => {
        this.outstandingFlushes--
        this.checkIdle()
      })
  }

  /**
   * With idle partitions and no commit for IDLE_COMMIT_INTERVAL_MS, a commit with no records:
   * the advance, and the windows it closes, are committed even when no record arrives. Other
   * commits carry the idle partitions too.
   */
  commitIdle(): void {
    if (this.committing || this.pending.length || Date.now() - this.lastCommitSentMs < IDLE_COMMIT_INTERVAL_MS) return
    if (this.host.idlePartitions().length) void this.commitLoop(true)
  }

  /** Drops the pending flushes of this partition (its commit was refused for good). */
  drop(partition: number): void {
    this.pending = this.pending.filter((p) => p.partition !== partition)
  }

  /** Flushes every actor; resolves once no flush is outstanding, nothing is pending and no COMMIT is in flight. */
  drain(): Promise<void> {
    this.actors.forEach((_, i) => this.flush(i))
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve)
      this.checkIdle()
    })
  }

  /** Sends everything pending to the writer, one COMMIT at a time; `idleOnly`: also with no flushes (see commitIdle). */
  private async commitLoop(idleOnly = false): Promise<void> {
    if (this.committing || (this.pending.length === 0 && !idleOnly)) return
    this.committing = true
    // A failed partition's later flushes start past its stored position: they are dropped
    // here rather than fenced (a fence would claim it again, and it would fail again).
    const flushes = this.pending.filter((f) => !this.host.isFailed(f.partition))
    this.pending = []
    this.lastCommitSentMs = Date.now()
    if (flushes.length === 0 && !idleOnly) {
      this.committing = false
      this.checkIdle()
      return
    }
    try {
      const result = await this.writer.commit({
        topic: this.topic,
        partitionCount: this.host.partitionCount(),
        flushes,
        idle: this.host.idlePartitions(),
      })
      this.host.committed(result)
    } catch (err) {
      // The writer died: whether its transaction committed is unknown, so every partition
      // goes back to what Postgres says.
      log.error('commit lost with the writer thread', { error: err as Error, flushes: flushes.length })
      this.host.lost()
    } finally {
      this.committing = false
      if (this.pending.length) void this.commitLoop()
      this.checkIdle()
    }
  }

  private checkIdle(): void {
    if (this.committing || this.pending.length || this.outstandingFlushes) return
    for (const resolve of this.idleWaiters.splice(0)) resolve()
  }
}
