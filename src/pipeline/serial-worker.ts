import { EventEmitter } from 'node:events'
import { Piscina } from 'piscina'
import { log, workerLog } from '../shared/log.js'

// A worker thread that keeps its state between tasks: a single-thread piscina pool, fed
// from a mailbox one task at a time. The mailbox is ours, not piscina's queue: piscina does
// not promise to run queued tasks in submission order (seen here: batches of one partition
// overtaking each other), and an actor's tasks must. piscina replaces a thread that dies;
// the new one starts empty, and 'restart' tells the owner to give it its state back.

export interface ThreadOptions {
  name: string
  filename: URL
  /** The thread's workerData; its logger's settings are added as `log` (src/shared/log.ts). */
  workerData: object
}

/** Events of a SerialWorker: 'restart' when piscina replaced a thread that died (its state is gone). */
export interface SerialWorkerEvents {
  restart: []
}

/**
 * What code outside the pipeline needs of a thread, whatever its protocol: its name, health
 * and lifecycle (metrics, fault injection, shutdown).
 */
export interface WorkerThread {
  readonly name: string
  /** Threads piscina started to replace one that died. */
  readonly restarts: number
  /** Tasks waiting in the mailbox (not counting the one running). */
  readonly mailboxDepth: number
  on(event: 'restart', listener: () => void): unknown
  off(event: 'restart', listener: () => void): unknown
  crash(): boolean
  close(): Promise<void>
}

interface Letter {
  task: unknown
  transferList: ArrayBuffer[] | undefined
  resolve: (reply: unknown) => void
  reject: (err: unknown) => void
}

/**
 * One worker thread with a typed protocol: `M` is the union of the tasks it takes (each with a
 * `type`), `R` the reply to each task type (src/shared/protocol.ts: ActorMessage/ActorReplies,
 * WriterMessage/WriterReplies). `run` accepts only a task of M, exactly, and resolves to the
 * reply of its type, so a wrong field or a wrong reply type does not compile.
 */
export class SerialWorker<M extends { type: string }, R extends Record<M['type'], unknown>>
  extends EventEmitter<SerialWorkerEvents>
  implements WorkerThread
{
  readonly name: string
  private pool: Piscina
  private closing = false
  private readonly mailbox: Letter[] = []
  private busy = false
  restarts = 0
  private startedAt = Date.now()

  constructor(private readonly opts: ThreadOptions) {
    super()
    this.name = opts.name
    this.pool = this.createPool(opts.workerData)
  }

  private createPool(workerData: object): Piscina {
    const pool = new Piscina({
      filename: this.opts.filename.href,
      name: 'default',
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // 'disabled': the thread's event loop stays free between tasks (pg sockets, timers).
      atomics: 'disabled',
      workerData: { ...workerData, log: workerLog(this.name) },
    })
    pool.on('error', (err: Error) => log.error('thread error', { worker: this.name, error: err }))
    pool.on('workerDestroy', () => {
      if (this.closing) return
      this.restarts++
      this.startedAt = Date.now()
      log.error('thread died; piscina starts a new one', { worker: this.name, restarts: this.restarts })
      this.emit('restart')
    })
    return pool
  }

  /**
   * Queues one task; tasks run in the order they were queued. `transferList`: buffers of the
   * task moved, not copied, to the thread (detached here once it runs). Rejects if the thread
   * dies under it or the worker is closed.
   */
  run<K extends M['type']>(task: M & { type: K }, transferList?: ArrayBuffer[]): Promise<R[K]> {
    return new Promise<R[K]>((resolve, reject) => {
      this.mailbox.push({ task, transferList, resolve: resolve as (reply: unknown) => void, reject })
      this.pump()
    })
  }

  private pump(): void {
    if (this.busy || this.closing) return
    const next = this.mailbox.shift()
    if (!next) return
    this.busy = true
    this.pool
      .run(next.task, next.transferList ? { transferList: next.transferList } : {})
      .then(next.resolve, next.reject)
      .finally(() => {
        this.busy = false
        this.pump()
      })
  }

  /**
   * Test-only fault injection (the chaos run's SIGUSR2): terminates the thread as a crash
   * would; piscina starts a new one and 'restart' follows. Refuses (false) during the
   * first second of a thread's life: piscina gives up replacing a thread that dies before
   * it reported ready, which a real crash in that window would hit too.
   */
  crash(): boolean {
    const worker = this.pool.threads[0]
    if (!worker || this.closing || Date.now() - this.startedAt < 1000) return false
    void worker.terminate()
    return true
  }

  /** Tasks waiting in the mailbox (not counting the one running). */
  get mailboxDepth(): number {
    return this.mailbox.length
  }

  /** Fails every queued task ("<name> is closed") and ends the thread; idempotent. */
  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    for (const m of this.mailbox.splice(0)) m.reject(new Error(`${this.name} is closed`))
    await this.pool.destroy()
  }
}
