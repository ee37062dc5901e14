// Unit tests for workers/record.ts against docs/contract.md, section "Input" (the
// amount and timestamp spellings have their own tests, amount.test.ts and timestamp.test.ts).
import t from 'tap'
import { checkCategory, isInvalid, parseRecord, type Parsed } from '../../workers/record.js'
import { RejectReason } from '../../src/shared/protocol.js'

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
    [
      'invalid UTF-8 inside otherwise good JSON',
      Buffer.concat([raw('{"product_category":"'), Buffer.from([0xff]), raw('","amount":1,"timestamp":"' + TS + '"}')]),
      RejectReason.INVALID_UTF8,
    ],
    ['UTF-8 encoded surrogate (CESU) ED A0 80', Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), RejectReason.INVALID_UTF8],
    ['overlong encoding C0 AF', Buffer.from([0xc0, 0xaf]), RejectReason.INVALID_UTF8],
    ['truncated multi-byte sequence', Buffer.from([0xe2, 0x82]), RejectReason.INVALID_UTF8],
    ['invalid JSON', raw('{"product_category": "x",'), RejectReason.INVALID_JSON],
    ['invalid JSON: single quotes', raw("{'a':1}"), RejectReason.INVALID_JSON],
    ['invalid JSON: only whitespace', raw('   '), RejectReason.INVALID_JSON],
    ['invalid JSON: NaN literal', raw('{"product_category":"x","amount":NaN,"timestamp":"' + TS + '"}'), RejectReason.INVALID_JSON],
    [
      'invalid JSON: two BOMs before the object',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf]), json(valid())]),
      RejectReason.INVALID_JSON,
    ],
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
    [
      'category lone surrogate escape',
      raw('{"product_category":"\\ud800","amount":1,"timestamp":"' + TS + '"}'),
      RejectReason.INVALID_CATEGORY,
    ],
    ['category NUL escape', raw('{"product_category":"a\\u0000b","amount":1,"timestamp":"' + TS + '"}'), RejectReason.INVALID_CATEGORY],
    ['amount a string "12.50"', json(valid({ amount: '12.50' })), RejectReason.INVALID_AMOUNT],
    ['amount negative', json(valid({ amount: -0.01 })), RejectReason.INVALID_AMOUNT],
    ['amount 1e9', raw('{"product_category":"x","amount":1e9,"timestamp":"' + TS + '"}'), RejectReason.INVALID_AMOUNT],
    ['amount 12.345', json(valid({ amount: 12.345 })), RejectReason.INVALID_AMOUNT],
    [
      'amount 1e999 (JSON.parse gives Infinity)',
      raw('{"product_category":"x","amount":1e999,"timestamp":"' + TS + '"}'),
      RejectReason.INVALID_AMOUNT,
    ],
    [
      'amount -1e999 (JSON.parse gives -Infinity)',
      raw('{"product_category":"x","amount":-1e999,"timestamp":"' + TS + '"}'),
      RejectReason.INVALID_AMOUNT,
    ],
    ['amount missing', json(valid({ amount: undefined })), RejectReason.INVALID_AMOUNT],
    ['amount null', json(valid({ amount: null })), RejectReason.INVALID_AMOUNT],
    ['amount boolean', json(valid({ amount: true })), RejectReason.INVALID_AMOUNT],
    ['timestamp missing', json(valid({ timestamp: undefined })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp a number (epoch ms)', json(valid({ timestamp: TS_MS })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp not a date', json(valid({ timestamp: '2026-02-30 00:00:00' })), RejectReason.INVALID_TIMESTAMP],
    ['timestamp date only', json(valid({ timestamp: '2024-05-01' })), RejectReason.INVALID_TIMESTAMP],
    [
      'amount 0.3000000000000000001 (the double of 0.3)',
      raw('{"product_category":"x","amount":0.3000000000000000001,"timestamp":"' + TS + '"}'),
      RejectReason.INVALID_AMOUNT,
    ],
    [
      'amount -1e-400 (the double -0)',
      raw('{"product_category":"x","amount":-1e-400,"timestamp":"' + TS + '"}'),
      RejectReason.INVALID_AMOUNT,
    ],
  ]
  for (const [name, value, reason] of cases) {
    const p = parseRecord(value)
    t.equal(reasonOf(p), reason, name)
    if (isInvalid(p)) t.type(p.detail, 'string', `${name}: has a detail`)
  }
  t.equal(
    Object.values(RejectReason).filter((r) => cases.some(([, , c]) => c === r)).length,
    8,
    'all 8 parse-time reasons are covered (late/future come from PartitionState)',
  )
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
  t.equal(
    reasonOf(parseRecord(raw(`{"__proto__":null,"product_category":"a","amount":1,"timestamp":"${TS}"}`))),
    undefined,
    '"__proto__": null is harmless',
  )
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
  t.equal(
    reasonOf(parseRecord(raw('{"product_category":"x","amount":2}'))),
    RejectReason.INVALID_TIMESTAMP,
    'timestamp only via the prototype → rejected',
  )
})

t.test('parseRecord: duplicate keys, JSON.parse takes the last', async (t) => {
  t.same(parseRecord(raw(`{"product_category":"A","product_category":"B","amount":1,"timestamp":"${TS}"}`)), {
    category: 'B',
    cents: 100,
    eventMs: TS_MS,
  })
  t.same(parseRecord(raw(`{"product_category":"A","amount":"bad","amount":2.25,"timestamp":"${TS}"}`)), {
    category: 'A',
    cents: 225,
    eventMs: TS_MS,
  })
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

t.test('a UTF-8 byte order mark before the JSON is skipped', async (t) => {
  const good = raw(`{"product_category":"x","amount":0.3,"timestamp":"${TS}"}`)
  const bom = Buffer.from([0xef, 0xbb, 0xbf])
  t.same(parseRecord(Buffer.concat([bom, good])), { category: 'x', cents: 30, eventMs: TS_MS }, 'one BOM: counted')
  t.equal(reasonOf(parseRecord(Buffer.concat([bom, bom, good]))), RejectReason.INVALID_JSON, 'two BOMs: not JSON')
  t.equal(reasonOf(parseRecord(Buffer.concat([Buffer.from(' '), bom, good]))), RejectReason.INVALID_JSON, 'a BOM after a space: not JSON')
  t.equal(reasonOf(parseRecord(bom)), RejectReason.INVALID_JSON, 'a BOM alone: not JSON')
  t.equal(reasonOf(parseRecord(Buffer.concat([bom, Buffer.from('[1]')]))), RejectReason.NOT_OBJECT, 'a BOM before an array: not an object')
})
