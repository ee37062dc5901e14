import { EventEmitter } from 'node:events'
import type { Consumer, ConsumerConfig, ConsumerCrashEvent, ConsumerGroupJoinEvent, ConsumerRunConfig, Kafka } from 'kafkajs'
import { backoffMs, type Backoff } from '../shared/retry.js'
import { log } from '../shared/log.js'
import type { ConsumerControl } from '../pipeline/consumer-control.js'
import type { NotReady } from '../health.js'
import { classifyKafkaError, kafkajsWouldRestart } from './errors.js'

// The supervisor's Kafka consumer, kept alive across broker outages. kafkajs gives up on a
// broker that stays away: its consumer "crashes" (the CRASH event) and, depending on where the
// outage hit it (a heartbeat, a fetch, a join), either restarts itself or stays stopped
// (`KafkaJSGroupCoordinatorNotFound`, restart: false). Here every crash takes one path: the
// dead consumer is dropped and a new one is created, connected, subscribed and run after a
// backoff; its GROUP_JOIN hands the assignment to the pipeline again, which keeps the
// partitions it still holds (Postgres, not Kafka, knows where each one stands). Only an error
// that says our configuration is wrong (credentials, ACLs, group or topic settings, TLS
// certificates) ends the process, as a wrong Postgres password does at start.

/** A crash is retried for ever with this backoff (1 s doubling to 30 s); a repeating one is reported, never a hot loop. */
export const CONSUMER_RETRY: Backoff = { baseMs: 1000, maxMs: 30_000 }

/** How often the broker is asked whether it answers (the `probe`), as the supervisor asks Postgres. */
export const PROBE_INTERVAL_MS = 2_000

/**
 * Why the consumer is not consuming; null while it is in the group and the broker answers.
 * `kafka_unreachable`: the probe or the group's heartbeats fail; `failed`: the broker answers
 * but consumers keep failing (waiting for the next try); `starting`: joining the group.
 */
export type KafkaNotReady = (NotReady & { state: 'starting' | 'kafka_unreachable' | 'failed' }) | null

export interface GroupConsumerOptions {
  topic: string
  /** kafkajs consumer settings (group id, session timeout, fetch sizes). */
  consumer: ConsumerConfig
  /** What consumer.run() gets (eachBatch and its settings). */
  run: ConsumerRunConfig
  /** Work that needs the broker once, before the first consumer (the topic, the admin client); retried like the consumer. */
  prepare(): Promise<void>
  /** Heartbeats not accepted for this long (ms) count as Kafka unreachable, before kafkajs gives up. */
  silentAfterMs: number
  /**
   * Asks the broker something cheap, without retries, every PROBE_INTERVAL_MS: a failure shows
   * as Kafka unreachable at once, in every phase (start, join, between consumers), and the
   * first success after failures starts a consumer waiting in backoff at once.
   */
  probe(): Promise<void>
}

/** The events of a GroupConsumer, with their arguments. */
export type GroupConsumerEvents = {
  /** Partitions of the topic assigned to this process, on every group join of every consumer incarnation. */
  join: [partitions: number[]]
  /** A rebalance began: partitions may go away (flush). */
  rebalancing: []
  /** A consumer died of this error; a new one starts after a backoff. */
  restart: [error: Error]
  /** Kafka refuses our configuration (classifyKafkaError): the caller shuts down. */
  fatal: [error: Error]
}

/**
 * One kafkajs consumer at a time in the group, replaced whenever it dies; its events are
 * GroupConsumerEvents. `control` steers whichever consumer is current; between consumers it
 * does nothing, and the next 'join' sets every partition's position and pause state again
 * (Pipeline.onAssignment).
 */
