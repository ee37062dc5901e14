// Unit tests for the writer's pure commit plan (workers/commit-plan.ts) and the fence's checks
// (src/shared/progress.ts fenceReason), against docs/architecture.md "The commit protocol":
// a partition's flushes are applied only if the stored epoch is theirs, they start at the stored
// next_offset and were judged against the stored idle watermark; the accepted deltas are merged
// per (window, category) exactly and sorted so that concurrent writers lock rows in one order.
// test/commit-errors.test.ts, test/upsert-paths.test.ts and test/zombie.test.ts run the SQL.
import t from 'tap'
import { fenceReason, type ProgressRow } from '../../src/shared/progress.js'
import type { CommitResult, PartitionFlush, RejectedRecord, WindowDelta } from '../../src/shared/protocol.js'
import { chainFlushes, mergeCommitted, partitionsToLock, planCommit, type Committed } from '../../workers/commit-plan.js'
import { commitResult } from '../../test-support/commit-result.js'

const W0 = Date.UTC(2026, 0, 1, 12, 0, 0)
const MIN = 60_000

const flush = (partition: number, epoch: string, from: number, to: number, o: Partial<PartitionFlush> = {}): PartitionFlush => ({
  partition,
  epoch,
  fromOffset: String(from),
  nextOffset: String(to),
  maxEventMs: null,
  idleWatermarkMs: null,
  records: to - from,
  minAppendMs: 0,
  appendTimes: [],
  deltas: [],
  rejected: [],
  ...o,
})

const delta = (windowStartMs: number, category: string, cents: number, count = 1): WindowDelta => ({
  windowStartMs,
  category,
  cents,
  count,
})

const reject = (offset: number, reason: RejectedRecord['reason']): RejectedRecord => ({
  offset: String(offset),
  reason,
  detail: '',
  payload: null,
  payloadBytes: null,
  payloadSha256: null,
  kafkaTimestampMs: 0,
})

/** A locked progress row: owner `epoch`, stored next offset `next`. */
const row = (partition: number, epoch: string, next: number, idleWatermarkMs: number | null = null): ProgressRow => ({
  partition,
  epoch,
  next_offset: String(next),
  max_event_ms: null,
  idle_watermark_ms: idleWatermarkMs === null ? null : String(idleWatermarkMs),
  idle_from_offset: null,
})

const locked = (...rows: ProgressRow[]) => new Map(rows.map((r) => [r.partition, r]))

t.test('chainFlushes: consecutive flushes of one (partition, epoch) become one range, in partition order', async (t) => {
  const runs = chainFlushes([
    flush(2, '1', 0, 5, { maxEventMs: W0 + 9, idleWatermarkMs: W0 }),
    flush(0, '3', 10, 20),
    flush(2, '1', 5, 8, { maxEventMs: W0 + 4, idleWatermarkMs: W0 + 1 }),
    flush(2, '1', 8, 9, { maxEventMs: null }),
  ])
  t.same(
    runs.map((g) => [g.partition, g.epoch, g.fromOffset, g.nextOffset, g.maxEventMs, g.idleWatermarkMs, g.flushes.length]),
    [
      [0, '3', '10', '20', null, null, 1],
      [2, '1', '0', '9', W0 + 9, W0, 3],
    ],
    'the largest event time over the flushes; the idle watermark the first flush was judged against',
  )
  t.same(
    chainFlushes([flush(1, '1', 0, 5), flush(1, '2', 5, 9)]).map((g) => g.epoch),
    ['1', '2'],
    'two epochs of one partition are two runs (the fence keeps at most one)',
  )
  t.throws(() => chainFlushes([flush(1, '1', 0, 5), flush(1, '1', 6, 9)]), /do not chain: 5 then 6/, 'a gap is a bug, not a fence case')
})

t.test('partitionsToLock: the partitions with flushes and those reported idle, each once', async (t) => {
  const runs = chainFlushes([flush(3, '1', 0, 1), flush(1, '1', 0, 1)])
  t.same(
    partitionsToLock(runs, [
      { partition: 1, epoch: '1', offset: '1' },
      { partition: 4, epoch: '2', offset: '7' },
    ]),
    [1, 3, 4],
  )
  t.same(partitionsToLock([], []), [])
})

t.test('fenceReason: epoch, then next offset, then idle watermark; null when all match', async (t) => {
  const run = { epoch: '5', fromOffset: '100', idleWatermarkMs: W0 }
  t.equal(fenceReason(row(0, '5', 100, W0), run), null)
  t.equal(fenceReason(undefined, run), 'partition was never claimed')
  t.equal(fenceReason(row(0, '6', 100, W0), run), 'stale epoch 5, owner holds 6')
  t.equal(fenceReason(row(0, '6', 90, W0), run), 'stale epoch 5, owner holds 6', 'the epoch is checked first')
  t.equal(fenceReason(row(0, '5', 90, W0), run), 'flush starts at 100, stored next offset is 90', 'a repeat of a commit that landed')
  t.equal(
    fenceReason(row(0, '5', 100, W0 + MIN), run),
    `idle advance to ${W0 + MIN} committed after these records were judged against ${W0}`,
  )
  t.match(fenceReason(row(0, '5', 100, W0), { ...run, idleWatermarkMs: null }), /^idle advance to /, 'null against a stored value differs')
  t.equal(fenceReason(row(0, '5', 100), { ...run, idleWatermarkMs: null }), null, 'null against null matches')
  t.equal(
    fenceReason(row(0, '5', 100), { ...run, fromOffset: '0100' }),
    'flush starts at 0100, stored next offset is 100',
    'offsets compare as Postgres prints them',
  )
})

