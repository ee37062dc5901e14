// An independent reading of the contract's "Input" and "Window semantics" sections, for
// the randomised hostile test: written without workers/record.ts, with other means where
// it can (TextDecoder for UTF-8, toFixed for decimals, a Date round trip for calendars).
import type { Produced } from './harness.js'

export interface OracleRules {
  windowMs: number
  latenessMs: number
  futureMs: number
}

export type Verdict = { reason: string } | { category: string; cents: bigint; eventMs: number }

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const SEED = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)$/
const ISO = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|([+-])(\d\d)(?::?(\d\d))?)$/
const FIRST_MS = Date.parse('0001-01-01T00:00:00Z')
const LAST_MS = Date.parse('9999-12-31T23:59:59.999Z')

/** What one record value is, before the window rules (late/future) look at it. */
export function classify(value: Buffer | null): Verdict {
  if (value === null) return { reason: 'tombstone' }
  if (value.length === 0) return { reason: 'empty' }
  let text: string
  try {
    text = utf8.decode(value)
  } catch {
    return { reason: 'invalid_utf8' }
  }
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch {
    return { reason: 'invalid_json' }
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) return { reason: 'not_object' }
  const o = doc as Record<string, unknown>
  const category = Object.hasOwn(o, 'product_category') ? o.product_category : undefined
  if (typeof category !== 'string' || category === '' || Array.from(category).length > 50 || /[\uD800-\uDFFF]/u.test(category) || category.includes('\0')) {
    return { reason: 'invalid_category' }
  }
  const amount = Object.hasOwn(o, 'amount') ? o.amount : undefined
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount < 0 || amount >= 1e9 || Number(amount.toFixed(2)) !== amount) {
    return { reason: 'invalid_amount' }
  }
  const eventMs = eventTime(Object.hasOwn(o, 'timestamp') ? o.timestamp : undefined)
  if (eventMs === null) return { reason: 'invalid_timestamp' }
  return { category, cents: BigInt(amount.toFixed(2).replace('.', '')), eventMs }
}

function eventTime(raw: unknown): number | null {
  if (typeof raw !== 'string') return null
  const m = SEED.exec(raw) ?? ISO.exec(raw)
  if (!m) return null
  const [, y, mo, d, h, mi, s] = m as unknown as string[]
  const ms = (m[7] ?? '').padEnd(3, '0').slice(0, 3)
  const utc = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`)
  // A date that does not exist does not survive the round trip (or does not parse at all).
  if (Number.isNaN(utc) || new Date(utc).toISOString() !== `${y}-${mo}-${d}T${h}:${mi}:${s}.${ms}Z`) return null
  let offsetMin = 0
  if (m[9]) {
    const oh = Number(m[10])
    const om = Number(m[11] ?? '0')
    if (oh > 23 || om > 59) return null
    offsetMin = (m[9] === '-' ? -1 : 1) * (oh * 60 + om)
  }
  const t = utc - offsetMin * 60_000
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
