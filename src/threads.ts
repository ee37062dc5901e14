import { EventEmitter } from 'node:events'
import { Piscina } from 'piscina'
import { log } from './log.js'

// A worker-thread actor: a single-thread piscina pool, so tasks to it run one at a time,
// in the order they were sent, on a thread that keeps its state between tasks. piscina
// replaces a thread that dies; the new one starts empty, and 'restart' tells the owner to
// give it its state back.

export interface ThreadOptions {
  name: string
  filename: URL
  workerData: unknown
}

export class ActorThread extends EventEmitter {
  readonly name: string
  private pool: Piscina
  private closing = false
  restarts = 0

  constructor(private readonly opts: ThreadOptions) {
    super()
    this.name = opts.name
    this.pool = this.createPool(opts.workerData)
  }

  private createPool(workerData: unknown): Piscina {
    const pool = new Piscina({
      filename: this.opts.filename.href,
      name: 'default',
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Number.POSITIVE_INFINITY,
      concurrentTasksPerWorker: 1,
      // 'disabled': the thread's event loop stays free between tasks (pg sockets, timers).
      atomics: 'disabled',
      workerData,
    })
    pool.on('error', (err: Error) => log.error('thread error', { thread: this.name, error: err }))
    pool.on('workerDestroy', () => {
      if (this.closing) return
      this.restarts++
      log.error('thread died; piscina starts a new one', { thread: this.name, restarts: this.restarts })
      this.emit('restart')
    })
    return pool
  }

  /** Runs one task. Rejects if the thread dies under it. */
  run<T>(task: unknown, transferList?: ArrayBuffer[]): Promise<T> {
    return this.pool.run(task, transferList ? { transferList } : {}) as Promise<T>
  }

  get queued(): number {
    return this.pool.queueSize
  }

  async close(): Promise<void> {
    if (this.closing) return
    this.closing = true
    await this.pool.destroy()
  }
}
