// Scenario "actor-cpu": the CPU cost of one window actor's hot path, with no Kafka, Postgres
// or other threads: the consumer's hand-over encoding (main thread) and the actor's decode,
// parse, validate and aggregate, in ns per record, on the producer's own record shape.
// `node dist/bench/actor-cpu.js [--events N]`. Figures are single-thread CPU, so they
// compare code versions; the catch-up scenario shows what the whole pipeline makes of them.
import { BatchReader, encodeBatch, type RawRecord } from '../src/shared/batch-codec.js'
import { transaction } from '../src/producer/transactions.js'
import { PartitionState } from '../workers/partition-state.js'

export interface ActorCpuResult {
  events: number
  encodeNsPerRecord: number
  actorNsPerRecord: number
}

export async function actorCpu(events: number): Promise<ActorCpuResult> {
  const perBatch = 2_000
  const start = Date.parse('2026-11-25T12:00:00Z')
  const raw: RawRecord[][] = []
  for (let b = 0; b * perBatch < events; b++) {
    raw.push(
      Array.from({ length: perBatch }, (_, i) => {
        const n = b * perBatch + i
        const ms = start + Math.floor(n / 20) // 20,000 events a second of event time
        return { offset: String(n), timestamp: String(ms), value: Buffer.from(JSON.stringify(transaction(ms))) }
      }),
    )
  }
  const best = { encode: Infinity, actor: Infinity }
  for (let round = 0; round < 5; round++) {
    const state = new PartitionState(0, '1', 0, null, null, { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 })
    let t = process.hrtime.bigint()
    const buffers = raw.map((r) => encodeBatch(r))
    best.encode = Math.min(best.encode, Number(process.hrtime.bigint() - t))
    t = process.hrtime.bigint()
    let counted = 0
    for (let i = 0; i < buffers.length; i++) {
      const reader = new BatchReader(buffers[i]!)
      while (reader.next()) state.add(reader)
      if (i % 10 === 9) counted += state.flush()?.records ?? 0
    }
    counted += state.flush()?.records ?? 0
    best.actor = Math.min(best.actor, Number(process.hrtime.bigint() - t))
    if (counted !== raw.length * perBatch) throw new Error(`actor counted ${counted} of ${raw.length * perBatch}`)
  }
  const n = raw.length * perBatch
  return { events: n, encodeNsPerRecord: Math.round(best.encode / n), actorNsPerRecord: Math.round(best.actor / n) }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const i = process.argv.indexOf('--events')
  const events = i > 0 ? Number(process.argv[i + 1]) : 200_000
  console.log(JSON.stringify(await actorCpu(events)))
}
