// Every message that crosses a thread boundary, declared once. The table in
// docs/architecture.md describes the same set; a change here changes that table.
//
// Transport: the supervisor (main thread) drives each worker through a
// single-thread piscina pool, so every message below is a piscina task whose
// resolved value is the reply. Tasks to one actor run in submission order, which
// is what makes "flush after these batches" and "assign before these batches" hold.

/** Tasks for a window actor (main → actor). */
export const ActorTask = {
  ASSIGN: 'assign',
  BATCH: 'batch',
  FLUSH: 'flush',
  RELEASE: 'release',
  ADVANCE: 'advance',
  COMMITTED: 'committed',
} as const

/** Tasks for the writer (main → writer). */
export const WriterTask = {
  COMMIT: 'commit',
} as const

/** Why a record was not counted. Stored in rejected_events.reason; documented in docs/rejections.md. */
export const RejectReason = {
  TOMBSTONE: 'tombstone',
  EMPTY: 'empty',
  INVALID_UTF8: 'invalid_utf8',
  INVALID_JSON: 'invalid_json',
  NOT_OBJECT: 'not_object',
  INVALID_CATEGORY: 'invalid_category',
  INVALID_AMOUNT: 'invalid_amount',
  INVALID_TIMESTAMP: 'invalid_timestamp',
  LATE: 'late',
  FUTURE: 'future',
} as const
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason]

/** Take ownership of a partition from the position stored in Postgres. */
export interface AssignTask {
  type: typeof ActorTask.ASSIGN
  partition: number
  epoch: string
  /** Next Kafka offset to count (decimal string, never a JS number). */
  nextOffset: string
  /** Largest accepted event time of this partition so far (ms since epoch), null if none. */
  maxEventMs: number | null
  /** Watermark an idle advance raised the partition to (ms since epoch), null if never: the partition's watermark is the later of this and maxEventMs − LATENESS. */
  idleWatermarkMs: number | null
}

/** A run of consecutive records of one partition, packed by batch-codec into one transferred ArrayBuffer. */
export interface BatchTask {
  type: typeof ActorTask.BATCH
  partition: number
  epoch: string
  buffer: ArrayBuffer
}

/** Hand over everything accumulated since the last flush. */
export interface FlushTask {
  type: typeof ActorTask.FLUSH
}

/** Give a partition up: its final flush is the reply, then its state is dropped. */
export interface ReleaseTask {
  type: typeof ActorTask.RELEASE
  partition: number
}

/**
 * The writer committed an idle advance of this partition: from `fromOffset` on, its watermark
 * is at least `idleWatermarkMs`. The actor takes it only if it holds `epoch` and has read
 * nothing from `fromOffset` on; otherwise it keeps its state, and its next flush, judged
 * against the old watermark, is refused by the fence (the partition is claimed again).
 */
export interface AdvanceTask {
  type: typeof ActorTask.ADVANCE
  partition: number
  epoch: string
  fromOffset: string
  idleWatermarkMs: number
}

/**
 * KAFKA_FETCH=actors only: Postgres now holds these partitions up to `nextOffset` (a commit's
 * result), so the actor's in-flight bounds open up and it fetches on (workers/fetch-loop.ts).
 */
export interface CommittedTask {
  type: typeof ActorTask.COMMITTED
  offsets: { partition: number; epoch: string; nextOffset: string }[]
}

export type ActorMessage = AssignTask | BatchTask | FlushTask | ReleaseTask | AdvanceTask | CommittedTask

/**
 * The reply to each actor task, by task type: ASSIGN null; BATCH the records read; FLUSH and
 * RELEASE the Flush; ADVANCE 1 if the actor took the advance, 0 if not; COMMITTED null. Both sides are typed
 * with it (SerialWorker on the main thread, the handler in workers/window-actor.ts).
 */
export interface ActorReplies {
  [ActorTask.ASSIGN]: null
  [ActorTask.BATCH]: number
  [ActorTask.FLUSH]: Flush
  [ActorTask.RELEASE]: Flush
  [ActorTask.ADVANCE]: number
  [ActorTask.COMMITTED]: null
}

/** Sum and count for one (window, category) accumulated since the last flush. */
export interface WindowDelta {
  windowStartMs: number
  category: string
  /** Integer cents; bounded below 2^53 by FLUSH_RECORDS (see config.ts). */
  cents: number
  count: number
}

/** A record stored in rejected_events instead of being counted (docs/contract.md "Postgres"). */
export interface RejectedRecord {
  offset: string
  reason: RejectReason
  detail: string
  /** The raw record value's first REJECTED_PAYLOAD_MAX_BYTES bytes (a copy); null for a tombstone. */
  payload: Uint8Array | null
  /** Length of the whole value in bytes; null for a tombstone. */
  payloadBytes: number | null
  /** SHA-256 of the whole value (32 bytes); null for a tombstone. */
  payloadSha256: Uint8Array | null
  kafkaTimestampMs: number
}

/**
 * What one partition changed between two offsets. Applying it is only valid when
 * Postgres still says this epoch owns the partition and its stored next offset is
 * `fromOffset`: that check is the fence.
 */
export interface PartitionFlush {
  partition: number
  epoch: string
  fromOffset: string
  nextOffset: string
  maxEventMs: number | null
  /**
   * The idle watermark the records were judged against (AssignTask/AdvanceTask). Part of the
   * fence: it must equal the stored one, or an idle advance was committed after the actor
   * read these records with the lower watermark.
   */
  idleWatermarkMs: number | null
  /** Records covered (counted + rejected). */
  records: number
  /** Smallest Kafka append time among the records covered, for freshness. */
  minAppendMs: number
  /**
   * Kafka append times of the records covered, as [time rounded down to APPEND_TIME_STEP_MS,
   * records] pairs: the freshness histogram gets one observation per record at a cost per step.
   */
  appendTimes: [number, number][]
  deltas: WindowDelta[]
  rejected: RejectedRecord[]
}

