// A seeded dataset with a ground truth computed here, independently of the code under
// test: good records, late and future ones, and malformed records of many kinds.
import type { Produced } from './broker.js'
import { rng } from './rng.js'
import { seedTimestamp } from '../src/producer/transactions.js'

export const WINDOW_MS = 60_000
export const LATENESS_MS = 60_000
export const FUTURE_MS = 300_000
const CATEGORIES = ['Electronics', 'Fashion', 'Beauty', 'Home', 'Sports', 'Grocery', 'Café ☕', "Robert'); DROP TABLE category_sales;--"]

/** Malformed values, each with the reason tumbler must store. */
export const MALFORMED: { kind: string; reason: string; value: (ts: string) => Buffer | string | null }[] = [
  { kind: 'tombstone', reason: 'tombstone', value: () => null },
  { kind: 'empty value', reason: 'empty', value: () => Buffer.alloc(0) },
  { kind: 'invalid utf-8', reason: 'invalid_utf8', value: () => Buffer.from([0x7b, 0xc3, 0x28, 0x7d]) },
  { kind: 'not json', reason: 'invalid_json', value: () => 'hello, world' },
  { kind: 'truncated json', reason: 'invalid_json', value: (ts) => `{"product_category":"Home","amount":1,"timestamp":"${ts}"` },
  { kind: 'json array', reason: 'not_object', value: () => '[1,2,3]' },
  { kind: 'json string', reason: 'not_object', value: () => '"Electronics"' },
  { kind: 'json null', reason: 'not_object', value: () => 'null' },
  { kind: 'missing category', reason: 'invalid_category', value: (ts) => JSON.stringify({ amount: 10, timestamp: ts }) },
  {
    kind: 'category too long',
    reason: 'invalid_category',
    value: (ts) => JSON.stringify({ product_category: 'x'.repeat(51), amount: 10, timestamp: ts }),
  },
  {
    kind: 'amount as string',
    reason: 'invalid_amount',
    value: (ts) => JSON.stringify({ product_category: 'Home', amount: '10.50', timestamp: ts }),
  },
  {
    kind: 'negative amount',
    reason: 'invalid_amount',
    value: (ts) => JSON.stringify({ product_category: 'Home', amount: -1, timestamp: ts }),
  },
  {
    kind: 'three decimals',
    reason: 'invalid_amount',
    value: (ts) => JSON.stringify({ product_category: 'Home', amount: 10.005, timestamp: ts }),
  },
  {
    kind: 'amount too large',
    reason: 'invalid_amount',
    value: (ts) => JSON.stringify({ product_category: 'Home', amount: 1e9, timestamp: ts }),
  },
  {
    kind: 'impossible date',
    reason: 'invalid_timestamp',
    value: () => JSON.stringify({ product_category: 'Home', amount: 10, timestamp: '2026-02-30 10:00:00' }),
  },
  {
    kind: 'timestamp as number',
    reason: 'invalid_timestamp',
    value: () => JSON.stringify({ product_category: 'Home', amount: 10, timestamp: 1764000000 }),
  },
]

export interface Truth {
  /** "windowStartMs|category" → { cents, count } */
  sales: Map<string, { cents: bigint; count: number }>
  /** "partition:offset" → reason */
  rejected: Map<string, string>
  counted: number
}

export interface Dataset {
  records: Produced[]
  truth: Truth
  perPartition: number[]
}

/**
 * `perPartition` records in each partition: event time walks forward ~40 ms a record
 * with ±20 s jitter; every 997th record is 3 minutes behind (late), every 1499th is 10
 * minutes ahead of its Kafka timestamp (future), every 251st is malformed (cycling kinds).
 */
export function makeDataset(partitions: number, perPartition: number, seed = 42, startMs = Date.UTC(2026, 10, 25, 0, 0, 0)): Dataset {
  const random = rng(seed)
  const records: Produced[] = []
  const queues: Produced[][] = []
  const meta: ({ category: string; cents: number; eventMs: number } | { reason: string })[][] = []
  for (let p = 0; p < partitions; p++) {
    const q: Produced[] = []
    const m: (typeof meta)[number] = []
    let clock = startMs + p * 7_000
    for (let i = 0; i < perPartition; i++) {
      clock += 40
      const kafkaTs = clock + 500
      if (i % 251 === 250) {
        const bad = MALFORMED[Math.floor(i / 251) % MALFORMED.length]!
        q.push({ partition: p, value: bad.value(seedTimestamp(clock)), timestampMs: kafkaTs })
        m.push({ reason: bad.reason })
        continue
      }
      let eventMs = clock + Math.floor((random() - 0.5) * 40_000)
      if (i % 997 === 996) eventMs = clock - 180_000
      const future = i % 1499 === 1498
      if (future) eventMs = kafkaTs + 600_000
      eventMs -= eventMs % 1000 // the seed form has whole seconds
      const category = CATEGORIES[Math.floor(random() * CATEGORIES.length)]!
      const r = random()
      const cents = r < 0.1 ? 10 : r < 0.2 ? 20 : r < 0.25 ? 99_999 : 1000 + Math.floor(random() * 99_000)
      const amount = cents / 100
      const ts = i % 3 === 0 ? new Date(eventMs).toISOString() : seedTimestamp(eventMs)
      q.push({
        partition: p,
        value: JSON.stringify({
          transaction_id: `${p}-${i}`,
          user_id: 'user_1',
          product_category: category,
          product_name: 'x',
          amount,
          timestamp: ts,
          payment_method: 'paypal',
        }),
        timestampMs: kafkaTs,
      })
      m.push({ category, cents, eventMs })
    }
    queues.push(q)
    meta.push(m)
  }
  // Interleave partitions so the produce order looks like a live stream.
  for (let i = 0; i < perPartition; i++) for (let p = 0; p < partitions; p++) records.push(queues[p]![i]!)
  return { records, truth: groundTruth(queues, meta), perPartition: queues.map((q) => q.length) }
}

/** The contract's semantics, written out plainly, per partition in offset order. */
function groundTruth(queues: Produced[][], meta: ({ category: string; cents: number; eventMs: number } | { reason: string })[][]): Truth {
  const sales = new Map<string, { cents: bigint; count: number }>()
  const rejected = new Map<string, string>()
  let counted = 0
  queues.forEach((q, p) => {
    let maxEvent = -Infinity
    q.forEach((rec, offset) => {
      const m = meta[p]![offset]!
      if ('reason' in m) return void rejected.set(`${p}:${offset}`, m.reason)
      if (m.eventMs - rec.timestampMs > FUTURE_MS) return void rejected.set(`${p}:${offset}`, 'future')
      const start = Math.floor(m.eventMs / WINDOW_MS) * WINDOW_MS
      if (start + WINDOW_MS <= maxEvent - LATENESS_MS) return void rejected.set(`${p}:${offset}`, 'late')
      maxEvent = Math.max(maxEvent, m.eventMs)
      const key = `${start}|${m.category}`
      const s = sales.get(key) ?? { cents: 0n, count: 0 }
      s.cents += BigInt(m.cents)
      s.count++
      sales.set(key, s)
      counted++
    })
  })
  return { sales, rejected, counted }
}

export const centsText = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`
