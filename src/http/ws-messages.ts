import type { SalesRow } from './sales-row.js'
import type { Summary } from './summary.js'

// What GET /ws sends, one JSON text frame a message (the page, web/app.js, switches on
// `type`), and the bounds of the feed. The page sends nothing.

/** Pushes are at least this far apart (ms): commits in between are merged into one update. */
export const PUSH_INTERVAL_MS = 100
/** Bytes queued in a client's socket above which pushes to it are dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024
/** A stalled client is resynchronised once its queue is below this. */
export const RESUME_BUFFERED_BYTES = 64 * 1024
/** A snapshot carries at most this many rows (100 windows × 100 categories). */
export const SNAPSHOT_MAX_ROWS = 10_000

/** The first message of a client (and of one resynchronised after a stall): the newest windows' rows and the KPIs. */
export interface SnapshotMessage {
  type: 'snapshot'
  windowMs: number
  windows: number
  rows: SalesRow[]
  /** More rows than SNAPSHOT_MAX_ROWS: the oldest were left out. */
  truncated: boolean
  /** Null when the summary could not be computed. */
  summary: Summary | null
  /** The seq of the last update pushed before this snapshot was read. */
  seq: number
  sentAtMs: number
}

/** seq numbers the pushes (commits > 0): a client that sees a gap missed one. commits 0: rows held back during its snapshot. */
export interface UpdateMessage {
  type: 'update'
  /** Only the rows changed since the last push, at their latest totals (closedAt null). */
  rows: SalesRow[]
  commits: number
  committedAtMs: number
  lastCommittedAtMs: number
  seq: number
  sentAtMs: number
}

/** Windows whose rows became final, ascending; every window ending at or before lowWatermark is final. */
export interface WindowsClosedMessage {
  type: 'windows_closed'
  windows: { windowStart: string; windowEnd: string }[]
  lowWatermark: string
  closedAtMs: number
  sentAtMs: number
}

/** The KPIs, every second and soon after a partition pauses or resumes. */
export interface StatsMessage {
  type: 'stats'
  summary: Summary
  sentAtMs: number
}

export type ServerMessage = SnapshotMessage | UpdateMessage | WindowsClosedMessage | StatsMessage
