import pg from 'pg'
import { log } from '../shared/log.js'
import { metrics } from '../metrics/registry.js'

// Keeps rejected_events bounded (docs/contract.md "Postgres", REJECTED_RETENTION_DAYS): the table is
// partitioned by UTC day of kafka_timestamp (sql/003_rejected_events_partitioned.sql), and a
// pass, at start and every REJECTED_RETENTION_INTERVAL_SECONDS, creates the partitions of the
// days that may receive rows and drops the days past the retention. One supervisor at a time
// does it (a session advisory lock, tried, never waited for: a pass another supervisor is
// running covers this one's). The choices, and why: docs/rejections.md "Size and retention".
//
// No commit needs a pass: rows no daily partition covers go to rejected_events_default. A
// pass's DDL holds rejected_events exclusively for milliseconds and waits for it at most
// LOCK_TIMEOUT_MS (commits that store rejected records queue behind a waiting DDL; those that
// store none never touch the table); a step that times out is tried again at the next pass.

/** The daily partitions exist up to this many days after today (clocks a little ahead, a pass missed). */
export const AHEAD_DAYS = 3
const DAY_MS = 86_400_000
const LOCK_KEY = 'tumbler_rejected_events_retention'
/** Longest wait for a DDL's table lock; commits that store rejected records wait behind it meanwhile. */
export const LOCK_TIMEOUT_MS = 200
/** Longest a DDL may hold its locks (ATTACH scans the DEFAULT partition to validate it). */
const STATEMENT_TIMEOUT_MS = 2_000
/** A day with more rows than this in the DEFAULT partition gets no partition: the move would hold the table too long. */
export const MOVE_MAX_ROWS = 10_000
const NAME = /^rejected_events_p(\d{4})(\d\d)(\d\d)$/

/** rejected_events_pYYYYMMDD for the UTC day starting at dayMs. */
export function dayPartitionName(dayMs: number): string {
  return `rejected_events_p${new Date(dayMs).toISOString().slice(0, 10).replaceAll('-', '')}`
}

/** The UTC midnight (ms) a daily partition's name stands for; null for any other table name. */
export function dayOfPartition(name: string): number | null {
  const m = NAME.exec(name)
  if (!m) return null
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))
  return dayPartitionName(ms) === name ? ms : null
}

export interface RetentionPlan {
  /** Rows whose Kafka timestamp is before this (ms) have passed the retention. */
  cutoffMs: number
  /** UTC midnights (ms) of the days to create, oldest first. */
  create: number[]
  /** Daily partitions to drop: every row in them is before cutoffMs. */
  drop: string[]
}

/**
 * What a pass does at nowMs, given the partitions of rejected_events (any names; only daily
 * ones count): keep every day from the one holding `now - retentionDays` to AHEAD_DAYS after
 * today, create those missing, drop those whose whole day is before the cutoff. So a row is
 * kept at least retentionDays after its Kafka timestamp, and at most one day (plus the pass
 * interval) longer. retentionDays must be at least 1 (0, keep everything, runs no pass).
 */
export function planRetention(existing: readonly string[], nowMs: number, retentionDays: number): RetentionPlan {
  if (!(retentionDays >= 1)) throw new RangeError(`retentionDays must be at least 1, got ${retentionDays}`)
  const cutoffMs = nowMs - retentionDays * DAY_MS
  const days = new Map<number, string>()
  for (const name of existing) {
    const day = dayOfPartition(name)
    if (day !== null) days.set(day, name)
  }
  const create: number[] = []
  const last = Math.floor(nowMs / DAY_MS) * DAY_MS + AHEAD_DAYS * DAY_MS
  for (let day = Math.floor(cutoffMs / DAY_MS) * DAY_MS; day <= last; day += DAY_MS) if (!days.has(day)) create.push(day)
  const drop = [...days]
    .filter(([day]) => day + DAY_MS <= cutoffMs)
    .sort(([a], [b]) => a - b)
    .map(([, name]) => name)
  return { cutoffMs, create, drop }
}

