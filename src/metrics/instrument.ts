import type { EventEmitter } from 'node:events'
import { BroadcastChannel } from 'node:worker_threads'
import type pg from 'pg'
import { OffsetClock } from './lag-clock.js'
import { bindMetricSources, metrics } from './registry.js'
import type { Pipeline } from '../pipeline/coordinator.js'
import { APPEND_TIME_STEP_MS, THREAD_STATS_CHANNEL, ThreadCounter, type CommitResult, type ThreadStats } from '../shared/protocol.js'
import { THREAD_STATS_INTERVAL_MS, threadSampler } from '../shared/thread-stats.js'
import type { WorkerThread } from '../pipeline/serial-worker.js'

// Binds the metrics declared in src/metrics/registry.ts to a running supervisor. Counts come from what
// already reaches the main thread (commit results, pipeline events, consumer events, thread
// stats); live state (positions, mailboxes, pool) is read only when Prometheus scrapes.

export interface SupervisorMetricsOptions {
  topic: string
  latenessMs: number
  pipeline: Pipeline
  /** The window actors and the writer. */
  threads: WorkerThread[]
  db: pg.Pool
  /** The GroupConsumer: 'join' on every group join, 'restart' when a dead consumer is replaced. */
  consumer: Pick<EventEmitter, 'on' | 'off'>
}

export interface SupervisorMetrics {
  /** Kafka told this partition's high watermark (decimal string): a fetched batch, or the supervisor's poll of the topic's offsets. */
  sawHighWatermark(partition: number, highWatermark: string): void
  close(): void
}

export function instrumentSupervisor(o: SupervisorMetricsOptions): SupervisorMetrics {
  const clocks = new Map<number, OffsetClock>()
  /** Largest event time committed per partition (ms), for the event-time lag. */
  const maxEventMs = new Map<number, number>()

  const sawHighWatermark = (partition: number, highWatermark: string): void => {
    let clock = clocks.get(partition)
    if (!clock) clocks.set(partition, (clock = new OffsetClock()))
    clock.observe(BigInt(highWatermark), Date.now())
  }

  const onCommit = (r: CommitResult): void => {
    metrics.flushes.inc()
    metrics.recordsProcessed.inc(r.counted + r.rejected)
    for (const [reason, n] of Object.entries(r.rejectedByReason)) metrics.recordsRejected.inc({ reason }, n)
    metrics.windowUpdates.inc(r.rows.length)
    metrics.flushRows.observe(r.rows.length)
    metrics.flushDuration.observe(r.durationMs / 1000)
    if (r.fenced.length) metrics.fencedPartitions.inc(r.fenced.length)
    for (const f of r.failed) metrics.commitFailures.inc({ sqlstate: f.sqlstate })
    // A step's midpoint stands for its records; a record without a timestamp (<= 0) has no freshness.
    for (const [ms, n] of r.appendTimes)
      if (ms > 0) metrics.freshness.observeMany(Math.max(0, r.committedAtMs - ms - APPEND_TIME_STEP_MS / 2) / 1000, n)
    for (const c of r.committed) if (c.maxEventMs !== null) maxEventMs.set(c.partition, c.maxEventMs)
    if (r.lowWatermarkMs !== null) metrics.lowWatermark.set({ topic: o.topic }, r.lowWatermarkMs / 1000)
    if (r.closedWindows.length) metrics.windowsClosed.inc(r.closedWindows.length)
  }
  const onPaused = (_partition: number, paused: boolean): void => {
    if (paused) metrics.partitionPauses.inc()
  }
  o.pipeline.on('commit', onCommit)
  o.pipeline.on('paused', onPaused)
  const onJoin = (): void => metrics.rebalances.inc()
  const onConsumerRestart = (): void => metrics.consumerRestarts.inc()
  o.consumer.on('join', onJoin)
  o.consumer.on('restart', onConsumerRestart)

  const restartListeners = o.threads.map((t) => {
    metrics.threadRestarts.inc({ thread: t.name }, 0)
    const onRestart = (): void => metrics.threadRestarts.inc({ thread: t.name })
    t.on('restart', onRestart)
    return () => t.off('restart', onRestart)
  })

  // Counted in the threads themselves, so they show while the work is still failing.
  const threadCounters = { [ThreadCounter.TRANSACTION_RETRIES]: metrics.transactionRetries }
  // A replaced thread starts its totals from zero: count deltas per incarnation (threadId).
  const incarnations = new Map<string, ThreadStats>()
  const onStats = (s: ThreadStats): void => {
    const prev = incarnations.get(s.thread)
    const same = prev?.threadId === s.threadId
    incarnations.set(s.thread, s)
    const thread = { thread: s.thread }
    const busyMs = s.busyMs - (same ? prev.busyMs : 0)
    if (busyMs > 0) metrics.threadBusy.inc(thread, busyMs / 1000)
    for (const [counter, metric] of Object.entries(threadCounters)) {
      const n = (s.counts[counter as ThreadCounter] ?? 0) - (same ? (prev.counts[counter as ThreadCounter] ?? 0) : 0)
      if (n > 0) metric.inc(n)
    }
    metrics.threadLagP99.set(thread, s.lagP99Ms / 1000)
    metrics.threadLagMax.set(thread, s.lagMaxMs / 1000)
    metrics.threadHeapUsed.set(thread, s.heapUsedBytes)
    metrics.threadHeapTotal.set(thread, s.heapTotalBytes)
  }
  const channel = new BroadcastChannel(THREAD_STATS_CHANNEL)
  channel.onmessage = (e) => onStats(e.data as ThreadStats)
  channel.unref()
  const sampleMain = threadSampler('main')
  const mainTimer = setInterval(() => onStats(sampleMain()), THREAD_STATS_INTERVAL_MS).unref()

  bindMetricSources({
    partitions: () => {
      const now = Date.now()
      return o.pipeline
        .partitions()
        .filter((p) => p.state === 'active')
        .map((p) => {
          const clock = clocks.get(p.partition)
          const committed = BigInt(p.committed)
          const hw = clock?.highWatermark ?? null
          const max = maxEventMs.get(p.partition)
          return {
            topic: o.topic,
            partition: p.partition,
            // The poll may be older than the last commit; the end of the log is never behind it.
            highWatermark: hw === null ? null : hw > committed ? hw : committed,
            committed,
            lagSeconds: clock ? clock.lagSeconds(committed, now) : null,
            eventTimeLagSeconds: max === undefined ? null : (now - (max - o.latenessMs)) / 1000,
            paused: p.paused,
            idle: p.idle,
            failed: p.failed !== null,
          }
        })
    },
    threads: () => o.threads.map((t) => ({ name: t.name, mailboxDepth: t.mailboxDepth })),
    pool: () => ({ total: o.db.totalCount, idle: o.db.idleCount, waiting: o.db.waitingCount, max: o.db.options.max ?? 10 }),
    consumed: () => o.pipeline.stats.consumed,
  })

  return {
    sawHighWatermark,
    close: () => {
      clearInterval(mainTimer)
      channel.close()
      o.pipeline.off('commit', onCommit)
      o.pipeline.off('paused', onPaused)
      o.consumer.off('join', onJoin)
      o.consumer.off('restart', onConsumerRestart)
      for (const off of restartListeners) off()
      bindMetricSources(null)
    },
  }
}
