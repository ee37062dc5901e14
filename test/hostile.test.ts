// Hostile input through the real pipeline (broker, supervisor child process, Postgres):
// every bad or odd record is counted exactly as the contract says or stored in
// rejected_events with its precise reason and raw bytes (the first REJECTED_PAYLOAD_MAX_BYTES,
// with the full length and SHA-256), and nothing stops or restarts.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import t, { type Test } from 'tap'
import { rng } from '../test-support/rng.js'
import { hostileCorpus, KAFKA_TS, T0, WINDOW_MS } from '../test-support/hostile-corpus.js'
import { supervisorOptions } from '../src/config.js'
import { seedTimestamp } from '../src/producer/transactions.js'
import { createTopic, produce, type Produced } from '../test-support/broker.js'
import { committedRecords, databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor, type Supervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { oracleTruth, type OracleRules } from '../test-support/oracle.js'
import { waitCaughtUp } from '../test-support/verify.js'
import { amountTable, timestampTable } from '../test-support/docs-tables.js'

/** REJECTED_PAYLOAD_MAX_BYTES, as the supervisors here run (the default). */
const PAYLOAD_MAX_BYTES = supervisorOptions.rejectedPayloadMaxBytes.default
const RULES: OracleRules = { windowMs: WINDOW_MS, latenessMs: 60_000, futureMs: 300_000 }
const RULES_ENV = { WINDOW_SECONDS: '60', LATENESS_SECONDS: '60', FUTURE_SECONDS: '300', FLUSH_MS: '100' }

const centsText = (c: bigint) => `${c < 0n ? '-' : ''}${(c < 0n ? -c : c) / 100n}.${String((c < 0n ? -c : c) % 100n).padStart(2, '0')}`

interface SalesRow {
  w: string
  category: string
  total: string
  count: string
  width_ok: boolean
}

async function salesRows(url: string): Promise<SalesRow[]> {
  return query<SalesRow>(
    url,
    `SELECT (extract(epoch FROM window_start) * 1000)::bigint::text AS w, category, total_sales::text AS total, transaction_count AS count,
            window_end - window_start = interval '60 seconds' AS width_ok
       FROM category_sales ORDER BY window_start, category`,
  )
}

/** No thread was replaced while the records went through: readyz counts restarts per thread. */
async function assertNoRestarts(t: Test, sup: Supervisor): Promise<void> {
  const { status, body } = await sup.readyz()
  t.equal(status, 200, 'still ready')
  t.same(body.restarts, { actors: body.restarts.actors.map(() => 0), writer: 0 }, 'no actor or writer thread was restarted')
}

t.test('hostile corpus: each kind counted or rejected exactly as the contract says', async (t) => {
  const corpus = hostileCorpus()
  const kinds = new Set(corpus.map((c) => c.kind))
  t.equal(kinds.size, corpus.length, 'every case is its own kind')
  t.ok(kinds.size >= 40, `${kinds.size} kinds (at least 40)`)

  const topic = await createTopic(t, 1)
  const db = databaseFor(t)
  const tail: Produced = {
    partition: 0,
    value: JSON.stringify({ product_category: 'After', amount: 1.23, timestamp: seedTimestamp(T0 + 2_000) }),
    timestampMs: KAFKA_TS,
  }
  const records: Produced[] = [...corpus.map((c) => ({ partition: 0, value: c.value, timestampMs: c.kafkaTsMs ?? KAFKA_TS })), tail]
  // One record per request: several 1 MB values in one batch would pass the broker's message.max.bytes.
  await produce(topic, records, 1)
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, ...RULES_ENV },
    `hostile-${topic}`,
  )
  await waitCaughtUp(db.url, topic, records.length, 120_000)

  // Rejected: the exact reason per offset, the raw bytes, the Kafka timestamp (clamped only when Postgres cannot hold it).
  const rows = await query<{
    offset: string
    reason: string
    detail: string
    hex: string | null
    bytes: number | null
    sha: string | null
    kts: string
  }>(
    db.url,
    `SELECT "offset"::text AS offset, reason, detail, encode(payload, 'hex') AS hex, payload_bytes AS bytes, encode(payload_sha256, 'hex') AS sha,
            (extract(epoch FROM kafka_timestamp) * 1000)::bigint::text AS kts
       FROM rejected_events WHERE topic = $1 ORDER BY "offset"`,
    [topic],
  )
  const got = new Map(rows.map((r) => [Number(r.offset), r]))
  const wrong: string[] = []
  corpus.forEach((c, offset) => {
    const row = got.get(offset)
    if ('counted' in c.expect) {
      if (row) wrong.push(`#${offset} ${c.kind}: want counted, got rejected ${row.reason} (${row.detail})`)
      return
    }
    if (!row) return void wrong.push(`#${offset} ${c.kind}: want ${c.expect.rejected}, got counted`)
    if (row.reason !== c.expect.rejected) wrong.push(`#${offset} ${c.kind}: want ${c.expect.rejected}, got ${row.reason} (${row.detail})`)
    const hex = c.value === null ? null : c.value.subarray(0, PAYLOAD_MAX_BYTES).toString('hex')
    if (row.hex !== hex) wrong.push(`#${offset} ${c.kind}: payload bytes differ`)
    if (row.bytes !== (c.value?.length ?? null))
      wrong.push(`#${offset} ${c.kind}: payload_bytes ${row.bytes}, want ${c.value?.length ?? null}`)
    if (row.sha !== (c.value && createHash('sha256').update(c.value).digest('hex')))
      wrong.push(`#${offset} ${c.kind}: payload_sha256 is not the hash of the value`)
    const kts = c.kafkaTsMs ?? KAFKA_TS
    const storable = Math.max(kts, -210_866_803_200_000)
    if (row.kts !== String(storable)) wrong.push(`#${offset} ${c.kind}: kafka_timestamp ${row.kts}, want ${storable}`)
    if (row.detail.length === 0) wrong.push(`#${offset} ${c.kind}: empty detail`)
  })
  t.same(
    wrong,
    [],
    'every rejected kind has its reason, raw bytes (capped), length, SHA-256 and Kafka timestamp; every counted kind is not rejected',
  )
  t.ok(
    corpus.some((c) => (c.value?.length ?? 0) > PAYLOAD_MAX_BYTES),
    'the corpus has values past the cap',
  )
  t.equal(rows.length, corpus.filter((c) => 'rejected' in c.expect).length, 'rejected rows: one per rejected kind, nothing else')
  t.match(
    got.get(corpus.findIndex((c) => c.kafkaTsMs === -9e15 && 'rejected' in c.expect && c.expect.rejected === 'future'))?.detail,
    /-9000000000000000 ms/,
    'an unstorable Kafka timestamp is named in the detail',
  )

  // Counted: category_sales equals the counted kinds summed per (window, category), to the cent.
  const want = new Map<string, { cents: bigint; count: number }>()
  for (const c of [...corpus.map((c) => c.expect), { counted: { category: 'After', cents: 123, eventMs: T0 + 2_000 } }]) {
    if (!('counted' in c)) continue
    const key = `${Math.floor(c.counted.eventMs / WINDOW_MS) * WINDOW_MS}|${c.counted.category}`
    const s = want.get(key) ?? { cents: 0n, count: 0 }
    s.cents += BigInt(c.counted.cents)
    s.count++
    want.set(key, s)
  }
  const sales = await salesRows(db.url)
  t.same(
    sales.map((r) => `${r.w}|${r.category} = ${r.total} / ${r.count}`).sort(),
    [...want].map(([k, v]) => `${k} = ${centsText(v.cents)} / ${v.count}`).sort(),
    'category_sales holds exactly the counted kinds (window, category, cents, count)',
  )
  t.ok(
    sales.every((r) => r.width_ok),
    'every window is 60 s wide, also in year 0001 and before 1970',
  )
  t.ok(
    sales.some((r) => r.category === "Robert'); DROP TABLE category_sales;--"),
    'SQL-looking category stored as data (and the table is still there)',
  )
  t.ok(
    sales.some((r) => r.category === '😀'.repeat(50)),
    '50 emoji fit varchar(50)',
  )
  t.ok(
    sales.some((r) => r.category === 'After' && r.count === '1'),
    'a normal record after the corpus is counted',
  )

  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('docs/rejections.md spelling tables through the pipeline: counted in UTC windows or refused, per default zone', async (t) => {
  interface Case {
    what: string
    value: string
    /** Instant counted, or null: refused with `reason`. */
    instantMs: number | null
    cents: number
    reason: string
  }
  const byZone = new Map<string, Case[]>()
  const cases = (zone: string) => byZone.get(zone) ?? byZone.set(zone, []).get(zone)!
  timestampTable().forEach((row, i) => {
    const instantMs = row.instant === null ? null : Date.parse(row.instant)
    cases(row.zone).push({
      what: `timestamp ${row.json} in ${row.zone}`,
      value: `{"product_category":"ts-${i}","amount":1,"timestamp":${row.json}}`,
      instantMs,
      cents: 100,
      reason: 'invalid_timestamp',
    })
  })
  amountTable().forEach((row, i) => {
    const value = `{"product_category":"amount-${i}","amount":${row.json},"timestamp":"2026-01-01 00:00:05"}`
    cases('UTC').push({
      what: `amount ${row.json}`,
      value,
      instantMs: row.cents === null ? null : T0 + 5_000,
      cents: row.cents ?? 0,
      reason: 'invalid_amount',
    })
  })
  // Per default zone: one topic of one partition, records in event-time order (none is late),
  // each with its event time as Kafka timestamp (none is future), and a supervisor in that zone.
  const runs = await Promise.all(
    [...byZone].map(async ([zone, list]) => {
      list.sort((a, b) => (a.instantMs ?? -Infinity) - (b.instantMs ?? -Infinity))
      const topic = await createTopic(t, 1)
      const db = databaseFor(t)
      await produce(
        topic,
        list.map((c) => ({ partition: 0, value: c.value, timestampMs: c.instantMs ?? KAFKA_TS })),
      )
      const sup = await startSupervisor(
        t,
        { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, ...RULES_ENV, TIMESTAMP_DEFAULT_ZONE: zone },
        `hostile-tables-${topic}`,
      )
      await waitCaughtUp(db.url, topic, list.length, 120_000)
      const sales = await query<{ category: string; w: string; total: string; count: string }>(
        db.url,
        'SELECT category, (extract(epoch FROM window_start) * 1000)::bigint::text AS w, total_sales::text AS total, transaction_count::text AS count FROM category_sales',
      )
      const rejected = await query<{ offset: string; reason: string }>(
        db.url,
        'SELECT "offset"::text AS offset, reason FROM rejected_events WHERE topic = $1',
        [topic],
      )
      t.equal(await sup.kill('SIGTERM'), 0, `${zone}: clean exit`)
      return { zone, list, sales, rejected }
    }),
  )
  t.same(runs.map((r) => r.zone).sort(), ['+05:30', 'America/New_York', 'Europe/Paris', 'UTC'], 'one run per default zone of the table')
  for (const { zone, list, sales, rejected } of runs) {
    const sale = new Map(sales.map((r) => [r.category, r]))
    const reasonAt = new Map(rejected.map((r) => [Number(r.offset), r.reason]))
    const wrong: string[] = []
    list.forEach((c, offset) => {
      const category = /"product_category":"([^"]+)"/.exec(c.value)![1]!
      const row = sale.get(category)
      if (c.instantMs === null) {
        if (reasonAt.get(offset) !== c.reason)
          wrong.push(`${c.what}: want ${c.reason}, got ${reasonAt.get(offset) ?? `counted in ${row?.w}`}`)
        return
      }
      const window = String(Math.floor(c.instantMs / WINDOW_MS) * WINDOW_MS)
      const want = `${window} ${centsText(BigInt(c.cents))} 1`
      const got = row ? `${row.w} ${row.total} ${row.count}` : `rejected ${reasonAt.get(offset)}`
      if (got !== want)
        wrong.push(`${c.what}: want window ${new Date(Number(window)).toISOString()} ${centsText(BigInt(c.cents))} x1, got ${got}`)
    })
    t.same(wrong, [], `${zone}: ${list.length} records, each counted in its UTC window or refused with its reason`)
    t.equal(
      sales.reduce((a, r) => a + Number(r.count), 0) + rejected.length,
      list.length,
      `${zone}: invariant, consumed = counted + rejected`,
    )
  }
})

