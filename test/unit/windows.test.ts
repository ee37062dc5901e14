// Unit tests for workers/partition-state.ts against docs/contract.md, "Window semantics".
import { createHash } from 'node:crypto'
import t from 'tap'
import { isLate, PartitionState, watermark, windowStart, type WindowRules } from '../../workers/partition-state.js'
import { recordOf } from '../../src/shared/batch-codec.js'
import { RejectReason, type PartitionFlush } from '../../src/shared/protocol.js'
import { parseZone, UTC } from '../../src/shared/time-zone.js'

const RULES: WindowRules = { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 }
const MIN = 60_000
const T12 = Date.UTC(2024, 4, 1, 12, 0, 0) // 2024-05-01 12:00:00.000Z

const iso = (ms: number): string => new Date(ms).toISOString()
const rec = (eventMs: number, category = 'Books', amount: number | string = 1): Buffer =>
  Buffer.from(JSON.stringify({ product_category: category, amount, timestamp: iso(eventMs) }))

/** A state plus a running offset, so each test reads like a stream of records. */
function stream(rules: WindowRules = RULES, next = 0, maxEventMs: number | null = null) {
  const state = new PartitionState(3, 'epoch-1', next, maxEventMs, null, rules)
  let offset = next
  return {
    state,
    /** Adds one record; its Kafka timestamp defaults to its event time. */
    push(value: Buffer | null, kafkaTs?: number): number {
      const o = offset++
      let ts = kafkaTs
      if (ts === undefined) {
        if (value === null) ts = T12
        else {
          const doc = JSON.parse(value.toString()) as { timestamp?: unknown }
          ts = typeof doc.timestamp === 'string' ? Date.parse(doc.timestamp) : T12
        }
      }
      add(state, o, ts, value)
      return o
    },
    flush(): PartitionFlush {
      const f = state.flush()
      if (f === null) throw new Error('expected a flush')
      return f
    },
  }
}

/** One record into a state, as the actor's batch reader would hand it over. */
const add = (s: PartitionState, offset: number, kafkaTs: number, value: Buffer | null) => s.add(recordOf(value, offset, kafkaTs))

const deltaOf = (f: PartitionFlush, windowStartMs: number, category = 'Books') =>
  f.deltas.find((d) => d.windowStartMs === windowStartMs && d.category === category)

t.test('windowStart: boundaries', async (t) => {
  t.equal(windowStart(T12, MIN), T12, '12:00:00.000 opens the 12:00 window')
  t.equal(windowStart(T12 + 59_999, MIN), T12, '12:00:59.999 is in the 12:00 window')
  t.equal(windowStart(T12 + 60_000, MIN), T12 + MIN, 'exactly 12:01:00.000 is in the 12:01 window')
  t.equal(windowStart(T12 - 1, MIN), T12 - MIN, '11:59:59.999 is in the 11:59 window')
  t.equal(windowStart(0, MIN), 0, 'the epoch')
  t.equal(windowStart(59_999, MIN), 0)
})

t.test('windowStart: before 1970 windows align to the epoch', async (t) => {
  t.equal(windowStart(-1, MIN), -60_000, '1969-12-31 23:59:59.999 → 23:59:00')
  t.equal(windowStart(-60_000, MIN), -60_000, 'exactly 23:59:00.000')
  t.equal(windowStart(-60_001, MIN), -120_000)
  t.equal(windowStart(-30_000, MIN), -60_000, 'not truncated toward zero')
  const y1 = -62135596800000 // 0001-01-01T00:00:00Z
  t.equal(windowStart(y1 + 59_999, MIN), y1)
  t.equal(windowStart(y1 - 1, MIN), y1 - MIN)
  for (const ms of [-1, -59_999, -60_000, -3_600_001, -86_400_000 * 365 - 7]) {
    const s = windowStart(ms, MIN)
    t.ok(s <= ms && ms < s + MIN && s % MIN === 0, `${ms} lies in [${s}, ${s + MIN}) and ${s} is a multiple of the window`)
  }
})

