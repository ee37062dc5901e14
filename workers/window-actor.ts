import { workerData } from 'node:worker_threads'
import { BatchReader } from '../src/shared/batch-codec.js'
import { ActorTask, type ActorMessage, type ActorReplies, type PartitionFlush, type TaskHandlers } from '../src/shared/protocol.js'
import type { ActorData, WindowRules } from '../src/shared/worker-data.js'
import { faultCounter } from '../src/shared/faults.js'
import { PartitionState } from './partition-state.js'
import { reportThreadStats } from '../src/shared/thread-stats.js'
import { parseZone } from '../src/shared/time-zone.js'

// A window actor: owns the window state of the partitions the supervisor assigned to it.
// It runs alone in its own single-thread piscina pool, so its tasks arrive in order and
// the state below is never shared. Its records come as BATCHes from the supervisor, or, with
// KAFKA_FETCH=actors, from its own fetch loop (fetch-loop.ts) on the partitions it is assigned.

const data = workerData as ActorData
const rules: WindowRules = { windowMs: data.windowMs, latenessMs: data.latenessMs, futureMs: data.futureMs }
const zone = parseZone(data.timestampDefaultZone)
const fault = faultCounter(data.faults, `actor${data.index}`, new Int32Array(data.faultFired))
reportThreadStats(`actor-${data.index}`)
const partitions = new Map<number, PartitionState>()
// Loaded only when used: @platformatic/kafka costs a thread ~45 MB and ~0.4 s to import (bench/README.md).
const fetcher = data.fetch ? new (await import('./fetch-loop.js')).FetchLoop(data.fetch, data.index, fault) : null

/** One handler per task, each typed with its own reply (ActorReplies). */
const handlers: TaskHandlers<ActorMessage, ActorReplies> = {
  [ActorTask.ASSIGN]: (msg) => {
    const state = new PartitionState(
      msg.partition,
      msg.epoch,
      Number(msg.nextOffset),
      msg.maxEventMs,
      msg.idleWatermarkMs,
      rules,
      zone,
      data.rejectedPayloadMaxBytes,
    )
    partitions.set(msg.partition, state)
    fetcher?.assign(msg.partition, msg.epoch, msg.nextOffset, state)
    return null
  },
  [ActorTask.BATCH]: (msg) => {
    fault('batch')
    const state = partitions.get(msg.partition)
    // A batch for an epoch this actor does not hold (queued before a release or a
    // restart of this thread) is dropped; the supervisor re-reads it after reassigning.
    if (!state || state.epoch !== msg.epoch) return 0
    const reader = new BatchReader(msg.buffer)
    while (reader.next()) state.add(reader)
    return reader.count
  },
  [ActorTask.FLUSH]: () => {
    const out: PartitionFlush[] = []
    for (const state of partitions.values()) {
      const f = state.flush()
      if (f) out.push(f)
    }
    return { partitions: out }
  },
  [ActorTask.ADVANCE]: (msg) => {
    const state = partitions.get(msg.partition)
    return state?.epoch === msg.epoch && state.advance(Number(msg.fromOffset), msg.idleWatermarkMs) ? 1 : 0
  },
  [ActorTask.RELEASE]: (msg) => {
    const state = partitions.get(msg.partition)
    partitions.delete(msg.partition)
    fetcher?.release(msg.partition)
    const f = state?.flush()
    return { partitions: f ? [f] : [] }
  },
  [ActorTask.COMMITTED]: (msg) => {
    for (const o of msg.offsets) fetcher?.committed(o.partition, o.epoch, o.nextOffset)
    return null
  },
}

/** One task, answered with the reply its type has in ActorReplies (piscina calls this for every task). */
export default function handle<K extends ActorMessage['type']>(msg: Extract<ActorMessage, { type: K }>): ActorReplies[K] {
  // TypeScript cannot correlate handlers[msg.type] with msg (a union); each handler is checked above.
  return (handlers[msg.type] as (m: typeof msg) => ActorReplies[K])(msg)
}
