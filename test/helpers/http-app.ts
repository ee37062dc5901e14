// The supervisor's HTTP app built in-process for route tests: createHttp with a real,
// migrated Postgres database and a real Pipeline that has no actors, so it never consumes;
// the test emits its 'commit' and 'paused' events the way the writer's replies do.
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import WebSocket from 'ws'
import { parseOptions } from '../../src/cli.js'
import { supervisorOptions, type SupervisorConfig } from '../../src/config.js'
import { ensureDatabase, migrate } from '../../src/postgres/schema.js'
import { createHttp, type HttpDeps, type NotReady } from '../../src/http/server.js'
import { Pipeline } from '../../src/pipeline/coordinator.js'
import type { CommitResult, CommittedRow } from '../../src/shared/protocol.js'
import { ActorThread } from '../../src/pipeline/serial-worker.js'
import type { ActorData } from '../../src/shared/protocol.js'
import { uniqueName } from '../../test-support/names.js'
import { databaseFor } from '../../test-support/postgres.js'

interface Teardown {
  teardown(fn: () => unknown): void
  comment(...args: unknown[]): void
}

export interface TestApp {
  app: FastifyInstance
  pool: pg.Pool
  pipeline: Pipeline
  config: SupervisorConfig
  url: string
  /** What health.notReady() answers; null = ready. */
  health: { notReady: NotReady | null }
}

export async function buildApp(
  t: Teardown,
  opts: { env?: Record<string, string>; kafkaOffsets?: HttpDeps['kafkaOffsets'] } = {},
): Promise<TestApp> {
  const db = databaseFor(t)
  await ensureDatabase(db.url)
  const pool = new pg.Pool({ connectionString: db.url, max: 4 })
  pool.on('error', () => {}) // the database is dropped under idle clients in teardown
  await migrate(pool)
  const config = parseOptions(supervisorOptions, [], { DATABASE_URL: db.url, KAFKA_TOPIC: uniqueName('t'), ...opts.env })!
  // The Pipeline only subscribes to its writer's 'restart'; an idle actor thread stands in.
  const workerData: ActorData = {
    windowMs: config.windowSeconds * 1000,
    latenessMs: 0,
    futureMs: 0,
    index: 0,
    faults: '',
    rejectedPayloadMaxBytes: config.rejectedPayloadMaxBytes,
    faultFired: new SharedArrayBuffer(4),
    timestampDefaultZone: 'UTC',
  }
  const writer = new ActorThread({ name: 'writer', filename: new URL('../../dist/workers/window-actor.js', import.meta.url), workerData })
  const pipeline = new Pipeline(
    { topic: config.kafkaTopic, owner: 'route-test', flushMs: 60_000, flushRecords: 1000, flushBytes: 1 << 20, maxInFlightRecords: 1000 },
    pool,
    [],
    writer,
    {
      seek: () => {},
      pause: () => {},
      resume: () => {},
      commitOffsets: async () => {},
      lowOffsets: async () => new Map(),
    },
  )
  const health = { notReady: null as NotReady | null }
  const app = await createHttp({
    config,
    db: pool,
    pipeline,
    health: { notReady: () => health.notReady, details: () => ({}) },
    ...(opts.kafkaOffsets ? { kafkaOffsets: opts.kafkaOffsets } : {}),
  })
  await app.ready() // injectWS, unlike inject, does not wait for the plugins
  t.teardown(async () => {
    await app.close()
    pipeline.close()
    await writer.close()
    await pool.end()
  })
  return { app, pool, pipeline, config, url: db.url, health }
}

/** A CommitResult as the writer returns it, touching these rows. */
export function commitOf(rows: CommittedRow[], committedAtMs = Date.now()): CommitResult {
  return {
    committed: [],
    fenced: [],
    failed: [],
    rows,
    rejected: 0,
    rejectedByReason: {},
    counted: rows.length,
    appendTimes: [],
    advanced: [],
    lowWatermarkMs: null,
    closedWindows: [],
    attempts: 1,
    durationMs: 1,
    committedAtMs,
  }
}

/** Inserts category_sales rows: [window start ISO, category, total, count]. */
export async function seedSales(pool: pg.Pool, windowSeconds: number, rows: [string, string, string, number][]): Promise<void> {
  for (const [start, category, total, count] of rows) {
    await pool.query(
      `INSERT INTO category_sales (window_start, window_end, category, total_sales, transaction_count)
       VALUES ($1::timestamptz, $1::timestamptz + $2 * interval '1 second', $3, $4::numeric, $5)`,
      [start, windowSeconds, category, total, count],
    )
  }
}

export interface Upgrade {
  /** 101 when the socket opened, else the HTTP status of the refusal. */
  status: number
  /** The refusal's body ('' when the socket opened). */
  body: string
  /** The open socket (closed by the test's teardown), or null when refused. */
  ws: WebSocket | null
  /** Every message the socket received, parsed, from the first one on. */
  messages: { type: string }[]
}

/** Opens a real WebSocket to url (ws://host:port/path) and settles once it is open or refused; rejects after 10 s without an answer. */
export function upgrade(t: Teardown, url: string, headers: Record<string, string> = {}): Promise<Upgrade> {
  let timer: NodeJS.Timeout
  return new Promise<Upgrade>((resolve, reject) => {
    const messages: { type: string }[] = []
    const ws = new WebSocket(url, { headers })
    timer = setTimeout(() => reject(new Error(`no answer to the upgrade of ${url} in 10 s`)), 10_000)
    t.teardown(() => ws.terminate())
    ws.on('message', (data) => messages.push(JSON.parse(String(data))))
    ws.on('open', () => resolve({ status: 101, body: '', ws, messages }))
    ws.on('unexpected-response', (req, res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      // The server ends a refused upgrade's connection; a body cut short still shows its status.
      const done = () => {
        resolve({ status: res.statusCode ?? 0, body, ws: null, messages })
        req.destroy()
      }
      res.on('end', done)
      res.on('error', done)
      res.on('close', done)
    })
    ws.on('error', (err) => reject(err))
  }).finally(() => clearTimeout(timer))
}
