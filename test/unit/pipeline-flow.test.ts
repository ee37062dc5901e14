// Unit tests for the flow control of src/pipeline/coordinator.ts dispatch(): the in-flight bounds
// (records and bytes), the guard against a fetch position that jumped past what was
// counted, a partition whose commit Postgres refuses for good, and idle partitions reported
// to the writer with their advances passed to the actor. Fake actors, writer, consumer and
// pool; no threads, no broker, no Postgres.
import { EventEmitter } from 'node:events'
import t from 'tap'
import type pg from 'pg'
import { Pipeline, type ConsumerControl } from '../../src/pipeline/coordinator.js'
import { BatchReader, type RawRecord } from '../../src/shared/batch-codec.js'
import type { CommitTask, IdlePartition, PartitionFlush } from '../../src/shared/protocol.js'
import { ActorClient, WriterClient, type ActorWorker, type WriterWorker } from '../../src/pipeline/clients.js'
import { commitResult } from '../../test-support/commit-result.js'

/** An actor that remembers what it was given and flushes it as one range; a writer that commits every flush. Stands in for a SerialWorker under the typed clients. */
class FakeThread extends EventEmitter {
  tasks: { type: string }[] = []
  /** As a writer: answer every commit with partition 0 failed (SQLSTATE 22003), as the real writer does after isolating it. */
  refuse = false
  private range: { from: string; next: string; epoch: string } | null = null
  async run<T>(task: {
    type: string
    buffer?: ArrayBuffer
    epoch?: string
    flushes?: PartitionFlush[]
    idle?: IdlePartition[]
  }): Promise<T> {
    this.tasks.push(task)
    if (task.type === 'batch') {
      const offsets: number[] = []
      const reader = new BatchReader(task.buffer!)
      while (reader.next()) offsets.push(reader.offset)
      this.range = { from: this.range?.from ?? String(offsets[0]), next: String(offsets.at(-1)! + 1), epoch: task.epoch! }
      return offsets.length as T
    }
    if (task.type === 'flush' || task.type === 'release') {
      const r = this.range
      this.range = null
      const flush: PartitionFlush[] = r
        ? [
            {
              partition: 0,
              epoch: r.epoch,
              fromOffset: r.from,
              nextOffset: r.next,
              maxEventMs: null,
              idleWatermarkMs: null,
              records: 1,
              minAppendMs: 0,
              appendTimes: [],
              deltas: [],
              rejected: [],
            },
          ]
        : []
      return { partitions: flush } as T
    }
    if (task.type === 'commit') {
      await new Promise((r) => setImmediate(r)) // a commit takes a while: flushes queue up behind it
      const last = task.flushes!.at(-1)
      if (this.refuse && last) {
        const failed = [
          {
            partition: 0,
            epoch: last.epoch,
            fromOffset: task.flushes![0]!.fromOffset,
            sqlstate: '22003',
            message: 'numeric field overflow',
          },
        ]
        return commitResult({ failed }) as T
      }
      const committed = last ? [{ partition: 0, epoch: last.epoch, nextOffset: last.nextOffset, maxEventMs: null }] : []
      // Every idle partition is raised to 12:00 from where it stands.
      const advanced = task.idle!.map((i) => ({
        partition: i.partition,
        epoch: i.epoch,
        fromOffset: i.offset,
        idleWatermarkMs: ADVANCED_TO,
      }))
      return commitResult({ committed, advanced }) as T
    }
    return null as T
  }
}

const ADVANCED_TO = Date.UTC(2026, 0, 1, 12)

function setup(opts: { maxInFlightRecords?: number; maxInFlightBytes?: number; low?: string; idleMs?: number } = {}) {
  const calls: string[] = []
  const consumer: ConsumerControl = {
    seek: (p, o) => void calls.push(`seek ${p} ${o}`),
    pause: (p) => void calls.push(`pause ${p}`),
    resume: (p) => void calls.push(`resume ${p}`),
    commitOffsets: async () => {},
    lowOffsets: async () => new Map([[0, opts.low ?? '0']]),
  }
  // claimPartition's INSERT … RETURNING: a partition never seen, from offset 0.
  const pool = { query: async () => ({ rows: [{ epoch: '1', next_offset: '0', max_event_ms: null }] }) } as unknown as pg.Pool
  const actor = new FakeThread()
  const writer = new FakeThread()
  const pipeline = new Pipeline(
    {
      topic: 't',
      owner: 'me',
      flushMs: 60_000,
      flushRecords: 1_000_000,
      flushBytes: 1 << 30,
      maxInFlightRecords: opts.maxInFlightRecords ?? 1000,
      ...(opts.maxInFlightBytes ? { maxInFlightBytes: opts.maxInFlightBytes } : {}),
      idleMs: opts.idleMs ?? 0,
    },
    pool,
    [new ActorClient(actor as unknown as ActorWorker)],
    new WriterClient(writer as unknown as WriterWorker),
    consumer,
  )
  return { pipeline, calls, actor, writer }
}

