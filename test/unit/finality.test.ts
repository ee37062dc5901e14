// Unit tests for window finality against docs/contract.md, "Window semantics": the low
// watermark over partitions (workers/finality.ts), idleness (src/pipeline/idle-watch.ts), and an idle
// advance recorded and replayed (workers/partition-state.ts).
import t from 'tap'
import { recordOf } from '../../src/shared/batch-codec.js'
import { IdleWatch, HIGH_WATERMARK_FRESH_MS } from '../../src/pipeline/idle-watch.js'
import { idleAdvances, lowWatermark, type PartitionProgress } from '../../workers/finality.js'
import { PartitionState, type WindowRules } from '../../workers/partition-state.js'

const MIN = 60_000
const L = 60_000 // lateness
const T12 = Date.UTC(2024, 4, 1, 12, 0, 0)
const RULES: WindowRules = { windowMs: MIN, latenessMs: L, futureMs: 300_000 }

/** A progress row whose watermark is `w` (from its events), idle at its position if `idle`. */
const row = (
  partition: number,
  w: number | null,
  o: { idle?: boolean; idleWatermarkMs?: number; next?: string } = {},
): PartitionProgress => ({
  partition,
  nextOffset: o.next ?? '100',
  maxEventMs: w === null ? null : w + L,
  idleWatermarkMs: o.idleWatermarkMs ?? null,
  idleFromOffset: o.idle ? (o.next ?? '100') : null,
})

t.test('low watermark: the smallest watermark over every partition of the topic', async (t) => {
  t.equal(lowWatermark([row(0, T12 + 5_000), row(1, T12), row(2, T12 + 9_000)], 3, L), T12)
  t.equal(lowWatermark([row(0, T12 + 5_000), row(1, T12)], 3, L), null, 'a partition without a row holds it back')
  t.equal(lowWatermark([row(0, T12 + 5_000), row(1, null), row(2, T12)], 3, L), null, 'a partition without a watermark holds it back')
  t.equal(lowWatermark([row(0, T12), row(1, T12)], 0, L), null, 'the partition count unknown: no low watermark')
  t.equal(
    lowWatermark([row(0, T12 + 5_000), row(1, T12 + 1), row(2, T12 + 2)], 2, L),
    T12 + 1,
    'rows beyond a stale partition count count too',
  )
  t.equal(
    lowWatermark([row(0, T12 + 5_000), row(1, null, { idleWatermarkMs: T12 + 2_000 })], 2, L),
    T12 + 2_000,
    'an idle advance is the watermark of a partition without events',
  )
  t.equal(
    lowWatermark([row(0, T12 + 5_000), row(1, T12, { idleWatermarkMs: T12 + 3_000 })], 2, L),
    T12 + 3_000,
    'the later of the events and the advance',
  )
  t.equal(lowWatermark([row(0, T12 + 5_000), row(1, T12 + 4_000, { idleWatermarkMs: T12 + 3_000 })], 2, L), T12 + 4_000)
})

t.test('idle advance: to the lowest watermark above its own', async (t) => {
  const rows = [row(0, T12 + 30_000), row(1, T12 + 10_000), row(2, T12 + 20_000), row(3, null, { idle: true })]
  t.same([...idleAdvances(rows, [3], 4, L)], [[3, T12 + 10_000]], 'an empty partition rises to the slowest of the others, not past it')
  const idle1 = [row(0, T12 + 30_000), row(1, T12 + 10_000, { idle: true }), row(2, T12 + 20_000)]
  t.same([...idleAdvances(idle1, [1], 3, L)], [[1, T12 + 20_000]], 'the slowest, idle, rises to the next one up')
  t.same([...idleAdvances([row(0, T12 + 30_000, { idle: true }), row(1, T12 + 10_000)], [0], 2, L)], [], 'nothing above: no advance')
  t.same(
    [...idleAdvances([row(0, T12 + 10_000), row(1, T12 + 10_000, { idle: true }), row(2, T12 + 50_000)], [1], 3, L)],
    [],
    'level with a partition that is not idle: stays, does not pass it',
  )
  t.same(
    [...idleAdvances([row(0, T12 + 10_000, { idle: true }), row(1, T12 + 10_000, { idle: true }), row(2, T12 + 50_000)], [0, 1], 3, L)],
    [
      [0, T12 + 50_000],
      [1, T12 + 50_000],
    ],
    'level only with idle partitions: both rise',
  )
  t.same(
    [...idleAdvances([row(0, null, { idle: true }), row(1, T12)], [0], 3, L)],
    [],
    'no watermark, and a partition without a row (none either): stays',
  )
  t.same(
    [...idleAdvances([row(0, null, { idle: true }), row(1, null), row(2, T12)], [0], 3, L)],
    [],
    'no watermark, level with an active partition without one: stays',
  )
})

t.test('idle advance: a topic that goes quiet ends with every partition at the highest watermark', async (t) => {
  let rows = [
    row(0, T12 + 10_000, { idle: true }),
    row(1, T12 + 20_000, { idle: true }),
    row(2, T12 + 40_000, { idle: true }),
    row(3, null, { idle: true }),
  ]
  const lows: (number | null)[] = []
  for (let round = 0; round < 10; round++) {
    const raised = idleAdvances(rows, [0, 1, 2, 3], 4, L)
    if (raised.size === 0) break
    rows = rows.map((r) => (raised.has(r.partition) ? { ...r, idleWatermarkMs: raised.get(r.partition)! } : r))
    lows.push(lowWatermark(rows, 4, L))
  }
  t.same(lows, [T12 + 10_000, T12 + 20_000, T12 + 40_000], 'one round per distinct watermark; the low watermark rises each round')
  t.equal(lowWatermark(rows, 4, L), T12 + 40_000, 'finished windows become final')
})