t.test('windowStart: a non-60 s window size', async (t) => {
  const W = 45_000
  t.equal(windowStart(0, W), 0)
  t.equal(windowStart(44_999, W), 0)
  t.equal(windowStart(45_000, W), 45_000)
  t.equal(windowStart(T12, W), Math.floor(T12 / W) * W)
  t.equal(T12 % W, 0, '12:00:00 on 2024-05-01 is a multiple of 45 s since the epoch')
  t.equal(windowStart(T12 + 44_999, W), T12)
  t.equal(windowStart(T12 + 45_000, W), T12 + W)
  t.equal(windowStart(-1, W), -45_000)
  // 7 s windows: not aligned to minutes.
  t.equal(windowStart(T12, 7_000), T12 - (T12 % 7_000))
  t.equal(windowStart(1_000, 1_000), 1_000, '1 s windows')
  t.equal(windowStart(86_399_999, 86_400_000), 0, 'a day window')
})

t.test('isLate and the watermark', async (t) => {
  const W = RULES.windowMs
  t.equal(isLate(0, null, W), false, 'no watermark yet: nothing is late')
  t.equal(isLate(-1e15, null, W), false)
  t.equal(watermark(null, null, RULES.latenessMs), null, 'no event, no advance: no watermark')
  // max event 12:02:00.000 → watermark 12:01:00.000 = end of the 12:00 window.
  const max = T12 + 2 * MIN
  const wm = (maxEventMs: number, latenessMs = RULES.latenessMs) => watermark(maxEventMs, null, latenessMs)
  t.equal(wm(max), T12 + MIN, 'largest event time minus the lateness')
  t.equal(isLate(T12 + 59_999, wm(max), W), true, 'window end == watermark → late')
  t.equal(isLate(T12 + 60_000, wm(max), W), false, 'the next window is open')
  t.equal(isLate(T12 + 59_999, wm(max - 1), W), false, 'watermark one ms before the end → not late')
  t.equal(isLate(T12, wm(max, 0), W), true, 'lateness 0: closed as soon as the watermark passes')
  t.equal(isLate(T12 + 2 * MIN, wm(max, 0), W), false, 'lateness 0: the current window is open')
  t.equal(isLate(T12 + MIN, wm(max, 0), W), true, 'lateness 0: the window ending at max is closed')
  t.equal(watermark(max, T12 + 5 * MIN, RULES.latenessMs), T12 + 5 * MIN, 'an idle advance above the events wins')
  t.equal(watermark(max, T12, RULES.latenessMs), T12 + MIN, 'an idle advance below the events changes nothing')
  t.equal(watermark(null, T12, RULES.latenessMs), T12, 'an idle advance alone is the watermark')
})

t.test('PartitionState: records that close a window; late at the edge', async (t) => {
  const s = stream()
  s.push(rec(T12 + 10_000)) // 12:00:10
  s.push(rec(T12 + 119_999)) // 12:01:59.999 → watermark 12:00:59.999
  s.push(rec(T12 + 30_000)) // 12:00 window end 12:01:00 > watermark → counted
  s.push(rec(T12 + 120_000)) // 12:02:00.000 → watermark 12:01:00.000, closes 12:00
  s.push(rec(T12 + 59_999)) // 12:00 window: end == watermark → late
  s.push(rec(T12 + 60_000)) // 12:01 window still open
  const f = s.flush()
  t.same(deltaOf(f, T12), { windowStartMs: T12, category: 'Books', cents: 200, count: 2 })
  t.same(deltaOf(f, T12 + MIN), { windowStartMs: T12 + MIN, category: 'Books', cents: 200, count: 2 })
  t.same(deltaOf(f, T12 + 2 * MIN), { windowStartMs: T12 + 2 * MIN, category: 'Books', cents: 100, count: 1 })
  t.equal(f.rejected.length, 1)
  t.match(f.rejected[0], { offset: '4', reason: RejectReason.LATE })
  t.equal(f.maxEventMs, T12 + 120_000)
  t.equal(f.records, 6)
})

