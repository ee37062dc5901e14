import { BroadcastChannel } from 'node:worker_threads'
import { Consumer, FetchIsolationLevels } from '@platformatic/kafka'
import { FETCH_REPORT_CHANNEL, type ActorFetchSettings, type FetchedPartition, type FetchReport } from '../src/shared/actor-fetch.js'
import { InFlight } from '../src/shared/in-flight.js'
import { log } from '../src/shared/log.js'
import { backoffMs } from '../src/shared/retry.js'
import { FetchedRecord, handOver, outOfRangePartitions, shareOf, type FetchResponse, type RecordSink, type Share } from './fetch-share.js'

// KAFKA_FETCH=actors (src/shared/actor-fetch.ts): the actor's own Kafka fetches. No consumer
// group here (the supervisor's kafkajs consumer holds the membership and its claims decide
// what this actor owns): a loop of @platformatic/kafka's group-less `Consumer.fetch()` on the
// partitions assigned to this actor, from the offsets their claims read from Postgres. The
// next fetch goes out before the records of the last one are counted, so the broker's answer
// travels while this thread parses. "Pause" is leaving a partition out of the next request,
// "seek" is the offset the next request names. Transactions: READ_COMMITTED, as kafkajs's
// default; fetch-share.ts drops aborted transactions and control batches.

/** Waits between failed fetches (broker away, leader moving): 100 ms doubling to 5 s. */
const FETCH_RETRY = { baseMs: 100, maxMs: 5_000 }
/** From this many identical failures in a row, each is logged as an error rather than a warning. */
const REPORT_REPEATS = 5

/** One partition this actor fetches: its epoch, the next offset to ask for, its in-flight bounds. */
interface Fetching {
  partition: number
  epoch: string
  next: bigint
  flow: InFlight
  paused: boolean
  highWatermark: bigint
  sink: RecordSink
}

/** One answered fetch: who was asked from which offset, and what the brokers returned. */
interface Fetched {
  asked: Map<number, { f: Fetching; offset: bigint }>
  responses: FetchResponse[]
}

/** A partition's share of a fetch, decided before its records are counted, and its report. */
interface Work {
  f: Fetching
  share: Share
  report: FetchedPartition
}

/**
 * The fetch loop of one actor. assign/release/committed come from the actor's tasks; the loop
 * runs on the thread's event loop between them and posts a FetchReport per fetch it counted.
 * `fault` is called once per fetch with records, before they are counted (test-only TUMBLER_FAULTS `batch`).
 * Never throws: a failed fetch is retried with backoff (FETCH_RETRY), repeats reported.
 */
export class FetchLoop {
  private readonly parts = new Map<number, Fetching>()
  private readonly consumer: Consumer
  private readonly reports = new BroadcastChannel(FETCH_REPORT_CHANNEL)
  private readonly record = new FetchedRecord()
  private topic: { id: string; leaders: number[] } | null = null
  private wake: (() => void) | null = null
  private failures = 0
  private lastFailure: { text: string; repeats: number } | null = null
  private started = false

  constructor(
    private readonly settings: ActorFetchSettings,
    private readonly actor: number,
    private readonly fault: (task: string) => void,
  ) {
    this.reports.unref()
    this.consumer = new Consumer({
      clientId: settings.clientId,
      groupId: `${settings.clientId}-no-group`, // required by the client; never joined
      bootstrapBrokers: settings.brokers,
      ...(settings.tls && { tls: settings.tls === true ? {} : settings.tls }),
      ...(settings.sasl && { sasl: settings.sasl }),
      retries: 0, // this loop retries, with its own backoff
      isolationLevel: FetchIsolationLevels.READ_COMMITTED,
    })
  }

  /** Fetch `partition` under `epoch` from `nextOffset` (decimal string) on, handing its records to `sink`; replaces any earlier assignment. */
  assign(partition: number, epoch: string, nextOffset: string, sink: RecordSink): void {
    const next = BigInt(nextOffset)
    this.parts.set(partition, {
      partition,
      epoch,
      next,
      flow: new InFlight(this.settings.limits, next),
      paused: false,
      highWatermark: -1n,
      sink,
    })
    if (!this.started) {
      this.started = true
      void this.run()
    }
    this.kick()
  }

  /** Stop fetching `partition` (a fetch under way for it is ignored when it comes back). */
  release(partition: number): void {
    this.parts.delete(partition)
  }

  /** Postgres holds `partition` up to `nextOffset` (epoch must match): fetch on if that brings it under half its bounds. */
  committed(partition: number, epoch: string, nextOffset: string): void {
    const f = this.parts.get(partition)
    if (!f || f.epoch !== epoch) return
    if (f.flow.commit(BigInt(nextOffset)) && f.paused) {
      f.paused = false
      this.kick()
    }
  }

  private kick(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }

  private async run(): Promise<void> {
    let pending = this.request()
    for (;;) {
      const fetched = await pending
      const work = fetched ? this.account(fetched) : []
      pending = this.request() // before counting: the broker answers while this thread parses
      this.count(work)
    }
  }

