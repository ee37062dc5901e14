// A @platformatic/kafka reader with explicit partitions and offsets and no consumer group:
// `Consumer.fetch()` (its documented low-level call) in a loop, the next fetch sent before the
// records of the last one are counted (and parsed, with --parse). The fetch set is ours, so
// "assign", "seek" and "pause one partition" are just what the next request lists.
// Loaded by bench/proto/platformatic.ts, in the main thread or as a worker thread (workerData).
import { isMainThread, parentPort, workerData } from 'node:worker_threads'
import { Consumer } from '@platformatic/kafka'

/** What one reader reads: `partitions` of `topic` from offset 0 up to `ends[p]` (exclusive). */
export interface ReaderTask {
  kind: 'plat-reader'
  brokers: string[]
  topic: string
  partitions: number[]
  ends: Record<number, string>
  parse: boolean
  maxBytes: number
  maxBytesPerPartition: number
  maxWaitTime: number
}

/** `firstAt`/`endAt`: epoch ms of the first request and of the last record read. */
export interface ReaderResult {
  records: number
  parsed: number
  firstAt: number
  endAt: number
}

/** Reads the task's partitions to their ends; rejects on a partition error code. */
export async function readPartitions(task: ReaderTask): Promise<ReaderResult> {
  const consumer = new Consumer({ clientId: 'proto-plat-reader', groupId: 'unused-no-group', bootstrapBrokers: task.brokers })
  const metadata = await consumer.metadata({ topics: [task.topic] })
  const meta = metadata.topics.get(task.topic)!
  // One broker here; the leader decides the node a partition is fetched from.
  const node = meta.partitions[task.partitions[0]!]!.leader
  const next = new Map<number, bigint>(task.partitions.map((p) => [p, 0n]))
  const ends = new Map<number, bigint>(task.partitions.map((p) => [p, BigInt(task.ends[p]!)]))
  let records = 0
  let parsed = 0
  let endAt = 0
  const firstAt = Date.now()
  const fetchOnce = () => {
    const wanted = task.partitions.filter((p) => next.get(p)! < ends.get(p)!)
    if (wanted.length === 0) return null
    return consumer.fetch({
      node,
      maxBytes: task.maxBytes,
      maxWaitTime: task.maxWaitTime,
      topics: [
        {
          topicId: meta.id,
          partitions: wanted.map((partition) => ({
            partition,
            fetchOffset: next.get(partition)!,
            partitionMaxBytes: task.maxBytesPerPartition,
            currentLeaderEpoch: -1,
            lastFetchedEpoch: -1,
          })),
        },
      ],
    })
  }
  let inFlight = fetchOnce()
  while (inFlight) {
    const response = await inFlight
    const batches = []
    for (const t of response.responses) {
      for (const p of t.partitions) {
        if (p.errorCode !== 0) throw new Error(`fetch ${task.topic}[${p.partitionIndex}]: error code ${p.errorCode}`)
        for (const batch of p.records ?? []) {
          const after = batch.firstOffset + BigInt(batch.lastOffsetDelta) + 1n
          if (after > next.get(p.partitionIndex)!) next.set(p.partitionIndex, after)
          batches.push(batch)
        }
      }
    }
    // The next request goes out before this response's records are handled.
    inFlight = fetchOnce()
    for (const batch of batches) {
      records += batch.records.length
      if (task.parse) {
        for (const r of batch.records) {
          if (r.value && JSON.parse(r.value.toString('utf8')) !== null) parsed++
        }
      }
    }
    endAt = Date.now()
  }
  await consumer.close(true)
  return { records, parsed, firstAt, endAt }
}

if (!isMainThread && (workerData as ReaderTask | undefined)?.kind === 'plat-reader') {
  const result = await readPartitions(workerData as ReaderTask)
  parentPort!.postMessage(result)
}
