// Unit tests for src/batch-codec.ts: what the consumer packs is exactly what the actor reads.
import t from 'tap'
import { decodeBatch, encodeBatch, type RawRecord } from '../../src/batch-codec.js'

const roundTrip = (records: RawRecord[]) => [...decodeBatch(encodeBatch(records))]

t.test('empty batch', async (t) => {
  const buffer = encodeBatch([])
  t.equal(buffer.byteLength, 4, 'just the count')
  t.same(roundTrip([]), [])
})

t.test('round trip with null, empty and ordinary values', async (t) => {
  const records: RawRecord[] = [
    { offset: '0', timestamp: '1714564800000', value: Buffer.from('{"a":1}') },
    { offset: '1', timestamp: '1714564800001', value: null },
    { offset: '2', timestamp: '1714564800002', value: Buffer.alloc(0) },
    { offset: '3', timestamp: '1714564800003', value: Buffer.from([0xc3, 0x28, 0x00, 0xff]) },
    { offset: '4', timestamp: '1714564800004', value: null },
  ]
  const buffer = encodeBatch(records)
  t.equal(buffer.byteLength, 4 + 5 * 20 + 7 + 0 + 4, 'header + 20 bytes per record + value bytes')
  const out = roundTrip(records)
  t.equal(out.length, 5)
  t.same(out.map((r) => r.offset), [0n, 1n, 2n, 3n, 4n])
  t.same(out.map((r) => r.timestampMs), [1714564800000, 1714564800001, 1714564800002, 1714564800003, 1714564800004])
  t.equal(out[0]!.value!.toString(), '{"a":1}')
  t.equal(out[1]!.value, null, 'null stays null (tombstone)')
  t.ok(Buffer.isBuffer(out[2]!.value), 'empty stays a buffer, not null')
  t.equal(out[2]!.value!.length, 0)
  t.same([...out[3]!.value!], [0xc3, 0x28, 0x00, 0xff], 'arbitrary bytes unchanged')
  t.equal(out[4]!.value, null, 'a null after other records')
})

t.test('an empty value as the very last record', async (t) => {
  const buffer = encodeBatch([
    { offset: '7', timestamp: '1', value: Buffer.from('x') },
    { offset: '8', timestamp: '2', value: Buffer.alloc(0) },
  ])
  t.equal(buffer.byteLength, 4 + 20 + 1 + 20)
  const out = [...decodeBatch(buffer)]
  t.equal(out.length, 2)
  t.equal(out[1]!.value?.length, 0, 'a zero-length view at the very end of the buffer')
  t.equal(out[1]!.offset, 8n)
})

t.test('a 1 MB value', async (t) => {
  const big = Buffer.alloc(1024 * 1024)
  for (let i = 0; i < big.length; i++) big[i] = (i * 31 + 7) & 0xff
  const records: RawRecord[] = [
    { offset: '10', timestamp: '1', value: Buffer.from('before') },
    { offset: '11', timestamp: '2', value: big },
    { offset: '12', timestamp: '3', value: Buffer.from('after') },
  ]
  const out = roundTrip(records)
  t.equal(out[1]!.value!.length, big.length)
  t.ok(out[1]!.value!.equals(big), '1 MB value byte for byte')
  t.equal(out[0]!.value!.toString(), 'before')
  t.equal(out[2]!.value!.toString(), 'after', 'the record after the big one is found at the right place')
  t.equal(out[2]!.offset, 12n)
})

t.test('offsets above 2^53 stay exact', async (t) => {
  const offsets = ['9007199254740992', '9007199254740993', '9007199254740995', '9223372036854775807']
  const out = roundTrip(offsets.map((offset) => ({ offset, timestamp: '0', value: null })))
  t.same(out.map((r) => r.offset), [9007199254740992n, 9007199254740993n, 9007199254740995n, 9223372036854775807n])
  t.equal(typeof out[1]!.offset, 'bigint')
  t.equal(out[1]!.offset.toString(), '9007199254740993', 'not rounded to 9007199254740992')
  t.equal(out[3]!.offset, 2n ** 63n - 1n, 'largest Kafka offset')
})

t.test('timestamps', async (t) => {
  const out = roundTrip([
    { offset: '0', timestamp: '0', value: null },
    { offset: '1', timestamp: '-1000', value: null },
    { offset: '2', timestamp: '253402300799999', value: null },
  ])
  t.same(out.map((r) => r.timestampMs), [0, -1000, 253402300799999])
})

t.test('values are views into the batch buffer, and source buffers from a pool are read correctly', async (t) => {
  // Buffer.from(string) of a small string usually lives at a non-zero offset of a shared pool.
  const pooled = Buffer.from('pooled value')
  const slab = Buffer.from('0123456789')
  const slice = slab.subarray(3, 7)
  const buffer = encodeBatch([
    { offset: '0', timestamp: '0', value: pooled },
    { offset: '1', timestamp: '0', value: slice },
  ])
  const out = [...decodeBatch(buffer)]
  t.equal(out[0]!.value!.toString(), 'pooled value')
  t.equal(out[1]!.value!.toString(), '3456', 'only the slice, not the whole slab')
  t.equal(out[0]!.value!.buffer, buffer, 'decoded value is a view (no copy)')
  slice.fill(0x41)
  t.equal(out[1]!.value!.toString(), '3456', 'the batch owns its bytes: changing the source afterwards does not matter')
})

t.test('many records', async (t) => {
  const records: RawRecord[] = []
  for (let i = 0; i < 5000; i++) {
    records.push({ offset: String(1_000_000 + i), timestamp: String(1714564800000 + i), value: i % 7 === 0 ? null : Buffer.from(`v${i}`) })
  }
  const out = roundTrip(records)
  t.equal(out.length, 5000)
  let mismatches = 0
  out.forEach((r, i) => {
    const want = records[i]!
    if (r.offset !== BigInt(want.offset) || r.timestampMs !== Number(want.timestamp)) mismatches++
    if ((r.value === null) !== (want.value === null)) mismatches++
    else if (r.value && !r.value.equals(want.value!)) mismatches++
  })
  t.equal(mismatches, 0, 'every record equal after the round trip')
})