/** Resolution of PartitionFlush.appendTimes (ms): fine enough for the freshness buckets, coarse enough to stay small. */
export const APPEND_TIME_STEP_MS = 10

/** Reply to FLUSH and RELEASE (actor → main); also the payload main forwards to the writer. */
export interface Flush {
  partitions: PartitionFlush[]
}

/** A partition this supervisor owns that had nothing to read for IDLE_PARTITION_SECONDS, at its committed position. */
export interface IdlePartition {
  partition: number
  epoch: string
  /** The committed next offset when it was found idle; the advance applies from here. */
  offset: string
}

/** Commit these flushes in one Postgres transaction (main → writer); with no flushes, only the idle advances and the closing they cause. */
export interface CommitTask {
  type: typeof WriterTask.COMMIT
  topic: string
  /** Partitions of the topic (from Kafka's metadata); 0 while unknown, which leaves windows open. */
  partitionCount: number
  flushes: PartitionFlush[]
  idle: IdlePartition[]
}

/**
 * The receive side of a thread protocol: one handler per task type, each taking exactly that
 * task and returning exactly its reply (`R[K]`), so a case that answers with another task's
 * reply does not compile (workers/window-actor.ts).
 */
export type TaskHandlers<M extends { type: string }, R extends Record<M['type'], unknown>> = {
  [K in M['type']]: (msg: Extract<M, { type: K }>) => R[K]
}

/** The writer's one task and its reply (see ActorReplies). */
export type WriterMessage = CommitTask
export interface WriterReplies {
  [WriterTask.COMMIT]: CommitResult
}

/** An idle advance the commit applied. */
export interface AdvancedPartition {
  partition: number
  epoch: string
  fromOffset: string
  idleWatermarkMs: number
}

export interface CommittedPartition {
  partition: number
  epoch: string
  nextOffset: string
  maxEventMs: number | null
}

/** The new totals of every row the commit touched, for the UI push. */
export interface CommittedRow {
  windowStartMs: number
  category: string
  totalSales: string
  transactionCount: string
}

/**
 * A partition whose flushes Postgres refused for a reason retrying cannot fix (SQLSTATE class
 * 22 data exception or 23 integrity constraint violation, src/shared/pg-errors.ts): nothing of them
 * was committed, and the partition stops (docs/contract.md, Postgres: "its partitions are marked
 * failed, visibly").
 */
export interface PartitionFailure {
  partition: number
  /** Epoch of the refused flushes. */
  epoch: string
  /** Where the refused flushes started: the partition's stored next offset, which stays there. */
  fromOffset: string
  /** Postgres' SQLSTATE, 5 characters (e.g. 22003 numeric_value_out_of_range). */
  sqlstate: string
  /** Postgres' error message. */
  message: string
}

/** Reply to COMMIT (writer → main). */
export interface CommitResult {
  committed: CommittedPartition[]
  /** Partitions whose flushes were dropped: another owner (or a newer epoch) holds them. */
  fenced: { partition: number; epoch: string; reason: string }[]
  /** Partitions whose flushes Postgres refused for good; the other partitions were committed without them. */
  failed: PartitionFailure[]
  rows: CommittedRow[]
  rejected: number
  /** The same rejected records by reason (only reasons that occurred). */
  rejectedByReason: Partial<Record<RejectReason, number>>
  counted: number
  /** appendTimes of the committed (not fenced) flushes, merged: committedAtMs minus each is the freshness. */
  appendTimes: [number, number][]
  /** Idle advances committed (see AdvanceTask). */
  advanced: AdvancedPartition[]
  /** The topic's low watermark after this commit (ms since epoch), null while some partition has none. */
  lowWatermarkMs: number | null
  /** Starts of the windows (ms since epoch, ascending) whose rows this commit closed (set closed_at on). */
  closedWindows: number[]
  attempts: number
  durationMs: number
  committedAtMs: number
}

/** BroadcastChannel on which every worker thread posts a ThreadStats about once a second (worker → main; main samples itself alike). */
export const THREAD_STATS_CHANNEL = 'tumbler:thread-stats'

/** Events a worker counts itself and reports in ThreadStats.counts. */
export const ThreadCounter = {
  /** A writer transaction rolled back to be retried (a transient error): reported while Postgres is still failing. */
  TRANSACTION_RETRIES: 'transaction_retries',
} as const
export type ThreadCounter = (typeof ThreadCounter)[keyof typeof ThreadCounter]

/**
 * One thread's health, posted on THREAD_STATS_CHANNEL. A separate channel rather than a
 * field of task replies so that idle threads report too, and stuck ones report what they
 * retry. busyMs and counts restart from zero in a replacement thread; main tells
 * incarnations apart by threadId and keeps its counters monotonic.
 */
export interface ThreadStats {
  /** 'main', 'actor-<index>' or 'writer', as SerialWorker names them. */
  thread: string
  threadId: number
  /** Event-loop active time since this thread started (ms, cumulative). */
  busyMs: number
  /** Event-loop delay over the interval since the last report (ms). */
  lagP99Ms: number
  lagMaxMs: number
  /** This thread's V8 heap (each worker has its own isolate). */
  heapUsedBytes: number
  heapTotalBytes: number
  /** Cumulative since this thread started. */
  counts: Partial<Record<ThreadCounter, number>>
}
