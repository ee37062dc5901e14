// Unit tests for workers/record.ts against ../shared/CONTRACT.md, section "Input".
import t from 'tap'
import { checkCategory, isInvalid, parseAmount, parseRecord, parseTimestamp, type Parsed } from '../../workers/record.js'
import { RejectReason } from '../../src/protocol.js'

const TS = '2024-05-01 12:00:00'
const TS_MS = Date.UTC(2024, 4, 1, 12, 0, 0)

const json = (doc: unknown): Buffer => Buffer.from(JSON.stringify(doc), 'utf8')
const raw = (text: string): Buffer => Buffer.from(text, 'utf8')
const valid = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  transaction_id: 't-1',
  user_id: 'u-1',
  product_category: 'Books',
  product_name: 'A book',
  amount: 12.5,
  timestamp: TS,
  payment_method: 'card',
  ...over,
})

const reasonOf = (p: Parsed | number | string): string | undefined =>
  typeof p === 'object' && p !== null && 'reason' in p ? p.reason : undefined

t.test('parseRecord: a valid seed record', async (t) => {
  const p = parseRecord(json(valid()))
  t.same(p, { category: 'Books', cents: 1250, eventMs: TS_MS })
  t.notOk(isInvalid(p), 'isInvalid is false for a transaction')
  // Only the three deciding fields are required.
  t.same(parseRecord(json({ product_category: 'x', amount: 0, timestamp: TS })), { category: 'x', cents: 0, eventMs: TS_MS })
  // Whitespace around the JSON text is fine for JSON.parse.
  t.same(parseRecord(raw(`  \n${JSON.stringify(valid())}\n `)), { category: 'Books', cents: 1250, eventMs: TS_MS })
})

t.test('parseRecord: every reason it produces', async (t) => {
  const cases: [string, Buffer | null, string][] = [
    ['tombstone (null value)', null, RejectReason.TOMBSTONE],
    ['empty buffer', Buffer.alloc(0), RejectReason.EMPTY],
    ['invalid UTF-8 0xC3 0x28', Buffer.from([0xc3, 0x28]), RejectReason.INVALID_UTF8],
    ['invalid UTF-8 inside otherwise good JSON', Buffer.concat([raw('{"product_category":"'), Buffer.from([0xff]), raw('","amount":1,"timestamp":"' + TS + '"}')]), RejectReason.INVALID_UTF8],
    ['UTF-8 encoded surrogate (CESU) ED A0 80', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), RejectReason.INVALID_UTF8],
    ['overlong encoding C0 AF', Buffer.from([0xc0, 0xaf]), RejectReason.INVALID_UTF8],
    ['truncated multi-byte sequence', Buffer.from([0xe2, 0x82]), RejectReason.INVALID_UTF8],
    ['invalid JSON', raw('{"product_category": "x",'), RejectReason.INVALID_JSON],
    ['invalid JSON: single quotes', raw("{'a':1}"), RejectReason.INVALID_JSON],
    ['invalid JSON: only whitespace', raw('   '), RejectReason.INVALID_JSON],
    ['invalid JSON: NaN literal', raw('{"product_category":"x","amount":NaN,"timestamp":"' + TS + '"}'), RejectReason.INVALID_JSON],
    ['invalid JSON: BOM before the object', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), json(valid())]), RejectReason.INVALID_JSON],
    ['not an object: array', raw('[1,2]'), RejectReason.NOT_OBJECT],
    ['not an object: array of a valid record', raw(`[${JSON.stringify(valid())}]`), RejectReason.NOT_OBJECT],
    ['not an object: string', raw('"hello"'), RejectReason.NOT_OBJECT],
    ['not an object: number', raw('42'), RejectReason.NOT_OBJECT],
    ['not an object: null', raw('null'), RejectReason.NOT_OBJECT],
    ['not an object: true', raw('true'), RejectReason.NOT_OBJECT],
    ['not an object: false', raw('false'), RejectReason.NOT_OBJECT],
    ['category missing', json(valid({ product_category: undefined })), RejectReason.INVALID_CATEGORY],
    ['category a number', json(valid({ product_category: 7 })), RejectReason.INVALID_CATEGORY],
    ['category null', json(valid({ product_category: null })), RejectReason.INVALID_CATEGORY],
    ['category an object', json(valid({ product_category: { name: 'x' } })), RejectReason.INVALID_CATEGORY],
    ['category empty', json(valid({ product_category: '' })), RejectReason.INVALID_CATEGORY],
    ['category 51 code points', json(valid({ product_category: 'a'.repeat(51) })), RejectReason.INVALID_CATEGORY],
    ['category lone surrogate escape', raw('{"product_category":"\\ud800","amount":1,"timestamp":"' + TS + '"}'), RejectReason.INVALID_CATEGORY],
    ['category NUL escape', raw('{"product_category":"a\\u0000b","amount":1,"timestamp":"' + TS + '"}'), RejectReason.INVALID_CATEGORY],
    ['amount a string "12.50"', json(valid({ amount: '12.50' })), RejectReason.INVALID_AMOUNT],
    ['amount negative', json(valid({ amount: -0.01 })), RejectReason.INVALID_AMOUNT],
    ['amount 1e9', raw('{"product_category":"x","amount":1e9,"timestamp":"' + TS + '"}'), RejectReason.INVALID_AMOUNT],
    ['amount 12.345', json(valid({ amount: 12.345 })), RejectReason.INVALID_AMOUNT],
    ['amount 1e999 (JSON.parse gives Infinity)', raw('{"product_category":"x","amount":1e999,"timestamp":"' + TS + '"}'), RejectReason.INVALID_AMOUNT],
    ['amount -1e999 (JSON.parse gives -Infinity)', raw('{"product_category":"x","amount":-1e999,"timestamp":"' + TS + '"}'), RejectReason.INVALID_AMOUNT],
    ['amount missing', json(valid({ amount: undefined })), RejectReason.INVALID_AMOUNT],
    ['amount null', json(valid({ amount: null })), RejectReason.INVALID_AMOUNT],
    ['amount boolean', json(valid({ amount: true })), RejectReason.INVALID_AMOUNT],
    ['timestamp missing', json(valid({ timestamp: undefined })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp a number (epoch ms)', json(valid({ timestamp: TS_MS })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp not a date', json(valid({ timestamp: '2026-02-30 00:00:00' })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp ISO without zone', json(valid({ timestamp: '2024-05-01T12:00:00' })), RejectReason.INVALID_TIMESTAMP],
  ]
  for (const [name, value, reason] of cases) {
    const p = parseRecord(value)
    t.equal(reasonOf(p), reason, name)
    if (isInvalid(p)) t.type(p.detail, 'string', `${name}: has a detail`)
  }
  t.equal(Object.values(RejectReason).filter((r) => cases.some(([, , c]) => c === r)).length, 8, 'all 8 parse-time reasons are covered (late/future come from PartitionState)')
})