t.test('PartitionState: a late record does not move the watermark or count', async (t) => {
  const s = stream()
  s.push(rec(T12 + 10 * MIN))
  s.push(rec(T12)) // late
  const f = s.flush()
  t.equal(f.maxEventMs, T12 + 10 * MIN)
  t.equal(f.deltas.length, 1)
  t.equal(f.rejected[0]?.reason, RejectReason.LATE)
  t.match(f.rejected[0]?.detail, /closed/)
})

t.test('PartitionState: the watermark comes from the stored maxEventMs at assign', async (t) => {
  const s = stream(RULES, 100, T12 + 2 * MIN)
  s.push(rec(T12 + 59_999))
  s.push(rec(T12 + 60_000))
  const f = s.flush()
  t.same(
    f.rejected.map((r) => [r.offset, r.reason]),
    [['100', RejectReason.LATE]],
  )
  t.same(f.deltas, [{ windowStartMs: T12 + MIN, category: 'Books', cents: 100, count: 1 }])
  t.equal(f.maxEventMs, T12 + 2 * MIN, 'an older record does not lower the max')
})

t.test('PartitionState: the watermark is per partition', async (t) => {
  const a = stream()
  const b = new PartitionState(4, 'epoch-1', 0, null, null, RULES)
  a.push(rec(T12 + 60 * MIN)) // partition a is an hour ahead
  add(b, 0, T12, rec(T12))
  a.push(rec(T12)) // late in a
  const fa = a.flush()
  const fb = b.flush()
  t.equal(fa.rejected[0]?.reason, RejectReason.LATE, 'late in its own partition')
  t.same(fb?.deltas, [{ windowStartMs: T12, category: 'Books', cents: 100, count: 1 }], 'same window is open in another partition')
  t.equal(fb?.rejected.length, 0)
  t.equal(fb?.partition, 4)
})

t.test('PartitionState: a future record is rejected and does not move the watermark', async (t) => {
  const s = stream()
  const kafka = T12 + 5 * MIN
  s.push(rec(T12 + 5 * MIN + 300_000, 'Books', 1), kafka) // exactly 300 s after: accepted
  s.push(rec(T12 + 5 * MIN + 300_001, 'Books', 2), kafka) // 300.001 s after: future
  s.push(rec(T12 + 60 * MIN, 'Books', 3), kafka) // an hour ahead of its Kafka timestamp: future
  s.push(rec(T12 + 9 * MIN, 'Books', 4), kafka) // would be late only if a future record had moved the watermark
  const f = s.flush()
  t.same(
    f.rejected.map((r) => [r.offset, r.reason]),
    [
      ['1', RejectReason.FUTURE],
      ['2', RejectReason.FUTURE],
    ],
  )
  t.equal(f.maxEventMs, T12 + 10 * MIN, 'max event is the accepted 12:10:00, not the future 13:00')
  t.same(
    deltaOf(f, T12 + 9 * MIN),
    { windowStartMs: T12 + 9 * MIN, category: 'Books', cents: 400, count: 1 },
    'later normal record for an earlier window is not late',
  )
  t.same(deltaOf(f, T12 + 10 * MIN), { windowStartMs: T12 + 10 * MIN, category: 'Books', cents: 100, count: 1 })
  t.match(f.rejected[0]?.detail, /300s/)
  // A record with an event time before its Kafka timestamp is never "future".
  const s2 = stream()
  s2.push(rec(T12), T12 + 3_600_000)
  t.equal(s2.flush().rejected.length, 0)
})

t.test('PartitionState: a record both future and late is future (docs/contract.md: future is decided before late)', async (t) => {
  const s = stream()
  s.push(rec(T12 + 10 * MIN)) // watermark 12:09: the 12:00 window is closed
  // Its window closed long ago, and its Kafka timestamp (a clock an hour behind) makes it future too.
  s.push(rec(T12), T12 - 60 * MIN)
  t.ok(isLate(T12, T12 + 10 * MIN - RULES.latenessMs, RULES.windowMs), 'it is late by the window rule')
  t.ok(T12 - (T12 - 60 * MIN) > RULES.futureMs, 'and future by the future rule')
  const f = s.flush()
  t.same(
    f.rejected.map((r) => [r.offset, r.reason]),
    [['1', RejectReason.FUTURE]],
    'the reason is future',
  )
  t.match(f.rejected[0]?.detail, /after the Kafka timestamp/)
})

