// Integration-test helpers: a real broker (started by .ci/run or `npm run kafka:start`),
// the real Postgres, and the built supervisor as a child process. Each test gets its own
// topic, group and database, removed in teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { Kafka, logLevel, type Message } from 'kafkajs'
import pg from 'pg'

export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const ROOT = path.resolve(import.meta.dirname, '../..')
export const ARTIFACTS = path.join(ROOT, 'test-artifacts')

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

interface Teardown {
  teardown(fn: () => unknown): void
  comment(...args: unknown[]): void
}

export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`

export const kafka = new Kafka({ clientId: 'tumbler-test', brokers: BROKERS, logLevel: logLevel.NOTHING })

/** Waits until cond() is truthy; fails with `what` after timeoutMs. Polls, never sleeps blindly. */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await cond()
      if (v) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** A new topic on the shared broker, deleted in teardown (`client`: another broker's, whose fixture removes it whole). */
export async function createTopic(t: Teardown, partitions: number, client: Kafka = kafka): Promise<string> {
  const topic = uniqueName('t')
  const admin = client.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1 }], waitForLeaders: true })
  await admin.disconnect()
  if (client !== kafka) return topic
  t.teardown(async () => {
    const a = kafka.admin()
    await a.connect()
    await a.deleteTopics({ topics: [topic] }).catch(() => {})
    await a.disconnect()
  })
  return topic
}

/** A database name for the supervisor to create; dropped in teardown. */
export function databaseFor(t: Teardown): { name: string; url: string } {
  const name = uniqueName('tumbler_test')
  t.teardown(() => query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  return { name, url: `postgresql://postgres@127.0.0.1:5432/${name}` }
}

export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query<R>(sql, params)).rows
  } finally {
    await c.end()
  }
}

export interface Produced {
  partition: number
  value: Buffer | string | null
  /** Kafka record timestamp (ms), set explicitly so the `future` rule is deterministic. */
  timestampMs: number
}

/** Sends records in order per partition (idempotent, acks=all), so offsets are their index within the partition. */
export async function produce(topic: string, records: Produced[], chunk = 5000, client: Kafka = kafka): Promise<void> {
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < records.length; i += chunk) {
      const messages: Message[] = records
        .slice(i, i + chunk)
        .map((r) => ({ partition: r.partition, value: r.value as Buffer | string | null, timestamp: String(r.timestampMs) }))
      await producer.send({ topic, acks: -1, messages })
    }
  } finally {
    await producer.disconnect()
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}

export interface Supervisor {
  proc: ChildProcess
  port: number
  exited: Promise<number | null>
  readyz(): Promise<{ status: number; body: any }>
  waitReady(timeoutMs?: number): Promise<void>
  kill(signal: NodeJS.Signals): Promise<number | null>
  /** The last lines of its log, for a failure message. */
  logTail(lines?: number): string
}

/**
 * Starts `node dist/supervisor.js` with the given environment; logs go to test-artifacts/.
 * `nice` lowers its CPU priority (the overload test: producers outrun it on a small machine).
 */
export async function startSupervisor(
  t: Teardown,
  env: Record<string, string>,
  logName: string,
  opts: { nice?: number } = {},
): Promise<Supervisor> {
  // A restart test passes the previous run's HTTP_PORT: pages reconnect to the same address.
  const port = env.HTTP_PORT ? Number(env.HTTP_PORT) : await freePort()
  mkdirSync(ARTIFACTS, { recursive: true })
  const logFile = path.join(ARTIFACTS, `${logName}.log`)
  const out = createWriteStream(logFile, { flags: 'a' })
  const command = opts.nice ? ['nice', '-n', String(opts.nice), process.execPath] : [process.execPath]
  const proc = spawn(command[0]!, [...command.slice(1), 'dist/supervisor.js'], {
    cwd: ROOT,
    // REJECTED_RETENTION_DAYS=0: the datasets' fixed dates (2026-01-01…) are older than the
    // default 30 days, and a retention pass would delete their rejected rows before the check.
    env: { ...process.env, ACTORS: '2', HTTP_PORT: String(port), LOG_LEVEL: 'info', REJECTED_RETENTION_DAYS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  proc.stdout!.pipe(out, { end: false })
  proc.stderr!.pipe(out, { end: false })
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL')
      await exited
    }
  })
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`)
    return { status: res.status, body: await res.json() }
  }
  return {
    proc,
    port,
    exited,
    readyz,
    waitReady: async (timeoutMs = 60_000) => {
      await waitFor(async () => (await readyz()).status === 200, `supervisor ${logName} ready`, timeoutMs)
    },
    kill: async (signal) => {
      proc.kill(signal)
      return exited
    },
    logTail: (lines = 20) => {
      const all = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n') : []
      return all.slice(-lines).join('\n')
    },
  }
}

/** Sum of next_offset over the topic's partitions as stored by tumbler. */
export async function committedRecords(url: string, topic: string): Promise<number> {
  try {
    const rows = await query<{ n: string | null }>(url, 'SELECT sum(next_offset)::text AS n FROM tumbler_progress WHERE topic = $1', [
      topic,
    ])
    return Number(rows[0]?.n ?? 0)
  } catch {
    return 0 // database or table not there yet
  }
}

/** Records in the topic: the sum of its partitions' end offsets (nothing is deleted in tests). */
export async function topicRecords(topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((a, o) => a + Number(o.high), 0)
  } finally {
    await admin.disconnect()
  }
}
