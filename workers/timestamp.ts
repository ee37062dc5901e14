import { RejectReason } from '../src/shared/protocol.js'
import { offsetMinutes, UTC, type Zone } from '../src/shared/time-zone.js'
import { clip, typeOf, type Invalid } from './invalid.js'

// The `timestamp` field (docs/contract.md "Input"): the subset of Spark 3.5's string-to-timestamp
// cast (SparkDateTimeUtils.stringToTimestamp, which the seed's JSON reader applied to a
// TimestampType column) that the contract names, read with the same meaning:
//
//   YYYY-MM-DD (T | space) hh:mm:ss [.fraction] [Z | ±hh | ±hh:mm | ±hhmm]
//
// A fraction of any length is truncated to the millisecond (Spark truncates to the
// microsecond; truncating that again gives the same millisecond). Without a zone the time is
// in TIMESTAMP_DEFAULT_ZONE. The forms Spark also takes and tumbler refuses, and why, are
// tabled in docs/rejections.md.
const FORM = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}(?::?\d{2})?)?$/

const FIRST_EVENT_MS = -62_135_596_800_000 // 0001-01-01T00:00:00Z
const LAST_EVENT_MS = 253_402_300_799_999 // 9999-12-31T23:59:59.999Z

/** The last timestamp text parsed, its zone and its time: a stream's records mostly repeat the previous second. */
let lastTimestamp: string | undefined
let lastZone: Zone | undefined
let lastEventMs = 0

/**
 * The event time (Unix ms) of a record's `timestamp` value, or why it is invalid
 * (`invalid_timestamp`). `zone` is TIMESTAMP_DEFAULT_ZONE, for a text without a zone.
 */
export function parseTimestamp(raw: unknown, zone: Zone = UTC): number | Invalid {
  if (raw === lastTimestamp && zone === lastZone && raw !== undefined) return lastEventMs
  const eventMs = parseTimestampText(raw, zone)
  if (typeof eventMs === 'number') {
    lastTimestamp = raw as string
    lastZone = zone
    lastEventMs = eventMs
  }
  return eventMs
}

function parseTimestampText(raw: unknown, zone: Zone): number | Invalid {
  const bad = (detail: string): Invalid => ({ reason: RejectReason.INVALID_TIMESTAMP, detail })
  if (raw === undefined) return bad('timestamp is missing')
  if (typeof raw !== 'string') return bad(`timestamp is ${typeOf(raw)}, not a string`)
  const m = FORM.exec(raw)
  if (!m)
    return bad(`timestamp "${clip(raw, 40)}" is not "YYYY-MM-DD hh:mm:ss" or ISO 8601 (T, optional fraction, optional Z/±hh/±hh:mm/±hhmm)`)
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number]
  if (year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month))
    return bad(`timestamp "${raw}" is not a calendar date`)
  if (hour > 23 || minute > 59 || second > 59) return bad(`timestamp "${raw}" is not a time of day`)
  // Truncated, never rounded: .9999 stays in its second (and its window).
  const millis = m[7] ? Number(m[7].slice(0, 3).padEnd(3, '0')) : 0
  const d = new Date(0)
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0..99 to 1900..1999.
  d.setUTCFullYear(year, month - 1, day)
  d.setUTCHours(hour, minute, second, millis)
  const localMs = d.getTime()
  let eventMs: number
  if (m[8] === undefined) eventMs = zone.instantOf(localMs)
  else {
    const minutes = offsetMinutes(m[8])
    if (minutes === null) return bad(`timestamp "${raw}" has an offset past ±18:00 or with minutes above 59`)
    eventMs = localMs - minutes * 60_000
  }
  // A zone can carry year 0001 into year 0 or 9999 into 10000: Postgres would show year 0 as
  // "1 BC", so only UTC years 0001..9999 are event times.
  if (eventMs < FIRST_EVENT_MS || eventMs > LAST_EVENT_MS) return bad(`timestamp "${raw}" is outside the UTC years 0001..9999`)
  return eventMs
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28
  return [4, 6, 9, 11].includes(month) ? 30 : 31
}
