// Unit tests for workers/timestamp.ts and src/shared/time-zone.ts against docs/contract.md,
// "Input" (`timestamp`), and docs/rejections.md, whose table is this test's table.
import t from 'tap'
import { rng } from '../../test-support/rng.js'
import { parseTimestamp } from '../../workers/timestamp.js'
import { parseRecord } from '../../workers/record.js'
import { offsetMinutes, parseZone, UTC } from '../../src/shared/time-zone.js'
import { RejectReason } from '../../src/shared/protocol.js'
import { timestampTable } from '../../test-support/docs-tables.js'

const reasonOf = (p: unknown): string | undefined =>
  typeof p === 'object' && p !== null && 'reason' in p ? (p as { reason: string }).reason : undefined
const iso = (ms: number | object): string =>
  typeof ms === 'number' ? (Number.isFinite(ms) ? new Date(ms).toISOString() : String(ms)) : `refused (${JSON.stringify(ms)})`

// Temporal (Node 26) is an independent reading of ISO 8601 and of java.time's zone rules.
interface TemporalApi {
  PlainDateTime: {
    from(text: string): { toZonedDateTime(zone: string, options: { disambiguation: 'compatible' }): { epochMilliseconds: number } }
  }
}
const Temporal = (globalThis as { Temporal?: TemporalApi }).Temporal!
const haveTemporal = (globalThis as { Temporal?: TemporalApi }).Temporal !== undefined

/** What Temporal makes of an accepted spelling: local fields, the text's offset or the zone, compatible disambiguation. */
function temporalMs(text: string, zone: string): number {
  const m = /^(.{10})[T ](.{8}(?:\.\d+)?)(.*)$/.exec(text)
  if (!m) return NaN
  const local = Temporal.PlainDateTime.from(`${m[1]}T${m[2]}`.replace(/(\.\d{9})\d+$/, '$1'))
  const offset =
    m[3] === '' ? null : m[3] === 'Z' ? '+00:00' : m[3]!.replace(/^([+-]\d\d)$/, '$1:00').replace(/^([+-]\d\d)(\d\d)$/, '$1:$2')
  const tz = offset ?? (zone === 'UTC' ? 'UTC' : zone)
  return Number(local.toZonedDateTime(tz, { disambiguation: 'compatible' }).epochMilliseconds)
}

t.test('docs/rejections.md timestamp table: every row, as documented', async (t) => {
  const rows = timestampTable()
  t.ok(rows.length >= 80, `${rows.length} rows`)
  t.ok(rows.some((r) => r.instant === null) && rows.some((r) => r.instant !== null), 'accepted and refused rows')
  const wrong: string[] = []
  for (const row of rows) {
    const zone = parseZone(row.zone)
    const value: unknown = JSON.parse(row.json)
    const got = parseTimestamp(value, zone)
    const want = row.instant ?? 'refused'
    const gotText = typeof got === 'number' ? iso(got) : reasonOf(got) === RejectReason.INVALID_TIMESTAMP ? 'refused' : iso(got)
    if (gotText !== want) wrong.push(`${row.json} in ${row.zone}: got ${gotText}, documented ${want}`)
    // The same through a whole record (JSON.parse, the field lookup, the zone passed along).
    const record = parseRecord(Buffer.from(`{"product_category":"x","amount":1,"timestamp":${row.json}}`), zone)
    const viaRecord =
      'eventMs' in record ? iso(record.eventMs) : record.reason === RejectReason.INVALID_TIMESTAMP ? 'refused' : record.reason
    if (viaRecord !== want) wrong.push(`${row.json} in ${row.zone} as a record: got ${viaRecord}, documented ${want}`)
    if (haveTemporal && row.instant !== null && iso(temporalMs(value as string, row.zone)) !== row.instant) {
      wrong.push(`${row.json} in ${row.zone}: Temporal reads ${iso(temporalMs(value as string, row.zone))}, documented ${row.instant}`)
    }
  }
  t.same(wrong, [], 'code, docs (and Temporal, where it runs) agree on every row')
})

