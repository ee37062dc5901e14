// Group commit (src/pipeline/group-commit.ts): one COMMIT in flight at a time, the flushes that
// arrive meanwhile go together in the next, a failed partition's flushes are left out, and
// drain() waits for all of it. A fake writer; no threads, no Postgres.
import t from 'tap'
import type { ActorClient, WriterClient } from '../../src/pipeline/clients.js'
import { GroupCommit } from '../../src/pipeline/group-commit.js'
import type { CommitResult, CommitTask, Flush, PartitionFlush } from '../../src/shared/protocol.js'

const flushOf = (partition: number, from: number, next: number): PartitionFlush => ({
  partition,
  epoch: '1',
  fromOffset: String(from),
  nextOffset: String(next),
  maxEventMs: null,
  idleWatermarkMs: null,
  records: next - from,
  minAppendMs: 0,
  appendTimes: [],
  deltas: [],
  rejected: [],
})

function setup(failed = new Set<number>()) {
  const commits: Omit<CommitTask, 'type'>[] = []
  const gates: (() => void)[] = []
  const writer = {
    commit: (c: Omit<CommitTask, 'type'>) => {
      commits.push(c)
      return new Promise<CommitResult>((resolve) => gates.push(() => resolve({ committed: [] } as unknown as CommitResult)))
    },
  } as unknown as WriterClient
  let next: Flush = { partitions: [] }
  const actor = { flush: async () => next } as unknown as ActorClient
  const results: CommitResult[] = []
  const group = new GroupCommit('t', { flushRecords: 10, flushBytes: 1 << 20 }, [actor], writer, {
    isFailed: (p) => failed.has(p),
    idlePartitions: () => [],
    partitionCount: () => 4,
    committed: (r) => void results.push(r),
    lost: () => {},
    flushFailed: () => {},
  })
  return { group, commits, gates, results, setNext: (f: PartitionFlush[]) => (next = { partitions: f }) }
}

const tick = () => new Promise((r) => setImmediate(r))

t.test('one COMMIT in flight; the flushes that arrive meanwhile go together in the next', async (t) => {
  const { group, commits, gates, setNext } = setup()
  group.track(Promise.resolve({ partitions: [flushOf(0, 0, 5)] }), 0)
  await tick()
  t.equal(commits.length, 1)
  group.track(Promise.resolve({ partitions: [flushOf(0, 5, 8)] }), 0)
  group.track(Promise.resolve({ partitions: [flushOf(1, 0, 3)] }), 0)
  await tick()
  t.equal(commits.length, 1, 'no second COMMIT while the first is in flight')
  gates.shift()!()
  await tick()
  t.equal(commits.length, 2)
  t.same(
    commits[1]!.flushes.map((f) => [f.partition, f.fromOffset]),
    [
      [0, '5'],
      [1, '0'],
    ],
    'both waiting flushes in one COMMIT, in arrival order',
  )
  t.equal(commits[1]!.partitionCount, 4)
  setNext([])
  gates.shift()!()
})

t.test('the flushes of a failed partition are left out', async (t) => {
  const { group, commits, gates } = setup(new Set([1]))
  group.track(Promise.resolve({ partitions: [flushOf(0, 0, 5), flushOf(1, 0, 5)] }), 0)
  await tick()
  t.same(
    commits[0]!.flushes.map((f) => f.partition),
    [0],
  )
  gates.shift()!()
})

t.test('a batch over FLUSH_RECORDS asks the actor for a flush; drain waits for its commit', async (t) => {
  const { group, commits, gates, setNext, results } = setup()
  setNext([flushOf(0, 0, 10)])
  group.dispatched(0, 4, 100)
  await tick()
  t.equal(commits.length, 0, 'under FLUSH_RECORDS: no flush yet')
  group.dispatched(0, 6, 100)
  await tick()
  t.equal(commits.length, 1, 'at FLUSH_RECORDS: flushed and committed')
  setNext([])
  let drained = false
  const drain = group.drain().then(() => (drained = true))
  await tick()
  t.equal(drained, false, 'not while a COMMIT is in flight')
  gates.shift()!()
  await drain
  t.equal(results.length, 1)
})