t.test('PartitionState: a timestamp without a zone is read in its default zone', async (t) => {
  const s = new PartitionState(0, 'e', 0, null, null, RULES, parseZone('Europe/Paris'))
  const local = Buffer.from('{"product_category":"Books","amount":1,"timestamp":"2024-05-01 14:00:00"}') // CEST: 12:00Z
  const zoned = Buffer.from('{"product_category":"Books","amount":2,"timestamp":"2024-05-01T12:00:30Z"}')
  add(s, 0, T12, local)
  add(s, 1, T12, zoned)
  const f = s.flush()!
  t.same(f.deltas, [{ windowStartMs: T12, category: 'Books', cents: 300, count: 2 }], 'both in the 12:00Z window')
  t.equal(f.maxEventMs, T12 + 30_000)
})

t.test('PartitionState: future and invalid records do not touch the watermark', async (t) => {
  const s = stream()
  s.push(rec(T12 + 10 * MIN))
  s.push(Buffer.from('{"product_category":"x","amount":1,"timestamp":"2099-01-01 00:00:00"}'), T12) // future
  s.push(Buffer.from('not json'), T12 + 50 * MIN)
  s.push(null, T12 + 50 * MIN)
  s.push(rec(T12 + 9 * MIN))
  const f = s.flush()
  t.same(
    f.rejected.map((r) => r.reason),
    [RejectReason.FUTURE, RejectReason.INVALID_JSON, RejectReason.TOMBSTONE],
  )
  t.equal(f.maxEventMs, T12 + 10 * MIN)
  t.equal(deltaOf(f, T12 + 9 * MIN)?.count, 1)
})

t.test('PartitionState: offsets', async (t) => {
  const s = new PartitionState(0, 'e', 10, null, null, RULES)
  add(s, 10, T12, rec(T12))
  add(s, 11, T12, Buffer.from('garbage'))
  add(s, 9, T12, rec(T12)) // below nextOffset: already counted, skipped
  add(s, 11, T12, rec(T12)) // replay of a rejected one: skipped
  add(s, 10, T12, rec(T12)) // replay: skipped
  t.equal(s.pending, 2, 'skipped records are not pending')
  add(s, 15, T12, rec(T12)) // a gap (compaction / transaction markers) is fine
  const f1 = s.flush()!
  t.equal(f1.fromOffset, '10')
  t.equal(f1.nextOffset, '16', 'invalid records do not move the offset backwards')
  t.equal(f1.records, 3)
  t.same(f1.deltas, [{ windowStartMs: T12, category: 'Books', cents: 200, count: 2 }], 'no double count')
  t.same(
    f1.rejected.map((r) => r.offset),
    ['11'],
  )
  t.equal(s.pending, 0)
  t.equal(s.flush(), null, 'nothing added since the last flush → null')
  add(s, 12, T12, rec(T12)) // still below nextOffset after a flush
  t.equal(s.flush(), null, 'a skipped record is not "something added"')
  add(s, 16, T12 + 1000, rec(T12))
  add(s, 17, T12 + 2000, null)
  const f2 = s.flush()!
  t.equal(f2.fromOffset, '16', 'chains from the previous nextOffset')
  t.equal(f2.nextOffset, '18')
  t.equal(typeof f2.fromOffset, 'string')
  t.equal(typeof f2.nextOffset, 'string')
  t.equal(f2.minAppendMs, T12 + 1000)
  t.same(f2.deltas, [{ windowStartMs: T12, category: 'Books', cents: 100, count: 1 }], 'deltas reset at flush')
  t.same(
    f2.rejected.map((r) => [r.offset, r.reason]),
    [['17', RejectReason.TOMBSTONE]],
  )
  const f3 = (add(s, 18, T12, Buffer.alloc(0)), s.flush()!)
  t.equal(f3.fromOffset, '18')
  t.equal(f3.nextOffset, '19')
  t.same(f3.deltas, [], 'only a rejected record: no deltas, but a flush')
  t.equal(f3.epoch, 'e')
  t.equal(f3.partition, 0)
})

