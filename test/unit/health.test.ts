// Unit tests of readiness as a value: decideHealth (src/health.ts) for every state it can
// give, and pipelineState (src/http/summary.ts), the page's one word, derived from the state
// only: a reason in words the page has never seen must not change what it shows.
import { readFileSync } from 'node:fs'
import t from 'tap'
import { decideHealth, READY, type Health, type HealthInputs } from '../../src/health.js'
import { pipelineState, type PipelineState } from '../../src/http/summary.js'
import type { PartitionFailure } from '../../src/shared/protocol.js'

const fine: HealthInputs = { configFailure: null, stopping: false, postgresError: null, consumer: null, failedPartitions: [] }
const refused: PartitionFailure = {
  partition: 2,
  epoch: '3',
  fromOffset: '7',
  sqlstate: '23514',
  message: 'new row violates check constraint',
}

t.test('decideHealth: one case per state', async (t) => {
  t.same(decideHealth(fine), { state: 'ready', reason: null }, 'ready: nothing wrong')
  t.same(
    decideHealth({ ...fine, consumer: { state: 'starting', reason: 'not yet in the consumer group' } }),
    { state: 'starting', reason: 'not yet in the consumer group' },
    'starting: the consumer has not joined yet',
  )
  t.same(
    decideHealth({ ...fine, consumer: { state: 'kafka_unreachable', reason: 'kafka unreachable: no heartbeat accepted for 12 s' } }),
    { state: 'kafka_unreachable', reason: 'kafka unreachable: no heartbeat accepted for 12 s' },
    'kafka_unreachable: as the consumer says, whatever its words',
  )
  t.same(
    decideHealth({ ...fine, postgresError: 'connect ECONNREFUSED 127.0.0.1:5432' }),
    { state: 'postgres_unreachable', reason: 'postgres unreachable: connect ECONNREFUSED 127.0.0.1:5432' },
    'postgres_unreachable: the probe failed',
  )
  t.same(decideHealth({ ...fine, stopping: true }), { state: 'stopping', reason: 'shutting down' }, 'stopping: shutdown began')
  t.same(
    decideHealth({ ...fine, configFailure: 'SASL authentication failed' }),
    { state: 'failed', reason: 'kafka refuses our configuration: SASL authentication failed' },
    'failed: Kafka refuses the configuration',
  )
  const failed = decideHealth({ ...fine, failedPartitions: [refused, { ...refused, partition: 5, fromOffset: '90' }] })
  t.equal(failed.state, 'failed', 'failed: partitions Postgres refuses for good')
  t.match(failed.reason, /partition 2 at offset 7: SQLSTATE 23514 .*; partition 5 at offset 90/, 'the reason names each partition')
  t.same(
    decideHealth({ ...fine, consumer: { state: 'failed', reason: 'kafka consumer failed: …' } }),
    { state: 'failed', reason: 'kafka consumer failed: …' },
    'failed: the consumer keeps failing',
  )
})

t.test('decideHealth: the first cause that applies wins', async (t) => {
  const all: HealthInputs = {
    configFailure: 'bad',
    stopping: true,
    postgresError: 'down',
    consumer: { state: 'kafka_unreachable', reason: 'kafka unreachable' },
    failedPartitions: [refused],
  }
  const order: string[] = []
  let i: HealthInputs = all
  for (const drop of ['configFailure', 'stopping', 'postgresError', 'consumer', 'failedPartitions'] as const) {
    order.push(decideHealth(i).state)
    i = { ...i, [drop]: drop === 'stopping' ? false : drop === 'failedPartitions' ? [] : null }
  }
  order.push(decideHealth(i).state)
  t.same(order, ['failed', 'stopping', 'postgres_unreachable', 'kafka_unreachable', 'failed', 'ready'])
})

t.test('pipelineState: the page state from the health state and the partitions, never from the words', async (t) => {
  const parts = [
    { partition: 0, paused: false },
    { partition: 1, paused: true },
  ]
  const notReady: Health[] = [
    { state: 'starting', reason: 'x' },
    { state: 'postgres_unreachable', reason: 'x' },
    { state: 'kafka_unreachable', reason: 'kafka unreachable: no heartbeat accepted for 12 s' },
    // Words no prefix test ever saw: the state still decides.
    { state: 'kafka_unreachable', reason: 'Starting to look like the broker is gone' },
    { state: 'stopping', reason: 'x' },
    { state: 'failed', reason: 'x' },
  ]
  for (const h of notReady) {
    t.same(
      pipelineState(h, parts),
      { state: h.state, reason: h.reason, partitions: 2, pausedPartitions: [1] },
      `${h.state} (“${h.reason}”) shows as ${h.state}`,
    )
  }
  t.same(pipelineState(READY, parts), { state: 'paused', reason: null, partitions: 2, pausedPartitions: [1] }, 'ready, one paused: paused')
  t.same(pipelineState(READY, [parts[0]!]), { state: 'consuming', reason: null, partitions: 1, pausedPartitions: [] }, 'ready: consuming')
  t.same(pipelineState(READY, []), { state: 'idle', reason: null, partitions: 0, pausedPartitions: [] }, 'ready, no partition: idle')
})

t.test("the page (web/app.js STATES) has words and a tone for every state; the unreachable and failed ones are red ('bad')", async (t) => {
  // Record<PipelineState, …>: a new state that is not listed here fails the type check (npm run lint).
  const expected: Record<PipelineState, [string, 'ok' | 'warn' | 'bad']> = {
    consuming: ['Consuming', 'ok'],
    paused: ['Paused: writer catching up', 'warn'],
    idle: ['Idle: no partitions assigned', 'warn'],
    starting: ['Starting', 'warn'],
    stopping: ['Stopping', 'warn'],
    postgres_unreachable: ['Postgres unreachable', 'bad'],
    kafka_unreachable: ['Kafka unreachable', 'bad'],
    failed: ['Failed', 'bad'],
  }
  const app = readFileSync(new URL('../../web/app.js', import.meta.url), 'utf8')
  const block = /const STATES = \{([^}]*)\}/.exec(app)?.[1] ?? ''
  const page = Object.fromEntries([...block.matchAll(/(\w+): \['([^']*)', '(\w+)'\]/g)].map((m) => [m[1], [m[2], m[3]]]))
  t.same(page, expected)
})