t.test('parseRecord: the first failing field decides the reason', async (t) => {
  t.equal(reasonOf(parseRecord(json({ product_category: '', amount: -1, timestamp: 'x' }))), RejectReason.INVALID_CATEGORY)
  t.equal(reasonOf(parseRecord(json({ product_category: 'x', amount: -1, timestamp: 'x' }))), RejectReason.INVALID_AMOUNT)
  t.equal(reasonOf(parseRecord(json({ product_category: 'x', amount: 1, timestamp: 'x' }))), RejectReason.INVALID_TIMESTAMP)
})

t.test('parseRecord: a value that is a view into a larger buffer', async (t) => {
  // decodeBatch hands out views into one ArrayBuffer: only the view's bytes count.
  const good = json(valid())
  const big = Buffer.concat([Buffer.from([0xff, 0xfe]), good, Buffer.from([0xc3, 0x28])])
  const view = big.subarray(2, 2 + good.length)
  t.same(parseRecord(view), { category: 'Books', cents: 1250, eventMs: TS_MS })
  t.equal(reasonOf(parseRecord(big.subarray(0, 1))), RejectReason.INVALID_UTF8)
})

t.test('parseRecord: __proto__ and constructor keys', async (t) => {
  // JSON.parse makes "__proto__" an own data property; it must not feed the three fields.
  const withProto = raw(`{"__proto__":{"x":1},"constructor":{"prototype":{}},"product_category":"Toys","amount":3.1,"timestamp":"${TS}"}`)
  t.same(parseRecord(withProto), { category: 'Toys', cents: 310, eventMs: TS_MS })
  const viaProto = raw(`{"__proto__":{"product_category":"Toys","amount":3.1,"timestamp":"${TS}"},"amount":3.1,"timestamp":"${TS}"}`)
  t.equal(reasonOf(parseRecord(viaProto)), RejectReason.INVALID_CATEGORY, 'product_category inside "__proto__" is not the category')
  t.equal(reasonOf(parseRecord(raw(`{"__proto__":null,"product_category":"a","amount":1,"timestamp":"${TS}"}`))), undefined, '"__proto__": null is harmless')
  t.equal(({} as Record<string, unknown>).product_category, undefined, 'no pollution after parsing')
  // "constructor" as a field name: the one we look up must be own, never Object.prototype.constructor.
  t.equal(reasonOf(parseRecord(raw(`{"constructor":"x","amount":1,"timestamp":"${TS}"}`))), RejectReason.INVALID_CATEGORY)
})