t.test('PartitionState: offsets up to 2^53 - 1 stay exact', async (t) => {
  const start = 9007199254740988 // 2^53 - 4
  const s = new PartitionState(1, 'e', start, null, null, RULES)
  add(s, start, T12, rec(T12))
  add(s, start + 1, T12, Buffer.from('x'))
  add(s, start - 1, T12, rec(T12))
  add(s, start + 3, T12, rec(T12))
  const f = s.flush()!
  t.equal(f.fromOffset, '9007199254740988')
  t.equal(f.nextOffset, '9007199254740992')
  t.equal(f.rejected[0]?.offset, '9007199254740989')
  t.equal(f.records, 3)
})

t.test('PartitionState: minAppendMs is the smallest Kafka timestamp', async (t) => {
  const s = new PartitionState(0, 'e', 0, null, null, RULES)
  add(s, 0, T12 + 500, rec(T12))
  add(s, 1, T12 + 100, Buffer.from('bad'))
  add(s, 2, T12 + 900, rec(T12))
  t.equal(s.flush()!.minAppendMs, T12 + 100, 'rejected records count for freshness too')
})

t.test('PartitionState: rejected records carry a copy of the raw payload', async (t) => {
  const s = new PartitionState(0, 'e', 0, null, null, RULES)
  const batch = Buffer.from('xxgarbage{yy')
  const value = batch.subarray(2, 10) // a view, like decodeBatch hands out
  add(s, 0, T12, value)
  const invalid = Buffer.from([0xc3, 0x28])
  add(s, 1, T12, invalid)
  add(s, 2, T12, null)
  add(s, 3, T12, Buffer.alloc(0))
  batch.fill(0) // the batch buffer is reused / freed
  invalid.fill(0)
  const f = s.flush()!
  const [r0, r1, r2, r3] = f.rejected
  t.same(Buffer.from(r0!.payload!).toString(), 'garbage{', 'payload bytes survive the batch buffer being overwritten')
  t.equal(r0!.payload!.byteLength, 8)
  t.not(r0!.payload!.buffer, batch.buffer, 'a different ArrayBuffer')
  t.same([...r1!.payload!], [0xc3, 0x28], 'invalid UTF-8 kept byte for byte')
  t.equal(r1!.reason, RejectReason.INVALID_UTF8)
  t.equal(r2!.payload, null, 'tombstone payload is null')
  t.equal(r3!.payload?.byteLength, 0, 'empty payload is an empty array, not null')
  t.equal(r3!.reason, RejectReason.EMPTY)
  t.equal(r0!.kafkaTimestampMs, T12)
})

t.test('PartitionState: a rejected payload is capped; its full length and SHA-256 are kept', async (t) => {
  const s = new PartitionState(0, 'e', 0, null, null, RULES, UTC, 16)
  const big = Buffer.alloc(1_000_000, 0x61)
  big[0] = 0xff // not UTF-8
  add(s, 0, T12, big)
  add(s, 1, T12, Buffer.from('short{'))
  add(s, 2, T12, null)
  add(s, 3, T12, Buffer.alloc(0))
  const [r0, r1, r2, r3] = s.flush()!.rejected
  t.same(Buffer.from(r0!.payload!), big.subarray(0, 16), 'the first 16 bytes')
  t.equal(r0!.payload!.buffer.byteLength, 16, 'a copy of 16 bytes, not a view into the batch')
  t.equal(r0!.payloadBytes, 1_000_000, 'the full length')
  t.equal(Buffer.from(r0!.payloadSha256!).toString('hex'), createHash('sha256').update(big).digest('hex'), 'the hash of the whole value')
  t.equal(r0!.payloadSha256!.buffer.byteLength, 32, 'the hash in its own 32 bytes (cheap to pass between threads)')
  t.same(Buffer.from(r1!.payload!).toString(), 'short{', 'a value under the cap is kept whole')
  t.equal(r1!.payloadBytes, 6)
  t.same([r2!.payload, r2!.payloadBytes, r2!.payloadSha256], [null, null, null], 'a tombstone has no bytes, length or hash')
  t.equal(r3!.payloadBytes, 0)
  t.equal(
    Buffer.from(r3!.payloadSha256!).toString('hex'),
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'SHA-256 of nothing',
  )
})

