// The flow-control bounds of one partition (src/shared/in-flight.ts; docs/architecture.md,
// "Flow control"): what may be handed over, when to pause, when to resume. Pure: no threads.
import t from 'tap'
import { InFlight, countBelow } from '../../src/shared/in-flight.js'

const offsets = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ offset: String(from + i) }))
const NO_BYTE_BOUND = Number.POSITIVE_INFINITY

t.test('countBelow: how many ascending offsets lie below a limit', async (t) => {
  t.equal(countBelow([], 10n), 0)
  t.equal(countBelow(offsets(0, 5), 10n), 5, 'all below')
  t.equal(countBelow(offsets(0, 20), 10n), 10, 'cut at the limit')
  t.equal(countBelow(offsets(10, 5), 10n), 0, 'the first at the limit')
  t.equal(countBelow([{ offset: '1' }, { offset: '7' }, { offset: '30' }], 8n), 2, 'gaps in the offsets')
  t.equal(countBelow([{ offset: '9007199254740993' }], 9007199254740994n), 1, 'offsets past 2^53 compare exactly')
})

t.test('a batch is cut at committed + maxRecords; at the bound nothing more fits', async (t) => {
  const f = new InFlight({ maxRecords: 5, maxBytes: NO_BYTE_BOUND }, 0n)
  t.equal(f.fit(offsets(0, 12)), 5)
  t.equal(f.dispatch(5n, 50), true, 'at the record bound: pause')
  t.equal(f.fit(offsets(5, 7)), 0, 'nothing more until a commit')
  t.same([f.dispatched, f.committed, f.bytes], [5n, 0n, 50])
})

t.test('below the bound: no pause; the bound counts from the committed position', async (t) => {
  const f = new InFlight({ maxRecords: 10, maxBytes: NO_BYTE_BOUND }, 100n)
  t.equal(f.fit(offsets(100, 4)), 4)
  t.equal(f.dispatch(104n, 40), false)
  t.equal(f.fit(offsets(104, 20)), 6, 'offsets 104..109: committed 100 + 10')
})

t.test('with nothing in flight, a gap (records deleted by retention) is not counted as in flight', async (t) => {
  const f = new InFlight({ maxRecords: 100, maxBytes: NO_BYTE_BOUND }, 10n)
  t.equal(f.fit(offsets(5000, 50)), 50, 'counted from the first record, not from the committed 10')
  // The gap does count once records are in flight (dispatched − committed): paused, but the
  // commit of what was handed over comes, and resumes it.
  t.equal(f.dispatch(5050n, 500), true)
  t.equal(f.fit(offsets(5050, 10)), 0, 'with records in flight the bound counts from the committed position again')
  t.equal(f.commit(5050n), true, 'its commit brings it back')
  t.equal(f.fit(offsets(5050, 10)), 10)
})

t.test('the byte bound: pauses at maxBytes, and nothing fits while over it', async (t) => {
  const f = new InFlight({ maxRecords: 1000, maxBytes: 2500 }, 0n)
  t.equal(f.dispatch(1n, 1000), false)
  t.equal(f.dispatch(2n, 1000), false)
  t.equal(f.dispatch(3n, 1000), true, '3000 bytes ≥ 2500: pause')
  t.equal(f.fit(offsets(3, 3)), 0)
  t.equal(f.atBound(), true)
})

t.test('a commit frees the batches it covers; resume only under half of both bounds', async (t) => {
  const f = new InFlight({ maxRecords: 10, maxBytes: 1000 }, 0n)
  f.dispatch(4n, 300)
  f.dispatch(8n, 300)
  f.dispatch(10n, 300)
  t.equal(f.atBound(), true)
  t.equal(f.commit(4n), false, '6 records in flight: not under half of 10')
  t.equal(f.bytes, 600, 'the first batch is freed')
  t.equal(f.commit(6n), false, 'a commit inside a batch frees nothing of it')
  t.equal(f.bytes, 600)
  t.equal(f.commit(8n), true, '2 records and 300 bytes in flight: under half of both')
  t.equal(f.bytes, 300)
  t.equal(f.commit(10n), true)
  t.same([f.bytes, f.committed, f.dispatched], [0, 10n, 10n])
})

t.test('resume waits for the bytes too', async (t) => {
  const f = new InFlight({ maxRecords: 1000, maxBytes: 1000 }, 0n)
  f.dispatch(1n, 900)
  f.dispatch(2n, 200)
  t.equal(f.commit(1n), true, '200 bytes < 500 and 1 record < 500')
  const g = new InFlight({ maxRecords: 1000, maxBytes: 1000 }, 0n)
  g.dispatch(1n, 100)
  g.dispatch(2n, 900)
  t.equal(g.commit(1n), false, '900 bytes still in flight: not under half the byte bound')
})