export interface RetentionPassResult {
  /** False when another supervisor held the lock (its pass does the work). */
  ran: boolean
  created: string[]
  dropped: string[]
  /** Rows of rejected_events_default past the retention, deleted. */
  defaultRowsDeleted: number
  /** Steps not done this time (lock not granted in time, a day left in DEFAULT), with why. */
  skipped: { table: string; why: string }[]
}

/**
 * One retention pass over `client`'s database, under the advisory lock (tried: returns
 * `ran: false` at once if another session holds it). Each partition is created or dropped in its own
 * short transaction; an error of one step (lock timeout, statement timeout) skips that step.
 * Errors outside the steps (connection lost) are thrown.
 */
export async function runRetentionPass(client: pg.Client, retentionDays: number, nowMs = Date.now()): Promise<RetentionPassResult> {
  const result: RetentionPassResult = { ran: false, created: [], dropped: [], defaultRowsDeleted: 0, skipped: [] }
  const { rows: lock } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(hashtext($1)) AS locked', [LOCK_KEY])
  if (!lock[0]!.locked) return result
  result.ran = true
  try {
    await passSteps(client, retentionDays, nowMs, result)
  } finally {
    // Also released if the connection ends first (kill -9 of the supervisor included).
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY]).catch(() => {})
  }
  return result
}

async function passSteps(client: pg.Client, retentionDays: number, nowMs: number, result: RetentionPassResult): Promise<void> {
  const { rows } = await client.query<{ name: string }>(
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'rejected_events'::regclass",
  )
  const plan = planRetention(
    rows.map((r) => r.name),
    nowMs,
    retentionDays,
  )
  // After one timeout the remaining DDL waits for the next pass: the table is busy (a long
  // transaction holds it), or DEFAULT too big to scan, and commits that store rejected records
  // should queue behind at most one LOCK_TIMEOUT_MS (or STATEMENT_TIMEOUT_MS) per pass.
  let busy: string | null = null
  const ddl = async (table: string, body: () => Promise<unknown>): Promise<boolean> => {
    const outcome = busy ? { why: `not tried: ${busy}` } : await step(client, body)
    if (outcome?.timedOut) busy = outcome.why
    if (outcome) result.skipped.push({ table, why: outcome.why })
    return outcome === null
  }
  for (const day of plan.create) {
    const table = dayPartitionName(day)
    if (await ddl(table, () => createDay(client, table, day))) result.created.push(table)
  }
  for (const table of plan.drop) {
    if (await ddl(table, () => client.query(`DROP TABLE ${pg.escapeIdentifier(table)}`))) {
      result.dropped.push(table)
      metrics.rejectedPartitionsDropped.inc()
    }
  }
  // Rows no daily partition took: Kafka timestamps already past the retention when they came
  // (gone now), or far ahead (a wrong clock: gone once recorded that long ago). Only a
  // ROW EXCLUSIVE lock, like the writer's inserts: nothing waits for this.
  const cutoff = new Date(plan.cutoffMs).toISOString()
  const deleted = await client.query('DELETE FROM rejected_events_default WHERE kafka_timestamp < $1 OR recorded_at < $1', [cutoff])
  result.defaultRowsDeleted = deleted.rowCount ?? 0
  metrics.rejectedDefaultRowsDeleted.inc(result.defaultRowsDeleted)
}

/**
 * Runs one DDL step in its own transaction with the DDL timeouts. Returns null when it
 * committed, else why not (`timedOut` for lock_timeout or statement_timeout); other errors are thrown.
 */
async function step(client: pg.Client, body: () => Promise<unknown>): Promise<{ why: string; timedOut?: boolean } | null> {
  try {
    await client.query('BEGIN')
    await client.query(`SET LOCAL lock_timeout = ${LOCK_TIMEOUT_MS}; SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`)
    const why = await body()
    if (typeof why === 'string') {
      await client.query('ROLLBACK')
      return { why }
    }
    await client.query('COMMIT')
    return null
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    const code = (err as { code?: string }).code
    // 55P03 lock_not_available (lock_timeout), 57014 query_canceled (statement_timeout)
    if (code === '55P03')
      return { why: `rejected_events busy (lock not granted within ${LOCK_TIMEOUT_MS} ms); next pass tries again`, timedOut: true }
    if (code === '57014')
      return {
        why: `DDL cancelled after ${STATEMENT_TIMEOUT_MS} ms (rejected_events_default too big to scan?); next pass tries again`,
        timedOut: true,
      }
    throw err
  }
}