t.test('parseRecord: fields inherited from a polluted Object.prototype are not read', async (t) => {
  const proto = Object.prototype as Record<string, unknown>
  t.teardown(() => {
    delete proto.product_category
    delete proto.amount
    delete proto.timestamp
  })
  Object.defineProperty(proto, 'product_category', { value: 'Polluted', configurable: true, writable: true })
  Object.defineProperty(proto, 'amount', { value: 1, configurable: true, writable: true })
  Object.defineProperty(proto, 'timestamp', { value: TS, configurable: true, writable: true })
  t.equal(reasonOf(parseRecord(raw('{}'))), RejectReason.INVALID_CATEGORY, 'category only via the prototype → rejected')
  t.equal(reasonOf(parseRecord(raw('{"product_category":"x"}'))), RejectReason.INVALID_AMOUNT, 'amount only via the prototype → rejected')
  t.equal(reasonOf(parseRecord(raw('{"product_category":"x","amount":2}'))), RejectReason.INVALID_TIMESTAMP, 'timestamp only via the prototype → rejected')
})

t.test('parseRecord: duplicate keys, JSON.parse takes the last', async (t) => {
  t.same(parseRecord(raw(`{"product_category":"A","product_category":"B","amount":1,"timestamp":"${TS}"}`)), { category: 'B', cents: 100, eventMs: TS_MS })
  t.same(parseRecord(raw(`{"product_category":"A","amount":"bad","amount":2.25,"timestamp":"${TS}"}`)), { category: 'A', cents: 225, eventMs: TS_MS })
  t.equal(reasonOf(parseRecord(raw(`{"product_category":"A","amount":2.25,"amount":-1,"timestamp":"${TS}"}`))), RejectReason.INVALID_AMOUNT)
})

t.test('checkCategory', async (t) => {
  const emoji = '\u{1F600}'
  t.equal(emoji.length, 2, 'an emoji is 2 UTF-16 units')
  t.equal(checkCategory(emoji.repeat(50)), emoji.repeat(50), '50 emoji = 50 code points (100 UTF-16 units) pass')
  t.equal(reasonOf(checkCategory(emoji.repeat(51))), RejectReason.INVALID_CATEGORY, '51 emoji rejected')
  t.equal(checkCategory('a'.repeat(50)), 'a'.repeat(50), '50 ASCII pass')
  t.equal(reasonOf(checkCategory('a'.repeat(51))), RejectReason.INVALID_CATEGORY, '51 ASCII rejected')
  t.equal(checkCategory('é'.repeat(50)), 'é'.repeat(50), '50 two-byte characters pass (100 UTF-8 bytes)')
  t.equal(checkCategory('x'), 'x', 'one character passes')
  t.equal(checkCategory(' '), ' ', 'a single space is 1 character')
  // Through the full JSON path too.
  t.same(parseRecord(json(valid({ product_category: emoji.repeat(50) }))), { category: emoji.repeat(50), cents: 1250, eventMs: TS_MS })
  t.equal(reasonOf(parseRecord(json(valid({ product_category: emoji.repeat(51) })))), RejectReason.INVALID_CATEGORY)
  t.equal(reasonOf(checkCategory('\ud800')), RejectReason.INVALID_CATEGORY, 'lone high surrogate')
  t.equal(reasonOf(checkCategory('a\udc00b')), RejectReason.INVALID_CATEGORY, 'lone low surrogate')
  t.equal(reasonOf(checkCategory('\udc00\ud800')), RejectReason.INVALID_CATEGORY, 'surrogates in the wrong order')
  t.equal(reasonOf(checkCategory('a\u0000')), RejectReason.INVALID_CATEGORY, 'NUL')
  t.equal(reasonOf(checkCategory(undefined)), RejectReason.INVALID_CATEGORY, 'missing')
  t.equal(reasonOf(checkCategory(null)), RejectReason.INVALID_CATEGORY, 'null')
  t.equal(reasonOf(checkCategory(5)), RejectReason.INVALID_CATEGORY, 'number')
  t.equal(reasonOf(checkCategory(['a'])), RejectReason.INVALID_CATEGORY, 'array')
  t.equal(reasonOf(checkCategory('')), RejectReason.INVALID_CATEGORY, 'empty')
  const c = checkCategory(undefined)
  t.match(c, { detail: /missing/ }, 'detail says missing')
})