t.test('PartitionState: categories and windows are kept apart', async (t) => {
  const s = stream()
  s.push(rec(T12, 'Books', 1.5))
  s.push(rec(T12 + 1, 'Toys', 2.25))
  s.push(rec(T12 + 2, 'Books', 0.5))
  s.push(rec(T12 + MIN, 'Books', 10))
  s.push(rec(T12 + 3, 'books', 1)) // case matters
  const f = s.flush()
  const sorted = [...f.deltas].sort(
    (a, b) => a.windowStartMs - b.windowStartMs || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0),
  )
  t.same(sorted, [
    { windowStartMs: T12, category: 'Books', cents: 200, count: 2 },
    { windowStartMs: T12, category: 'Toys', cents: 225, count: 1 },
    { windowStartMs: T12, category: 'books', cents: 100, count: 1 },
    { windowStartMs: T12 + MIN, category: 'Books', cents: 1000, count: 1 },
  ])
})

t.test('PartitionState: a non-60 s window with its own lateness', async (t) => {
  const rules: WindowRules = { windowMs: 10_000, latenessMs: 5_000, futureMs: 0 }
  const s = stream(rules)
  s.push(rec(T12 + 3_000)) // window [T12, T12+10s)
  s.push(rec(T12 + 15_000)) // max 12:00:15 → watermark 12:00:10 = end of the first window
  s.push(rec(T12 + 9_999)) // late
  s.push(rec(T12 + 10_000)) // open
  s.push(rec(T12 + 20_000), T12 + 19_999) // 1 ms after its Kafka timestamp with futureMs 0 → future
  const f = s.flush()
  t.same(
    f.rejected.map((r) => [r.offset, r.reason]),
    [
      ['2', RejectReason.LATE],
      ['4', RejectReason.FUTURE],
    ],
  )
  t.equal(deltaOf(f, T12)?.count, 1)
  t.equal(deltaOf(f, T12 + 10_000)?.count, 2)
})

t.test('PartitionState: cents sums are exact (BigInt ground truth)', async (t) => {
  const s = new PartitionState(0, 'e', 0, null, null, RULES)
  let o = 0
  const tenCents = rec(T12, 'Dimes', 0.1)
  for (let i = 0; i < 100_000; i++) add(s, o++, T12, tenCents)
  const f = s.flush()!
  const d = deltaOf(f, T12, 'Dimes')!
  t.equal(d.cents, 1_000_000, '100,000 × 0.10 = 1,000,000 cents')
  t.equal(d.count, 100_000)
  t.equal(`${Math.floor(d.cents / 100)}.${String(d.cents % 100).padStart(2, '0')}`, '10000.00')
  let float = 0
  for (let i = 0; i < 100_000; i++) float += 0.1
  t.not(float, 10000, 'a float sum would not be exact (sanity check of the test)')

  // A mix of 0.1, 0.2, 999.99 and random 2-decimal amounts against a BigInt sum.
  const amounts = ['0.1', '0.2', '999.99', '0.01', '12.34', '0.3', '999999999.99']
  let seed = 12345
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31)
  for (let i = 0; i < 500; i++) amounts.push(`${rand() % 100_000}.${String(rand() % 100).padStart(2, '0')}`)
  const s2 = new PartitionState(0, 'e', 0, null, null, RULES)
  const truth = new Map<string, { cents: bigint; count: number }>()
  let off = 0
  for (let i = 0; i < 20_000; i++) {
    const text = amounts[i % amounts.length]!
    const category = i % 3 === 0 ? 'A' : 'B'
    add(s2, off++, T12, Buffer.from(`{"product_category":"${category}","amount":${text},"timestamp":"2024-05-01 12:00:00"}`))
    const [whole, frac = ''] = text.split('.')
    const cents = BigInt(whole!) * 100n + BigInt(frac.padEnd(2, '0'))
    const acc = truth.get(category) ?? { cents: 0n, count: 0 }
    acc.cents += cents
    acc.count++
    truth.set(category, acc)
  }
  const f2 = s2.flush()!
  t.equal(f2.rejected.length, 0, 'all amounts valid')
  for (const [category, acc] of truth) {
    const got = deltaOf(f2, T12, category)!
    t.equal(BigInt(got.cents), acc.cents, `category ${category}: cents equal the BigInt sum ${acc.cents}`)
    t.ok(Number.isSafeInteger(got.cents), 'still a safe integer')
    t.equal(got.count, acc.count)
  }

  // 0.1 + 0.2 as separate records is exactly 0.30, unlike 0.1 + 0.2 in floats.
  const s3 = stream()
  s3.push(rec(T12, 'X', 0.1))
  s3.push(rec(T12, 'X', 0.2))
  t.equal(deltaOf(s3.flush(), T12, 'X')?.cents, 30)

  // 50,000 (MAX_FLUSH_RECORDS) of the largest amount stay below 2^53.
  const s4 = new PartitionState(0, 'e', 0, null, null, RULES)
  const max = rec(T12, 'Max', 999999999.99)
  for (let i = 0; i < 50_000; i++) add(s4, i, T12, max)
  const big = deltaOf(s4.flush()!, T12, 'Max')!
  t.equal(BigInt(big.cents), 99999999999n * 50_000n, '50,000 × 999999999.99 exact')
})

