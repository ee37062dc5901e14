import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { RejectReason } from '../shared/protocol.js'
import { registerNodeDefaults } from './node-defaults.js'
import { WeightedHistogram } from './weighted-histogram.js'
import { catchUpConsumed, mailboxDepths, ownedPartitions, perPartition, poolConnections, poolMax, poolWaiting } from './sources.js'

export { bindMetricSources, type MetricSources, type PartitionSample } from './sources.js'

// Every metric tumbler exports, declared once: name (tumbler_ prefix, base unit, _total on
// counters), type, labels and help. README's metrics table mirrors this file.
//
// One registry, in the main thread. Worker threads never import this file: their counts reach
// the main thread inside task replies (CommitResult) and ThreadStats messages, and
// src/metrics/instrument.ts turns them into the metrics below. Gauges that mirror live state
// are read by their collect() (src/metrics/sources.ts) only when Prometheus scrapes, so the hot
// path never touches them. Node's default metrics: src/metrics/node-defaults.ts.
//
// Labels are bounded: topic (one per supervisor), partition (the topic's partitions), reason
// (RejectReason), thread ('main', 'actor-<i>' for i < ACTORS, 'writer'), HTTP route patterns,
// sqlstate (Postgres' codes of classes 22 and 23, a few dozen).

export const registry = new Registry()
registerNodeDefaults(registry)
const registers = [registry]

const partitionLabels = ['topic', 'partition'] as const

export const FLUSH_DURATION_BUCKETS_SECONDS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 10]
export const FRESHNESS_BUCKETS_SECONDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60, 300]