t.test('planCommit: fenced runs contribute nothing; accepted ones are merged per (window, category)', async (t) => {
  const runs = chainFlushes([
    flush(0, '1', 0, 3, {
      deltas: [delta(W0, 'b', 150, 2), delta(W0 + MIN, 'a', 1)],
      rejected: [reject(2, 'late')],
      appendTimes: [
        [1000, 2],
        [1010, 1],
      ],
    }),
    flush(1, '1', 0, 4, {
      deltas: [delta(W0, 'b', 50, 1), delta(W0, 'a', 7, 1)],
      rejected: [reject(1, 'invalid_json'), reject(3, 'late')],
      appendTimes: [[1010, 4]],
    }),
    flush(2, '1', 0, 9, { deltas: [delta(W0, 'a', 999_999, 9)], rejected: [reject(0, 'empty')], appendTimes: [[5000, 9]] }),
  ])
  const plan = planCommit(runs, locked(row(0, '1', 0), row(1, '1', 0), row(2, '2', 0)))
  t.same(
    plan.accepted.map((g) => g.partition),
    [0, 1],
  )
  t.same(plan.fenced, [{ partition: 2, epoch: '1', reason: 'stale epoch 1, owner holds 2' }])
  t.same(
    plan.sales,
    [
      { windowStartMs: W0, category: 'a', cents: 7n, count: 1 },
      { windowStartMs: W0, category: 'b', cents: 200n, count: 3 },
      { windowStartMs: W0 + MIN, category: 'a', cents: 1n, count: 1 },
    ],
    'summed per (window, category), sorted by window then category; the fenced partition 2 not included',
  )
  t.equal(plan.counted, 5)
  t.equal(plan.rejected, 3)
  t.same(plan.rejectedByReason, { late: 2, invalid_json: 1 }, 'only reasons that occurred, of accepted runs')
  t.same(plan.appendTimes, [
    [1000, 2],
    [1010, 5],
  ])
})

t.test('planCommit: cents are summed as BigInt, exact past 2^53', async (t) => {
  const big = Number.MAX_SAFE_INTEGER // 2^53 − 1
  const runs = chainFlushes([
    flush(0, '1', 0, 1, { deltas: [delta(W0, 'x', big)] }),
    flush(1, '1', 0, 1, { deltas: [delta(W0, 'x', big)] }),
  ])
  const plan = planCommit(runs, locked(row(0, '1', 0), row(1, '1', 0)))
  t.equal(plan.sales[0]!.cents, 2n * BigInt(big))
  t.equal(plan.sales[0]!.cents.toString(), '18014398509481982')
})

t.test('planCommit: categories sort by UTF-16 code unit, not locale (one lock order for every writer)', async (t) => {
  const cats = ['b', 'B', 'ä', 'a', 'Z', 'a\tb', '']
  const runs = chainFlushes([flush(0, '1', 0, 1, { deltas: cats.map((c) => delta(W0, c, 1)) })])
  const plan = planCommit(runs, locked(row(0, '1', 0)))
  t.same(
    plan.sales.map((s) => s.category),
    ['', 'B', 'Z', 'a', 'a\tb', 'b', 'ä'],
  )
})

t.test('planCommit: nothing accepted, or nothing to do', async (t) => {
  const none = planCommit(chainFlushes([flush(0, '1', 5, 6, { deltas: [delta(W0, 'a', 1)] })]), locked(row(0, '1', 6)))
  t.same(none.accepted, [])
  t.same(none.sales, [])
  t.equal(none.counted, 0)
  t.same(none.fenced, [{ partition: 0, epoch: '1', reason: 'flush starts at 5, stored next offset is 6' }])
  const empty = planCommit([], new Map())
  t.same(empty, { accepted: [], fenced: [], sales: [], rejected: 0, rejectedByReason: {}, counted: 0, appendTimes: [] })
})

t.test('mergeCommitted: the isolated transactions as one result', async (t) => {
  const part = (p: number, o: Partial<Committed>): Committed =>
    commitResult({ committed: [{ partition: p, epoch: '1', nextOffset: '9', maxEventMs: null }], ...o })
  const failed: CommitResult['failed'] = [
    { partition: 9, epoch: '1', fromOffset: '0', sqlstate: '22003', message: 'numeric field overflow' },
  ]
  const merged = mergeCommitted(
    [
      part(0, { rejected: 2, rejectedByReason: { late: 2 }, counted: 4, lowWatermarkMs: W0, closedWindows: [W0 - MIN, W0 - 2 * MIN] }),
      part(1, { rejected: 1, rejectedByReason: { late: 1 }, counted: 1, lowWatermarkMs: null }),
      part(2, { rejected: 1, rejectedByReason: { empty: 1 }, counted: 2, lowWatermarkMs: W0 + MIN, closedWindows: [W0 - MIN, W0] }),
    ],
    failed,
  )
  t.same(
    merged.committed.map((c) => c.partition),
    [0, 1, 2],
  )
  t.same(merged.failed, failed)
  t.equal(merged.rejected, 4)
  t.same(merged.rejectedByReason, { late: 3, empty: 1 })
  t.equal(merged.counted, 7)
  t.equal(merged.lowWatermarkMs, W0 + MIN, 'the highest: later transactions saw the earlier ones')
  t.same(merged.closedWindows, [W0 - 2 * MIN, W0 - MIN, W0], 'each window once, ascending')
  t.equal(mergeCommitted([], []).lowWatermarkMs, null)
})