const records = (from: number, n: number, size = 10): RawRecord[] =>
  Array.from({ length: n }, (_, i) => ({ offset: String(from + i), timestamp: '0', value: Buffer.alloc(size) }))
const notStale = () => false

async function claimed(pipeline: Pipeline): Promise<void> {
  pipeline.onAssignment([0])
  for (let i = 0; i < 100 && pipeline.partitions()[0]?.state !== 'active'; i++) await new Promise((r) => setImmediate(r))
}

t.test('a batch is cut at MAX_INFLIGHT_RECORDS and the partition paused', async (t) => {
  const { pipeline, calls } = setup({ maxInFlightRecords: 5 })
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 12), notStale, '0'), '4', 'only offsets 0..4 are handed over (and resolved)')
  t.same(pipeline.partitions()[0]!.dispatched, '5')
  t.ok(calls.includes('pause 0'), 'paused at the bound')
  t.equal(await pipeline.dispatch(0, records(5, 7), notStale, '5'), null, 'nothing more while at the bound')
})

t.test('MAX_INFLIGHT_BYTES pauses a partition of big records', async (t) => {
  const { pipeline, calls } = setup({ maxInFlightRecords: 1000, maxInFlightBytes: 2500 })
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 3, 1000), notStale, '0'), '2')
  t.ok(pipeline.partitions()[0]!.inFlightBytes >= 3000, 'the batch bytes are counted (read before the buffer is transferred)')
  t.ok(calls.includes('pause 0'), 'paused on bytes')
  t.equal(await pipeline.dispatch(0, records(3, 3, 1000), notStale, '3'), null, 'nothing more while over the byte bound')
})

t.test('a fetch that jumped past the next offset to count is sent back', async (t) => {
  const { pipeline, calls, actor } = setup()
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 10), notStale, '0'), '9')
  const batches = actor.tasks.filter((x) => x.type === 'batch').length
  // kafkajs reset the position (offset out of range) to 500 while 10..499 are still in the log.
  t.equal(await pipeline.dispatch(0, records(500, 10), notStale, '500'), null, 'not handed over')
  t.equal(calls.at(-1), 'seek 0 10', 'seeks back to the next offset to count')
  t.equal(actor.tasks.filter((x) => x.type === 'batch').length, batches, 'the actor got nothing')
  t.equal(await pipeline.dispatch(0, records(10, 10), notStale, '10'), '19', 'reading goes on from there')
})

t.test('records deleted by retention: the partition goes on from the log start, not stuck at the bound', async (t) => {
  const { pipeline, calls } = setup({ maxInFlightRecords: 100, low: '5000' })
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 10), notStale, '0'), '9')
  // Everything read so far is committed, then kafkajs finds offset 10 gone (out of range) and starts at the log start.
  pipeline.flushAll()
  await waitUntil(() => pipeline.partitions()[0]!.committed === '10')
  t.equal(
    await pipeline.dispatch(0, records(5000, 50), notStale, '5000'),
    '5049',
    'the batch from the log start is handed over: the gap is not in flight',
  )
  t.notOk(calls.includes('seek 0 10'), 'no seek back to offsets that are gone')
  t.equal(pipeline.partitions()[0]!.dispatched, '5050')
})

t.test('a commit brings a paused partition back under half the bound: resumed', async (t) => {
  const { pipeline, calls } = setup({ maxInFlightRecords: 5 })
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 8), notStale, '0'), '4')
  t.ok(calls.includes('pause 0'))
  pipeline.flushAll()
  await waitUntil(() => pipeline.partitions()[0]!.committed === '5')
  t.equal(calls.at(-1), 'resume 0', 'resumed once the in-flight records are committed')
  t.equal(pipeline.partitions()[0]!.inFlightBytes, 0, 'no bytes in flight after the commit')
})

async function waitUntil(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setImmediate(r))
  if (!cond()) throw new Error('condition never held')
}

t.test(
  'a partition that got no batch for 5 s is sent back to where counting stands (kafkajs may have jumped to the log end)',
  async (t) => {
    const { pipeline, calls } = setup()
    t.teardown(() => pipeline.close())
    await claimed(pipeline)
    t.equal(await pipeline.dispatch(0, records(0, 10), notStale, '0'), '9')
    const clock = t.capture(Date, 'now', () => 1e13) // far later than the last batch
    ;(pipeline as unknown as { reassertPositions(): void }).reassertPositions()
    clock()
    t.equal(calls.at(-1), 'seek 0 10', 'seek to the next offset to count')
  },
)

