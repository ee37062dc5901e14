// An independent reading of docs/contract.md's "Input" and "Window semantics" sections, for
// the randomised hostile test: written without workers/record.ts, with other means where
// it can (TextDecoder for UTF-8, JSON.parse's source text and BigInt for amounts, a Date
// round trip for calendars, Date.parse for offsets). TIMESTAMP_DEFAULT_ZONE is UTC here.
import type { Produced } from './broker.js'

export interface OracleRules {
  windowMs: number
  latenessMs: number
  futureMs: number
}

export type Verdict = { reason: string } | { category: string; cents: bigint; eventMs: number }

// fatal: invalid UTF-8 throws; ignoreBOM false (the default): one leading BOM is dropped, as the contract says.
const utf8 = new TextDecoder('utf-8', { fatal: true })
const STAMP = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|([+-])(\d\d):?(\d\d)?)?$/
const FIRST_MS = Date.parse('0001-01-01T00:00:00Z')
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z')

/** What one record value is, before the window rules (late/future) look at it; TIMESTAMP_DEFAULT_ZONE is UTC. */
export function classify(value: Buffer | null): Verdict {
  if (value === null) return { reason: 'tombstone' }
  if (value.length === 0) return { reason: 'empty' }
  let text: string
  try {
    text = utf8.decode(value)
  } catch {
    return { reason: 'invalid_utf8' }
  }
  try {
    JSON.parse(text)
  } catch {
    return { reason: 'invalid_json' }
  }
  // The reviver sees, for each member JSON.parse keeps, the source text of a primitive value.
  // It recurses: a value nested thousands deep overflows the stack, and this oracle says so.
  const amountSources = new Map<unknown, string>()
  const doc: unknown = JSON.parse(text, function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
    if (key === 'amount' && context?.source !== undefined) amountSources.set(this, context.source)
    return value
  })
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { reason: 'not_object' }
  const o = doc as Record<string, unknown>
  const category = Object.hasOwn(o, 'product_category') ? o.product_category : undefined
  if (
    typeof category !== 'string' ||
    category === '' ||
    Array.from(category).length > 50 ||
    /[\uD800-\uDFFF]/u.test(category) ||
    category.includes('\0')
  ) {
    return { reason: 'invalid_category' }
  }
  const amount = Object.hasOwn(o, 'amount') ? o.amount : undefined
  const cents = typeof amount === 'number' ? oracleCents(amountSources.get(o)!) : null
  if (cents === null) return { reason: 'invalid_amount' }
  const eventMs = eventTime(Object.hasOwn(o, 'timestamp') ? o.timestamp : undefined)
  if (eventMs === null) return { reason: 'invalid_timestamp' }
  return { category, cents: BigInt(cents), eventMs }
}

/**
 * Cents of a JSON number text by BigInt arithmetic on its mantissa and exponent, or null when
 * it is negative (and not zero), not below 1e9, or has a third decimal.
 */
export function oracleCents(text: string): number | null {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(text)!
  let v = BigInt(m[2]! + (m[3] ?? ''))
  if (v === 0n) return 0
  if (m[1] === '-') return null
  let exp = BigInt(m[4] ?? '0') - BigInt((m[3] ?? '').length) + 2n // cents = v × 10^exp
  for (; exp < 0n; exp++) {
    if (v % 10n !== 0n) return null // a third decimal
    v /= 10n
  }
  if (exp > 12n) return null
  v *= 10n ** exp
  return v < 100_000_000_000n ? Number(v) : null
}

function eventTime(raw: unknown): number | null {
  if (typeof raw !== 'string') return null
  const m = STAMP.exec(raw)
  if (!m) return null
  const [, date, time, fraction = '', zone = 'Z', sign, oh = '00', om = '00'] = m
  const local = `${date}T${time}.${fraction.padEnd(3, '0').slice(0, 3)}`
  // A date or time that does not exist does not survive the round trip (or does not parse at all).
  const asUtc = Date.parse(`${local}Z`)
  if (Number.isNaN(asUtc) || new Date(asUtc).toISOString() !== `${local}Z`) return null
  if (sign && (Number(om) > 59 || Number(oh) * 60 + Number(om) > 18 * 60)) return null
  const t = Date.parse(`${local}${zone === 'Z' ? 'Z' : `${sign}${oh}:${om}`}`)
  return t < FIRST_MS || t > LAST_MS ? null : t
}

export interface OracleTruth {
  /** "windowStartMs|category" → cents and count */
  sales: Map<string, { cents: bigint; count: number }>
  /** "partition:offset" → reason */
  rejected: Map<string, string>
  counted: number
}

/**
 * Applies the window rules per partition in offset order (records are in produce order).
 * A record's offset is its index in its partition unless it says otherwise (a log with a gap).
 */
export function oracleTruth(records: (Produced & { offset?: number })[], rules: OracleRules): OracleTruth {
  const sales = new Map<string, { cents: bigint; count: number }>()
  const rejected = new Map<string, string>()
  const nextOffset = new Map<number, number>()
  const maxEvent = new Map<number, number>()
  let counted = 0
  for (const r of records) {
    const offset = r.offset ?? nextOffset.get(r.partition) ?? 0
    nextOffset.set(r.partition, offset + 1)
    const key = `${r.partition}:${offset}`
    const v = classify(r.value === null ? null : Buffer.from(r.value))
    if ('reason' in v) {
      rejected.set(key, v.reason)
      continue
    }
    if (v.eventMs - r.timestampMs > rules.futureMs) {
      rejected.set(key, 'future')
      continue
    }
    const start = Math.floor(v.eventMs / rules.windowMs) * rules.windowMs
    const max = maxEvent.get(r.partition)
    if (max !== undefined && start + rules.windowMs <= max - rules.latenessMs) {
      rejected.set(key, 'late')
      continue
    }
    if (max === undefined || v.eventMs > max) maxEvent.set(r.partition, v.eventMs)
    const s = sales.get(`${start}|${v.category}`) ?? { cents: 0n, count: 0 }
    s.cents += v.cents
    s.count++
    sales.set(`${start}|${v.category}`, s)
    counted++
  }
  return { sales, rejected, counted }
}
