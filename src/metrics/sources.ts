import type { Counter, Gauge } from 'prom-client'

// The live state behind the gauges of src/metrics/registry.ts, read only when Prometheus scrapes:
// the supervisor binds a MetricSources (src/metrics/instrument.ts), and the collect() callbacks
// below, which prom-client calls with the metric as `this`, read from it. The metric
// definitions themselves (names, types, help) stay in registry.ts.

/** What the collect() callbacks read; bound by src/metrics/instrument.ts. */
export interface MetricSources {
  partitions(): PartitionSample[]
  threads(): { name: string; mailboxDepth: number }[]
  pool(): { total: number; idle: number; waiting: number; max: number }
  /** Records handed to actors so far (monotonic). */
  consumed(): number
}

export interface PartitionSample {
  topic: string
  partition: number
  /** Null until the first high watermark of the partition was seen. */
  highWatermark: bigint | null
  committed: bigint
  lagSeconds: number | null
  /** Now minus the partition's committed watermark, null before its first commit. */
  eventTimeLagSeconds: number | null
  paused: boolean
  /** Nothing to read for IDLE_PARTITION_SECONDS (its watermark may be advanced). */
  idle: boolean
  /** Stopped: Postgres refuses its commit for good. */
  failed: boolean
}

let sources: MetricSources | null = null
let consumedSeen = 0

/** Points the collect() callbacks at a running supervisor (null detaches them). */
export function bindMetricSources(s: MetricSources | null): void {
  sources = s
  consumedSeen = s?.consumed() ?? 0
}

/** collect() of a per-partition gauge: one value per owned partition (null: none yet); partitions this process gave up disappear. */
export function perPartition(value: (p: PartitionSample) => number | bigint | null) {
  return function (this: Gauge<'topic' | 'partition'>): void {
    this.reset()
    for (const p of sources?.partitions() ?? []) {
      const v = value(p)
      if (v !== null) this.set({ topic: p.topic, partition: p.partition }, Number(v))
    }
  }
}

/** collect() of a gauge counting the owned partitions that `match` (all by default). */
export function ownedPartitions(match: (p: PartitionSample) => boolean = () => true) {
  return function (this: Gauge): void {
    this.set(sources?.partitions().filter(match).length ?? 0)
  }
}

/** collect() of tumbler_records_consumed_total: the pipeline keeps this count anyway; the counter catches up at each scrape. */
export function catchUpConsumed(this: Counter): void {
  const consumed = sources?.consumed() ?? consumedSeen
  if (consumed > consumedSeen) this.inc(consumed - consumedSeen)
  consumedSeen = consumed
}

/** collect() of the per-thread mailbox gauge. */
export function mailboxDepths(this: Gauge<'thread'>): void {
  this.reset()
  for (const t of sources?.threads() ?? []) this.set({ thread: t.name }, t.mailboxDepth)
}

/** collect() of the pool's connections by state: active = checked out, idle = open and free. */
export function poolConnections(this: Gauge<'state'>): void {
  const p = sources?.pool()
  if (!p) return
  this.set({ state: 'active' }, p.total - p.idle)
  this.set({ state: 'idle' }, p.idle)
}

/** collect() of the pool's waiting queries. */
export function poolWaiting(this: Gauge): void {
  this.set(sources?.pool().waiting ?? 0)
}

/** collect() of the pool's size limit. */
export function poolMax(this: Gauge): void {
  const p = sources?.pool()
  if (p) this.set(p.max)
}
