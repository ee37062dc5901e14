// Scenario "live": the producer runs at a fixed rate for T seconds while the supervisor
// keeps up; freshness = time from a record's append to the Kafka log (the topic uses
// LogAppendTime, so the broker stamps it and says it in the produce response) to the moment
// the Postgres commit that includes it is visible (tumbler_progress polled every 10 ms).
// Finality: for each window made final during the run, window end → closed_at (the closing
// transaction's time), which includes LATENESS_SECONDS; and the writer's mean commit time, from
// the supervisor's own tumbler_flush_duration_seconds.
import { Partitioners } from 'kafkajs'
import { seedTimestamp } from '../src/producer/transactions.js'
import { createNamedTopic, deleteTopic, kafka } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { dropDatabase, PG_BASE, withDb } from '../test-support/postgres.js'
import { waitFor } from '../test-support/wait.js'
import { countRebalances, percentile, progress, startSupervisor } from './lib.js'

export interface LiveResult {
  rate: number
  seconds: number
  events: number
  achievedRate: number
  freshnessMs: { p50: number; p99: number; max: number }
  peakRssMb: number
  rebalances: number
  /** Windows made final during the run: window end → closed_at (ms), lateness included. */
  finalityMs: { windows: number; latenessMs: number; p50: number; p99: number; max: number }
  /** Writer transactions (tumbler_flush_duration_seconds): count and mean duration, retries included. */
  commits: { count: number; meanMs: number }
  totalsMatched: boolean
}

interface Sent {
  partition: number
  /** Offset of the last record of this send in this partition. */
  lastOffset: bigint
  count: number
  appendedAtMs: number
}

/** `env`: more supervisor settings, e.g. WINDOW_SECONDS and LATENESS_SECONDS for more windows per run. */
export async function live(rate: number, seconds: number, partitions: number, env: Record<string, string> = {}): Promise<LiveResult> {
  const topic = uniqueName('bench_live')
  const db = uniqueName('tumbler_bench')
  const url = `${PG_BASE}/${db}`
  await createNamedTopic(topic, partitions, [{ name: 'message.timestamp.type', value: 'LogAppendTime' }])
  const sup = startSupervisor({ KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: url, ...env })
  const latenessMs = Number(env.LATENESS_SECONDS ?? 60) * 1000
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })
  try {
    await waitFor(
      async () =>
        withDb(url, async (c) => (await c.query('SELECT 1 FROM tumbler_progress WHERE topic = $1', [topic])).rowCount === partitions),
      'supervisor owns all partitions',
      60_000,
      100,
    )
    await producer.connect()
    progress(`live: ${rate} events/s for ${seconds} s`)
    const waiting: Sent[][] = Array.from({ length: partitions }, () => [])
    const freshness: number[] = [] // one entry per record
    let polling = true
    const poller = (async () => {
      await withDb(url, async (c) => {
        while (polling || waiting.some((w) => w.length)) {
          const { rows } = await c.query<{ partition: number; next_offset: string }>(
            'SELECT partition, next_offset FROM tumbler_progress WHERE topic = $1',
            [topic],
          )
          const now = Date.now()
          for (const r of rows) {
            const w = waiting[r.partition]!
            const next = BigInt(r.next_offset)
            while (w.length && w[0]!.lastOffset < next) {
              const s = w.shift()!
              for (let i = 0; i < s.count; i++) freshness.push(now - s.appendedAtMs)
            }
          }
          await new Promise((r) => setTimeout(r, 10))
        }
      })
    })()
    const started = Date.now()
    let produced = 0
    let cents = 0n
    while (Date.now() - started < seconds * 1000) {
      // Whatever is owed by now goes in one send (at least every 10 ms), so a slow
      // acknowledgement delays records but does not lower the rate.
      const owed = Math.min(rate, Math.floor(((Date.now() - started) / 1000) * rate) - produced)
      if (owed <= 0) {
        await new Promise((r) => setTimeout(r, 10))
        continue
      }
      const now = Date.now()
      const ts = seedTimestamp(now)
      const messages = Array.from({ length: owed }, (_, i) => {
        const seq = produced + i
        const c = 1000 + ((seq * 7919) % 99_000)
        cents += BigInt(c)
        return { partition: seq % partitions, value: `{"product_category":"Home","amount":${(c / 100).toFixed(2)},"timestamp":"${ts}"}` }
      })
      const meta = await producer.send({ topic, acks: -1, messages })
      for (const m of meta) {
        const count = messages.filter((x) => x.partition === m.partition).length
        const s = {
          partition: m.partition,
          lastOffset: BigInt(m.baseOffset!) + BigInt(count - 1),
          count,
          appendedAtMs: Number(m.logAppendTime),
        }
        if (!(s.appendedAtMs > 0))
          throw new Error(`no log append time in the produce response (${m.logAppendTime}): is the topic LogAppendTime?`)
        waiting[m.partition]!.push(s)
      }
      produced += owed
    }
    const elapsed = (Date.now() - started) / 1000
    polling = false
    await waitFor(async () => (waiting.every((w) => w.length === 0) ? true : null), 'every record committed', 120_000, 50)
    await poller
    const total = await withDb(
      url,
      async (c) =>
        (
          await c.query<{ n: string; cents: string }>(
            'SELECT sum(transaction_count)::text AS n, (sum(total_sales) * 100)::bigint::text AS cents FROM category_sales',
          )
        ).rows[0]!,
    )
    const finality = (
      await withDb(url, (c) =>
        c.query<{ ms: string }>(
          `SELECT (extract(epoch FROM min(closed_at) - window_end) * 1000)::bigint::text AS ms FROM category_sales WHERE closed_at IS NOT NULL GROUP BY window_end ORDER BY 1`,
        ),
      )
    ).rows.map((r) => Number(r.ms))
    const commits = await commitTimes(sup.logs)
    await sup.stop()
    freshness.sort((a, b) => a - b)
    return {
      rate,
      seconds: elapsed,
      events: produced,
      achievedRate: Math.round(produced / elapsed),
      freshnessMs: { p50: percentile(freshness, 50), p99: percentile(freshness, 99), max: freshness[freshness.length - 1] ?? NaN },
      peakRssMb: sup.peakRssMb(),
      rebalances: countRebalances(sup.logs),
      finalityMs: {
        windows: finality.length,
        latenessMs,
        p50: percentile(finality, 50),
        p99: percentile(finality, 99),
        max: finality[finality.length - 1] ?? NaN,
      },
      commits,
      totalsMatched: Number(total.n) === produced && BigInt(total.cents) === cents,
    }
  } finally {
    await producer.disconnect().catch(() => {})
    if (sup.proc.exitCode === null) sup.proc.kill('SIGKILL')
    await dropDatabase(db)
    await deleteTopic(topic)
  }
}

/** The writer's commits so far, from the supervisor's /metrics (its address is in its "http listening" log line). */
async function commitTimes(logs: string[]): Promise<LiveResult['commits']> {
  const line = logs.find((l) => l.includes('"msg":"http listening"'))
  const url = line && (JSON.parse(line) as { url?: string }).url
  if (!url) return { count: 0, meanMs: NaN }
  const text = await (await fetch(`${url}metrics`)).text()
  const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN)
  const count = sample('tumbler_flush_duration_seconds_count')
  return { count, meanMs: +((sample('tumbler_flush_duration_seconds_sum') / count) * 1000).toFixed(2) }
}
