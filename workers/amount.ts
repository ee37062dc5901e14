import { RejectReason } from '../src/shared/protocol.js'
import { clip, type Invalid } from './invalid.js'

// The `amount` field (docs/contract.md "Input"): judged on the JSON number's text, never on the
// double JSON.parse makes of it (0.3000000000000000001 and 0.3 are one double).

/** Amounts must be below 1e9: at most 9 digits before the point. */
const MAX_INTEGER_DIGITS = 9

const ZERO = 0x30

const isDigit = (c: number): boolean => c >= ZERO && c <= 0x39

function bad(text: string, start: number, end: number, why: string): Invalid {
  return { reason: RejectReason.INVALID_AMOUNT, detail: `amount ${clip(text.slice(start, Math.min(end, start + 41)), 40)} ${why}` }
}

/** Digit k of the sequence integer part then fraction (see centsOfText). */
function digitAt(text: string, k: number, intStart: number, intDigits: number, fracStart: number): number {
  return text.charCodeAt(k < intDigits ? intStart + k : fracStart + k - intDigits) - ZERO
}

/**
 * Integer cents of a JSON number text (RFC 8259 §6), `text` from `start` to `end`, or why it
 * is not an amount (`invalid_amount`): the value with its exponent applied must have at most
 * 2 decimals (`12.300`, `1.255e1`, `0.001e3` are fine; `12.345` is not), must not be negative
 * (`-0` and `-0.0` are 0 cents, `-1e-400` is negative) and must be below 1e9. Computed on the
 * digits, never through a double, so exact; the result has at most 11 digits, exact in a JS
 * number. One pass over character codes and no allocation: it runs once per record.
 */
export function centsOfText(text: string, start = 0, end = text.length): number | Invalid {
  let i = start
  const negative = text.charCodeAt(i) === 0x2d
  if (negative) i++
  const intStart = i
  while (i < end && isDigit(text.charCodeAt(i))) i++
  const intEnd = i
  let fracStart = i
  let fracEnd = i
  if (i < end && text.charCodeAt(i) === 0x2e) {
    fracStart = ++i
    while (i < end && isDigit(text.charCodeAt(i))) i++
    fracEnd = i
    if (fracEnd === fracStart) return bad(text, start, end, 'is not a JSON number')
  }
  let exponent = 0
  if (i < end && (text.charCodeAt(i) | 0x20) === 0x65) {
    i++
    const sign = text.charCodeAt(i) === 0x2d ? -1 : 1
    if (text.charCodeAt(i) === 0x2d || text.charCodeAt(i) === 0x2b) i++
    const expStart = i
    // Past 1e15 the exponent decides alone: a record has far fewer digits than that.
    while (i < end && isDigit(text.charCodeAt(i))) {
      if (exponent < 1e15) exponent = exponent * 10 + (text.charCodeAt(i) - ZERO)
      i++
    }
    if (i === expStart) return bad(text, start, end, 'is not a JSON number')
    exponent *= sign
  }
  if (intEnd === intStart || i !== end) return bad(text, start, end, 'is not a JSON number')
  // The digits, integer part then fraction, as one sequence d[0..count): value = d × 10^(exponent - fraction digits).
  const intDigits = intEnd - intStart
  const count = intDigits + (fracEnd - fracStart)
  let first = 0
  while (first < count && digitAt(text, first, intStart, intDigits, fracStart) === 0) first++
  if (first === count) return 0 // a zero, whatever its sign or exponent
  if (negative) return bad(text, start, end, 'is negative')
  let last = count
  while (digitAt(text, last - 1, intStart, intDigits, fracStart) === 0) last--
  // value = d[first..last) × 10^-scale
  const scale = count - intDigits - (count - last) - exponent
  if (last - first - scale > MAX_INTEGER_DIGITS) return bad(text, start, end, 'is not below 1e9')
  if (scale > 2) return bad(text, start, end, 'has more than 2 decimals')
  let cents = 0
  for (let k = first; k < last; k++) cents = cents * 10 + digitAt(text, k, intStart, intDigits, fracStart)
  return cents * 10 ** (2 - scale)
}

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a

/** Where the finders below put the value they found: json.slice(span.start, span.end). No allocation per record. */
const span = { start: 0, end: 0 }

/**
 * Integer cents of the top-level "amount" of `json` (see centsOfText), which must be a JSON
 * text that JSON.parse accepted, whose root is an object holding "amount" as a number; the
 * last of duplicate keys counts, as JSON.parse keeps it.
 */