t.test('idle advance: a watermark never moves back', async (t) => {
  // Its events put partition 1 below an earlier advance: the advance stays its watermark.
  const rows = [row(0, T12 + 50_000), row(1, T12, { idle: true, idleWatermarkMs: T12 + 30_000 })]
  t.same([...idleAdvances(rows, [1], 2, L)], [[1, T12 + 50_000]], 'from the advanced watermark, not from its events')
  t.equal(lowWatermark(rows, 2, L), T12 + 30_000)
})

t.test('IdleWatch: idle after the idle time with nothing to read; never with 0', async (t) => {
  const w = new IdleWatch(2_000, 0)
  t.equal(w.isIdle(10n, 10n, 5_000), false, 'no high watermark seen yet')
  w.sawHighWatermark(10n, 10n, 100)
  t.equal(w.isIdle(10n, 10n, 1_900), false, 'claimed less than the idle time ago')
  t.equal(w.isIdle(10n, 10n, 2_000), true, 'the idle time since the claim with nothing to read')
  t.equal(w.isIdle(10n, 11n, 2_000), false, 'a record read and not committed')
  w.busy(2_500)
  t.equal(w.isIdle(11n, 11n, 4_000), false, 'records committed at 2.5 s: busy until then')
  w.sawHighWatermark(12n, 11n, 4_100)
  t.equal(w.isIdle(11n, 11n, 7_000), false, 'a newer record to read')
  w.sawHighWatermark(12n, 12n, 6_000)
  t.equal(w.isIdle(12n, 12n, 6_200), true, 'caught up: idle 2 s after the last sign of records (4.1 s)')
  t.equal(w.isIdle(12n, 12n, 6_000 + HIGH_WATERMARK_FRESH_MS + 1), false, 'a stale high watermark proves nothing (Kafka unreachable)')

  const off = new IdleWatch(0, 0)
  off.sawHighWatermark(0n, 0n, 1)
  t.equal(off.isIdle(0n, 0n, 1e9), false, 'IDLE_PARTITION_SECONDS=0: never idle')
})

/** One record of the seed form at an event time, with its Kafka timestamp equal to it. */
const add = (s: PartitionState, offset: number, eventMs: number) =>
  s.add(
    recordOf(
      Buffer.from(JSON.stringify({ product_category: 'Books', amount: 1, timestamp: new Date(eventMs).toISOString() })),
      offset,
      eventMs,
    ),
  )

t.test('an idle advance recorded and replayed: later records judged against it, the same way every time', async (t) => {
  // Partition at 12:05 of events (watermark 12:04); the writer raised it to 12:10 from offset 20.
  const live = new PartitionState(0, 'e1', 20, T12 + 5 * MIN, null, RULES)
  t.equal(live.advance(20, T12 + 10 * MIN), true, 'taken: nothing read since offset 20')
  add(live, 20, T12 + 9 * MIN + 30_000) // window 12:09 ends at 12:10 = the watermark: late
  add(live, 21, T12 + 10 * MIN) // window 12:10: open
  const first = live.flush()!
  t.same(
    first.rejected.map((r) => [r.offset, r.reason]),
    [['20', 'late']],
    'a record for a window the advance closed is late',
  )
  t.same(
    first.deltas.map((d) => [d.windowStartMs, d.count]),
    [[T12 + 10 * MIN, 1]],
  )
  t.equal(first.idleWatermarkMs, T12 + 10 * MIN, 'the flush names the advance it was judged against (the fence checks it)')

  // A replay starts from what Postgres committed with the advance: the same verdicts.
  const replay = new PartitionState(0, 'e2', 20, T12 + 5 * MIN, T12 + 10 * MIN, RULES)
  add(replay, 20, T12 + 9 * MIN + 30_000)
  add(replay, 21, T12 + 10 * MIN)
  const again = replay.flush()!
  t.same(
    [again.rejected.map((r) => [r.offset, r.reason]), again.deltas],
    [first.rejected.map((r) => [r.offset, r.reason]), first.deltas],
    'decided the same way on replay',
  )

  // A watermark never moves back: a lower advance changes nothing.
  const s = new PartitionState(0, 'e1', 0, null, T12 + 10 * MIN, RULES)
  t.equal(s.advance(0, T12), true)
  add(s, 0, T12 + 9 * MIN)
  t.same(
    s.flush()!.rejected.map((r) => r.reason),
    ['late'],
    'still judged against the higher one',
  )
})

t.test('an idle advance that comes after a record was read is refused (the fence then re-reads)', async (t) => {
  const s = new PartitionState(0, 'e1', 20, T12 + 5 * MIN, null, RULES)
  add(s, 20, T12 + 9 * MIN + 30_000) // counted: the watermark is 12:04 (12:05 − 1 min)
  t.equal(s.advance(20, T12 + 10 * MIN), false, 'refused: offset 20 was judged against the old watermark')
  const f = s.flush()!
  t.equal(f.idleWatermarkMs, null, 'the flush says which watermark it used, so the writer can refuse it')
  t.same(f.rejected, [], 'the record was counted under the old watermark')
  t.equal(s.advance(20, T12 + 10 * MIN), false, 'not at the next offset to read either')
})