t.test('parseAmount', async (t) => {
  const ok: [number, number][] = [
    [0, 0],
    [0.01, 1],
    [0.1, 10],
    [0.2, 20],
    [0.3, 30],
    [12.5, 1250],
    [12.34, 1234],
    [999.99, 99999],
    [999999999.99, 99999999999],
    [123456789.12, 12345678912],
    [4.35, 435],
    [1.15, 115],
    [0.07, 7],
  ]
  for (const [amount, cents] of ok) t.equal(parseAmount(amount), cents, `${amount} → ${cents} cents`)
  // JSON.parse of 2-decimal texts must all be accepted with the exact cent value.
  let wrong = 0
  for (let c = 0; c < 100_000; c++) {
    const text = `${Math.floor(c / 100)}.${String(c % 100).padStart(2, '0')}`
    if (parseAmount(JSON.parse(text)) !== c) wrong++
  }
  t.equal(wrong, 0, 'every 2-decimal amount 0.00..999.99 parses to its exact cents')
  const bad: [unknown, string][] = [
    ['12.50', 'string'],
    [-0.01, 'negative'],
    [-1, 'negative integer'],
    [1e9, '1e9'],
    [1e9 + 0.01, 'above 1e9'],
    [12.345, 'three decimals'],
    [0.001, 'tiny'],
    [1.005, '1.005 is three decimals'],
    [Infinity, 'Infinity'],
    [-Infinity, '-Infinity'],
    [NaN, 'NaN'],
    [undefined, 'missing'],
    [null, 'null'],
    [BigInt(5), 'bigint'],
  ]
  for (const [amount, name] of bad) t.equal(reasonOf(parseAmount(amount)), RejectReason.INVALID_AMOUNT, name)
  t.match(parseAmount(12.345), { detail: /2 decimals/ })
  t.match(parseAmount(undefined), { detail: /missing/ })
  // -0 is >= 0 and has no decimals: counted as zero cents.
  const negZero = parseAmount(-0)
  t.ok(negZero === 0, '-0 → 0 cents')
})

