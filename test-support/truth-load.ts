// A load generator that remembers what it produced: counts and cents per (window,
// category) and how many malformed records it sent, so a run can be checked against
// Postgres to the cent without reading the topic back. The overload test and the chaos
// script use it in-process or as child processes (bench/truth-load.ts, `node
// dist/bench/truth-load.js`, which prints its truth as JSON on stdout when it stops).
import { Partitioners, type Kafka, type Message } from 'kafkajs'
import { seedTimestamp } from '../src/producer/transactions.js'
import { centsText } from './dataset.js'
import { withDb } from './postgres.js'

const CATEGORIES = ['Electronics', 'Fashion', 'Beauty', 'Home', 'Sports', 'Grocery', 'Café ☕']

export interface TruthLoadOptions {
  topic: string
  /** Events per second; 0 = as fast as the broker takes them. */
  rate: number
  /** Stop after this many events (0 = until stop()). */
  count?: number
  /** Events per produce request. */
  batch?: number
  /** Every Nth event is not JSON (reason invalid_json); 0 = none. */
  badEvery?: number
  windowMs: number
  /** Distinguishes producers running side by side (in transaction ids). */
  id?: string
}

export interface Truth {
  sent: number
  bad: number
  /** "windowStartMs|category" → cents (integer), count */
  sales: Map<string, { cents: bigint; count: number }>
}

/** The JSON form a child process prints: sales as [key, cents, count]. */
export interface TruthJson {
  sent: number
  bad: number
  sales: [string, string, number][]
}

export const emptyTruth = (): Truth => ({ sent: 0, bad: 0, sales: new Map() })

export function addTruth(into: Truth, from: Truth | TruthJson): Truth {
  into.sent += from.sent
  into.bad += from.bad
  const entries: [string, bigint, number][] =
    from.sales instanceof Map ? [...from.sales].map(([k, v]) => [k, v.cents, v.count]) : from.sales.map(([k, c, n]) => [k, BigInt(c), n])
  for (const [key, cents, count] of entries) {
    const s = into.sales.get(key) ?? { cents: 0n, count: 0 }
    s.cents += cents
    s.count += count
    into.sales.set(key, s)
  }
  return into
}

export const truthJson = (t: Truth): TruthJson => ({
  sent: t.sent,
  bad: t.bad,
  sales: [...t.sales].map(([k, v]) => [k, v.cents.toString(), v.count]),
})

export class TruthLoad {
  /** What the broker acknowledged, and only that. */
  readonly truth: Truth = emptyTruth()
  private stopping = false
  private running: Promise<void> | null = null

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: TruthLoadOptions,
  ) {}

  start(): this {
    this.running = this.run()
    return this
  }

  /** Resolves when it stopped by itself (count reached); rejects if a send failed. */
  finished(): Promise<void> {
    return this.running ?? Promise.resolve()
  }

  /** Stops after the request in flight is acknowledged; rejects if a send failed (the truth is then unknown). */
  async stop(): Promise<Truth> {
    this.stopping = true
    await this.running
    return this.truth
  }

  private async run(): Promise<void> {
    const { topic, rate, windowMs } = this.opts
    const batch = this.opts.batch ?? 1000
    const badEvery = this.opts.badEvery ?? 0
    const id = this.opts.id ?? 'p'
    const admin = this.kafka.admin()
    await admin.connect()
    const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0]!.partitions.length
    await admin.disconnect()
    // Idempotent, acks=all, one request in flight: a retried request is not written twice
    // and each partition keeps the send order (so event time never goes backwards in it).
    const producer = this.kafka.producer({
      createPartitioner: Partitioners.DefaultPartitioner,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
    })
    await producer.connect()
    const started = Date.now()
    let seq = 0
    try {
      while (!this.stopping && (!this.opts.count || seq < this.opts.count)) {
        const n = this.opts.count ? Math.min(batch, this.opts.count - seq) : batch
        const now = Date.now()
        const eventMs = now - (now % 1000) // the seed form has whole seconds
        const ts = seedTimestamp(eventMs)
        const windowKey = eventMs - (eventMs % windowMs)
        const pending = emptyTruth()
        const messages: Message[] = new Array(n)
        for (let i = 0; i < n; i++, seq++) {
          const partition = seq % partitions
          if (badEvery > 0 && seq % badEvery === badEvery - 1) {
            messages[i] = { partition, timestamp: String(now), value: `not json ${id}-${seq}` }
            pending.bad++
          } else {
            const cents = 1 + ((seq * 7919 + 13) % 99_999) // 0.01 .. 999.99
            const category = CATEGORIES[seq % CATEGORIES.length]!
            const key = `${windowKey}|${category}`
            const s = pending.sales.get(key) ?? { cents: 0n, count: 0 }
            s.cents += BigInt(cents)
            s.count++
            pending.sales.set(key, s)
            messages[i] = {
              partition,
              timestamp: String(now),
              value: `{"transaction_id":"${id}-${seq}","user_id":"user_${seq % 90000}","product_category":"${category}","product_name":"x","amount":${(cents / 100).toFixed(2)},"timestamp":"${ts}","payment_method":"paypal"}`,
            }
          }
          pending.sent++
        }
        await producer.send({ topic, acks: -1, messages })
        addTruth(this.truth, pending)
        if (rate > 0) {
          const aheadMs = (seq / rate) * 1000 - (Date.now() - started)
          if (aheadMs > 0) await new Promise((r) => setTimeout(r, aheadMs))
        }
      }
    } finally {
      await producer.disconnect()
    }
  }
}

export interface PostgresCheck {
  ok: boolean
  rows: number
  counted: number
  rejected: number
  /** Up to 10 differences, "key: got X, want Y". */
  diffs: string[]
}

/** category_sales and rejected_events against the truth, to the cent. */
export async function checkPostgres(url: string, topic: string, truth: Truth): Promise<PostgresCheck> {
  return withDb(url, async (c) => {
    const { rows } = await c.query<{ w: string; category: string; total: string; count: string }>(
      `SELECT (extract(epoch FROM window_start) * 1000)::bigint::text AS w, category, total_sales::text AS total, transaction_count::text AS count FROM category_sales`,
    )
    const got = new Map(rows.map((r) => [`${r.w}|${r.category}`, `${r.total} / ${r.count}`]))
    const want = new Map([...truth.sales].map(([k, v]) => [k, `${centsText(v.cents)} / ${v.count}`]))
    const diffs = [...new Set([...got.keys(), ...want.keys()])]
      .filter((k) => got.get(k) !== want.get(k))
      .map((k) => `${k}: got ${got.get(k)}, want ${want.get(k)}`)
    const rejected = await c.query<{ reason: string; n: string }>(
      'SELECT reason, count(*)::text AS n FROM rejected_events WHERE topic = $1 GROUP BY reason',
      [topic],
    )
    const byReason = Object.fromEntries(rejected.rows.map((r) => [r.reason, Number(r.n)]))
    const rejectedTotal = Object.values(byReason).reduce((a, n) => a + n, 0)
    if (rejectedTotal !== truth.bad || (byReason.invalid_json ?? 0) !== truth.bad)
      diffs.push(`rejected_events: got ${JSON.stringify(byReason)}, want {"invalid_json":${truth.bad}}`)
    const counted = rows.reduce((a, r) => a + Number(r.count), 0)
    return { ok: diffs.length === 0, rows: rows.length, counted, rejected: rejectedTotal, diffs: diffs.slice(0, 10) }
  })
}
