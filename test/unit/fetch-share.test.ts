// What a partition takes from a fetch response when its actor fetches for itself
// (KAFKA_FETCH=actors; workers/fetch-share.ts): whole batches that begin before the next
// offset, the in-flight limit, control batches, timestamps, and the record cursor. Pure: no broker.
import t from 'tap'
import type { KafkaRecord, RecordsBatch } from '@platformatic/kafka'
import { FetchedRecord, handOver, outOfRangePartitions, shareOf, type RecordSink } from '../../workers/fetch-share.js'
import type { RecordIn } from '../../src/shared/batch-codec.js'

const IS_CONTROL = 0x20
const IS_TRANSACTIONAL = 0x10
const LOG_APPEND_TIME = 0x08

/** A batch of `n` records from `firstOffset`, values "v<offset>", timestamps firstTimestamp + 10 × i ms. */
function batch(firstOffset: number, n: number, attributes = 0, firstTimestamp = 1_000_000, producerId = -1n): RecordsBatch {
  const records: KafkaRecord[] = Array.from({ length: n }, (_, i) => ({
    length: 0,
    attributes: 0,
    timestampDelta: BigInt(10 * i),
    offsetDelta: i,
    key: null,
    value: Buffer.from(`v${firstOffset + i}`),
    headers: [],
  }))
  return {
    firstOffset: BigInt(firstOffset),
    length: 0,
    partitionLeaderEpoch: 0,
    magic: 2,
    crc: 0,
    attributes,
    lastOffsetDelta: n - 1,
    firstTimestamp: BigInt(firstTimestamp),
    maxTimestamp: BigInt(firstTimestamp + 10 * (n - 1)),
    producerId,
    producerEpoch: -1,
    firstSequence: -1,
    records,
  }
}

/** Collects what handOver gives a sink (copies: the cursor moves on). */
function collect(share: ReturnType<typeof shareOf>): { offset: number; timestampMs: number; text: string | null }[] {
  return handOut(share).records
}

/** What handOver gives a sink: the records, and where it moved the position to. */
function handOut(share: ReturnType<typeof shareOf>) {
  const records: { offset: number; timestampMs: number; text: string | null }[] = []
  let skippedTo: number | null = null
  const sink: RecordSink = {
    add: (r: RecordIn) => void records.push({ offset: r.offset, timestampMs: r.timestampMs, text: r.text() }),
    skipTo: (offset) => void (skippedTo = offset),
  }
  handOver(share, new FetchedRecord(), sink)
  return { records, skippedTo }
}

t.test('records below the next offset (a batch Kafka returns whole) are neither counted nor handed over', async (t) => {
  const share = shareOf([batch(0, 5), batch(5, 5)], 3n, 1000n)
  t.same([share.from, share.to, share.records], [3, 10, 7])
  t.equal(share.bytes, 'v3v4v5v6v7v8v9'.length, 'value bytes of the records taken')
  t.same(
    collect(share).map((r) => r.offset),
    [3, 4, 5, 6, 7, 8, 9],
  )
})

t.test('the in-flight limit cuts a batch; the next fetch starts at the limit', async (t) => {
  const share = shareOf([batch(0, 10)], 0n, 4n)
  t.same([share.to, share.records], [4, 4])
  t.same(
    collect(share).map((r) => r.offset),
    [0, 1, 2, 3],
  )
  const none = shareOf([batch(0, 10)], 0n, null)
  t.same([none.to, none.records, none.batches.length], [0, 0, 0], 'no limit (the byte bound is reached): nothing taken')
})

t.test('a batch wholly before the next offset, or past the limit, is skipped', async (t) => {
  const share = shareOf([batch(0, 5), batch(5, 5), batch(10, 5)], 5n, 10n)
  t.same([share.from, share.to, share.records, share.batches.length], [5, 10, 5, 1])
})

t.test('a control batch (transaction marker) moves the next offset but holds no record to count', async (t) => {
  const share = shareOf([batch(0, 3), batch(3, 1, IS_CONTROL), batch(4, 2)], 0n, 1000n)
  t.same([share.to, share.records], [6, 5])
  t.same(
    collect(share).map((r) => r.offset),
    [0, 1, 2, 4, 5],
  )
  const onlyMarker = shareOf([batch(7, 1, IS_CONTROL)], 7n, 1000n)
  t.same([onlyMarker.to, onlyMarker.records], [8, 0])
})

/** A transaction marker of `producerId` at `offset` (key: version 0, type 0 = ABORT, 1 = COMMIT). */
function marker(offset: number, producerId: bigint, type: 'abort' | 'commit'): RecordsBatch {
  const b = batch(offset, 1, IS_CONTROL | IS_TRANSACTIONAL, 1_000_000, producerId)
  b.records[0]!.key = Buffer.from([0, 0, 0, type === 'abort' ? 0 : 1])
  return b
}
const txn = (firstOffset: number, n: number, producerId: bigint) => batch(firstOffset, n, IS_TRANSACTIONAL, 1_000_000, producerId)
const offsetsOf = (share: ReturnType<typeof shareOf>) => collect(share).map((r) => r.offset)

