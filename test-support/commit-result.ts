import type { CommitResult } from '../src/shared/protocol.js'

/** A writer's CommitResult that committed nothing, with `over` on top: the fixture every test of a commit's consumers starts from. */
export function commitResult(over: Partial<CommitResult> = {}): CommitResult {
  return {
    committed: [],
    fenced: [],
    failed: [],
    rows: [],
    rejected: 0,
    rejectedByReason: {},
    counted: 0,
    appendTimes: [],
    advanced: [],
    lowWatermarkMs: null,
    closedWindows: [],
    attempts: 1,
    durationMs: 0,
    committedAtMs: 0,
    ...over,
  }
}