/**
 * Creates the day's partition without blocking commits that insert into other days: a
 * standalone table ATTACHed (SHARE UPDATE EXCLUSIVE on rejected_events, where CREATE TABLE
 * ... PARTITION OF takes ACCESS EXCLUSIVE), after moving the day's rows out of the DEFAULT
 * partition (ATTACH refuses while DEFAULT holds any). The SHARE ROW EXCLUSIVE lock keeps
 * inserts out for those milliseconds: one that had picked its partition before the ATTACH
 * would send a row of this day to DEFAULT and fail its partition check (23514).
 * Returns why the day was left alone, or undefined.
 */
async function createDay(client: pg.Client, table: string, dayMs: number): Promise<string | undefined> {
  const from = client.escapeLiteral(new Date(dayMs).toISOString())
  const to = client.escapeLiteral(new Date(dayMs + DAY_MS).toISOString())
  const inDefault = `rejected_events_default WHERE kafka_timestamp >= ${from} AND kafka_timestamp < ${to}`
  const { rows } = await client.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${inDefault} LIMIT ${MOVE_MAX_ROWS + 1}) s`,
  )
  if (rows[0]!.n > MOVE_MAX_ROWS)
    return `more than ${MOVE_MAX_ROWS} rows of that day are in rejected_events_default: left there (they expire by DELETE)`
  const id = pg.escapeIdentifier(table)
  await client.query(`CREATE TABLE ${id} (LIKE rejected_events INCLUDING ALL)`)
  await client.query('LOCK TABLE rejected_events IN SHARE ROW EXCLUSIVE MODE')
  await client.query(`WITH moved AS (DELETE FROM ${inDefault} RETURNING *) INSERT INTO ${id} SELECT * FROM moved`)
  await client.query(`ALTER TABLE rejected_events ATTACH PARTITION ${id} FOR VALUES FROM (${from}) TO (${to})`)
  return undefined
}

export interface RetentionOptions {
  databaseUrl: string
  /** REJECTED_RETENTION_DAYS; 0 keeps everything and runs no pass. */
  retentionDays: number
  /** REJECTED_RETENTION_INTERVAL_SECONDS, in ms. */
  intervalMs: number
}

export interface RejectedRetention {
  /** Resolves when the first pass (started at once) has ended, whatever its outcome. */
  firstPass: Promise<void>
  /** Stops the passes; one in flight is abandoned (its connection closed, its open step rolled back). */
  close(): Promise<void>
}

/** Runs a retention pass now and every intervalMs on its own connection (a session advisory lock needs one). */
export function startRejectedRetention(o: RetentionOptions): RejectedRetention {
  if (o.retentionDays === 0) {
    log.info('REJECTED_RETENTION_DAYS=0: rejected_events is kept whole, no partition is created or dropped')
    return { firstPass: Promise.resolve(), close: async () => {} }
  }
  let closed = false
  let client: pg.Client | null = null
  const pass = async (): Promise<void> => {
    if (client || closed) return // the previous pass is still going
    const c = (client = new pg.Client({ connectionString: o.databaseUrl, application_name: 'tumbler-retention' }))
    c.on('error', () => {}) // surfaces as the failing query's error
    try {
      await c.connect()
      const r = await runRetentionPass(c, o.retentionDays)
      if (r.created.length || r.dropped.length || r.defaultRowsDeleted) {
        log.info('rejected_events retention', { created: r.created, dropped: r.dropped, defaultRowsDeleted: r.defaultRowsDeleted })
      }
      if (r.skipped.length) log.warn('rejected_events retention: steps skipped', { skipped: r.skipped })
    } catch (err) {
      if (!closed) log.warn('rejected_events retention pass failed; next pass tries again', { error: err as Error })
    } finally {
      client = null
      await c.end().catch(() => {})
    }
  }
  const timer = setInterval(() => void pass(), o.intervalMs)
  timer.unref()
  return {
    firstPass: pass(),
    close: async () => {
      closed = true
      clearInterval(timer)
      await client?.end().catch(() => {})
    },
  }
}