t.test('parseTimestamp: accepted forms give the exact epoch ms', async (t) => {
  const cases: [string, number][] = [
    ['2024-05-01 12:00:00', Date.UTC(2024, 4, 1, 12, 0, 0)],
    ['2024-05-01T12:00:00Z', Date.UTC(2024, 4, 1, 12, 0, 0)],
    ['2024-05-01T12:00:00.5Z', Date.UTC(2024, 4, 1, 12, 0, 0, 500)],
    ['2024-05-01T12:00:00.123Z', Date.UTC(2024, 4, 1, 12, 0, 0, 123)],
    ['2024-05-01T12:00:00.999Z', Date.UTC(2024, 4, 1, 12, 0, 0, 999)],
    ['2024-05-01T12:00:00.999999999Z', Date.UTC(2024, 4, 1, 12, 0, 0, 999)],
    ['2024-05-01T12:00:00.0001Z', Date.UTC(2024, 4, 1, 12, 0, 0, 0)],
    ['2024-05-01T12:00:00.000Z', Date.UTC(2024, 4, 1, 12, 0, 0, 0)],
    ['2024-05-01T12:00:00+02:00', Date.UTC(2024, 4, 1, 10, 0, 0)],
    ['2024-05-01T12:00:00-02:00', Date.UTC(2024, 4, 1, 14, 0, 0)],
    ['2024-05-01T12:00:00+0530', Date.UTC(2024, 4, 1, 6, 30, 0)],
    ['2024-05-01T12:00:00+05:30', Date.UTC(2024, 4, 1, 6, 30, 0)],
    ['2024-05-01T12:00:00-0330', Date.UTC(2024, 4, 1, 15, 30, 0)],
    ['2024-05-01T12:00:00+05', Date.UTC(2024, 4, 1, 7, 0, 0)],
    ['2024-05-01T12:00:00+00:00', Date.UTC(2024, 4, 1, 12, 0, 0)],
    ['2024-05-01T12:00:00-00:00', Date.UTC(2024, 4, 1, 12, 0, 0)],
    ['2024-05-01T12:00:00.250+01:00', Date.UTC(2024, 4, 1, 11, 0, 0, 250)],
    ['2024-05-01T00:30:00+01:00', Date.UTC(2024, 3, 30, 23, 30, 0)],
    ['2024-12-31T23:30:00-01:00', Date.UTC(2025, 0, 1, 0, 30, 0)],
    ['2024-05-01T12:00:00+23:59', Date.UTC(2024, 4, 1, 12, 0, 0) - (23 * 60 + 59) * 60_000],
    ['1970-01-01 00:00:00', 0],
    ['1969-12-31 23:59:59', -1000],
    ['2024-02-29 00:00:00', Date.UTC(2024, 1, 29)],
    ['2000-02-29T00:00:00Z', Date.UTC(2000, 1, 29)],
    ['2023-12-31 23:59:59', Date.UTC(2023, 11, 31, 23, 59, 59)],
    ['2023-04-30 00:00:00', Date.UTC(2023, 3, 30)],
    ['9999-12-31 23:59:59', Date.UTC(9999, 11, 31, 23, 59, 59)],
    ['9999-12-31T23:59:59.999Z', 253402300799999],
  ]
  for (const [s, ms] of cases) t.equal(parseTimestamp(s), ms, s)
  // Cross-check with the platform's ISO parser where it applies.
  t.equal(parseTimestamp('2024-05-01T12:00:00+05:30'), Date.parse('2024-05-01T12:00:00+05:30'))
  t.equal(parseTimestamp('2024-05-01T12:00:00.123-07:00'), Date.parse('2024-05-01T12:00:00.123-07:00'))
  // Every millisecond fraction is exact (no float floor error).
  let wrong = 0
  for (let i = 0; i < 1000; i++) {
    const f = String(i).padStart(3, '0')
    if (parseTimestamp(`2024-05-01T12:00:00.${f}Z`) !== TS_MS + i) wrong++
  }
  t.equal(wrong, 0, 'all of .000 .. .999')
})

t.test('parseTimestamp: years 0001 and 0099 are not mapped to 19xx', async (t) => {
  t.equal(parseTimestamp('0001-01-01 00:00:00'), -62135596800000, '0001-01-01 (not 1901)')
  t.not(parseTimestamp('0001-01-01 00:00:00'), Date.UTC(1901, 0, 1))
  t.equal(parseTimestamp('0001-01-01T00:00:00Z'), Date.parse('0001-01-01T00:00:00Z'))
  t.equal(parseTimestamp('0099-12-31T23:59:59Z'), Date.parse('0099-12-31T23:59:59Z'), '0099')
  t.equal(parseTimestamp('0004-02-29 00:00:00'), Date.parse('0004-02-29T00:00:00Z'), 'leap day of year 4')
  // Postgres has no year 0 (it would be "1 BC"), and the seed form cannot spell it: rejected.
  t.equal(reasonOf(parseTimestamp('0001-01-01T00:30:00+01:00')), RejectReason.INVALID_TIMESTAMP, 'offset crossing into year 0')
  t.equal(reasonOf(parseTimestamp('0000-01-01 00:00:00')), RejectReason.INVALID_TIMESTAMP, 'year 0000')
  t.equal(reasonOf(parseTimestamp('0000-12-31T23:59:59Z')), RejectReason.INVALID_TIMESTAMP, 'year 0000 (ISO)')
  t.equal(parseTimestamp('0001-01-01T00:00:00+00:00'), -62135596800000, 'the first accepted instant')
  t.equal(parseTimestamp('9999-12-31T23:59:59.999Z'), Date.parse('9999-12-31T23:59:59.999Z'), 'the last accepted instant')
  t.equal(reasonOf(parseTimestamp('9999-12-31T23:59:59-01:00')), RejectReason.INVALID_TIMESTAMP, 'offset crossing into year 10000')
})