// Mutations that keep most of a record's structure, so the checks past JSON.parse get exercised too.
const TOKENS = [
  '"',
  '{',
  '}',
  '[',
  ']',
  ',',
  ':',
  '\\',
  'null',
  '-',
  '.',
  'e',
  '0',
  '9',
  '1e999',
  '\u0000',
  '😀',
  '\uFEFF',
  ' ',
  '"amount":',
  '"amount":-1,',
  'NaN',
]
const CATEGORIES = ['Books', 'Home', 'Café ☕', '😀', "x'); DROP TABLE category_sales;--", 'a\tb']

function makeRandomStream(seed: number, partitions: number, perPartition: number): Produced[] {
  const random = rng(seed)
  const int = (n: number) => Math.floor(random() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!
  const randomBytes = (n: number) => Buffer.from(Array.from({ length: n }, () => (random() < 0.7 ? 0x20 + int(0x5f) : int(256))))
  const records: Produced[] = []
  const clocks = Array.from({ length: partitions }, (_, p) => T0 + p * 3_000)
  for (let i = 0; i < perPartition; i++) {
    for (let p = 0; p < partitions; p++) {
      clocks[p]! += 250
      const kafkaTs = clocks[p]! + 500
      const roll = random()
      if (roll < 0.02) {
        records.push({ partition: p, value: null, timestampMs: kafkaTs })
        continue
      }
      if (roll < 0.15) {
        records.push({ partition: p, value: randomBytes(int(80)), timestampMs: kafkaTs })
        continue
      }
      const eventMs = clocks[p]! + int(40_000) - 20_000
      const fields: Record<string, unknown> = {
        transaction_id: `${p}-${i}`,
        user_id: `user_${int(100)}`,
        product_category: pick(CATEGORIES),
        product_name: 'x',
        amount: int(10) === 0 ? 999_999_999.99 : int(1_000_000) / 100,
        timestamp: int(2) ? seedTimestamp(eventMs) : new Date(eventMs).toISOString(),
        payment_method: 'card',
      }
      // Field-level mutations: swap two values, drop one, give one a random JSON value.
      if (random() < 0.2) {
        const keys = ['product_category', 'amount', 'timestamp', 'user_id']
        const [a, b] = [pick(keys), pick(keys)]
        ;[fields[a], fields[b]] = [fields[b], fields[a]]
      }
      if (random() < 0.05) delete fields[pick(['product_category', 'amount', 'timestamp'])]
      if (random() < 0.05)
        fields[pick(['product_category', 'amount', 'timestamp'])] = pick([null, true, 0, -1, 12.345, '', [], {}, '12.50', 1e9])
      let value = Buffer.from(JSON.stringify(fields))
      // Byte-level mutations on about half of the rest: flip, truncate, insert, delete, duplicate a key.
      const mutations = random() < 0.5 ? 1 + int(3) : 0
      for (let m = 0; m < mutations; m++) {
        const at = int(value.length + 1)
        switch (int(5)) {
          case 0:
            if (value.length)
              value[Math.min(at, value.length - 1)] =
                random() < 0.5 ? value[Math.min(at, value.length - 1)]! ^ (1 << int(8)) : 0x30 + int(10)
            break
          case 1:
            value = value.subarray(0, at)
            break
          case 2:
            value = Buffer.concat([
              value.subarray(0, at),
              random() < 0.5 ? Buffer.from(pick(TOKENS)) : randomBytes(1 + int(4)),
              value.subarray(at),
            ])
            break
          case 3:
            value = Buffer.concat([value.subarray(0, at), value.subarray(Math.min(value.length, at + 1 + int(8)))])
            break
          case 4:
            value = Buffer.from(value.toString('latin1').replace('{', `{"amount":${pick(['1', '"1"', '2.5', '-3'])},`), 'latin1')
            break
        }
      }
      records.push({ partition: p, value, timestampMs: kafkaTs })
    }
  }
  return records
}

t.test('randomised: random bytes and mutated records, every offset counted or rejected once', async (t) => {
  const seed = Number(process.env.HOSTILE_SEED ?? Date.now() % 2 ** 31)
  t.comment(`seed ${seed} (HOSTILE_SEED=${seed} repeats this run)`)
  const partitions = 2
  const records = makeRandomStream(seed, partitions, 2_000)
  const truth = oracleTruth(records, RULES)
  t.comment(
    `${records.length} records: ${truth.counted} counted, ${truth.rejected.size} rejected by the oracle (${[...new Set(truth.rejected.values())].sort().join(', ')})`,
  )

  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, records)
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, ...RULES_ENV },
    `hostile-random-${topic}`,
  )
  await waitCaughtUp(db.url, topic, records.length, 120_000)

  const sales = await salesRows(db.url)
  const [{ n }] = (await query<{ n: string }>(db.url, 'SELECT count(*)::text AS n FROM rejected_events WHERE topic = $1', [topic])) as [
    { n: string },
  ]
  const countedInPg = sales.reduce((a, r) => a + Number(r.count), 0)
  t.equal(countedInPg + Number(n), records.length, `invariant: ${countedInPg} counted + ${n} rejected = ${records.length} produced`)

  // Beyond the count: the same records counted and rejected (with the same reasons) as the independent oracle says.
  const rejected = await query<{ partition: number; offset: string; reason: string }>(
    db.url,
    'SELECT partition, "offset"::text AS offset, reason FROM rejected_events WHERE topic = $1',
    [topic],
  )
  const got = new Map(rejected.map((r) => [`${r.partition}:${r.offset}`, r.reason]))
  const diff = [...new Set([...got.keys(), ...truth.rejected.keys()])].filter((k) => got.get(k) !== truth.rejected.get(k))
  const sample = diff.slice(0, 5).map((k) => {
    const [p, o] = k.split(':').map(Number) as [number, number]
    const value = records.filter((r) => r.partition === p)[o]!.value
    return `${k}: got ${got.get(k) ?? 'counted'}, oracle ${truth.rejected.get(k) ?? 'counted'}: ${JSON.stringify(value === null ? null : Buffer.from(value).toString('latin1').slice(0, 160))}`
  })
  t.same(sample, [], `rejected_events matches the oracle offset by offset (${diff.length} differ)`)
  const gotSales = new Map(sales.map((r) => [`${r.w}|${r.category}`, `${r.total} / ${r.count}`]))
  const wantSales = new Map([...truth.sales].map(([k, v]) => [k, `${centsText(v.cents)} / ${v.count}`]))
  const sdiff = [...new Set([...gotSales.keys(), ...wantSales.keys()])].filter((k) => gotSales.get(k) !== wantSales.get(k))
  t.same(
    sdiff.slice(0, 5).map((k) => `${k}: got ${gotSales.get(k)}, oracle ${wantSales.get(k)}`),
    [],
    'category_sales matches the oracle to the cent',
  )

  // Still consuming: one normal record after the storm is counted.
  await produce(topic, [
    {
      partition: 0,
      value: JSON.stringify({ product_category: 'After', amount: 1, timestamp: seedTimestamp(Date.now()) }),
      timestampMs: Date.now(),
    },
  ])
  await waitCaughtUp(db.url, topic, records.length + 1, 60_000)
  const after = await query<{ count: string }>(db.url, "SELECT transaction_count AS count FROM category_sales WHERE category = 'After'")
  t.same(
    after.map((r) => r.count),
    ['1'],
    'a normal record after the random ones is counted',
  )
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('a flood of 1 MB bad records: all stored (capped bytes, length, hash), memory bounded by MAX_INFLIGHT_BYTES', async (t) => {
  const partitions = 2
  const perPartition = 200
  const size = 1_000_000
  const maxBytes = 8 * 1024 * 1024
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  const records: Produced[] = []
  for (let i = 0; i < perPartition; i++) {
    for (let p = 0; p < partitions; p++) {
      const value = Buffer.alloc(size, 0x61 + ((i + p) % 26))
      value[0] = 0xff // never valid UTF-8
      records.push({ partition: p, value, timestampMs: KAFKA_TS })
    }
  }
  await produce(topic, records, 1)
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, ...RULES_ENV, MAX_INFLIGHT_BYTES: String(maxBytes) },
    `hostile-flood-${topic}`,
  )
  let maxInFlightBytes = 0
  let peakRssMb = 0
  await waitFor(
    async () => {
      const { body } = await sup.readyz()
      for (const p of body.partitions as { inFlightBytes: number }[]) maxInFlightBytes = Math.max(maxInFlightBytes, p.inFlightBytes)
      peakRssMb = Math.max(peakRssMb, Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${sup.proc.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024)
      return (await committedRecords(db.url, topic)) >= records.length
    },
    `all ${records.length} 1 MB records committed`,
    300_000,
    100,
  )
  const [stored] = await query<{ n: string; kept: string; bytes: string; reasons: string[] }>(
    db.url,
    'SELECT count(*)::text AS n, sum(octet_length(payload))::text AS kept, sum(payload_bytes)::text AS bytes, array_agg(DISTINCT reason) AS reasons FROM rejected_events',
  )
  t.same(
    stored,
    {
      n: String(records.length),
      kept: String(records.length * PAYLOAD_MAX_BYTES),
      bytes: String(records.length * size),
      reasons: ['invalid_utf8'],
    },
    `${records.length} rejected rows keeping ${PAYLOAD_MAX_BYTES} of each record's ${size} bytes`,
  )
  // One fetch may land on top of the bound before the partition pauses (kafkajs asks for at most 4 MB per partition).
  t.ok(
    maxInFlightBytes <= maxBytes + 5 * 1024 * 1024,
    `in-flight bytes per partition stayed near MAX_INFLIGHT_BYTES: ${(maxInFlightBytes / 2 ** 20).toFixed(1)} MiB sampled, bound ${maxBytes / 2 ** 20} MiB`,
  )
  t.comment(`peak supervisor RSS (VmHWM) ${peakRssMb.toFixed(0)} MB while ${(records.length * size) / 1e6} MB of bad records went through`)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})