t.test('every millisecond fraction is exact; longer fractions truncate', async (t) => {
  const base = Date.UTC(2024, 4, 1, 12, 0, 0)
  let wrong = 0
  for (let i = 0; i < 1000; i++) {
    const f = String(i).padStart(3, '0')
    if (parseTimestamp(`2024-05-01T12:00:00.${f}Z`) !== base + i) wrong++
    if (parseTimestamp(`2024-05-01 12:00:00.${f}999`) !== base + i) wrong++
    if (parseTimestamp(`2024-05-01T12:00:00.${f}`) !== base + i) wrong++
  }
  t.equal(wrong, 0, 'all of .000 .. .999, with and without more digits and a zone')
  t.equal(parseTimestamp('2024-05-01T12:00:59.9999999999999999999Z'), base + 59_999, 'never rounded up into the next minute')
})

t.test('years 0001..0099 are not mapped to 19xx', async (t) => {
  t.equal(parseTimestamp('0001-01-01 00:00:00'), -62135596800000, '0001-01-01 (not 1901)')
  t.equal(parseTimestamp('0099-12-31T23:59:59Z'), Date.parse('0099-12-31T23:59:59Z'), '0099')
  t.equal(parseTimestamp('0004-02-29 00:00:00'), Date.parse('0004-02-29T00:00:00Z'), 'leap day of year 4')
})

t.test('cross-check with the platform ISO parser on random instants and offsets', async (t) => {
  let wrong = 0
  const random = rng(12345)
  const rand = (n: number) => Math.floor(random() * n)
  for (let i = 0; i < 5000; i++) {
    const ms = rand(2 ** 31) * 100_000 - 6e13 // 0068 .. 4768
    const offset = rand(2 * 18 * 60 + 1) - 18 * 60
    const sign = offset < 0 ? '-' : '+'
    const off = `${sign}${String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0')}:${String(Math.abs(offset) % 60).padStart(2, '0')}`
    const local = new Date(ms + offset * 60_000).toISOString().slice(0, 23)
    if (parseTimestamp(`${local}${off}`) !== ms) wrong++
    if (parseTimestamp(`${local}${off.replace(':', '')}`) !== ms) wrong++
    if (parseTimestamp(local.replace('T', ' '), parseZone(off)) !== ms) wrong++
  }
  t.equal(wrong, 0, '15,000 spellings read back to their instant')
})

t.test('the one-entry memory never answers for another text or zone', async (t) => {
  const a = '2024-05-01 12:00:00'
  const ms = Date.UTC(2024, 4, 1, 12)
  t.equal(parseTimestamp(a), ms)
  t.equal(parseTimestamp(a), ms, 'the same text again')
  t.equal(parseTimestamp(a, parseZone('+02:00')), ms - 7_200_000, 'the same text in another default zone')
  t.equal(parseTimestamp(a, UTC), ms, 'and back')
  t.equal(parseTimestamp('2024-05-01 12:00:01'), ms + 1000, 'one second later')
  for (const bad of ['', undefined, null, '2024-05-01 12:00:00 ', '2024-02-30 12:00:00']) {
    t.equal(reasonOf(parseTimestamp(bad)), RejectReason.INVALID_TIMESTAMP, `${JSON.stringify(bad)} after a valid one is still invalid`)
  }
  t.equal(parseTimestamp(a), ms, 'a bad text is not remembered')
})

t.test('details say what is wrong', async (t) => {
  t.match(parseTimestamp('2026-02-30 00:00:00'), { detail: /calendar date/ })
  t.match(parseTimestamp('2024-01-01 24:00:00'), { detail: /time of day/ })
  t.match(parseTimestamp('2024-01-01T00:00:00+19:00'), { detail: /18:00/ })
  t.match(parseTimestamp(42), { detail: /a number, not a string/ })
  t.match(parseTimestamp(undefined), { detail: /missing/ })
  t.match(parseTimestamp('x'.repeat(1000)), { detail: /^timestamp "x{40}…" is not/ })
})