t.test('parseTimestamp: rejected', async (t) => {
  const bad: [unknown, string][] = [
    ['2026-02-30 00:00:00', 'Feb 30'],
    ['2023-02-29 00:00:00', '2023 is not a leap year'],
    ['1900-02-29 00:00:00', '1900 is not a leap year'],
    ['2100-02-29T00:00:00Z', '2100 is not a leap year'],
    ['2024-04-31 00:00:00', 'April 31'],
    ['2024-13-01 00:00:00', 'month 13'],
    ['2024-00-01 00:00:00', 'month 0'],
    ['2024-01-00 00:00:00', 'day 0'],
    ['2024-01-32 00:00:00', 'day 32'],
    ['2024-01-01 24:00:00', 'hour 24'],
    ['2024-01-01T24:00:00Z', 'hour 24 (ISO)'],
    ['2024-01-01 12:60:00', 'minute 60'],
    ['2024-01-01 12:00:60', 'second 60'],
    ['2016-12-31T23:59:60Z', 'leap second'],
    ['2024-01-01T12:00:00', 'ISO without zone'],
    ['2024-01-01T12:00:00.123', 'ISO with fraction without zone'],
    ['2024-01-01t12:00:00Z', 'lowercase t'],
    ['2024-01-01T12:00:00z', 'lowercase z'],
    ['2024-01-01 12:00:00 ', 'seed form with a trailing space'],
    ['2024-01-01T12:00:00Z ', 'ISO with a trailing space'],
    [' 2024-01-01 12:00:00', 'leading space'],
    ['2024-01-01 12:00:00\n', 'trailing newline'],
    ['2024-01-01 12:00:00Z', 'seed form with Z'],
    ['2024-01-01 12:00:00.5', 'seed form with a fraction'],
    ['2024-01-01T12:00Z', 'no seconds'],
    ['2024-01-01T12:00:00.Z', 'dot without digits'],
    ['2024-01-01T12:00:00.1234567890Z', '10 fraction digits'],
    ['2024-01-01T12:00:00+24:00', 'offset hour 24'],
    ['2024-01-01T12:00:00+05:60', 'offset minute 60'],
    ['2024-01-01T12:00:00+5:00', 'one-digit offset hour'],
    ['2024-01-01T12:00:00+05:3', 'offset with one minute digit'],
    ['2024-1-01 12:00:00', 'one-digit month'],
    ['20240101T120000Z', 'ISO basic format'],
    ['+002024-01-01T12:00:00Z', 'expanded year'],
    ['2024-01-01', 'date only'],
    ['', 'empty string'],
    ['２０２４-01-01 12:00:00', 'full-width digits'],
    ['2024-01-01T12:00:00Z[UTC]', 'zone name suffix'],
    [1714564800000, 'number'],
    [null, 'null'],
    [true, 'boolean'],
    [['2024-01-01 12:00:00'], 'array'],
    [{ iso: '2024-01-01 12:00:00' }, 'object'],
    [undefined, 'missing'],
  ]
  for (const [s, name] of bad) {
    const p = parseTimestamp(s)
    t.equal(reasonOf(p), RejectReason.INVALID_TIMESTAMP, `${name}: ${JSON.stringify(s)}`)
  }
  t.match(parseTimestamp('2026-02-30 00:00:00'), { detail: /calendar date/ })
  t.match(parseTimestamp('2024-01-01 24:00:00'), { detail: /time of day/ })
  t.match(parseTimestamp(42), { detail: /not a string/ })
})

t.test('parseTimestamp: remembering the last text never answers for another', async (t) => {
  // The one-entry cache: the same text again, then texts that differ in one character, then bad ones.
  const a = '2024-05-01 12:00:00'
  t.equal(parseTimestamp(a), TS_MS)
  t.equal(parseTimestamp(a), TS_MS, 'the same text again')
  t.equal(parseTimestamp('2024-05-01 12:00:01'), TS_MS + 1000, 'one second later')
  t.equal(parseTimestamp(a), TS_MS, 'and back')
  for (const bad of ['', undefined, null, '2024-05-01 12:00:00 ', '2024-02-30 12:00:00']) {
    t.ok(reasonOf(parseTimestamp(bad)) === RejectReason.INVALID_TIMESTAMP, `${JSON.stringify(bad)} after a valid one is still invalid`)
  }
  t.equal(parseTimestamp(a), TS_MS, 'a bad text is not remembered')
})