t.test('PartitionState: a Kafka timestamp Postgres cannot store (a producer may set -9e15)', async (t) => {
  const s = stream()
  // Valid event, absurd Kafka timestamp: `future` by the contract's rule; building its detail must not throw.
  s.push(rec(T12), -9e15)
  s.push(Buffer.from('not json'), -9e15)
  s.push(Buffer.from('not json'), -1) // Kafka's "no timestamp": storable, kept as is
  const f = s.flush()
  t.same(
    f.rejected.map((r) => r.reason),
    [RejectReason.FUTURE, RejectReason.INVALID_JSON, RejectReason.INVALID_JSON],
  )
  t.same(
    f.rejected.map((r) => r.kafkaTimestampMs),
    [-210_866_803_200_000, -210_866_803_200_000, -1],
    'clamped to the timestamptz range, -1 untouched',
  )
  t.match(f.rejected[0]!.detail, /-9000000000000000 ms/, 'the real Kafka timestamp is in the detail')
})

t.test('PartitionState: a detail quoting a NUL is storable in Postgres text', async (t) => {
  const s = stream()
  s.push(Buffer.from('\u0000garbage'), T12)
  s.push(Buffer.from(JSON.stringify({ product_category: 'x', amount: 1, timestamp: '\u0000' })), T12)
  const f = s.flush()
  t.same(
    f.rejected.map((r) => r.reason),
    [RejectReason.INVALID_JSON, RejectReason.INVALID_TIMESTAMP],
  )
  for (const r of f.rejected) t.notOk(r.detail.includes('\u0000'), `no NUL in: ${JSON.stringify(r.detail)}`)
})

t.test('PartitionState.skipTo: offsets with nothing to count move the position; the flush covers them even without a record', async (t) => {
  const s = new PartitionState(0, 'e', 10, null, null, RULES)
  t.equal(s.flush(), null, 'nothing read, position unmoved: no flush')
  s.skipTo(12) // a transaction marker at 10..11
  const f = s.flush()!
  t.same([f.fromOffset, f.nextOffset, f.records, f.deltas.length], ['10', '12', 0, 0])
  add(s, 12, T12, rec(T12))
  s.skipTo(12) // never moves back
  s.skipTo(20) // an aborted transaction after the record
  const g = s.flush()!
  t.same([g.fromOffset, g.nextOffset, g.records], ['12', '20', 1])
  t.equal(s.flush(), null)
})
