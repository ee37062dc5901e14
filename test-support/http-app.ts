// The supervisor's HTTP app built in-process for route tests: createHttp with a real,
// migrated Postgres database and, for the pipeline, a TestPipeline: the routes' narrow view
// of it (src/http/deps.ts PipelineView), no worker threads. The test emits its 'commit' and
// 'paused' events the way the writer's replies make the real one do, and sets its partitions.
import { EventEmitter } from 'node:events'
import type { FastifyInstance } from 'fastify'
import pg from 'pg'
import WebSocket from 'ws'
import { parseOptions } from '../src/cli.js'
import { supervisorOptions, type SupervisorConfig } from '../src/config.js'
import { ensureDatabase, migrate } from '../src/postgres/schema.js'
import { READY, type Health } from '../src/health.js'
import type { HttpDeps, PartitionView, PipelineEvents, PipelineView } from '../src/http/deps.js'
import { createHttp } from '../src/http/server.js'
import type { CommitResult, CommittedRow } from '../src/shared/protocol.js'
import { commitResult } from './commit-result.js'
import { uniqueName } from './names.js'
import { databaseFor } from './postgres.js'

interface Teardown {
  teardown(fn: () => unknown): void
  comment(...args: unknown[]): void
}

/** The pipeline as the routes see it, driven by the test. */
export class TestPipeline extends EventEmitter<PipelineEvents> implements PipelineView {
  /** What partitions() answers. */
  parts: PartitionView[] = []
  readonly stats = { consumed: 0 }
  partitions(): readonly PartitionView[] {
    return this.parts
  }
}

export interface TestApp {
  app: FastifyInstance
  pool: pg.Pool
  pipeline: TestPipeline
  config: SupervisorConfig
  url: string
  /** What health.now() answers; READY at first. */
  health: { value: Health }
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
  const pipeline = new TestPipeline()
  const health: { value: Health } = { value: READY }
  const app = await createHttp({
    config,
    db: pool,
    pipeline,
    health: { now: () => health.value, details: () => ({}) },
    ...(opts.kafkaOffsets ? { kafkaOffsets: opts.kafkaOffsets } : {}),
  })
  await app.ready() // injectWS, unlike inject, does not wait for the plugins
  t.teardown(async () => {
    await app.close()
    await pool.end()
  })
  return { app, pool, pipeline, config, url: db.url, health }
}

/** A CommitResult as the writer returns it, touching these rows. */
export function commitOf(rows: CommittedRow[], committedAtMs = Date.now()): CommitResult {
  return commitResult({ rows, counted: rows.length, durationMs: 1, committedAtMs })
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