t.test('offsetMinutes: the contract zone forms, ±18:00 at most', async (t) => {
  const cases: [string, number | null][] = [
    ['Z', 0],
    ['+00:00', 0],
    ['-00:00', 0],
    ['+01', 60],
    ['+0130', 90],
    ['-05:30', -330],
    ['+18:00', 1080],
    ['-18:00', -1080],
    ['+18:01', null],
    ['+19', null],
    ['+05:60', null],
    ['+5', null],
    ['+05:3', null],
    ['05:00', null],
    ['z', null],
    ['UTC', null],
    ['+01:00:00', null],
  ]
  for (const [text, minutes] of cases) t.equal(offsetMinutes(text), minutes, text)
})

t.test('parseZone: TIMESTAMP_DEFAULT_ZONE values', async (t) => {
  t.equal(parseZone('UTC'), UTC, 'UTC')
  t.equal(parseZone('Z').name, 'UTC')
  t.equal(parseZone('+00:00').name, 'UTC')
  t.equal(parseZone('+0530').name, '+05:30', 'offsets get one canonical name')
  t.equal(parseZone('-03').name, '-03:00')
  t.equal(parseZone('Etc/UTC').name, 'UTC')
  t.equal(parseZone('europe/paris').name, 'Europe/Paris', 'IANA names as Intl canonicalises them')
  t.equal(parseZone('America/New_York').name, 'America/New_York')
  for (const bad of ['Mars/Base', '', '+19:00', '+5:00', 'GMT+01:00 ', 'CEST', 'Europe/Paris,UTC']) {
    t.throws(() => parseZone(bad), /neither an IANA time zone .* nor a fixed offset/, `${JSON.stringify(bad)} is refused`)
  }
})

t.test(
  'a region default zone resolves every local time as java.time (Temporal) does',
  { skip: !haveTemporal && 'needs Temporal (Node 26)' },
  async (t) => {
    // Every 20 minutes over years with gaps and overlaps, in zones with odd rules: half-hour DST
    // (Lord Howe), southern hemisphere (Sao Paulo), a skipped day (Apia 2011), Ramadan DST
    // (Casablanca), a historic second-precision LMT (Paris 1911), double summer time (London 1947).
    const spans: [string, string, string][] = [
      ['Europe/Paris', '2026-01-01', '2027-01-01'],
      ['Europe/Paris', '1911-03-01', '1911-03-20'],
      ['America/New_York', '2026-01-01', '2027-01-01'],
      ['Australia/Lord_Howe', '2025-01-01', '2026-01-01'],
      ['America/Sao_Paulo', '2018-01-01', '2019-06-01'],
      ['Pacific/Apia', '2011-12-20', '2012-01-10'],
      ['Africa/Casablanca', '2025-01-01', '2026-01-01'],
      ['Europe/London', '1947-01-01', '1948-01-01'],
    ]
    let checked = 0
    const wrong: string[] = []
    for (const [name, from, to] of spans) {
      const zone = parseZone(name)
      for (let local = Date.parse(`${from}T00:00:00Z`); local < Date.parse(`${to}T00:00:00Z`); local += 20 * 60_000) {
        const text = new Date(local).toISOString().slice(0, 19)
        const want = Number(Temporal.PlainDateTime.from(text).toZonedDateTime(name, { disambiguation: 'compatible' }).epochMilliseconds)
        const got = parseTimestamp(text.replace('T', ' '), zone)
        checked++
        if (got !== want && wrong.length < 5) wrong.push(`${text} ${name}: got ${iso(got)}, Temporal ${iso(want)}`)
      }
    }
    t.same(wrong, [], `${checked} local times agree`)
  },
)
