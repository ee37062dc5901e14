import { recordOf, type RecordIn } from '../src/batch-codec.js'
import { RejectReason } from '../src/protocol.js'

// Parsing and validation of one record value, as the contract's "Input" section says.
// Pure functions: the window actor calls them, the unit tests pin them down.

export interface Transaction {
  category: string
  cents: number
  eventMs: number
}

export interface Invalid {
  reason: RejectReason
  detail: string
}

export type Parsed = Transaction | Invalid

export const isInvalid = (p: Parsed): p is Invalid => 'reason' in p

const MAX_CATEGORY_CODE_POINTS = 50
const AMOUNT_LIMIT = 1e9

export function parseRecord(value: Buffer | null): Parsed {
  return parseValue(recordOf(value))
}

/** The record's value checked as the contract says: bytes, then JSON, then each field. */
export function parseValue(r: RecordIn): Parsed {
  if (r.length < 0) return { reason: RejectReason.TOMBSTONE, detail: 'record value is null' }
  if (r.length === 0) return { reason: RejectReason.EMPTY, detail: 'record value is empty' }
  const text = r.text()
  if (text === null) return { reason: RejectReason.INVALID_UTF8, detail: 'record value is not valid UTF-8' }
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
  const cents = parseAmount(own(record, 'amount'))
  if (typeof cents !== 'number') return cents
  const eventMs = parseTimestamp(own(record, 'timestamp'))
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
  if (codePoints > MAX_CATEGORY_CODE_POINTS) return bad(`product_category has ${codePoints} characters, more than ${MAX_CATEGORY_CODE_POINTS}`)
  return raw
}

/** Returns integer cents. The double must be exactly the nearest double of a 2-decimal number. */
export function parseAmount(raw: unknown): number | Invalid {
  const bad = (detail: string): Invalid => ({ reason: RejectReason.INVALID_AMOUNT, detail })
  if (raw === undefined) return bad('amount is missing')
  if (typeof raw !== 'number') return bad(`amount is ${typeOf(raw)}, not a JSON number`)
  if (!Number.isFinite(raw)) return bad('amount is not finite')
  if (raw < 0) return bad(`amount ${raw} is negative`)
  if (raw >= AMOUNT_LIMIT) return bad(`amount ${raw} is not below ${AMOUNT_LIMIT}`)
  const cents = Math.round(raw * 100)
  if (cents / 100 !== raw) return bad(`amount ${raw} has more than 2 decimals`)
  return cents
}

// The seed's form (space, no zone, UTC) or ISO 8601 with T and a zone (Z or ±HH:MM / ±HHMM).
const SEED_FORM = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/
const ISO_FORM = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)$/

/** The last timestamp text parsed and its time: a stream's records mostly repeat the previous second. */
let lastTimestamp: string | undefined
let lastEventMs = 0

export function parseTimestamp(raw: unknown): number | Invalid {
  if (raw === lastTimestamp && raw !== undefined) return lastEventMs
  const eventMs = parseTimestampText(raw)
  if (typeof eventMs === 'number') {
    lastTimestamp = raw as string
    lastEventMs = eventMs
  }
  return eventMs
}

function parseTimestampText(raw: unknown): number | Invalid {
  const bad = (detail: string): Invalid => ({ reason: RejectReason.INVALID_TIMESTAMP, detail })
  if (raw === undefined) return bad('timestamp is missing')
  if (typeof raw !== 'string') return bad(`timestamp is ${typeOf(raw)}, not a string`)
  const m = SEED_FORM.exec(raw) ?? ISO_FORM.exec(raw)
  if (!m) return bad(`timestamp "${clip(raw, 40)}" is neither "YYYY-MM-DD HH:MM:SS" nor ISO 8601 with a zone`)
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return bad(`timestamp "${raw}" is not a calendar date`)
  if (hour > 23 || minute > 59 || second > 59) return bad(`timestamp "${raw}" is not a time of day`)
  const millis = m[7] ? Math.floor(Number(`0.${m[7]}`) * 1000) : 0
  let offsetMin = 0
  const zone = m[8]
  if (zone && zone !== 'Z') {
    const digits = zone.slice(1).replace(':', '')
    const oh = Number(digits.slice(0, 2))
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0
    if (oh > 23 || om > 59) return bad(`timestamp "${raw}" has an impossible offset`)
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const d = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, millis)
  const eventMs = d.getTime() - offsetMin * 60_000
  // Year 0000 (or an offset reaching past year 1 or 9999) has no seed-form UTC spelling, and
  // Postgres would show its window as "BC": only UTC years 0001..9999 are event times.
  if (eventMs < FIRST_EVENT_MS || eventMs > LAST_EVENT_MS) return bad(`timestamp "${raw}" is outside the UTC years 0001..9999`)
  return eventMs
}

const FIRST_EVENT_MS = -62_135_596_800_000 // 0001-01-01T00:00:00Z
const LAST_EVENT_MS = 253_402_300_799_999 // 9999-12-31T23:59:59.999Z

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}

function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/**
 * A detail may quote the record (JSON.parse's message does): Postgres text cannot hold NUL,
 * so it is spelled out, and a cut through a surrogate pair is made well-formed.
 */
export function clip(s: string, n = 200): string {
  const short = s.length > n ? s.slice(0, n) + '…' : s
  return short.replaceAll('\u0000', '\\u0000').toWellFormed()
}
