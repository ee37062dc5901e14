// Bad and odd record values, each with the outcome the contract demands: counted into a
// given (window, category) with given cents, or rejected with a given reason. The corpus
// is one partition's stream in this order: watermark-sensitive cases (old years, late,
// future) are placed where their outcome is decided by the cases before them.
import { seedTimestamp } from '../src/producer/transactions.js'

export const WINDOW_MS = 60_000
/** The window most valid cases fall into; every counted event stays below T0 + 120 s, so it stays open. */
export const T0 = Date.UTC(2026, 0, 1, 0, 0, 0)
/** Kafka timestamp of a case that does not set its own: counted events are within FUTURE_SECONDS of it. */
export const KAFKA_TS = T0 + 120_000

export type Outcome = { counted: { category: string; cents: number; eventMs: number } } | { rejected: string }

export interface HostileCase {
  kind: string
  value: Buffer | null
  /** Kafka record timestamp; KAFKA_TS if not set. */
  kafkaTsMs?: number
  expect: Outcome
}

/** The seed's timestamp form: "YYYY-MM-DD HH:MM:SS", UTC. */

const text = (s: string): Buffer => Buffer.from(s, 'utf8')
const doc = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  transaction_id: 'tx-1',
  user_id: 'user_1',
  product_category: 'Books',
  product_name: 'A book',
  amount: 12.5,
  timestamp: seedTimestamp(T0 + 5_000),
  payment_method: 'card',
  ...over,
})
/** JSON of a seed record with some fields replaced; a field set to undefined is left out. */
const rec = (over: Record<string, unknown> = {}): Buffer => text(JSON.stringify(doc(over)))
const counted = (category: string, cents: number, eventMs: number): Outcome => ({ counted: { category, cents, eventMs } })
const rejected = (reason: string): Outcome => ({ rejected: reason })
const ok = (category: string, cents: number, eventMs = T0 + 5_000): Outcome => counted(category, cents, eventMs)

const BOM = Buffer.from([0xef, 0xbb, 0xbf])
const GOOD = '{"product_category":"Books","amount":12.5,"timestamp":"2026-01-01 00:00:05"}'
const YEAR_1 = -62_135_596_800_000 // 0001-01-01T00:00:00Z (Date.UTC would map year 1 to 1901)
const MB = 1_000_000 // Kafka's default message.max.bytes is 1 MiB + 12: the record must fit with its framing

