import type { Admin, Kafka } from 'kafkajs'
import { log } from '../shared/log.js'

// What the supervisor asks Kafka about its topic, apart from consuming it: the partitions'
// log start and end offsets (lag, the idle watch, the partition count without which no window
// becomes final, the seek-back after retention) and a cheap probe that shows an outage at once.

/** One partition's offsets as Kafka reports them (decimal strings). */
export interface PartitionOffsets {
  partition: number
  /** Log start offset: records below it are deleted. */
  low: string
  /** High watermark: the offset the next record will get. */
  high: string
}

/** Called with what every poll learnt: the topic's partition count and each partition's high watermark. */
export interface TopicWatchListener {
  partitionCount(n: number): void
  highWatermark(partition: number, highWatermark: string): void
}

/** How often the topic's offsets are asked from Kafka (high watermarks, partition count), in ms. */
export const HIGH_WATERMARK_POLL_MS = 2000

/**
 * The topic's offsets from an admin client connected once the broker answers (`connect`, run by
 * the consumer's `prepare`), polled every HIGH_WATERMARK_POLL_MS; and a readiness probe on a
 * second admin client without retries (`probe`, throws while the broker does not answer).
 * `offsets()` rejects before `connect` succeeded.
 */
export class TopicWatch {
  private readonly admin: Admin
  private readonly probeAdmin: Admin
  private connected = false
  private probeConnected = false
  private polling = false
  private readonly timer: NodeJS.Timeout

  constructor(
    kafka: Kafka,
    probeKafka: Kafka,
    private readonly topic: string,
    private readonly listener: TopicWatchListener,
  ) {
    this.admin = kafka.admin()
    this.probeAdmin = probeKafka.admin()
    this.timer = setInterval(() => void this.poll(), HIGH_WATERMARK_POLL_MS)
  }

  /** Connects the admin client and polls once (the partition count before the first commit). Throws while the broker is away. */
  async connect(): Promise<void> {
    await this.admin.connect()
    this.connected = true
    await this.poll()
  }

  /** Every partition's log start and end offsets; rejects when not connected yet or the broker does not answer. */
  async offsets(): Promise<PartitionOffsets[]> {
    if (!this.connected) throw new Error('not connected to Kafka yet')
    return (await this.admin.fetchTopicOffsets(this.topic)).map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
  }

  /** Log start offsets by partition (for ConsumerControl.lowOffsets). */
  async lowOffsets(): Promise<Map<number, string>> {
    return new Map((await this.offsets()).map((o) => [o.partition, o.low]))
  }

  /** One question to the broker, no retries; throws if it does not answer (GroupConsumerOptions.probe). */
  async probe(): Promise<void> {
    try {
      if (!this.probeConnected) await this.probeAdmin.connect()
      this.probeConnected = true
      await this.probeAdmin.describeCluster()
    } catch (err) {
      this.probeConnected = false
      await this.probeAdmin.disconnect().catch(() => {})
      throw err
    }
  }

  private async poll(): Promise<void> {
    if (this.polling || !this.connected) return
    this.polling = true
    try {
      const offsets = await this.offsets()
      this.listener.partitionCount(offsets.length)
      for (const o of offsets) this.listener.highWatermark(o.partition, o.high)
    } catch (err) {
      log.debug('topic offsets poll failed', { error: err as Error })
    } finally {
      this.polling = false
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    if (this.connected) await this.admin.disconnect()
    if (this.probeConnected) await this.probeAdmin.disconnect()
  }
}