  /** Fetches every unpaused partition from its leader; null after a failure (already waited out) or a wake-up. */
  private async request(): Promise<Fetched | null> {
    const wanted = [...this.parts.values()].filter((f) => !f.paused)
    if (wanted.length === 0) {
      await new Promise<void>((resolve) => (this.wake = resolve))
      return null
    }
    try {
      const topic = await this.metadata()
      const byLeader = new Map<number, Fetching[]>()
      for (const f of wanted) {
        const leader = topic.leaders[f.partition]
        if (leader === undefined || leader < 0) throw new Error(`partition ${f.partition} of ${this.settings.topic} has no leader`)
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), f])
      }
      const responses = await Promise.all(
        [...byLeader].map(([node, fs]) =>
          this.consumer.fetch({
            node,
            maxBytes: this.settings.maxBytes,
            maxWaitTime: this.settings.maxWaitMs,
            topics: [
              {
                topicId: topic.id,
                partitions: fs.map((f) => ({
                  partition: f.partition,
                  fetchOffset: f.next,
                  partitionMaxBytes: this.settings.maxBytesPerPartition,
                  currentLeaderEpoch: -1,
                  lastFetchedEpoch: -1,
                })),
              },
            ],
          }),
        ),
      )
      this.failures = 0
      this.lastFailure = null
      return { asked: new Map(wanted.map((f) => [f.partition, { f, offset: f.next }])), responses }
    } catch (err) {
      await this.failed(err as Error, wanted)
      return null
    }
  }

  /** The topic's id and each partition's leader, from the client's cache (refreshed after a failure). */
  private async metadata(): Promise<{ id: string; leaders: number[] }> {
    if (this.topic) return this.topic
    const meta = await this.consumer.metadata({ topics: [this.settings.topic], forceUpdate: true })
    const t = meta.topics.get(this.settings.topic)
    if (!t) throw new Error(`topic ${this.settings.topic} not in Kafka's metadata`)
    this.topic = { id: t.id, leaders: t.partitions.map((p) => p.leader) }
    return this.topic
  }

  /**
   * A fetch failed: offsets out of range are moved to the log start if retention deleted
   * records before they were counted (as the kafkajs path does, with a warning); anything else
   * waits a backoff with fresh metadata next time. Repeats of one failure become errors.
   */
  private async failed(err: Error, wanted: Fetching[]): Promise<void> {
    this.topic = null
    this.failures++
    const text = `${err.name}: ${err.message}`
    const repeats = this.lastFailure?.text === text ? this.lastFailure.repeats + 1 : 1
    this.lastFailure = { text, repeats }
    const waitMs = backoffMs(this.failures, FETCH_RETRY)
    const outOfRange = outOfRangePartitions(err)
    if (outOfRange.length) await this.resetOutOfRange(wanted.filter((f) => outOfRange.includes(f.partition)))
    log[repeats >= REPORT_REPEATS ? 'error' : 'warn']('kafka fetch failed; retrying', {
      error: err,
      partitions: wanted.map((f) => f.partition),
      attempt: this.failures,
      repeats,
      backoffMs: waitMs,
    })
    await new Promise((resolve) => setTimeout(resolve, waitMs))
  }

  private async resetOutOfRange(fs: Fetching[]): Promise<void> {
    const offsets = await this.consumer
      .listOffsets({ topics: [this.settings.topic], partitions: { [this.settings.topic]: fs.map((f) => f.partition) }, timestamp: -2n })
      .catch(() => null)
    const logStarts = offsets?.get(this.settings.topic)
    for (const f of fs) {
      const logStart = logStarts?.[f.partition]
      if (logStart === undefined || this.parts.get(f.partition) !== f) continue
      if (logStart > f.next) {
        log.warn('records deleted from Kafka before they were counted (retention); going on from the log start', {
          partition: f.partition,
          from: f.next.toString(),
          logStart: logStart.toString(),
        })
        f.next = logStart
      } else {
        log.error('fetch offset past the end of the log (was the topic recreated?); Postgres keeps the position', {
          partition: f.partition,
          next: f.next.toString(),
        })
      }
    }
  }

  /**
   * Takes a fetch into account before its records are parsed: for each partition still held
   * as asked, the records at or past its next offset and under its in-flight bound, and where
   * the next fetch starts. Moves `next` and the in-flight state; pauses at a bound.
   */
  private account(fetched: Fetched): Work[] {
    const work: Work[] = []
    for (const response of fetched.responses) {
      for (const topic of response.responses) {
        for (const p of topic.partitions) {
          const asked = fetched.asked.get(p.partitionIndex)
          const f = asked?.f
          if (!f || this.parts.get(f.partition) !== f || f.next !== asked.offset || p.errorCode !== 0) continue
          const highChanged = p.highWatermark !== f.highWatermark
          f.highWatermark = p.highWatermark
          const limit = f.flow.limit(f.next)
          const share = shareOf(p.records, f.next, limit, p.abortedTransactions)
          f.next = BigInt(share.to)
          // Offsets with nothing to count (markers, aborted transactions) are in flight too, until committed.
          const moved = share.to > share.from
          if (moved && f.flow.dispatch(f.next, share.bytes)) f.paused = true
          else if (limit === null) f.paused = true
          if (!moved && !highChanged && !f.paused) continue
          const { partition, epoch, paused } = f
          const { records, bytes } = share
          const report = {
            partition,
            epoch,
            records,
            bytes,
            nextOffset: f.next.toString(),
            highWatermark: p.highWatermark.toString(),
            paused,
          }
          work.push({ f, share, report })
        }
      }
    }
    return work
  }

  /** Hands the records of each partition's share to its sink, then reports the fetch to the main thread. */
  private count(work: Work[]): void {
    if (work.length === 0) return
    if (work.some((w) => w.share.records > 0)) this.fault('batch')
    for (const w of work) if (w.share.to > w.share.from) handOver(w.share, this.record, w.f.sink)
    const report: FetchReport = { actor: this.actor, partitions: work.map((w) => w.report) }
    this.reports.postMessage(report)
  }
}