export function amountCents(json: string): number | Invalid {
  // Unreachable (JSON.parse found the number, so the scan does): kept with its bytes, not
  // thrown, since a thrown error would restart the actor on the same record again and again.
  if (!findFast(json) && !findByScan(json))
    return { reason: RejectReason.INVALID_AMOUNT, detail: 'amount: its text was not found (a tumbler bug: please report this record)' }
  return centsOfText(json, span.start, span.end)
}

/** The fast finder's answer as text, or undefined where it cannot prove one (for tests). */
export function amountSourceFast(json: string): string | undefined {
  return findFast(json) ? json.slice(span.start, span.end) : undefined
}

/** The exact finder's answer as text (for tests). */
export function amountSourceScan(json: string): string | undefined {
  return findByScan(json) ? json.slice(span.start, span.end) : undefined
}

/**
 * The common case in a few native string searches; false when it cannot prove its answer.
 * Let `at` be the last `"amount"` in the text. When the character before it is not a
 * backslash, that quote is not escaped, so it opens or closes a string; closing one is
 * impossible in valid JSON (`amount` cannot follow a string), so `"amount"` is a string
 * token, and the `:` after it makes it a key. A number follows. When exactly one `}` comes
 * after that number, the key's object closes there, and it is the root: a nested object's `}`
 * and the root's would be two. No later key spells "amount": not literally (`at` is the
 * last), and not with escapes (no backslash follows).
 */
function findFast(json: string): boolean {
  const at = json.lastIndexOf('"amount"')
  if (at < 1 || json.charCodeAt(at - 1) === BACKSLASH) return false
  let i = skipSpace(json, at + 8)
  if (json.charCodeAt(i) !== COLON) return false
  const start = (i = skipSpace(json, i + 1))
  while (i < json.length && isNumberChar(json.charCodeAt(i))) i++
  if (i === start) return false
  if (json.indexOf('\\', i) !== -1) return false
  const close = json.indexOf('}', i)
  if (close === -1 || json.indexOf('}', close + 1) !== -1) return false
  span.start = start
  span.end = i
  return true
}

/**
 * Walks the root object's members and skips every value, whatever its depth, without
 * recursion (a JSON.parse reviver would overflow the stack on 50,000 nested arrays that
 * JSON.parse itself reads). Exact for any valid JSON object text.
 */
function findByScan(json: string): boolean {
  let found = false
  let i = json.indexOf('{') + 1
  for (;;) {
    i = skipSpace(json, i)
    if (json.charCodeAt(i) === 0x7d) return found // }
    const keyStart = i
    i = endOfString(json, i)
    const key = json.slice(keyStart, i)
    const isAmount = key === '"amount"' || (key.includes('\\') && JSON.parse(key) === 'amount')
    i = skipSpace(json, skipSpace(json, i) + 1) // past the colon
    const valueStart = i
    i = endOfValue(json, i)
    if (isAmount) {
      found = true
      span.start = valueStart
      span.end = i
    }
    i = skipSpace(json, i)
    if (json.charCodeAt(i) === 0x2c) i++ // ,
  }
}
function skipSpace(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i)
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i
    i++
  }
}

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d || c === 0x2b || c === 0x65 || c === 0x45
}

/** The index after the string token that starts at i (a quote). */
function endOfString(s: string, i: number): number {
  for (i++; ; i++) {
    const c = s.charCodeAt(i)
    if (c === BACKSLASH) i++
    else if (c === QUOTE) return i + 1
  }
}

/** The index after the value that starts at i. */
function endOfValue(s: string, i: number): number {
  const c = s.charCodeAt(i)
  if (c === QUOTE) return endOfString(s, i)
  if (c === 0x7b || c === 0x5b) {
    let depth = 0
    for (;;) {
      const d = s.charCodeAt(i)
      if (d === QUOTE) {
        i = endOfString(s, i)
        continue
      }
      if (d === 0x7b || d === 0x5b) depth++
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return i + 1
      }
      i++
    }
  }
  // A number, true, false or null runs until a comma, a bracket or space.
  for (;;) {
    const d = s.charCodeAt(i)
    if (d === 0x2c || d === 0x7d || d === 0x5d || d === 0x20 || d === 0x0a || d === 0x0d || d === 0x09 || Number.isNaN(d)) return i
    i++
  }
}
