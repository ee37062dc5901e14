import {
  ActorTask,
  WriterTask,
  type ActorMessage,
  type ActorReplies,
  type AdvanceTask,
  type AssignTask,
  type CommitResult,
  type CommitTask,
  type CommittedTask,
  type Flush,
  type WriterMessage,
  type WriterReplies,
} from '../shared/protocol.js'
import type { SerialWorker } from './serial-worker.js'

// The send side of the thread protocol (src/shared/protocol.ts, table in docs/architecture.md):
// one method per task, so a walk of one batch goes from the coordinator's `actor.batch(...)`
// straight to the case of the same name in workers/window-actor.ts.

/** A window actor thread (workers/window-actor.ts). */
export type ActorWorker = SerialWorker<ActorMessage, ActorReplies>
/** The writer thread (workers/writer.ts). */
export type WriterWorker = SerialWorker<WriterMessage, WriterReplies>

/** Typed tasks for one window actor; each resolves once the actor ran it (tasks run in call order). */
export class ActorClient {
  constructor(readonly thread: ActorWorker) {}

  /** ASSIGN: own this partition from the position stored in Postgres (a claim). */
  assign(claim: Omit<AssignTask, 'type'>): Promise<null> {
    return this.thread.run({ type: ActorTask.ASSIGN, ...claim })
  }

  /** BATCH: count these records (batch-codec); `buffer` is transferred, so detached here afterwards. Resolves to the records read. */
  batch(partition: number, epoch: string, buffer: ArrayBuffer): Promise<number> {
    return this.thread.run({ type: ActorTask.BATCH, partition, epoch, buffer }, [buffer])
  }

  /** FLUSH: everything accumulated since the last flush, per partition. */
  flush(): Promise<Flush> {
    return this.thread.run({ type: ActorTask.FLUSH })
  }

  /** RELEASE: the partition's final flush, then its state is dropped. */
  release(partition: number): Promise<Flush> {
    return this.thread.run({ type: ActorTask.RELEASE, partition })
  }

  /** COMMITTED (KAFKA_FETCH=actors): Postgres holds these partitions up to their next offsets; the actor fetches on. */
  committed(offsets: CommittedTask['offsets']): Promise<null> {
    return this.thread.run({ type: ActorTask.COMMITTED, offsets })
  }

  /** ADVANCE: a committed idle advance; resolves to 1 if the actor took it, 0 if not. */
  advance(advance: Omit<AdvanceTask, 'type'>): Promise<number> {
    return this.thread.run({ type: ActorTask.ADVANCE, ...advance })
  }
}

/** Typed tasks for the writer thread. */
export class WriterClient {
  constructor(readonly thread: WriterWorker) {}

  /** COMMIT: these flushes and idle advances in one Postgres transaction, fenced per partition. */
  commit(commit: Omit<CommitTask, 'type'>): Promise<CommitResult> {
    return this.thread.run({ type: WriterTask.COMMIT, ...commit })
  }
}
