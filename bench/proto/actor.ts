import { isAscii, isUtf8 } from 'node:buffer'
import { parentPort, workerData } from 'node:worker_threads'
import { Kafka, logLevel, type KafkaMessage } from 'kafkajs'
import type { RecordIn } from '../../src/shared/batch-codec.js'
import { CONSUMER_FETCH } from '../../src/kafka/client.js'
import { UTC } from '../../src/shared/time-zone.js'
import { PartitionState } from '../../workers/partition-state.js'
import { actorAssigner } from './assigner.js'
import { PARTITION_BASE, type ActorEvent, type ProtoActorData } from './messages.js'

// Prototype (issue 13): a window actor that is its own kafkajs consumer in the group. The
// thread fetches, decodes, parses, validates, windows and aggregates (PartitionState, the
// real per-record code) with no encode/transfer hop; nothing goes to Postgres. Flushes are
// taken every FLUSH_MS and posted to the main thread (where the writer would be).

const FLUSH_MS = 250
const d = workerData as ProtoActorData
const progress = new Int32Array(d.progress)
const post = (e: ActorEvent) => parentPort!.postMessage(e)

/** A kafkajs message seen as the actor's record (as BatchReader is for today's encoded batch). */
class KafkaRecord implements RecordIn {
  offset = 0
  timestampMs = 0
  length = -1
  private v: Buffer | null = null
  set(m: KafkaMessage): void {
    this.offset = Number(m.offset)
    this.timestampMs = Number(m.timestamp)
    this.v = m.value
    this.length = m.value === null ? -1 : m.value.length
  }
  text(): string | null {
    const v = this.v!
    if (isAscii(v)) return v.toString('latin1')
    return isUtf8(v) ? v.toString('utf8') : null
  }
  value(): Uint8Array | null {
    return this.v
  }
}

const rules = { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 }
let states = new Map<number, PartitionState>()
let generation = 0
const batches: [number, number, number, number][] = []
const heartbeats: number[] = []

const kafka = new Kafka({ clientId: `proto-actor-${d.index}`, brokers: d.brokers, logLevel: logLevel.NOTHING })
const consumer = kafka.consumer({
  groupId: d.groupId,
  sessionTimeout: d.sessionTimeout,
  heartbeatInterval: d.heartbeatInterval,
  partitionAssigners: [
    actorAssigner({ process: d.process, actor: d.index }, (decision) => post({ type: 'assign', slot: d.slot, t: Date.now(), decision })),
  ],
  ...CONSUMER_FETCH,
})
consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
  // A new generation: every partition's state starts again (in tumbler: a new claim and epoch).
  generation++
  const partitions = payload.memberAssignment[d.topic] ?? []
  states = new Map(partitions.map((p) => [p, new PartitionState(p, String(generation), 0, null, null, rules, UTC)]))
  post({ type: 'join', slot: d.slot, t: Date.now(), memberId: payload.memberId, partitions, isLeader: payload.isLeader })
})
consumer.on(consumer.events.REBALANCING, () => post({ type: 'rebalancing', slot: d.slot, t: Date.now() }))
consumer.on(consumer.events.HEARTBEAT, () => heartbeats.push(Date.now()))
consumer.on(consumer.events.CRASH, ({ payload }) => post({ type: 'crash', slot: d.slot, t: Date.now(), error: String(payload.error) }))
consumer.on(consumer.events.REQUEST, ({ payload }) => {
  if (payload.apiName === 'JoinGroup' || payload.apiName === 'SyncGroup' || payload.apiName === 'LeaveGroup')
    post({ type: 'request', slot: d.slot, t: Date.now(), api: payload.apiName, sentAt: payload.sentAt, duration: payload.duration })
})

parentPort!.on('message', (m: { type: 'report' }) => {
  if (m.type === 'report') post({ type: 'log', slot: d.slot, batches, heartbeats })
})

setInterval(() => {
  const flushes = []
  for (const s of states.values()) {
    const f = s.flush()
    if (f) flushes.push(f)
  }
  if (flushes.length) parentPort!.postMessage({ type: 'flush', partitions: flushes })
}, FLUSH_MS)

const record = new KafkaRecord()
await consumer.connect()
await consumer.subscribe({ topic: d.topic, fromBeginning: true })
await consumer.run({
  autoCommit: d.autoCommit,
  autoCommitInterval: 500,
  partitionsConsumedConcurrently: 8,
  eachBatchAutoResolve: false,
  eachBatch: async ({ batch, heartbeat, resolveOffset, isRunning, isStale }) => {
    const start = Date.now()
    const state = states.get(batch.partition)
    if (!state) return
    const messages = batch.messages
    for (let i = 0; i < messages.length; i += d.chunk) {
      const end = Math.min(messages.length, i + d.chunk)
      for (let j = i; j < end; j++) {
        record.set(messages[j]!)
        state.add(record)
      }
      const last = messages[end - 1]!.offset
      Atomics.add(progress, d.slot, end - i)
      Atomics.store(progress, PARTITION_BASE + batch.partition, Number(last) + 1)
      resolveOffset(last)
      // Bounded work per turn: the session stays alive however large the batch.
      await heartbeat()
      if (!isRunning() || isStale()) break
    }
    batches.push([start, Date.now(), batch.partition, messages.length])
  },
})