t.test(
  'a partition with nothing to read for IDLE_PARTITION_SECONDS: reported to the writer, even with nothing else to commit; its advance goes to its actor',
  async (t) => {
    const { pipeline, actor, writer } = setup({ idleMs: 2_000 })
    t.teardown(() => pipeline.close())
    await claimed(pipeline)
    pipeline.setPartitionCount(1)
    const start = Date.now()
    pipeline.sawHighWatermark(0, '0') // nothing in the partition: committed 0 = high watermark 0
    t.equal(pipeline.partitions()[0]!.idle, false, 'not before the idle time')
    const commitIdle = () => (pipeline as unknown as { commits: { commitIdle(): void } }).commits.commitIdle()
    commitIdle()
    t.equal(writer.tasks.length, 0, 'no commit while nothing is idle')

    const clock = t.capture(Date, 'now', () => start + 2_500)
    pipeline.sawHighWatermark(0, '0')
    t.equal(pipeline.partitions()[0]!.idle, true, 'idle after 2 s with nothing to read')
    commitIdle()
    clock()
    await waitUntil(() => actor.tasks.some((x) => x.type === 'advance'))
    const commit = writer.tasks[0] as unknown as CommitTask
    t.same(
      [commit.flushes, commit.idle, commit.partitionCount],
      [[], [{ partition: 0, epoch: '1', offset: '0' }], 1],
      'a commit with no flushes names the idle partition at its position, with the partition count',
    )
    t.match(
      actor.tasks.find((x) => x.type === 'advance'),
      { partition: 0, epoch: '1', fromOffset: '0', idleWatermarkMs: ADVANCED_TO },
      'the committed advance goes to the actor',
    )

    // A record arrives: busy again, and not reported any more.
    t.equal(await pipeline.dispatch(0, records(0, 1), notStale, '0'), '0')
    t.equal(pipeline.partitions()[0]!.idle, false, 'a record read: not idle')
  },
)

t.test('IDLE_PARTITION_SECONDS=0: never idle', async (t) => {
  const { pipeline, writer } = setup({ idleMs: 0 })
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  pipeline.sawHighWatermark(0, '0')
  const clock = t.capture(Date, 'now', () => 1e13)
  pipeline.sawHighWatermark(0, '0')
  t.equal(pipeline.partitions()[0]!.idle, false)
  ;(pipeline as unknown as { commits: { commitIdle(): void } }).commits.commitIdle()
  clock()
  t.equal(writer.tasks.length, 0, 'no commit for idleness')
})

t.test('a commit Postgres refuses for good: the partition stops where it stands, and stays stopped', async (t) => {
  const { pipeline, calls, actor, writer } = setup()
  t.teardown(() => pipeline.close())
  await claimed(pipeline)
  t.equal(await pipeline.dispatch(0, records(0, 10), notStale, '0'), '9')
  pipeline.flushAll()
  await waitUntil(() => pipeline.partitions()[0]!.committed === '10')
  writer.refuse = true
  t.equal(await pipeline.dispatch(0, records(10, 10), notStale, '10'), '19')
  pipeline.flushAll() // the refused commit, 10..19
  await new Promise((r) => setImmediate(r))
  t.equal(await pipeline.dispatch(0, records(20, 10), notStale, '20'), '29')
  pipeline.flushAll() // 20..29 waits behind it
  await waitUntil(() => pipeline.failures().length === 1)
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r)) // whatever would follow the refusal

  t.match(
    pipeline.failures(),
    [{ partition: 0, fromOffset: '10', sqlstate: '22003', message: 'numeric field overflow' }],
    'listed with where it stands and why',
  )
  t.match(pipeline.partitions()[0], { committed: '10', failed: { sqlstate: '22003' } }, 'its position stays at the refused flush')
  t.equal(calls.at(-1), 'pause 0', 'paused in the consumer: its records stay in Kafka')
  t.equal(
    writer.tasks.filter((x) => x.type === 'commit').length,
    2,
    'the flush queued behind the refused one is dropped, not sent to be fenced',
  )
  t.ok(
    actor.tasks.some((x) => x.type === 'release'),
    'its actor drops what it counted past the stored position',
  )

  const before = { calls: calls.length, actorTasks: actor.tasks.length }
  t.equal(await pipeline.dispatch(0, records(30, 10), notStale, '30'), null, 'a batch still fetched is not handed over')
  pipeline.resync([0], 'writer restarted')
  pipeline.onAssignment([0]) // a rebalance that keeps it here
  await new Promise((r) => setImmediate(r))
  t.equal(actor.tasks.length, before.actorTasks, 'never claimed again (no ASSIGN), never fed')
  t.same(calls.slice(before.calls), ['seek 0 30', 'pause 0'], 'a rebalance pauses it again')
})
