// Unit tests for workers/amount.ts against docs/contract.md, "Input" (`amount`), and
// docs/rejections.md, whose amount table is this test's table.
import t from 'tap'
import { rng } from '../../test-support/rng.js'
import { amountCents, amountSourceFast, amountSourceScan, centsOfText } from '../../workers/amount.js'
import { parseRecord } from '../../workers/record.js'
import { RejectReason } from '../../src/shared/protocol.js'
import { amountTable } from '../../test-support/docs-tables.js'
import { oracleCents } from '../../test-support/oracle.js'

const TS = '2024-05-01 12:00:00'
const record = (amountJson: string): Buffer => Buffer.from(`{"product_category":"x","amount":${amountJson},"timestamp":"${TS}"}`)
const outcome = (p: ReturnType<typeof parseRecord>): string =>
  'cents' in p ? String(p.cents) : p.reason === RejectReason.INVALID_AMOUNT ? 'refused' : p.reason

t.test('docs/rejections.md amount table: every row, as documented', async (t) => {
  const rows = amountTable()
  t.ok(rows.length >= 30, `${rows.length} rows`)
  const wrong: string[] = []
  for (const row of rows) {
    const want = row.cents === null ? 'refused' : String(row.cents)
    const got = outcome(parseRecord(record(row.json)))
    if (got !== want) wrong.push(`${row.json}: got ${got}, documented ${want}`)
    // A JSON number row, judged alone and by the independent reading.
    if (/^-?\d/.test(row.json)) {
      const alone = centsOfText(row.json)
      if ((typeof alone === 'number' ? String(alone) : 'refused') !== want) wrong.push(`centsOfText(${row.json}) disagrees`)
      const oracle = oracleCents(row.json)
      if ((oracle === null ? 'refused' : String(oracle)) !== want) wrong.push(`the BigInt reading of ${row.json} disagrees`)
    }
  }
  t.same(wrong, [], 'code, docs and the BigInt reading agree on every row')
})

t.test('every 2-decimal amount 0.00 .. 999.99, in four spellings', async (t) => {
  let wrong = 0
  for (let c = 0; c < 100_000; c++) {
    const whole = Math.floor(c / 100)
    const frac = String(c % 100).padStart(2, '0')
    for (const text of [`${whole}.${frac}`, `${whole}.${frac}0`, `${whole}${frac}e-2`, `0.${String(c).padStart(9, '0')}e7`]) {
      if (centsOfText(text) !== c) wrong++
    }
  }
  t.equal(wrong, 0, 'each is its exact cents')
})

t.test('centsOfText agrees with a BigInt reading on random number texts', async (t) => {
  const random = rng(99)
  const rand = (n: number) => Math.floor(random() * n)
  const digits = (n: number) => Array.from({ length: n }, () => rand(10)).join('')
  const wrong: string[] = []
  let accepted = 0
  for (let i = 0; i < 100_000; i++) {
    const int = rand(4) === 0 ? '0' : String(1 + rand(9)) + digits(rand(12))
    const frac = rand(2) ? '' : `.${digits(1 + rand(6))}`
    const exp = rand(3) ? '' : `${rand(2) ? 'e' : 'E'}${['', '+', '-'][rand(3)]}${digits(1 + rand(2))}`
    const text = `${rand(8) === 0 ? '-' : ''}${int}${frac}${exp}`
    const got = centsOfText(text)
    const want = oracleCents(text)
    if (typeof got === 'number') accepted++
    if ((typeof got === 'number' ? got : null) !== want && wrong.length < 5)
      wrong.push(`${text}: got ${JSON.stringify(got)}, BigInt ${want}`)
    // Whatever the text, the double JSON.parse makes of an accepted one is the cents / 100.
    if (typeof got === 'number' && Number(text) !== got / 100 && !Object.is(Number(text), -0))
      wrong.push(`${text}: ${got} cents, but its double is ${Number(text)}`)
  }
  t.same(wrong, [], `100,000 random texts (${accepted} accepted)`)
})

t.test('details say what is wrong', async (t) => {
  t.match(centsOfText('12.345'), { reason: RejectReason.INVALID_AMOUNT, detail: 'amount 12.345 has more than 2 decimals' })
  t.match(centsOfText('-1e-400'), { detail: /is negative/ })
  t.match(centsOfText('1e9'), { detail: /not below 1e9/ })
  t.match(centsOfText('9'.repeat(500)), { detail: /^amount 9{40}… is not below 1e9$/ })
  t.match(parseRecord(Buffer.from(`{"product_category":"x","timestamp":"${TS}"}`)), {
    reason: RejectReason.INVALID_AMOUNT,
    detail: 'amount is missing',
  })
  t.match(parseRecord(record('"12.50"')), { detail: 'amount is a string, not a JSON number' })
})

/** The source text of the top-level "amount" as JSON.parse's reviver sees it (source text access, Node 22+). */
function reviverSource(json: string): string | undefined {
  const seen = new Map<unknown, string>()
  const root: unknown = JSON.parse(json, function (this: unknown, key: string, value: unknown, context?: { source?: string }) {
    if (key === 'amount' && context?.source !== undefined) seen.set(this, context.source)
    return value
  })
  return seen.get(root)
}

