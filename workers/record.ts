import { recordOf, type RecordIn } from '../src/shared/batch-codec.js'
import { RejectReason } from '../src/shared/protocol.js'
import { UTC, type Zone } from '../src/shared/time-zone.js'
import { amountCents } from './amount.js'
import { clip, typeOf, type Invalid } from './invalid.js'
import { parseTimestamp } from './timestamp.js'

// Parsing and validation of one record value, as the contract's "Input" section says.
// Pure functions: the window actor calls them, the unit tests pin them down.

export interface Transaction {
  category: string
  cents: number
  eventMs: number
}

export type { Invalid }

export type Parsed = Transaction | Invalid

export const isInvalid = (p: Parsed): p is Invalid => 'reason' in p

const MAX_CATEGORY_CODE_POINTS = 50

export function parseRecord(value: Buffer | null, zone: Zone = UTC): Parsed {
  return parseValue(recordOf(value), zone)
}

const BOM = 0xfeff

/**
 * The record's value checked as the contract says: bytes, then JSON, then each field.
 * `zone` is TIMESTAMP_DEFAULT_ZONE, for a `timestamp` written without one.
 */
export function parseValue(r: RecordIn, zone: Zone = UTC): Parsed {
  if (r.length < 0) return { reason: RejectReason.TOMBSTONE, detail: 'record value is null' }
  if (r.length === 0) return { reason: RejectReason.EMPTY, detail: 'record value is empty' }
  let text = r.text()
  if (text === null) return { reason: RejectReason.INVALID_UTF8, detail: 'record value is not valid UTF-8' }
  // RFC 8259 §8.1 lets a parser ignore a leading byte order mark (docs/contract.md "Input": it is skipped).
  if (text.charCodeAt(0) === BOM) text = text.slice(1)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (err) {
    return { reason: RejectReason.INVALID_JSON, detail: clip((err as Error).message) }
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { reason: RejectReason.NOT_OBJECT, detail: `value is ${doc === null ? 'null' : Array.isArray(doc) ? 'an array' : typeof doc}` }
  }
  const record = doc as Record<string, unknown>
  const category = checkCategory(own(record, 'product_category'))
  if (typeof category !== 'string') return category
  const cents = parseAmount(own(record, 'amount'), text)
  if (typeof cents !== 'number') return cents
  const eventMs = parseTimestamp(own(record, 'timestamp'), zone)
  if (typeof eventMs !== 'number') return eventMs
  return { category, cents, eventMs }
}

// JSON.parse makes "__proto__" an own property, but a plain lookup could still reach
// Object.prototype for a missing key ("constructor"): read own properties only.
function own(record: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined
}

export function checkCategory(raw: unknown): string | Invalid {
  const bad = (detail: string): Invalid => ({ reason: RejectReason.INVALID_CATEGORY, detail })
  if (raw === undefined) return bad('product_category is missing')
  if (typeof raw !== 'string') return bad(`product_category is ${typeOf(raw)}, not a string`)
  if (raw.length === 0) return bad('product_category is empty')
  // Postgres counts code points; a lone surrogate has no UTF-8 form and NUL cannot be stored in text.
  if (!raw.isWellFormed()) return bad('product_category has a lone surrogate')
  if (raw.includes('\u0000')) return bad('product_category contains NUL')
  let codePoints = 0
  for (const _ of raw) codePoints++
  if (codePoints > MAX_CATEGORY_CODE_POINTS)
    return bad(`product_category has ${codePoints} characters, more than ${MAX_CATEGORY_CODE_POINTS}`)
  return raw
}

/**
 * Integer cents of the record's `amount`: `raw` is what JSON.parse made of it, `json` the
 * record's text, on which a number is judged (see amountCents in ./amount.ts).
 */
export function parseAmount(raw: unknown, json: string): number | Invalid {
  if (raw === undefined) return { reason: RejectReason.INVALID_AMOUNT, detail: 'amount is missing' }
  if (typeof raw !== 'number') return { reason: RejectReason.INVALID_AMOUNT, detail: `amount is ${typeOf(raw)}, not a JSON number` }
  return amountCents(json)
}