t.test('aborted transactions are dropped (read_committed, KIP-98), two of one producer in one response', async (t) => {
  // producer 7 aborts [0..4] and [11..15]; producer 8 commits [6..9] in between.
  const batches = [txn(0, 5, 7n), marker(5, 7n, 'abort'), txn(6, 4, 8n), marker(10, 8n, 'commit'), txn(11, 5, 7n), marker(16, 7n, 'abort')]
  const aborted = [
    { producerId: 7n, firstOffset: 11n },
    { producerId: 7n, firstOffset: 0n },
  ]
  const share = shareOf(batches, 0n, 1000n, aborted)
  t.same(offsetsOf(share), [6, 7, 8, 9], 'only the committed transaction')
  t.same([share.to, share.records], [17, 4], 'the next fetch starts past the last marker')
})

t.test('an aborted transaction longer than one fetch is dropped without its marker in the response', async (t) => {
  const share = shareOf([batch(0, 3), txn(3, 10, 7n)], 0n, 1000n, [{ producerId: 7n, firstOffset: 3n }])
  t.same(offsetsOf(share), [0, 1, 2])
  t.equal(share.to, 13)
  const rest = shareOf([txn(13, 10, 7n), marker(23, 7n, 'abort'), batch(24, 2)], 13n, 1000n, [{ producerId: 7n, firstOffset: 3n }])
  t.same(offsetsOf(rest), [24, 25], 'the next fetch: the rest of it, its marker, then plain records')
})

t.test('a committed transaction, and a producer whose aborted transaction lies after this batch, are counted', async (t) => {
  const share = shareOf([txn(0, 3, 7n), marker(3, 7n, 'commit'), txn(4, 2, 7n)], 0n, 1000n, [{ producerId: 7n, firstOffset: 4n }])
  t.same(offsetsOf(share), [0, 1, 2], 'the aborted one from offset 4 on is dropped, the committed one before it is not')
  t.same(offsetsOf(shareOf([txn(0, 3, 9n), marker(3, 9n, 'commit')], 0n, 1000n, [])), [0, 1, 2])
})

t.test('the position moves to the share end past trailing markers and aborted batches, also with no record to count', async (t) => {
  const tail = handOut(shareOf([batch(0, 2), txn(2, 3, 7n), marker(5, 7n, 'abort')], 0n, 1000n, [{ producerId: 7n, firstOffset: 2n }]))
  t.same(
    tail.records.map((r) => r.offset),
    [0, 1],
  )
  t.equal(tail.skippedTo, 6, 'past the aborted transaction and its marker')
  const onlyMarker = handOut(shareOf([marker(9, 7n, 'commit')], 9n, 1000n))
  t.same([onlyMarker.records.length, onlyMarker.skippedTo], [0, 10], 'a lone commit marker: nothing counted, position past it')
})

t.test('a gap between batches (dropped by the client, or compacted) is passed over, also past the in-flight limit', async (t) => {
  const gap = shareOf([batch(0, 50), marker(550, 7n, 'abort')], 0n, 200n)
  t.same([gap.records, gap.to], [50, 550], 'offsets 50..549 hold nothing: the next fetch starts at the marker')
  const start = shareOf([batch(30, 5)], 10n, 100n)
  t.same([start.from, start.to, start.records], [10, 35, 5], 'a gap before the first batch')
  const cut = shareOf([batch(0, 100), batch(150, 10)], 0n, 50n)
  t.same([cut.to, cut.records], [50, 50], 'no jump after a batch cut at the limit: its rest still waits')
})

t.test('an empty or absent record set takes nothing', async (t) => {
  t.same(shareOf([], 42n, 100n), { batches: [], from: 42, to: 42, records: 0, bytes: 0 })
  t.same(shareOf(null, 42n, 100n).to, 42)
})

t.test('timestamps: create time per record, or the batch max timestamp with log-append time (KIP-32)', async (t) => {
  const create = collect(shareOf([batch(0, 3, 0, 5_000)], 0n, 100n))
  t.same(
    create.map((r) => r.timestampMs),
    [5_000, 5_010, 5_020],
  )
  const append = collect(shareOf([batch(0, 3, LOG_APPEND_TIME, 5_000)], 0n, 100n))
  t.same(
    append.map((r) => r.timestampMs),
    [5_020, 5_020, 5_020],
  )
})

t.test('FetchedRecord reads ASCII, UTF-8 and refuses invalid UTF-8; a tombstone has length -1', async (t) => {
  const r = new FetchedRecord()
  r.set(1, 2, Buffer.from('{"a":1}'))
  t.same([r.offset, r.timestampMs, r.length, r.text()], [1, 2, 7, '{"a":1}'])
  r.set(2, 2, Buffer.from('{"c":"Küche"}'))
  t.equal(r.text(), '{"c":"Küche"}')
  r.set(3, 2, Buffer.from([0x7b, 0xff, 0x7d]))
  t.equal(r.text(), null, 'not UTF-8')
  t.same([...r.value()!], [0x7b, 0xff, 0x7d], 'the raw bytes stay readable (kept in rejected_events)')
  r.set(4, 2, null)
  t.same([r.length, r.text(), r.value()], [-1, null, null])
})

t.test('outOfRangePartitions reads OFFSET_OUT_OF_RANGE (error code 1) from the response a failed fetch carries', async (t) => {
  const err = Object.assign(new Error('Received response with error while executing API Fetch(v17)'), {
    response: {
      responses: [
        {
          topicId: 'x',
          partitions: [
            { partitionIndex: 0, errorCode: 0 },
            { partitionIndex: 3, errorCode: 1 },
            { partitionIndex: 4, errorCode: 6 },
          ],
        },
      ],
    },
  })
  t.same(outOfRangePartitions(err), [3])
  t.same(outOfRangePartitions(new Error('connection refused')), [])
})
