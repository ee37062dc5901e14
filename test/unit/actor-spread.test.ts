// Which actor gets a partition (src/pipeline/coordinator.ts), with fake threads, consumer and Postgres.
// The consumer group's round-robin assignment gives member i of M the partitions i, i+M,
// i+2M…; they must still spread over all of the member's actors.
import { EventEmitter } from 'node:events'
import type pg from 'pg'
import t from 'tap'
import { Pipeline, type ConsumerControl } from '../../src/pipeline/coordinator.js'
import { ActorTask } from '../../src/shared/protocol.js'
import { ActorClient, WriterClient, type ActorWorker, type WriterWorker } from '../../src/pipeline/clients.js'

class FakeThread extends EventEmitter {
  async run(task: { type: string }): Promise<unknown> {
    return task.type === ActorTask.ASSIGN ? null : { partitions: [] }
  }
}

const db = { query: async () => ({ rows: [{ epoch: '1', next_offset: '0', max_event_ms: null }] }) } as unknown as pg.Pool
const consumer: ConsumerControl = {
  seek: () => {},
  pause: () => {},
  resume: () => {},
  commitOffsets: async () => {},
  lowOffsets: async () => new Map(),
}

async function actorsAfter(actorCount: number, assignments: number[][]): Promise<Map<number, number>> {
  const actors = Array.from({ length: actorCount }, () => new ActorClient(new FakeThread() as unknown as ActorWorker))
  const p = new Pipeline(
    { topic: 't', owner: 'me', flushMs: 60_000, flushRecords: 1000, flushBytes: 1 << 20, maxInFlightRecords: 1000 },
    db,
    actors,
    new WriterClient(new FakeThread() as unknown as WriterWorker),
    consumer,
  )
  try {
    for (const partitions of assignments) {
      p.onAssignment(partitions)
      for (let i = 0; i < 100 && p.partitions().some((x) => x.state !== 'active'); i++) await new Promise((r) => setImmediate(r))
    }
    return new Map(p.partitions().map((x) => [x.partition, x.actor]))
  } finally {
    p.close()
  }
}

t.test('member 0 of 2 (partitions 0, 2, 4) with 2 actors uses both', async (t) => {
  const got = await actorsAfter(2, [[0, 2, 4]])
  t.same(new Set(got.values()), new Set([0, 1]), `actors ${[...got].map(([p, a]) => `${p}→${a}`).join(' ')}`)
})

t.test('member 1 of 3 (partitions 1, 4, 7) with 3 actors uses all three', async (t) => {
  const got = await actorsAfter(3, [[1, 4, 7]])
  t.same(new Set(got.values()), new Set([0, 1, 2]), `actors ${[...got].map(([p, a]) => `${p}→${a}`).join(' ')}`)
})

t.test('a rebalance keeps the actors of kept partitions and fills the emptiest', async (t) => {
  const before = await actorsAfter(2, [[0, 2, 4]])
  const after = await actorsAfter(2, [
    [0, 2, 4],
    [0, 2, 4, 1],
  ])
  t.same(
    [0, 2, 4].map((p) => after.get(p)),
    [0, 2, 4].map((p) => before.get(p)),
    'kept partitions stay on their actor',
  )
  const load = [0, 1].map((a) => [...after.values()].filter((x) => x === a).length)
  t.same(load, [2, 2], 'the new partition went to the actor with fewer')
})
