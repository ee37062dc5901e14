import type pg from 'pg'
import type { SupervisorConfig } from '../config.js'
import type { Health } from '../health.js'
import type { PipelineEvents } from '../pipeline/events.js'

export type { PipelineEvents } from '../pipeline/events.js'

// What the HTTP side needs from the rest of the supervisor, as narrow interfaces: the
// routes read the pipeline through PipelineView, never the Pipeline class, so a route test
// can hand them a plain object instead of a pipeline with worker threads.

/** One owned partition as the page's state needs it (Pipeline.partitions() gives more). */
export interface PartitionView {
  partition: number
  /** Paused for flow control: the writer is catching up. */
  paused: boolean
}

/** The part of the pipeline (src/pipeline/coordinator.ts Pipeline) the routes use. */
export interface PipelineView {
  /** The partitions this process owns now, in partition order. */
  partitions(): readonly PartitionView[]
  /** Counters since start; `consumed` is records handed to the actors, for the events-per-second KPI. */
  readonly stats: { readonly consumed: number }
  on<E extends keyof PipelineEvents>(event: E, listener: (...args: PipelineEvents[E]) => void): unknown
  off<E extends keyof PipelineEvents>(event: E, listener: (...args: PipelineEvents[E]) => void): unknown
}

/** The supervisor's readiness, read fresh on every request. */
export interface HealthSource {
  /** The readiness now (src/health.ts decideHealth over the supervisor's inputs). */
  now(): Health
  /** What /readyz shows besides the verdict (partitions, failures, counters, thread restarts). */
  details(): Record<string, unknown>
}

/** Everything the HTTP plugins are built from (createHttp registers each plugin with it). */
export interface HttpDeps {
  config: SupervisorConfig
  /** Main-thread pool (reads for the API; the writer has its own connection). */
  db: pg.Pool
  pipeline: PipelineView
  health: HealthSource
  /** The topic's Kafka log start and end offsets per partition (decimal strings), for the consumer lag KPI. */
  kafkaOffsets?: () => Promise<{ partition: number; low: string; high: string }[]>
}
