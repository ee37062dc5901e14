import type { CommitResult, CommittedRow } from '../shared/protocol.js'
import { committedSalesRow, type SalesRow } from './sales-row.js'
import type { UpdateMessage, WindowsClosedMessage } from './ws-messages.js'

// What the commits since the last push add up to: the last totals of each row they touched
// and the windows they closed. Adding a commit only touches a Map, so the pipeline's
// 'commit' listener costs next to nothing; the rows are mapped to SalesRows once per push.

/** The key of a row in a push: its window start and category. */
export const rowKey = (r: Pick<SalesRow, 'windowStart' | 'category'>): string => `${r.windowStart}\u0000${r.category}`

export class PushBatch {
  private changed = new Map<string, { row: CommittedRow; atMs: number }>()
  /** Windows closed since the last push (starts, ms), the low watermark and when they were committed. */
  private finalized: { starts: number[]; lowWatermarkMs: number; atMs: number } | null = null
  private commits = 0
  private firstCommitMs = 0
  private lastCommitMs = 0

  constructor(private readonly windowMs: number) {}

  /** Takes one commit's rows and closed windows; returns whether there is now something to push. */
  add(result: CommitResult): boolean {
    if (result.closedWindows.length && result.lowWatermarkMs !== null) {
      this.finalized = {
        starts: [...(this.finalized?.starts ?? []), ...result.closedWindows],
        lowWatermarkMs: result.lowWatermarkMs,
        atMs: result.committedAtMs,
      }
    }
    if (result.rows.length) {
      for (const row of result.rows) this.changed.set(`${row.windowStartMs}\u0000${row.category}`, { row, atMs: result.committedAtMs })
      if (this.commits === 0) this.firstCommitMs = result.committedAtMs
      this.lastCommitMs = result.committedAtMs
      this.commits++
    }
    return this.changed.size > 0 || this.finalized !== null
  }

  /** The update of the rows changed since the last take (null if none), numbered `seq`; starts a new batch of rows. */
  takeUpdate(seq: () => number, now: number): UpdateMessage | null {
    if (this.changed.size === 0) return null
    const rows = [...this.changed.values()].map((c) => committedSalesRow(c.row, c.atMs, this.windowMs))
    this.changed = new Map()
    const message: UpdateMessage = {
      type: 'update',
      rows,
      commits: this.commits,
      committedAtMs: this.firstCommitMs,
      lastCommittedAtMs: this.lastCommitMs,
      seq: seq(),
      sentAtMs: now,
    }
    this.commits = 0
    return message
  }

  /** The windows closed since the last take (null if none). */
  takeClosed(now: number): WindowsClosedMessage | null {
    const finalized = this.finalized
    this.finalized = null
    if (!finalized) return null
    return {
      type: 'windows_closed',
      windows: finalized.starts.map((ms) => ({
        windowStart: new Date(ms).toISOString(),
        windowEnd: new Date(ms + this.windowMs).toISOString(),
      })),
      lowWatermark: new Date(finalized.lowWatermarkMs).toISOString(),
      closedAtMs: finalized.atMs,
      sentAtMs: now,
    }
  }
}
