// Records cross from the consumer (main thread) to an actor as one ArrayBuffer that is
// transferred, not cloned: one allocation and one memcpy per record value, no object
// graph for structured clone to walk.
//
// Layout (little endian): u32 count, then per record:
//   i64 offset | f64 kafka timestamp ms | i32 value length (-1 = null value) | value bytes

export interface RawRecord {
  offset: string
  timestamp: string
  value: Buffer | null
}

const HEADER = 4
const PER_RECORD = 8 + 8 + 4

export function encodeBatch(records: readonly RawRecord[]): ArrayBuffer {
  let size = HEADER
  for (const r of records) size += PER_RECORD + (r.value?.length ?? 0)
  const buffer = new ArrayBuffer(size)
  const view = new DataView(buffer)
  const bytes = new Uint8Array(buffer)
  view.setUint32(0, records.length, true)
  let at = HEADER
  for (const r of records) {
    view.setBigInt64(at, BigInt(r.offset), true)
    view.setFloat64(at + 8, Number(r.timestamp), true)
    if (r.value === null) {
      view.setInt32(at + 16, -1, true)
      at += PER_RECORD
    } else {
      view.setInt32(at + 16, r.value.length, true)
      bytes.set(r.value, at + PER_RECORD)
      at += PER_RECORD + r.value.length
    }
  }
  return buffer
}

export interface DecodedRecord {
  offset: bigint
  timestampMs: number
  /** A view into the batch buffer (no copy); null for a tombstone. */
  value: Buffer | null
}

export function* decodeBatch(buffer: ArrayBuffer): Generator<DecodedRecord> {
  const view = new DataView(buffer)
  const count = view.getUint32(0, true)
  let at = HEADER
  for (let i = 0; i < count; i++) {
    const offset = view.getBigInt64(at, true)
    const timestampMs = view.getFloat64(at + 8, true)
    const length = view.getInt32(at + 16, true)
    at += PER_RECORD
    const value = length < 0 ? null : Buffer.from(buffer, at, length)
    if (length > 0) at += length
    yield { offset, timestampMs, value }
  }
}
