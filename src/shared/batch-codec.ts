import { isAscii, isUtf8 } from 'node:buffer'

// Records cross from the consumer (main thread) to an actor as one ArrayBuffer that is
// transferred, not cloned: one allocation and one memcpy per record value, no object
// graph for structured clone to walk.
//
// Layout (little endian): u32 count; per record f64 offset | f64 Kafka timestamp ms |
// i32 value length (-1 = null value); then every value's bytes, one after the other. The
// values in one block let the actor check and decode a whole batch's text at once.
//
// Offsets travel as doubles, exact up to 2^53 - 1 (285 years of a partition at 1M records/s);
// a larger one is refused rather than rounded.

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
  let valueAt = HEADER + records.length * PER_RECORD
  for (const r of records) {
    const offset = Number(r.offset)
    if (!(offset <= Number.MAX_SAFE_INTEGER))
      throw new RangeError(`Kafka offset ${r.offset} is past 2^53 - 1, where tumbler's offsets stop being exact`)
    view.setFloat64(at, offset, true)
    view.setFloat64(at + 8, Number(r.timestamp), true)
    if (r.value === null) view.setInt32(at + 16, -1, true)
    else {
      view.setInt32(at + 16, r.value.length, true)
      bytes.set(r.value, valueAt)
      valueAt += r.value.length
    }
    at += PER_RECORD
  }
  return buffer
}

/** One record as the window actor reads it; BatchReader is one, moved along a batch. */
export interface RecordIn {
  readonly offset: number
  readonly timestampMs: number
  /** Bytes in the value; -1 for a null value (tombstone). */
  readonly length: number
  /** The value as text, or null if it is not valid UTF-8 (asked only when length > 0). */
  text(): string | null
  /**
   * The value's bytes, not copied: valid only until the reader moves on (copy what you keep);
   * null for a tombstone.
   */
  value(): Uint8Array | null
}

/** A record from a plain buffer (tests, and parseRecord). */
export function recordOf(value: Buffer | null, offset = 0, timestampMs = 0): RecordIn {
  return {
    offset,
    timestampMs,
    length: value === null ? -1 : value.length,
    text: () => (value !== null && isUtf8(value) ? value.toString('utf8') : null),
    value: () => value,
  }
}

/**
 * A cursor over an encoded batch: `while (reader.next())` visits every record in order, with
 * no object per record. The values' bytes are checked once per batch when they can be: all
 * ASCII (the common case) decodes as latin1, the cheapest decode; valid UTF-8 throughout, with
 * every value starting on a character boundary, means every value is valid UTF-8 by itself.
 */
export class BatchReader implements RecordIn {
  readonly count: number
  offset = 0
  timestampMs = 0
  length = -1
  private readonly view: DataView
  private readonly bytes: Buffer
  private readonly valuesStart: number
  /** Every value is ASCII. */
  private readonly ascii: boolean
  /** Every value is known to be valid UTF-8. */
  private readonly utf8: boolean
  private index = -1
  private valueAt: number

  constructor(buffer: ArrayBuffer) {
    this.view = new DataView(buffer)
    this.bytes = Buffer.from(buffer)
    this.count = this.view.getUint32(0, true)
    this.valuesStart = this.valueAt = HEADER + this.count * PER_RECORD
    const values = this.bytes.subarray(this.valuesStart)
    this.ascii = isAscii(values)
    this.utf8 = this.ascii || (isUtf8(values) && this.valuesStartOnBoundaries())
  }

  private valuesStartOnBoundaries(): boolean {
    let valueAt = this.valuesStart
    for (let i = 0; i < this.count; i++) {
      const length = this.view.getInt32(HEADER + i * PER_RECORD + 16, true)
      if (length > 0) {
        if ((this.bytes[valueAt]! & 0xc0) === 0x80) return false // a continuation byte: the value starts mid-character
        valueAt += length
      }
    }
    return true
  }

  next(): boolean {
    if (this.length > 0) this.valueAt += this.length
    if (++this.index >= this.count) return false
    const at = HEADER + this.index * PER_RECORD
    this.offset = this.view.getFloat64(at, true)
    this.timestampMs = this.view.getFloat64(at + 8, true)
    this.length = this.view.getInt32(at + 16, true)
    return true
  }

  text(): string | null {
    const start = this.valueAt
    const end = start + this.length
    if (this.ascii) return this.bytes.toString('latin1', start, end)
    if (this.utf8 || isUtf8(this.bytes.subarray(start, end))) return this.bytes.toString('utf8', start, end)
    return null
  }

  value(): Uint8Array | null {
    return this.length < 0 ? null : this.bytes.subarray(this.valueAt, this.valueAt + this.length)
  }
}