// Where the top-level "amount" is: the fast finder must give the exact answer or none.
const WHERE: [string, string, string | undefined][] = [
  // [name, JSON, the top-level amount's text]
  ['the seed shape', `{"transaction_id":"t","product_category":"x","amount":12.5,"timestamp":"${TS}","payment_method":"card"}`, '12.5'],
  ['amount last', '{"product_category":"x","amount":7.25}', '7.25'],
  ['amount first', '{"amount":7.25,"product_category":"x"}', '7.25'],
  ['spaces and newlines around the colon', '{ "amount" \n:\t 7.25 , "x" : 1 }', '7.25'],
  ['duplicates: the last wins', '{"amount":1,"amount":2.50}', '2.50'],
  ['duplicates: a bad first, a good last', '{"amount":0.3000000000000000001,"amount":0.3}', '0.3'],
  ['duplicates: a good first, a bad last', '{"amount":0.3,"amount":0.3000000000000000001}', '0.3000000000000000001'],
  ['an escaped spelling after the literal one wins', '{"amount":1.5,"amoun\\u0074":2.25}', '2.25'],
  ['a literal spelling after the escaped one wins', '{"amoun\\u0074":2.25,"amount":1.5}', '1.5'],
  ['only an escaped spelling', '{"\\u0061mount":3.5}', '3.5'],
  ['a nested "amount" after the top-level one', '{"amount":0.3000000000000000001,"x":{"amount":0.3}}', '0.3000000000000000001'],
  ['a nested "amount" before it', '{"x":{"amount":0.3000000000000000001},"amount":0.3}', '0.3'],
  ['a nested "amount" in an array after it', '{"amount":0.3,"x":[{"amount":1e-400}]}', '0.3'],
  ['a string "amount" value after it', '{"amount":0.3,"x":"amount"}', '0.3'],
  ['a string holding "amount":9 after it', '{"amount":0.3,"x":"\\"amount\\":9"}', '0.3'],
  ['a string holding "amount":9 with no escapes after', '{"amount":0.3,"x":"{\\"amount\\":9}","y":"}"}', '0.3'],
  ['a key ending in amount', '{"amount":0.3,"total_amount":9.999}', '0.3'],
  ['a key "xamount"', '{"amount":0.3,"x\\"amount":9.999}', '0.3'],
  ['a brace inside a later string', '{"amount":0.3,"note":"a } b"}', '0.3'],
  ['a backslash in an earlier value', '{"name":"a\\\\b","amount":0.3}', '0.3'],
  ['"__proto__" holding amount', '{"__proto__":{"amount":9.999},"amount":0.3}', '0.3'],
  ['deep nesting after it', `{"amount":0.3,"junk":${'['.repeat(50_000)}${']'.repeat(50_000)}}`, '0.3'],
  ['deep nesting holding "amount" after it', `{"amount":0.3,"junk":${'[{"amount":1e-400},'.repeat(2_000)}1${']'.repeat(2_000)}}`, '0.3'],
  ['no amount', '{"x":{"amount":1}}', undefined],
  ['negative zero', '{"amount":-0}', '-0'],
]

t.test('the top-level "amount": the fast finder is exact or abstains, the scan is exact', async (t) => {
  for (const [name, json, want] of WHERE) {
    JSON.parse(json) // every case is valid JSON: both finders rely on it
    t.equal(amountSourceScan(json), want, `scan: ${name}`)
    const fast = amountSourceFast(json)
    if (fast !== undefined) t.equal(fast, want, `fast: ${name}`)
    // JSON.parse's own source text agrees (where its reviver's recursion fits the stack).
    if (json.length < 10_000) t.equal(reviverSource(json), want, `reviver: ${name}`)
  }
  t.equal(amountSourceFast(WHERE[0]![1]), '12.5', 'the seed shape takes the fast path')
})

t.test('random mutations of records: fast and scan agree with the reviver, record by record', async (t) => {
  const random = rng(7)
  const rand = (n: number) => Math.floor(random() * n)
  const pieces = [
    '"amount":',
    '"amount":0.3,',
    '{"amount":1e-400}',
    '"amoun\\u0074":2.5,',
    '"x":"}",',
    '"y":"\\\\",',
    '[',
    ']',
    '{',
    '}',
    '"',
    ',',
    ' ',
    '0.3000000000000000001',
    '12.345',
    '-0',
    '"a":{"b":[1,{"amount":9.999}]},',
  ]
  let valid = 0
  let fastUsed = 0
  const wrong: string[] = []
  for (let i = 0; i < 50_000; i++) {
    let json = `{"product_category":"x","amount":${['12.5', '0.30', '1e2'][rand(3)]},"timestamp":"${TS}","payment_method":"card"}`
    for (let k = rand(4); k > 0; k--) {
      const at = rand(json.length)
      json = json.slice(0, at) + pieces[rand(pieces.length)] + json.slice(at)
    }
    let doc: unknown
    try {
      doc = JSON.parse(json)
    } catch {
      continue
    }
    if (
      typeof doc !== 'object' ||
      doc === null ||
      Array.isArray(doc) ||
      typeof (doc as { amount?: unknown }).amount !== 'number' ||
      !Object.hasOwn(doc, 'amount')
    )
      continue
    valid++
    const want = reviverSource(json)
    const scan = amountSourceScan(json)
    const fast = amountSourceFast(json)
    if (fast !== undefined) fastUsed++
    if (scan !== want || (fast !== undefined && fast !== want))
      if (wrong.length < 5) wrong.push(`${json}: reviver ${want}, scan ${scan}, fast ${fast}`)
    const cents = amountCents(json)
    const expected = centsOfText(want!)
    if (JSON.stringify(cents) !== JSON.stringify(expected) && wrong.length < 5) wrong.push(`${json}: amountCents ${JSON.stringify(cents)}`)
  }
  t.same(wrong, [], `${valid} valid mutated records (${fastUsed} on the fast path)`)
  t.ok(valid > 5_000 && fastUsed > 1_000 && fastUsed < valid, 'both paths exercised')
})
