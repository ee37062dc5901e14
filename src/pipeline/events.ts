import type { CommitResult } from '../shared/protocol.js'

/** The Pipeline's events with their arguments (Node's typed EventEmitter map); the HTTP side and the metrics listen to them. */
export interface PipelineEvents {
  /** After every Postgres commit of the writer, with what it committed (the rows' new totals, windows closed). */
  commit: [result: CommitResult]
  /** A partition was paused (true) or resumed (false) for flow control. */
  paused: [partition: number, paused: boolean]
}

/** The coordinator's running counters since the process started. */
export interface PipelineStats {
  consumed: number
  dispatchedBatches: number
  commits: number
  fencedPartitions: number
  claims: number
}