export function hostileCorpus(): HostileCase[] {
  const c: HostileCase[] = []
  const add = (kind: string, value: Buffer | null, expect: Outcome, kafkaTsMs?: number) =>
    c.push({ kind, value, expect, ...(kafkaTsMs === undefined ? {} : { kafkaTsMs }) })

  // Old event times first: each moves the watermark only as far as its own time, so all count.
  add(
    'year 0001, the first storable instant',
    rec({ product_category: 'Antiques', timestamp: '0001-01-01 00:00:00' }),
    counted('Antiques', 1250, YEAR_1),
  )
  add(
    'before 1970 (1969-12-31 23:59:59)',
    rec({ product_category: 'Antiques', timestamp: '1969-12-31 23:59:59' }),
    counted('Antiques', 1250, -1000),
  )
  add('the Unix epoch itself', rec({ product_category: 'Antiques', timestamp: '1970-01-01T00:00:00Z' }), counted('Antiques', 1250, 0))

  // The value itself.
  add('tombstone (null value)', null, rejected('tombstone'))
  add('empty value', Buffer.alloc(0), rejected('empty'))
  add('invalid UTF-8: lone continuation byte', Buffer.from([0x80]), rejected('invalid_utf8'))
  add('invalid UTF-8: overlong "/" (C0 AF)', Buffer.from([0x7b, 0xc0, 0xaf, 0x7d]), rejected('invalid_utf8'))
  add(
    'invalid UTF-8: CESU-8 surrogate in a string',
    Buffer.concat([
      text('{"product_category":"'),
      Buffer.from([0xed, 0xa0, 0x80]),
      text('","amount":1,"timestamp":"2026-01-01 00:00:05"}'),
    ]),
    rejected('invalid_utf8'),
  )
  add(
    'invalid UTF-8: 0xFF inside a valid record',
    Buffer.concat([text('{"product_category":"Bo'), Buffer.from([0xff]), text('oks","amount":1,"timestamp":"2026-01-01 00:00:05"}')]),
    rejected('invalid_utf8'),
  )
  add(
    'invalid UTF-8: Latin-1 "Café"',
    Buffer.concat([text('{"product_category":"Caf'), Buffer.from([0xe9]), text('","amount":1,"timestamp":"2026-01-01 00:00:05"}')]),
    rejected('invalid_utf8'),
  )
  const cafe = text(JSON.stringify(doc({ product_category: 'Café ☕' })))
  add('invalid UTF-8: record cut inside a multi-byte character', cafe.subarray(0, cafe.indexOf(text('☕')) + 2), rejected('invalid_utf8'))
  add('UTF-16LE encoded JSON (NUL bytes are valid UTF-8)', Buffer.from(GOOD, 'utf16le'), rejected('invalid_json'))
  add('not JSON: plain text', text('hello, world'), rejected('invalid_json'))
  add('not JSON: starts with a NUL byte', Buffer.concat([Buffer.from([0]), text(GOOD)]), rejected('invalid_json'))
  add('truncated JSON', text(GOOD.slice(0, -1)), rejected('invalid_json'))
  add('JSON with single quotes', text(GOOD.replaceAll('"', "'")), rejected('invalid_json'))
  add('JSON with a trailing comma', text(GOOD.replace('}', ',}')), rejected('invalid_json'))
  add('JSON with a comment', text(`/* hi */ ${GOOD}`), rejected('invalid_json'))
  add('two JSON objects back to back', text(GOOD + GOOD), rejected('invalid_json'))
  add('newline-delimited JSON (two records in one value)', text(`${GOOD}\n${GOOD}\n`), rejected('invalid_json'))
  add('amount NaN literal', text(GOOD.replace('12.5', 'NaN')), rejected('invalid_json'))
  add('amount Infinity literal', text(GOOD.replace('12.5', 'Infinity')), rejected('invalid_json'))
  add('amount -Infinity literal', text(GOOD.replace('12.5', '-Infinity')), rejected('invalid_json'))
  add('amount hexadecimal 0x10', text(GOOD.replace('12.5', '0x10')), rejected('invalid_json'))
  add('amount with a leading zero 012.5', text(GOOD.replace('12.5', '012.5')), rejected('invalid_json'))
  add('amount with a leading plus +12.5', text(GOOD.replace('12.5', '+12.5')), rejected('invalid_json'))
  add('UTF-8 BOM before the JSON (skipped)', Buffer.concat([BOM, text(GOOD)]), ok('Books', 1250))
  add(
    'UTF-8 BOM before a record with a bad category (payload keeps the BOM)',
    Buffer.concat([BOM, rec({ product_category: '' })]),
    rejected('invalid_category'),
  )
  add('two UTF-8 BOMs before the JSON', Buffer.concat([BOM, BOM, text(GOOD)]), rejected('invalid_json'))
  add('a UTF-8 BOM after whitespace', Buffer.concat([text(' '), BOM, text(GOOD)]), rejected('invalid_json'))
  add('only whitespace', text(' \t\r\n '), rejected('invalid_json'))
  add('whitespace around the JSON', text(` \r\n\t${GOOD}\n\n  `), ok('Books', 1250))
  add('JSON array', text('[1,2,3]'), rejected('not_object'))
  add('JSON array holding a valid record', text(`[${GOOD}]`), rejected('not_object'))
  add('JSON string', text('"Books"'), rejected('not_object'))
  add('JSON number', text('12.5'), rejected('not_object'))
  add('JSON null', text('null'), rejected('not_object'))
  add('JSON true', text('true'), rejected('not_object'))
  add('100,000 nested arrays', text('['.repeat(100_000) + ']'.repeat(100_000)), rejected('not_object'))
  add('100,000 nested objects', text('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000)), rejected('invalid_category'))
  add(
    'valid record with 50,000 nested arrays in an extra field',
    text(GOOD.replace('}', `,"junk":${'['.repeat(50_000)}${']'.repeat(50_000)}}`)),
    ok('Books', 1250),
  )

  // Fields present or not, extra, typed wrongly.
  add('empty object', text('{}'), rejected('invalid_category'))
  add('only the three deciding fields', text(GOOD), ok('Books', 1250))
  add('extra fields of every JSON type', rec({ extra: { a: [1, null, true, 'x'] }, n: 1e308, s: '', b: false, z: null }), ok('Books', 1250))
  add('category missing', rec({ product_category: undefined }), rejected('invalid_category'))
  add('amount missing', rec({ amount: undefined }), rejected('invalid_amount'))
  add('timestamp missing', rec({ timestamp: undefined }), rejected('invalid_timestamp'))
  add('field names in another case (Amount)', text(GOOD.replace('"amount"', '"Amount"')), rejected('invalid_amount'))
  add('category a number', rec({ product_category: 42 }), rejected('invalid_category'))
  add('category null', rec({ product_category: null }), rejected('invalid_category'))
  add('category true', rec({ product_category: true }), rejected('invalid_category'))
  add('category an array', rec({ product_category: ['Books'] }), rejected('invalid_category'))
  add('category an object', rec({ product_category: { name: 'Books' } }), rejected('invalid_category'))
  add('category empty', rec({ product_category: '' }), rejected('invalid_category'))
  add('category 51 characters', rec({ product_category: 'x'.repeat(51) }), rejected('invalid_category'))
  add('category 50 characters', rec({ product_category: 'y'.repeat(50) }), ok('y'.repeat(50), 1250))
  add('category 50 emoji (200 bytes, 50 code points)', rec({ product_category: '😀'.repeat(50) }), ok('😀'.repeat(50), 1250))
  add('category 51 emoji', rec({ product_category: '😀'.repeat(51) }), rejected('invalid_category'))
  add('category an emoji ZWJ sequence', rec({ product_category: '👨‍👩‍👧‍👦 Family' }), ok('👨‍👩‍👧‍👦 Family', 1250))
  add(
    'category with combining marks and RTL text',
    rec({ product_category: 'e\u0301\u0301 كتب \u202e' }),
    ok('e\u0301\u0301 كتب \u202e', 1250),
  )
  add(
    'category SQL injection',
    rec({ product_category: "Robert'); DROP TABLE category_sales;--" }),
    ok("Robert'); DROP TABLE category_sales;--", 1250),
  )
  add(
    'category that is COPY syntax (tab, newline, \\N, \\.)',
    rec({ product_category: 'a\tb\nc\r\\N\\.\\' }),
    ok('a\tb\nc\r\\N\\.\\', 1250),
  )
  add(
    'category with control characters',
    rec({ product_category: '\u0001\u0007\b\f\u001b[31mred\u007f' }),
    ok('\u0001\u0007\b\f\u001b[31mred\u007f', 1250),
  )
  add('category "__proto__"', rec({ product_category: '__proto__' }), ok('__proto__', 1250))
  add('category "constructor"', rec({ product_category: 'constructor' }), ok('constructor', 1250))
  add('category a lone surrogate (\\ud800 escape)', text(GOOD.replace('Books', '\\ud800')), rejected('invalid_category'))
  add('category with NUL (\\u0000 escape)', text(GOOD.replace('Books', 'Bo\\u0000oks')), rejected('invalid_category'))
  add('category of 1,000,000 characters', rec({ product_category: 'c'.repeat(MB - 100) }), rejected('invalid_category'))

  add('amount a string "12.50"', rec({ amount: '12.50' }), rejected('invalid_amount'))
  add('amount the string "NaN"', rec({ amount: 'NaN' }), rejected('invalid_amount'))
  add('amount the string "Infinity"', rec({ amount: 'Infinity' }), rejected('invalid_amount'))
  add('amount null', rec({ amount: null }), rejected('invalid_amount'))
  add('amount true', rec({ amount: true }), rejected('invalid_amount'))
  add('amount an array', rec({ amount: [12.5] }), rejected('invalid_amount'))
  add('amount an object', rec({ amount: { value: 12.5 } }), rejected('invalid_amount'))
  add('amount 1e999 (parses to Infinity)', text(GOOD.replace('12.5', '1e999')), rejected('invalid_amount'))
  add('amount of 400 digits', text(GOOD.replace('12.5', '9'.repeat(400))), rejected('invalid_amount'))
  add('amount negative -0.01', rec({ amount: -0.01 }), rejected('invalid_amount'))
  add('amount -0 (it is zero)', text(GOOD.replace('12.5', '-0')), ok('Books', 0))
  add('amount 0', rec({ amount: 0 }), ok('Books', 0))
  add('amount 12.345 (3 decimals)', rec({ amount: 12.345 }), rejected('invalid_amount'))
  add('amount 1e-7', text(GOOD.replace('12.5', '1e-7')), rejected('invalid_amount'))
  add('amount 1e9', text(GOOD.replace('12.5', '1e9')), rejected('invalid_amount'))
  add('amount 999999999.99 (the largest)', text(GOOD.replace('12.5', '999999999.99')), ok('Books', 99_999_999_999))
  add('amount 12.30 written with a trailing zero', text(GOOD.replace('12.5', '12.30')), ok('Books', 1230))
  add('amount in exponent form 1.5e2', text(GOOD.replace('12.5', '1.5e2')), ok('Books', 15_000))
  add('amount 0.3', rec({ amount: 0.3 }), ok('Books', 30))
  add('amount 0.30000000000000004 (a float sum 0.1 + 0.2)', rec({ amount: 0.1 + 0.2 }), rejected('invalid_amount'))
  add('amount 0.3000000000000000001 (its double is 0.3)', text(GOOD.replace('12.5', '0.3000000000000000001')), rejected('invalid_amount'))
  add('amount -1e-400 (negative; its double is -0)', text(GOOD.replace('12.5', '-1e-400')), rejected('invalid_amount'))
  add('amount 1e-400 (its double is 0)', text(GOOD.replace('12.5', '1e-400')), rejected('invalid_amount'))
  add('amount -0.0', text(GOOD.replace('12.5', '-0.0')), ok('Books', 0))
  add('amount 12.300', text(GOOD.replace('12.5', '12.300')), ok('Books', 1230))
  add('amount 1.255e1', text(GOOD.replace('12.5', '1.255e1')), ok('Books', 1255))
  add('amount 0.001e3', text(GOOD.replace('12.5', '0.001e3')), ok('Books', 100))
  add('amount 99999999999e-2 (the largest)', text(GOOD.replace('12.5', '99999999999e-2')), ok('Books', 99_999_999_999))

  add('timestamp a number (epoch ms)', rec({ timestamp: T0 + 5_000 }), rejected('invalid_timestamp'))
  add('timestamp null', rec({ timestamp: null }), rejected('invalid_timestamp'))
  add('timestamp empty', rec({ timestamp: '' }), rejected('invalid_timestamp'))
  add('timestamp an object', rec({ timestamp: { $date: '2026-01-01' } }), rejected('invalid_timestamp'))
  add('timestamp date only', rec({ timestamp: '2026-01-01' }), rejected('invalid_timestamp'))
  add('timestamp ISO without a zone (TIMESTAMP_DEFAULT_ZONE, UTC)', rec({ timestamp: '2026-01-01T00:00:05' }), ok('Books', 1250))
  add('timestamp 2026-02-30', rec({ timestamp: '2026-02-30 00:00:05' }), rejected('invalid_timestamp'))
  add('timestamp 2025-02-29 (not a leap year)', rec({ timestamp: '2025-02-29 00:00:05' }), rejected('invalid_timestamp'))
  add('timestamp month 13', rec({ timestamp: '2026-13-01 00:00:05' }), rejected('invalid_timestamp'))
  add('timestamp hour 24', rec({ timestamp: '2026-01-01 24:00:00' }), rejected('invalid_timestamp'))
  add('timestamp leap second :60', rec({ timestamp: '2026-01-01T00:00:60Z' }), rejected('invalid_timestamp'))
  add('timestamp lowercase t and z', rec({ timestamp: '2026-01-01t00:00:05z' }), rejected('invalid_timestamp'))
  add('timestamp offset +24:00', rec({ timestamp: '2026-01-01T00:00:05+24:00' }), rejected('invalid_timestamp'))
  add('timestamp with a trailing newline', rec({ timestamp: '2026-01-01 00:00:05\n' }), rejected('invalid_timestamp'))
  add('timestamp in full-width digits', rec({ timestamp: '２０２６-01-01 00:00:05' }), rejected('invalid_timestamp'))
  add('timestamp with a 2-digit year', rec({ timestamp: '26-01-01 00:00:05' }), rejected('invalid_timestamp'))
  add('timestamp with a 5-digit year', rec({ timestamp: '+10000-01-01T00:00:00Z' }), rejected('invalid_timestamp'))
  add('timestamp RFC 2822', rec({ timestamp: 'Thu, 01 Jan 2026 00:00:05 GMT' }), rejected('invalid_timestamp'))
  add('timestamp with a NUL (\\u0000) in it', rec({ timestamp: '2026-01-01\u000000:00:05' }), rejected('invalid_timestamp'))
  add('timestamp year 0000', rec({ timestamp: '0000-06-01 00:00:00' }), rejected('invalid_timestamp'))
  add(
    'timestamp 0001-01-01 with an offset reaching into year 0',
    rec({ timestamp: '0001-01-01T00:30:00+01:00' }),
    rejected('invalid_timestamp'),
  )
  add('timestamp of 1,000,000 characters', rec({ timestamp: '2'.repeat(MB - 200) }), rejected('invalid_timestamp'))
  add('timestamp ISO with a +05:30 offset', rec({ timestamp: '2026-01-01T05:30:10+05:30' }), ok('Books', 1250, T0 + 10_000))
  add('timestamp ISO with 9 fraction digits', rec({ timestamp: '2026-01-01T00:00:59.999999999Z' }), ok('Books', 1250, T0 + 59_999))
  add('timestamp a second before the window', rec({ timestamp: '2025-12-31T23:59:59-00:00' }), ok('Books', 1250, T0 - 1_000))
  add('timestamp the seed form with microseconds', rec({ timestamp: '2026-01-01 00:00:05.123456' }), ok('Books', 1250, T0 + 5_123))
  add(
    'timestamp .9999 truncated, not rounded into the next window',
    rec({ timestamp: '2026-01-01T00:00:59.9999' }),
    ok('Books', 1250, T0 + 59_999),
  )
  add('timestamp with a space and a zone', rec({ timestamp: '2026-01-01 01:00:05+01' }), ok('Books', 1250))
  add('timestamp with a ±hhmm offset', rec({ timestamp: '2025-12-31T19:00:05-0500' }), ok('Books', 1250))
  add('timestamp offset past +18:00', rec({ timestamp: '2026-01-01T19:00:05+18:30' }), rejected('invalid_timestamp'))
  add('timestamp with a zone name (Spark takes it)', rec({ timestamp: '2026-01-01 00:00:05 UTC' }), rejected('invalid_timestamp'))
  add('timestamp one-digit fields (Spark takes them)', rec({ timestamp: '2026-1-1 0:0:5' }), rejected('invalid_timestamp'))
  add('timestamp with surrounding spaces (Spark trims them)', rec({ timestamp: ' 2026-01-01 00:00:05 ' }), rejected('invalid_timestamp'))
  add('timestamp a numeric string', rec({ timestamp: '1767225605' }), rejected('invalid_timestamp'))
  add('timestamp JSON number of seconds (Spark takes it)', rec({ timestamp: 1767225605 }), rejected('invalid_timestamp'))

  // Prototype keys, duplicate keys.
  add('the three fields only inside "__proto__"', text(`{"__proto__":${GOOD}}`), rejected('invalid_category'))
  add(
    '"__proto__" and "constructor" keys beside valid fields',
    text(GOOD.replace('{', '{"__proto__":{"amount":99},"constructor":{"prototype":{"amount":99}},')),
    ok('Books', 1250),
  )
  add('duplicate keys: the last amount wins', text(GOOD.replace('"amount":12.5', '"amount":1,"amount":2.5')), ok('Books', 250))
  add(
    'duplicate keys: a bad last amount rejects',
    text(GOOD.replace('"amount":12.5', '"amount":2.5,"amount":"2.5"')),
    rejected('invalid_amount'),
  )
  add(
    'duplicate keys: 3 decimals last rejects',
    text(GOOD.replace('"amount":12.5', '"amount":0.3,"amount":0.3000000000000000001')),
    rejected('invalid_amount'),
  )
  add(
    'duplicate keys: 2 decimals last counts',
    text(GOOD.replace('"amount":12.5', '"amount":0.3000000000000000001,"amount":0.3')),
    ok('Books', 30),
  )
  add(
    'an escaped key "amoun\\u0074" after "amount" wins',
    text(GOOD.replace('"amount":12.5', '"amount":12.5,"amoun\\u0074":0.3000000000000000001')),
    rejected('invalid_amount'),
  )
  add(
    '"amount" after an escaped "\\u0061mount" wins',
    text(GOOD.replace('"amount":12.5', '"\\u0061mount":0.3000000000000000001,"amount":2.25')),
    ok('Books', 225),
  )
  add(
    'a nested "amount" after the top-level one is not it',
    text(GOOD.replace('}', ',"x":{"amount":0.3}}').replace('12.5', '0.3000000000000000001')),
    rejected('invalid_amount'),
  )
  add('a nested "amount" with 3 decimals is not it', text(GOOD.replace('}', ',"x":[{"amount":1e-400}]}')), ok('Books', 1250))
  add('"amount": inside a later string value is not it', text(GOOD.replace('}', ',"note":"\\"amount\\":1e-400 }"}')), ok('Books', 1250))
  add('"amount" as a later string value is not it', text(GOOD.replace('}', ',"note":"amount"}')), ok('Books', 1250))
  add(
    'nested "amount"s 2,000 deep after the top-level one',
    text(GOOD.replace('}', `,"junk":${'[{"amount":1e-400},'.repeat(2_000)}1${']'.repeat(2_000)}}`)),
    ok('Books', 1250),
  )

  // Size.
  add('a valid record of 1,000,000 bytes', rec({ product_name: 'n'.repeat(MB - 250) }), ok('Books', 1250))
  add('1,000,000 bytes of random garbage', randomGarbage(MB, 7), rejected('invalid_utf8'))

  // Kafka timestamps a producer may set (the broker takes any past int64).
  add(
    'event exactly FUTURE_SECONDS after its Kafka timestamp',
    rec({ timestamp: seedTimestamp(T0 + 119_000) }),
    counted('Books', 1250, T0 + 119_000),
    T0 + 119_000 - 300_000,
  )
  add(
    'event 1 ms more than FUTURE_SECONDS ahead',
    rec({ timestamp: new Date(T0 + 119_001).toISOString() }),
    rejected('future'),
    T0 + 119_000 - 300_000,
  )
  add('Kafka timestamp -1 (no timestamp)', rec(), rejected('future'), -1)
  add('Kafka timestamp 0 (1970)', rec(), rejected('future'), 0)
  add('Kafka timestamp -9e15 on a valid record', rec(), rejected('future'), -9e15)
  add('Kafka timestamp -9e15 on a bad record', text('not json'), rejected('invalid_json'), -9e15)

  // The watermark is now T0 + 119 s − 60 s: windows ending at or before it are closed.
  add('late: 3 minutes behind', rec({ timestamp: seedTimestamp(T0 - 180_000) }), rejected('late'))
  add(
    'both late and future: future is decided first',
    rec({ timestamp: seedTimestamp(T0 - 180_000) }),
    rejected('future'),
    T0 - 180_000 - 301_000,
  )
  add('late: year 0001 once the watermark is in 2026', rec({ timestamp: '0001-01-01 00:00:00' }), rejected('late'))
  add('late: 1969 once the watermark is in 2026', rec({ timestamp: '1969-12-31 23:59:59' }), rejected('late'))
  add('year 9999 (with a 2026 Kafka timestamp)', rec({ timestamp: '9999-12-31 23:59:59' }), rejected('future'))
  add('far future: year 2100', rec({ timestamp: '2100-01-01T00:00:00Z' }), rejected('future'))
  // Had the two future records moved the watermark, this window [T0, T0+60 s) would be closed.
  add(
    'an earlier-window record right after the future ones still counts',
    rec({ timestamp: seedTimestamp(T0 + 1_000) }),
    ok('Books', 1250, T0 + 1_000),
  )
  return c
}

/** Deterministic bytes (xorshift32), seeded so the corpus is the same on every run. */
function randomGarbage(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  let x = seed >>> 0 || 1
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    b[i] = x & 0xff
  }
  // An invalid first byte (0xFF never occurs in UTF-8) makes the reason certain.
  b[0] = 0xff
  return b
}
