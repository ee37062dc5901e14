// Pieces the benchmark scenarios share beyond test-support/: a deterministic load with its
// ground truth, a supervisor child process with its peak RSS and its log in memory, figures.
import type { ChildProcess } from 'node:child_process'
import { Partitioners } from 'kafkajs'
import { list, oneOf, UsageError } from '../src/cli.js'
import type { FetchMode } from '../src/shared/actor-fetch.js'
import { seedTimestamp } from '../src/producer/transactions.js'
import { kafka } from '../test-support/broker.js'
import { memoryMb } from '../test-support/proc-status.js'
import { spawnSupervisor, THIS_BUILD, type Build } from '../test-support/supervisor-process.js'

export const progress = (line: string) => process.stderr.write(`bench: ${line}\n`)

/** The KAFKA_FETCH modes a benchmark runs, in order (`--fetch supervisor,actors`): each at most once. */
export function fetchModes(raw: string): FetchMode[] {
  const modes = list(raw).map(oneOf<FetchMode>(['supervisor', 'actors']))
  if (new Set(modes).size !== modes.length) throw new UsageError(`--fetch lists a mode twice: "${raw}"`)
  return modes
}

const CATEGORIES = ['Electronics', 'Fashion', 'Beauty', 'Home', 'Sports', 'Grocery']

export interface Truth {
  count: number
  cents: bigint
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

/**
 * Starts the supervisor of `build` (HTTP_PORT=0, LOG_LEVEL=info, then `env`), sampling its peak
 * RSS every 250 ms and keeping its log lines in memory. BENCH_NODE_ARGS: extra node flags, e.g.
 * "--cpu-prof --cpu-prof-dir=prof" to profile a scenario.
 */
export function startSupervisor(env: Record<string, string>, build: Build = THIS_BUILD): SupervisorRun {
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const { proc, exited } = spawnSupervisor(env, { build, nodeArgs })
  const logs: string[] = []
  let peak = 0
  const readPeak = () => {
    const hwm = memoryMb(proc.pid!)?.hwm // null once the process is gone: the last reading stays
    if (hwm !== undefined && !Number.isNaN(hwm)) peak = Math.max(peak, hwm)
  }
  const sampler = setInterval(readPeak, 250)
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => logs.push(...d.split('\n').filter(Boolean)))
  void exited.then(() => clearInterval(sampler))
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

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

export function countRebalances(logs: string[]): number {
  // The first assignment is the join; every later one is a rebalance.
  return Math.max(0, logs.filter((l) => l.includes('"msg":"assignment"')).length - 1)
}
