// Shared pieces of the benchmark scenarios: a deterministic load with its ground truth,
// a supervisor child process with its peak RSS, and Postgres polling.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel, Partitioners } from 'kafkajs'
import pg from 'pg'
import { seedTimestamp } from '../src/producer/transactions.js'

pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
export const PG_BASE = process.env.BENCH_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432'
export const kafka = new Kafka({ clientId: 'tumbler-bench', brokers: BROKERS, logLevel: logLevel.NOTHING })

export const uniqueName = (prefix: string) => `${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`
export const progress = (line: string) => process.stderr.write(`bench: ${line}\n`)

const CATEGORIES = ['Electronics', 'Fashion', 'Beauty', 'Home', 'Sports', 'Grocery']

export interface Truth {
  count: number
  cents: bigint
}

export async function createTopic(topic: string, partitions: number, configEntries: { name: string; value: string }[] = []): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }], waitForLeaders: true })
  await admin.disconnect()
}

export async function deleteTopic(topic: string): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
}

/** Seed-model records whose event time walks forward; returns what was produced. */
export async function load(topic: string, partitions: number, events: number, startMs = Date.now() - 60_000): Promise<Truth> {
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  const truth: Truth = { count: 0, cents: 0n }
  const chunk = 20_000
  let lastReport = Date.now()
  for (let sent = 0; sent < events; sent += chunk) {
    const n = Math.min(chunk, events - sent)
    const messages = new Array(n)
    for (let i = 0; i < n; i++) {
      const seq = sent + i
      const cents = 1000 + ((seq * 7919) % 99_000)
      const eventMs = startMs + Math.floor(seq / 20) // 20 events per ms of event time
      truth.count++
      truth.cents += BigInt(cents)
      const ts = seedTimestamp(eventMs)
      messages[i] = {
        partition: seq % partitions,
        timestamp: String(eventMs),
        value: `{"transaction_id":"b-${seq}","user_id":"user_${seq % 90000}","product_category":"${CATEGORIES[seq % 6]}","product_name":"x","amount":${(cents / 100).toFixed(2)},"timestamp":"${ts}","payment_method":"paypal"}`,
      }
    }
    await producer.send({ topic, acks: -1, messages })
    if (Date.now() - lastReport > 2000) {
      progress(`loading ${topic}: ${sent + n}/${events}`)
      lastReport = Date.now()
    }
  }
  await producer.disconnect()
  return truth
}

export interface SupervisorRun {
  proc: ChildProcess
  exited: Promise<number | null>
  logs: string[]
  /** Peak resident set of the whole process (all threads), from /proc: VmHWM. */
  peakRssMb(): number
  stop(): Promise<number | null>
}

/** Which supervisor to run: a Node.js binary and a built checkout (default: this process's Node and this checkout). */
export interface Build {
  node: string
  root: string
  /** A command the supervisor runs under, e.g. ['taskset', '-c', '0'] (it must exec node, so the pid stays the supervisor's). */
  wrap?: string[]
}
export const THIS_BUILD: Build = { node: process.execPath, root: ROOT }

export function startSupervisor(env: Record<string, string>, build: Build = THIS_BUILD): SupervisorRun {
  // BENCH_NODE_ARGS: extra node flags for the supervisor, e.g. "--cpu-prof --cpu-prof-dir=prof" to profile a scenario.
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const argv = [...(build.wrap ?? []), build.node, ...nodeArgs, path.join(build.root, 'dist/supervisor.js')]
  const proc = spawn(argv[0]!, argv.slice(1), {
    cwd: build.root,
    env: { ...process.env, HTTP_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  const logs: string[] = []
  let peak = 0
  const readPeak = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))
      if (m) peak = Math.max(peak, Number(m[1]) / 1024)
    } catch {
      // the process is gone; keep the last reading
    }
  }
  const sampler = setInterval(readPeak, 250)
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => logs.push(...d.split('\n').filter(Boolean)))
  const exited = new Promise<number | null>((resolve) =>
    proc.on('exit', (code) => {
      clearInterval(sampler)
      resolve(code)
    }),
  )
  return {
    proc,
    exited,
    logs,
    peakRssMb: () => {
      readPeak()
      return Math.round(peak)
    },
    stop: async () => {
      readPeak()
      proc.kill('SIGTERM')
      return exited
    },
  }
}

export async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

export async function dropDatabase(name: string): Promise<void> {
  await withDb(`${PG_BASE}/postgres`, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
}

/** Polls until cond() holds, every `everyMs`; throws after timeoutMs. */
export async function until<T>(
  cond: () => Promise<T | null | undefined | false>,
  what: string,
  timeoutMs: number,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await cond().catch(() => null)
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export function countRebalances(logs: string[]): number {
  // The first assignment is the join; every later one is a rebalance.
  return Math.max(0, logs.filter((l) => l.includes('"msg":"assignment"')).length - 1)
}