export class GroupConsumer extends EventEmitter<GroupConsumerEvents> {
  private current: Consumer | null = null
  private prepared = false
  private stopped = false
  private retryTimer: NodeJS.Timeout | null = null
  /** Failures since the last consumer that stayed in the group longer than the backoff cap. */
  private attempt = 0
  /** The last failure ("name: message") and how many times in a row it came. */
  private last: { text: string; repeats: number } | null = null
  /** Set from a failure until a consumer is in the group again: when the next one starts (ms since the epoch). */
  private retryAt: number | null = null
  private joinedAt: number | null = null
  private lastHeartbeatMs = 0
  /** The probe's last error, "name: message"; null while the broker answers. */
  private probeError: string | null = null
  private probing = false
  private probeTimer: NodeJS.Timeout | null = null

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: GroupConsumerOptions,
  ) {
    super()
  }

  /** Starts the first consumer; failures from here on are retried (or emitted as 'fatal'), never thrown. */
  start(): void {
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS)
    this.probeTimer.unref()
    void this.probe()
    this.open()
  }

  private async probe(): Promise<void> {
    if (this.probing || this.stopped) return
    this.probing = true
    try {
      await this.opts.probe()
      if (this.probeError === null) return
      log.info('kafka answers again', { after: this.probeError })
      this.probeError = null
      // Back from an outage: the consumer waiting in backoff need not wait any longer.
      if (this.retryTimer) {
        clearTimeout(this.retryTimer)
        this.open()
      }
    } catch (err) {
      const text = `${(err as Error).name}: ${(err as Error).message}`
      if (this.probeError === null) log.warn('kafka unreachable', { error: err as Error })
      this.probeError = text
    } finally {
      this.probing = false
    }
  }

  /** Partition control for the pipeline (lowOffsets is the caller's: it needs an admin client). */
  readonly control: Omit<ConsumerControl, 'lowOffsets'> = {
    seek: (partition, offset) => this.steer('seek', (c) => c.seek({ topic: this.opts.topic, partition, offset })),
    pause: (partition) => this.steer('pause', (c) => c.pause([{ topic: this.opts.topic, partitions: [partition] }])),
    resume: (partition) => this.steer('resume', (c) => c.resume([{ topic: this.opts.topic, partitions: [partition] }])),
    commitOffsets: async (offsets) => {
      if (!this.current) throw new Error('no Kafka consumer running')
      await this.current.commitOffsets(offsets.map((o) => ({ topic: this.opts.topic, ...o })))
    },
  }

  /** kafkajs throws on seek/pause/resume while its consumer is not running (crashed, or not yet joined). */
  private steer(what: string, fn: (c: Consumer) => void): void {
    if (!this.current) return
    try {
      fn(this.current)
    } catch (err) {
      log.debug(`kafka consumer not running: ${what} left to the next group join`, { error: err as Error })
    }
  }

  /** Readiness as far as Kafka goes. */
  notReady(): KafkaNotReady {
    const now = Date.now()
    const f = this.retryAt !== null ? this.last : null
    const failing = f
      ? `consumer failed: ${f.text}${f.repeats > 1 ? `, ${f.repeats} times in a row` : ''}; ${this.current ? 'a new consumer is joining' : `next try in ${Math.max(0, Math.round((this.retryAt! - now) / 1000))} s`}`
      : null
    if (this.probeError)
      return { state: 'kafka_unreachable', reason: `kafka unreachable: ${this.probeError}${failing ? `; ${failing}` : ''}` }
    if (failing && !this.current) return { state: 'failed', reason: `kafka ${failing}` }
    if (this.joinedAt === null)
      return { state: 'starting', reason: failing ? `rejoining the consumer group (${failing})` : 'not yet in the consumer group' }
    const silentMs = now - this.lastHeartbeatMs
    if (silentMs > this.opts.silentAfterMs)
      return { state: 'kafka_unreachable', reason: `kafka unreachable: no heartbeat accepted for ${Math.round(silentMs / 1000)} s` }
    return null
  }

  /** No new batches: stops the current consumer (waits for the batch in eachBatch) and any restart. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.retryTimer) clearTimeout(this.retryTimer)
    if (this.probeTimer) clearInterval(this.probeTimer)
    await this.current?.stop()
  }

  /** Leaves the group (after stop()). */
  async disconnect(): Promise<void> {
    await this.current?.disconnect()
  }

  private open(): void {
    if (this.stopped) return
    this.retryTimer = null
    const consumer = this.kafka.consumer({
      ...this.opts.consumer,
      // kafkajs restarts some crashed consumers itself and leaves others stopped; here every
      // crash is ours to handle, with one backoff. retries: kafkajs's consumer default.
      retry: { retries: 5, restartOnFailure: async () => false },
    })
    this.current = consumer
    // Events of a consumer that has been replaced are ignored.
    const mine = () => this.current === consumer
    consumer.on(consumer.events.GROUP_JOIN, (e: ConsumerGroupJoinEvent) => {
      if (!mine()) return
      this.joinedAt = this.lastHeartbeatMs = Date.now()
      if (this.retryAt !== null) log.info('kafka consumer back in the group', { after: this.last?.text, failures: this.attempt })
      this.retryAt = null
      this.emit('join', e.payload.memberAssignment[this.opts.topic] ?? [])
    })
    consumer.on(consumer.events.HEARTBEAT, () => mine() && (this.lastHeartbeatMs = Date.now()))
    consumer.on(consumer.events.REBALANCING, () => mine() && this.emit('rebalancing'))
    consumer.on(consumer.events.CRASH, (e: ConsumerCrashEvent) => mine() && this.failed(consumer, e.payload.error, e.payload.restart))
    void (async () => {
      if (!this.prepared) {
        await this.opts.prepare()
        this.prepared = true
      }
      if (this.stopped) return
      await consumer.connect()
      if (this.stopped) return
      await consumer.subscribe({ topic: this.opts.topic, fromBeginning: true })
      // Resolves once the first join is done, or after a failed join has crashed the consumer.
      await consumer.run(this.opts.run)
    })().catch((err: Error) => {
      if (this.current === consumer) this.failed(consumer, err, false)
    })
  }

  private failed(consumer: Consumer, error: Error, kafkajsRestarts: boolean): void {
    const kind = classifyKafkaError(error)
    const text = `${error.name}: ${error.message}`
    if (!kafkajsRestarts) {
      this.current = null
      // After a crash kafkajs has already disconnected it; after a failed connect() this closes what it opened.
      consumer.disconnect().catch(() => {})
    }
    if (kind === 'config') {
      log.error('kafka refuses our configuration; stopping', { error })
      this.emit('fatal', error)
      return
    }
    // A consumer that stayed in the group longer than the cap was healthy: count from 1 again.
    // (One that joins and then fails at once, as on a batch it cannot decode, keeps counting up.)
    if (this.joinedAt !== null && Date.now() - this.joinedAt >= CONSUMER_RETRY.maxMs) {
      this.attempt = 0
      this.last = null
    }
    this.joinedAt = null
    this.attempt++
    const repeats = this.last?.text === text ? this.last.repeats + 1 : 1
    this.last = { text, repeats }
    if (kafkajsRestarts) {
      // Not expected (restartOnFailure says no), but then kafkajs's own restart is the retry.
      this.retryAt = Date.now()
      log.warn('kafka consumer crashed; kafkajs restarts it', { error, attempt: this.attempt, repeats })
      return
    }
    const waitMs = backoffMs(this.attempt, CONSUMER_RETRY)
    this.retryAt = Date.now() + waitMs
    log[repeats >= REPORT_REPEATS ? 'error' : 'warn']('kafka consumer failed; a new one starts after a backoff', {
      error,
      retriable: kafkajsWouldRestart(error),
      attempt: this.attempt,
      repeats,
      backoffMs: waitMs,
    })
    if (this.stopped) return
    this.emit('restart', error)
    this.retryTimer = setTimeout(() => this.open(), waitMs)
  }
}

/** From this many identical failures in a row, each is logged as an error rather than a warning. */
const REPORT_REPEATS = 5