export const metrics = {
  // --- records --------------------------------------------------------------------------
  recordsConsumed: new Counter({
    name: 'tumbler_records_consumed_total',
    help: 'Records fetched from Kafka and handed to a window actor; a record read again after a recovery counts again.',
    registers,
    collect: catchUpConsumed,
  }),
  recordsProcessed: new Counter({
    name: 'tumbler_records_processed_total',
    help: 'Records whose outcome (counted in category_sales or stored in rejected_events) was committed to Postgres; each offset once.',
    registers,
  }),
  recordsRejected: new Counter({
    name: 'tumbler_records_rejected_total',
    help: 'Records stored in rejected_events, by reason; reason="late" counts the late records.',
    labelNames: ['reason'],
    registers,
  }),

  // --- Kafka position and lag, per owned partition -------------------------------------------
  highWatermark: new Gauge({
    name: 'tumbler_partition_high_watermark',
    help: 'Offset Kafka will give the next record appended to the partition (log end offset), for partitions this supervisor owns.',
    labelNames: partitionLabels,
    registers,
    collect: perPartition((p) => p.highWatermark),
  }),
  committedOffset: new Gauge({
    name: 'tumbler_partition_committed_offset',
    help: 'Next offset to process, as committed in Postgres (tumbler_progress.next_offset).',
    labelNames: partitionLabels,
    registers,
    collect: perPartition((p) => p.committed),
  }),
  lagRecords: new Gauge({
    name: 'tumbler_consumer_lag_records',
    help: 'Records appended to the partition and not yet committed to Postgres: high watermark minus committed offset.',
    labelNames: partitionLabels,
    registers,
    collect: perPartition((p) => (p.highWatermark === null ? null : p.highWatermark > p.committed ? p.highWatermark - p.committed : 0n)),
  }),
  lagSeconds: new Gauge({
    name: 'tumbler_consumer_lag_seconds',
    help: 'Age of the oldest record not yet committed, from when its offset became the high watermark (0 when caught up).',
    labelNames: partitionLabels,
    registers,
    collect: perPartition((p) => p.lagSeconds),
  }),
  eventTimeLag: new Gauge({
    name: 'tumbler_event_time_lag_seconds',
    help: "Now minus the partition's committed watermark (largest event time seen minus LATENESS_SECONDS).",
    labelNames: partitionLabels,
    registers,
    collect: perPartition((p) => p.eventTimeLagSeconds),
  }),
  partitionsAssigned: new Gauge({
    name: 'tumbler_partitions_assigned',
    help: 'Partitions this supervisor owns and consumes.',
    registers,
    collect: ownedPartitions(),
  }),
  partitionsPaused: new Gauge({
    name: 'tumbler_partitions_paused',
    help: 'Owned partitions paused by backpressure (too many records dispatched and not yet committed).',
    registers,
    collect: ownedPartitions((p) => p.paused),
  }),
  partitionsIdle: new Gauge({
    name: 'tumbler_partitions_idle',
    help: 'Owned partitions with nothing to read for IDLE_PARTITION_SECONDS: their watermark is advanced so they do not hold back window finality.',
    registers,
    collect: ownedPartitions((p) => p.idle),
  }),
  partitionsFailed: new Gauge({
    name: 'tumbler_partitions_failed',
    help: 'Owned partitions stopped because Postgres refuses their commit for good (SQLSTATE class 22 or 23); /readyz names them. They stay stopped until the supervisor restarts.',
    registers,
    collect: ownedPartitions((p) => p.failed),
  }),
  partitionPauses: new Counter({
    name: 'tumbler_partition_pauses_total',
    help: 'Times a partition was paused by backpressure.',
    registers,
  }),
  rebalances: new Counter({
    name: 'tumbler_consumer_rebalances_total',
    help: 'Consumer group joins (each rebalance this supervisor took part in).',
    registers,
  }),
  consumerRestarts: new Counter({
    name: 'tumbler_consumer_restarts_total',
    help: 'Kafka consumers that failed (broker unreachable, or another error that is not a configuration error) and were replaced by a new one after a backoff.',
    registers,
  }),

  // --- the writer: one Postgres transaction per flush ----------------------------------------
  flushes: new Counter({
    name: 'tumbler_flushes_total',
    help: 'Postgres transactions the writer committed (one per flush of all actors).',
    registers,
  }),
  windowUpdates: new Counter({
    name: 'tumbler_window_updates_total',
    help: 'category_sales rows inserted or updated.',
    registers,
  }),
  flushRows: new Histogram({
    name: 'tumbler_flush_rows',
    help: 'category_sales rows one flush inserted or updated.',
    buckets: [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
    registers,
  }),
  flushDuration: new Histogram({
    name: 'tumbler_flush_duration_seconds',
    help: 'Time the writer took to commit one flush, retries included (FLUSH_MS, 250 ms by default, is the target).',
    buckets: FLUSH_DURATION_BUCKETS_SECONDS,
    registers,
  }),
  transactionRetries: new Counter({
    name: 'tumbler_postgres_transaction_retries_total',
    help: 'Writer transactions rolled back to be retried (Postgres away, slow or deadlocked); reported each second, also while the retries go on.',
    registers,
  }),
  commitFailures: new Counter({
    name: 'tumbler_commit_failures_total',
    help: 'Partition commits Postgres refused for a reason retrying cannot fix, by SQLSTATE (class 22 data exception, 23 integrity constraint violation); each stops its partition.',
    labelNames: ['sqlstate'],
    registers,
  }),
  fencedPartitions: new Counter({
    name: 'tumbler_fenced_partitions_total',
    help: 'Partition flushes the fence refused (another owner or a newer epoch): re-read from the committed offset.',
    registers,
  }),
  lowWatermark: new Gauge({
    name: 'tumbler_low_watermark_seconds',
    help: "The topic's low watermark (event time, Unix seconds) after this supervisor's last commit: the smallest watermark over all partitions; windows ending at or before it are final. Absent until every partition has a watermark.",
    labelNames: ['topic'],
    registers,
  }),
  windowsClosed: new Counter({
    name: 'tumbler_windows_closed_total',
    help: "Windows this supervisor's commits made final (set closed_at on their rows); each window is closed once across all supervisors.",
    registers,
  }),
  freshness: new WeightedHistogram({
    name: 'tumbler_freshness_seconds',
    help: 'Per record, from its Kafka timestamp to the Postgres commit that made it visible (10 ms resolution; the target is 500 ms).',
    buckets: FRESHNESS_BUCKETS_SECONDS,
    registers,
  }),

  // --- rejected_events retention (src/postgres/rejected-retention.ts) --------------------------------
  rejectedPartitionsDropped: new Counter({
    name: 'tumbler_rejected_partitions_dropped_total',
    help: 'Daily partitions of rejected_events this supervisor dropped because their day passed REJECTED_RETENTION_DAYS.',
    registers,
  }),
  rejectedDefaultRowsDeleted: new Counter({
    name: 'tumbler_rejected_default_rows_deleted_total',
    help: 'Rows of rejected_events_default (Kafka timestamps outside the daily partitions) this supervisor deleted once past REJECTED_RETENTION_DAYS.',
    registers,
  }),

  // --- threads ------------------------------------------------------------------------------
  mailboxTasks: new Gauge({
    name: 'tumbler_thread_mailbox_tasks',
    help: "Tasks waiting in a worker thread's mailbox (the running one not included).",
    labelNames: ['thread'],
    registers,
    collect: mailboxDepths,
  }),
  threadRestarts: new Counter({
    name: 'tumbler_thread_restarts_total',
    help: 'Worker threads that died and were replaced (their partitions resume from Postgres).',
    labelNames: ['thread'],
    registers,
  }),
  threadBusy: new Counter({
    name: 'tumbler_thread_busy_seconds_total',
    help: "Time the thread's event loop was busy (event-loop utilization); keeps counting across a thread's replacement.",
    labelNames: ['thread'],
    registers,
  }),
  threadLagP99: new Gauge({
    name: 'tumbler_thread_event_loop_lag_p99_seconds',
    help: "99th percentile of the thread's event-loop delay over its last report (about 1 s).",
    labelNames: ['thread'],
    registers,
  }),
  threadLagMax: new Gauge({
    name: 'tumbler_thread_event_loop_lag_max_seconds',
    help: 'Largest event-loop delay of the thread over its last report (about 1 s).',
    labelNames: ['thread'],
    registers,
  }),
  threadHeapUsed: new Gauge({
    name: 'tumbler_thread_heap_used_bytes',
    help: "V8 heap in use by the thread's isolate.",
    labelNames: ['thread'],
    registers,
  }),
  threadHeapTotal: new Gauge({
    name: 'tumbler_thread_heap_total_bytes',
    help: "V8 heap reserved by the thread's isolate.",
    labelNames: ['thread'],
    registers,
  }),

  // --- Postgres pool of the main thread (API reads, claims, health probe) ---------------------
  poolConnections: new Gauge({
    name: 'tumbler_postgres_pool_connections',
    help: 'Connections of the main-thread Postgres pool, by state (active = checked out, idle = open and free).',
    labelNames: ['state'],
    registers,
    collect: poolConnections,
  }),
  poolWaiting: new Gauge({
    name: 'tumbler_postgres_pool_waiting_clients',
    help: 'Queries waiting for a connection of the main-thread Postgres pool.',
    registers,
    collect: poolWaiting,
  }),
  poolMax: new Gauge({
    name: 'tumbler_postgres_pool_max_connections',
    help: 'Size limit of the main-thread Postgres pool.',
    registers,
    collect: poolMax,
  }),

  // --- HTTP and WebSocket -------------------------------------------------------------------
  httpDuration: new Histogram({
    name: 'tumbler_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status code, from arrival to the response sent.',
    labelNames: ['method', 'route', 'code'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  }),
  metricsRender: new Histogram({
    name: 'tumbler_metrics_render_seconds',
    help: 'Time to render one /metrics response; the render is synchronous, so the main thread does nothing else meanwhile.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05],
    registers,
  }),
  /** Set by the WebSocket plugin: clients connected now. */
  wsClients: new Gauge({
    name: 'tumbler_ws_clients',
    help: 'WebSocket clients connected to /ws.',
    registers,
  }),
  /** Incremented by the WebSocket plugin when a slow client misses a push. */
  wsDroppedPushes: new Counter({
    name: 'tumbler_ws_dropped_pushes_total',
    help: 'WebSocket pushes not sent to a client because its send buffer was full.',
    registers,
  }),
  /** Incremented by the WebSocket plugin when an upgrade is refused at WS_MAX_CLIENTS. */
  wsRejected: new Counter({
    name: 'tumbler_ws_rejected_total',
    help: 'WebSocket upgrades to /ws refused with 503 because WS_MAX_CLIENTS clients were already connected.',
    registers,
  }),
}

// Every reason exists from the start, so rate() and the error-rate alert see zeros, not gaps.
for (const reason of Object.values(RejectReason)) metrics.recordsRejected.inc({ reason }, 0)
