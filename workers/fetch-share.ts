import { isAscii, isUtf8 } from 'node:buffer'
import type { Consumer, KafkaRecord, RecordsBatch } from '@platformatic/kafka'
import type { RecordIn } from '../src/shared/batch-codec.js'

// The pure half of an actor's fetch loop (fetch-loop.ts): which records of a fetch response a
// partition takes, and handing them to its PartitionState one by one without an object per
// record. Offsets are JS numbers here (exact to 2^53 - 1, as in the batch codec).

/** A broker's answer to one fetch request (the client's Fetch v17 response). */
export type FetchResponse = Awaited<ReturnType<Consumer['fetch']>>

/** What a partition's records are handed to (the actor's PartitionState). */
export interface RecordSink {
  add(record: RecordIn): void
  /** Nothing to count before `offset` (markers, aborted transactions): the position moves there. */
  skipTo(offset: number): void
}

/** Kafka RecordBatch attributes (KIP-98): a control batch (transaction marker), a transactional batch, log-append time. */
const IS_CONTROL = 0x20
const IS_TRANSACTIONAL = 0x10
const LOG_APPEND_TIME = 0x08
/** Kafka's error code for a fetch offset outside the log. */
const OFFSET_OUT_OF_RANGE = 1

/**
 * A partition's share of one fetch response: the data batches with records in [from, to), how
 * many records and value bytes that is; `to` is where the next fetch of the partition starts.
 */
export interface Share {
  batches: RecordsBatch[]
  from: number
  to: number
  records: number
  bytes: number
}

/** An aborted transaction a fetch response lists (KIP-98): its producer and its first offset. */
export interface AbortedTransaction {
  producerId: bigint
  firstOffset: bigint
}

/**
 * The share of a partition fetched from `next`, under the in-flight `limit` (the first offset
 * not to take; null: nothing may be taken, InFlight.limit). Kafka answers with whole batches,
 * so a batch may begin before `next` (those records were counted already) or run past the
 * limit (fetched again later). Control batches (transaction markers) and the batches of
 * aborted transactions move `to` past them but hold no record to count.
 *
 * Aborted transactions are dropped as Kafka's own consumer does in read_committed
 * (KIP-98; `CompletedFetch` in the Java client): walking the batches in offset order, a
 * producer joins the aborted set once a listed aborted transaction of its starts at or before
 * the batch's last offset, its transactional batches are skipped while it is in the set, and
 * its ABORT marker takes it out. The broker lists every aborted transaction that overlaps the
 * fetched range, so a transaction longer than one fetch is dropped in every response that
 * holds a part of it, marker or not. (@platformatic/kafka 2.12.1 filters too, but keeps one
 * range per producer and none without the marker in the same response: both let aborted
 * records through.)
 */
export function shareOf(
  batches: readonly RecordsBatch[] | null | undefined,
  next: bigint,
  limit: bigint | null,
  aborted: readonly AbortedTransaction[] | null = null,
): Share {
  const from = Number(next)
  const until = limit === null ? from : Math.min(Number(limit), Number.MAX_SAFE_INTEGER)
  const share: Share = { batches: [], from, to: from, records: 0, bytes: 0 }
  const pending = aborted?.length ? [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : 1)) : []
  const abortedProducers = new Set<bigint>()
  /** `to` is past everything returned so far (no batch was cut at the limit). */
  let whole = true
  for (const batch of batches ?? []) {
    const first = Number(batch.firstOffset)
    // A gap before a batch holds nothing to count: batches the client dropped (aborted) or
    // compaction removed. Moving past it takes no in-flight room a record would need.
    if (whole && first > share.to) share.to = first
    if (first >= until) break
    const last = batch.firstOffset + BigInt(batch.lastOffsetDelta)
    while (pending.length && pending[0]!.firstOffset <= last) abortedProducers.add(pending.shift()!.producerId)
    const end = first + batch.lastOffsetDelta + 1
    const skip = batch.attributes & IS_CONTROL ? true : batch.attributes & IS_TRANSACTIONAL && abortedProducers.has(batch.producerId)
    if (batch.attributes & IS_CONTROL && isAbortMarker(batch)) abortedProducers.delete(batch.producerId)
    if (end <= share.to) continue
    share.to = Math.min(end, until)
    whole = share.to === end
    if (skip) continue
    share.batches.push(batch)
    for (const r of batch.records) {
      const offset = first + r.offsetDelta
      if (offset >= from && offset < until) {
        share.records++
        share.bytes += recordBytes(r)
      }
    }
  }
  return share
}

/** A control batch's record key is (version int16, type int16); type 0 is ABORT, 1 COMMIT (KIP-98). */
function isAbortMarker(batch: RecordsBatch): boolean {
  const key = batch.records[0]?.key
  return !!key && key.length >= 4 && key.readInt16BE(2) === 0
}

/** Bytes a record counts against FLUSH_BYTES and MAX_INFLIGHT_BYTES: its value (what is parsed, and kept if rejected). */
function recordBytes(r: KafkaRecord): number {
  return r.value?.length ?? 0
}

/**
 * Hands the share's records to `sink` in offset order through one reused `record`, then moves
 * its position to the share's end (skipped markers and aborted batches included). A record's
 * Kafka timestamp is its batch's first timestamp plus its delta, or the batch's max timestamp
 * when the topic stamps log-append time (KIP-32).
 */
export function handOver(share: Share, record: FetchedRecord, sink: RecordSink): void {
  if (share.records === 0) return sink.skipTo(share.to)
  for (const batch of share.batches) {
    const first = Number(batch.firstOffset)
    const appendTime = batch.attributes & LOG_APPEND_TIME ? Number(batch.maxTimestamp) : null
    const firstTimestamp = Number(batch.firstTimestamp)
    for (const r of batch.records) {
      const offset = first + r.offsetDelta
      if (offset < share.from || offset >= share.to) continue
      record.set(offset, appendTime ?? firstTimestamp + Number(r.timestampDelta), r.value)
      sink.add(record)
    }
  }
  sink.skipTo(share.to)
}

/** RecordIn over one fetched record: set() moves it on; the value is the client's buffer, not copied. */
export class FetchedRecord implements RecordIn {
  offset = 0
  timestampMs = 0
  length = -1
  private bytes: Buffer | null = null

  set(offset: number, timestampMs: number, value: Buffer | null): void {
    this.offset = offset
    this.timestampMs = timestampMs
    this.bytes = value
    this.length = value === null ? -1 : value.length
  }

  text(): string | null {
    const v = this.bytes
    if (v === null) return null
    if (isAscii(v)) return v.toString('latin1')
    return isUtf8(v) ? v.toString('utf8') : null
  }

  value(): Uint8Array | null {
    return this.bytes
  }
}

/** Partitions a failed fetch names with OFFSET_OUT_OF_RANGE (from the response the client attaches to its error). */
export function outOfRangePartitions(err: Error): number[] {
  const response = (err as { response?: Partial<FetchResponse> }).response
  const out: number[] = []
  for (const topic of response?.responses ?? [])
    for (const p of topic.partitions ?? []) if (p.errorCode === OFFSET_OUT_OF_RANGE) out.push(p.partitionIndex)
  return out
}
