// Unit tests for src/shared/batch-codec.ts: what the consumer packs is exactly what the actor reads.
import t from 'tap'
import { BatchReader, encodeBatch, type RawRecord } from '../../src/shared/batch-codec.js'
import { PartitionState } from '../../workers/partition-state.js'

interface Read {
  offset: number
  timestampMs: number
  /** The value's bytes as the actor would keep them; null for a tombstone. */
  value: Buffer | null
  /** The text the actor parses; null when not valid UTF-8 (undefined for null and empty values). */
  text: string | null | undefined
}

function read(buffer: ArrayBuffer): Read[] {
  const out: Read[] = []
  const reader = new BatchReader(buffer)
  while (reader.next()) {
    const view = reader.value()
    out.push({
      offset: reader.offset,
      timestampMs: reader.timestampMs,
      value: view && Buffer.from(view),
      text: reader.length > 0 ? reader.text() : undefined,
    })
  }
  t.equal(out.length, reader.count, 'count matches the records read')
  return out
}

const roundTrip = (records: RawRecord[]) => read(encodeBatch(records))

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
  t.same(
    out.map((r) => r.offset),
    [0, 1, 2, 3, 4],
  )
  t.same(
    out.map((r) => r.timestampMs),
    [1714564800000, 1714564800001, 1714564800002, 1714564800003, 1714564800004],
  )
  t.equal(out[0]!.value!.toString(), '{"a":1}')
  t.equal(out[1]!.value, null, 'null stays null (tombstone)')
  t.ok(Buffer.isBuffer(out[2]!.value), 'empty stays a buffer, not null')
  t.equal(out[2]!.value!.length, 0)
  t.same([...out[3]!.value!], [0xc3, 0x28, 0x00, 0xff], 'arbitrary bytes unchanged')
  t.equal(out[0]!.text, '{"a":1}')
  t.equal(out[3]!.text, null, 'invalid UTF-8 has no text')
  t.equal(out[4]!.value, null, 'a null after other records')
})

t.test('an empty value as the very last record', async (t) => {
  const buffer = encodeBatch([
    { offset: '7', timestamp: '1', value: Buffer.from('x') },
    { offset: '8', timestamp: '2', value: Buffer.alloc(0) },
  ])
  t.equal(buffer.byteLength, 4 + 20 + 1 + 20)
  const out = read(buffer)
  t.equal(out.length, 2)
  t.equal(out[1]!.value?.length, 0, 'a zero-length value at the very end of the buffer')
  t.equal(out[1]!.offset, 8)
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
  t.equal(out[2]!.offset, 12)
})

t.test('offsets up to 2^53 - 1 are exact; a larger one is refused, not rounded', async (t) => {
  const offsets = ['0', '4294967296', '9007199254740990', '9007199254740991']
  t.same(
    roundTrip(offsets.map((offset) => ({ offset, timestamp: '0', value: null }))).map((r) => r.offset),
    [0, 4294967296, 9007199254740990, 9007199254740991],
  )
  for (const offset of ['9007199254740992', '9223372036854775807']) {
    t.throws(() => encodeBatch([{ offset, timestamp: '0', value: null }]), /past 2\^53 - 1/, `offset ${offset}`)
  }
})

t.test('timestamps', async (t) => {
  const out = roundTrip([
    { offset: '0', timestamp: '0', value: null },
    { offset: '1', timestamp: '-1000', value: null },
    { offset: '2', timestamp: '253402300799999', value: null },
  ])
  t.same(
    out.map((r) => r.timestampMs),
    [0, -1000, 253402300799999],
  )
})

t.test('source buffers from a pool are read correctly, and the batch owns its bytes', async (t) => {
  // Buffer.from(string) of a small string usually lives at a non-zero offset of a shared pool.
  const pooled = Buffer.from('pooled value')
  const slab = Buffer.from('0123456789')
  const slice = slab.subarray(3, 7)
  const buffer = encodeBatch([
    { offset: '0', timestamp: '0', value: pooled },
    { offset: '1', timestamp: '0', value: slice },
  ])
  slice.fill(0x41)
  const out = read(buffer)
  t.equal(out[0]!.text, 'pooled value')
  t.equal(out[1]!.text, '3456', 'only the slice, not the whole slab, and not what the source holds now')
})

t.test('text: each value checked on its own, whatever the batch around it holds', async (t) => {
  const euro = Buffer.from('€') // e2 82 ac
  const cases: [string, Buffer[], (string | null)[]][] = [
    ['all ASCII', [Buffer.from('{"a":1}'), Buffer.from('x')], ['{"a":1}', 'x']],
    ['multi-byte UTF-8', [Buffer.from('{"c":"Café ☕ 😀"}'), Buffer.from('plain')], ['{"c":"Café ☕ 😀"}', 'plain']],
    // Concatenated, these two are one valid "€": each alone is not UTF-8.
    ['a character split over two records', [euro.subarray(0, 1), euro.subarray(1)], [null, null]],
    [
      'split, with valid records around',
      [Buffer.from('ok'), euro.subarray(0, 2), euro.subarray(2), Buffer.from('€ fine')],
      ['ok', null, null, '€ fine'],
    ],
    ['one bad record among good ones', [Buffer.from('é'), Buffer.from([0xff]), Buffer.from('ü')], ['é', null, 'ü']],
    ['a lone continuation byte', [Buffer.from([0x80])], [null]],
    ['overlong and surrogate encodings', [Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80])], [null, null]],
  ]
  for (const [name, values, want] of cases) {
    const out = roundTrip(values.map((value, i) => ({ offset: String(i), timestamp: '0', value })))
    t.same(
      out.map((r) => r.text),
      want,
      name,
    )
    t.same(
      out.map((r) => [...r.value!]),
      values.map((v) => [...v]),
      `${name}: bytes kept as they came`,
    )
  }
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
    if (r.offset !== Number(want.offset) || r.timestampMs !== Number(want.timestamp)) mismatches++
    if ((r.value === null) !== (want.value === null)) mismatches++
    else if (r.value && !r.value.equals(want.value!)) mismatches++
  })
  t.equal(mismatches, 0, 'every record equal after the round trip')
})

t.test('a UTF-8 BOM: the actor counts the record past it, and a rejected one keeps its bytes, BOM included', async (t) => {
  const bom = Buffer.from([0xef, 0xbb, 0xbf])
  const good = Buffer.concat([bom, Buffer.from('{"product_category":"Books","amount":1.5,"timestamp":"2024-05-01 12:00:00"}')])
  const bad = Buffer.concat([bom, Buffer.from('{"product_category":"","amount":1.5,"timestamp":"2024-05-01 12:00:00"}')])
  const ascii = Buffer.from('{"product_category":"Toys","amount":2,"timestamp":"2024-05-01 12:00:01"}')
  const ts = String(Date.UTC(2024, 4, 1, 12))
  const state = new PartitionState(0, 'e', 0, null, null, { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 })
  const reader = new BatchReader(encodeBatch([good, bad, ascii].map((value, i) => ({ offset: String(i), timestamp: ts, value }))))
  while (reader.next()) state.add(reader)
  const f = state.flush()!
  t.same(
    f.deltas.map((d) => [d.category, d.cents]).sort(),
    [
      ['Books', 150],
      ['Toys', 200],
    ],
    'the BOM record and the ASCII one are counted',
  )
  t.same(
    f.rejected.map((r) => [r.offset, r.reason, Buffer.from(r.payload!).equals(bad)]),
    [['1', 'invalid_category', true]],
    'the rejected payload is the original bytes',
  )
})
