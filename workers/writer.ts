import { workerData } from 'node:worker_threads'
import pg from 'pg'
import { faultCounter } from '../src/shared/faults.js'
import { log } from '../src/shared/log.js'
import { pgErrorKind, sqlState } from '../src/shared/pg-errors.js'
import '../src/shared/pg-types.js'
import { advanceProgress, lockForCommit } from '../src/shared/progress.js'
import {
  ThreadCounter,
  WriterTask,
  type CommitResult,
  type CommitTask,
  type PartitionFlush,
  type WriterMessage,
  type WriterReplies,
} from '../src/shared/protocol.js'
import type { WriterData } from '../src/shared/worker-data.js'
import { retry } from '../src/shared/retry.js'
import { countInThread, reportThreadStats } from '../src/shared/thread-stats.js'
import { isolate } from './commit-isolation.js'
import { chainFlushes, partitionsToLock, planCommit, type Committed } from './commit-plan.js'
import { insertRejected, stageRejected, stageSales, STAGING, upsertSales } from './commit-sql.js'
import { finality } from './finality-step.js'

// The batching writer: turns the flushes of all actors into ONE Postgres transaction that
// adds their deltas to category_sales, stores their rejected records and moves their
// partitions' next_offset, behind the epoch/offset fence (src/shared/progress.ts); then, in the
// same transaction, applies idle advances and closes the windows the topic's new low watermark
// passed (workers/finality-step.ts). Runs alone in its own single-thread piscina pool, so
// commits never overlap. A transaction Postgres refuses for good (a data exception or
// constraint violation) is not retried: the partitions it refuses are found and reported
// failed, and the others are committed (workers/commit-isolation.ts).
//
// The pieces: workers/commit-plan.ts decides (pure), workers/commit-sql.ts writes the data,
// this file holds the connection, the retries and the order of the statements.

const data = workerData as WriterData
const fault = faultCounter(data.faults, 'writer', new Int32Array(data.faultFired))
reportThreadStats('writer')

let client: pg.Client | null = null

async function connection(): Promise<pg.Client> {
  if (client) return client
  const c = new pg.Client({ connectionString: data.databaseUrl, application_name: 'tumbler-writer' })
  c.on('error', () => {}) // a dead connection surfaces on the next query; that path resets it
  await c.connect()
  await c.query(STAGING)
  client = c
  return c
}

function dropConnection(): void {
  client?.end().catch(() => {})
  client = null
}

/** Waits between attempts of a transaction Postgres refused for a transient reason. */
const COMMIT_BACKOFF = { baseMs: 100, maxMs: 5000 }

/** The writer's task handler (src/shared/protocol.ts WriterMessage → WriterReplies). */
export default async function handle(msg: WriterMessage): Promise<WriterReplies[WriterMessage['type']]> {
  switch (msg.type) {
    case WriterTask.COMMIT:
      return commit(msg)
  }
}

/** The COMMIT task: see the header comment; never rejects for a Postgres error (transient: retried; deterministic: CommitResult.failed). */
async function commit(task: CommitTask): Promise<CommitResult> {
  const started = Date.now()
  let attempts = 0
  // Postgres away, slow, deadlocked: the same work is retried after a rollback; the caller's
  // in-flight bound pauses the consumer meanwhile. An unknown outcome (connection lost during
  // COMMIT) is safe to retry: if it did commit, the fence refuses the repeat. A deterministic
  // refusal (src/shared/pg-errors.ts) ends the loop at once.
  const attempt = async (flushes: PartitionFlush[]): Promise<Committed> => {
    const { value } = await retry(
      () => {
        attempts++
        return commitOnce(task, flushes)
      },
      {
        ...COMMIT_BACKOFF,
        retryable: (err) => pgErrorKind(err) === 'transient',
        onRetry: (err, attempt, backoffMs) => {
          log.warn('commit failed, retrying', { attempt, backoffMs, sqlstate: sqlState(err), error: err as Error })
          countInThread(ThreadCounter.TRANSACTION_RETRIES)
        },
      },
    )
    return value
  }
  let result: Committed
  try {
    result = await attempt(task.flushes)
  } catch (err) {
    result = await isolate(task.flushes, err, attempt)
  }
  return { ...result, attempts, durationMs: Date.now() - started, committedAtMs: Date.now() }
}

/** One transaction over these flushes; rolled back (and the error rethrown) if any statement fails. */
async function commitOnce(task: CommitTask, flushes: PartitionFlush[]): Promise<Committed> {
  const c = await connection()
  try {
    return await transaction(c, task, flushes)
  } catch (err) {
    await c.query('ROLLBACK').catch(dropConnection)
    throw err
  }
}

async function transaction(c: pg.Client, task: CommitTask, flushes: PartitionFlush[]): Promise<Committed> {
  const runs = chainFlushes(flushes)
  await c.query('BEGIN')
  // COPY first, before any lock: a writer frozen (SIGSTOP, VM pause) or cut off in the
  // middle of a COPY leaves its session waiting for data, which neither
  // idle_in_transaction_session_timeout nor statement_timeout ends, so it must not hold
  // locks that other supervisors wait for. Staged rows carry their (partition, epoch);
  // the fence below decides which of them are used.
  const staged = await stageSales(c, runs)
  await stageRejected(c, runs)
  // Then the topic's lock and this commit's progress rows, and the fence.
  const locked = await lockForCommit(c, task.topic, partitionsToLock(runs, task.idle))
  const plan = planCommit(runs, locked)
  const rows = await upsertSales(c, plan, data.windowMs, staged)
  await insertRejected(c, task.topic, plan.accepted, plan.rejected)
  await advanceProgress(c, task.topic, plan.accepted)
  const { advanced, lowWatermarkMs, closedWindows } = await finality(c, task, plan.accepted, locked, data.latenessMs)
  await c.query('COMMIT')
  fault('commit') // test hook: dying here leaves the main thread not knowing the outcome
  return {
    committed: plan.accepted.map((g) => ({ partition: g.partition, epoch: g.epoch, nextOffset: g.nextOffset, maxEventMs: g.maxEventMs })),
    fenced: plan.fenced,
    failed: [],
    rows,
    rejected: plan.rejected,
    rejectedByReason: plan.rejectedByReason,
    counted: plan.counted,
    appendTimes: plan.appendTimes,
    advanced,
    lowWatermarkMs,
    closedWindows,
  }
}
