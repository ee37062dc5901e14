// rejected_events stays bounded (docs/contract.md "Postgres"; docs/rejections.md "Size and retention"):
// payloads capped at REJECTED_PAYLOAD_MAX_BYTES with their full length and SHA-256, daily
// partitions of kafka_timestamp created ahead and dropped after REJECTED_RETENTION_DAYS.
// First the retention pass itself against the real Postgres with a fixed clock (every branch),
// then a running supervisor doing it while records stream through the real broker, with a
// kill -9 in the middle: every record counted or rejected exactly once.
import { setInterval as every } from 'node:timers/promises'
import { createHash } from 'node:crypto'
import pg from 'pg'
import t, { type Test } from 'tap'
import { ensureDatabase, migrate } from '../src/postgres/schema.js'
import { dayPartitionName, LOCK_TIMEOUT_MS, MOVE_MAX_ROWS, runRetentionPass } from '../src/postgres/rejected-retention.js'
import { seedTimestamp } from '../src/producer/transactions.js'
import { createTopic, kafka, topicRecords } from '../test-support/broker.js'
import { committedRecords, databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor, type Supervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { parseMetrics, scrape, value } from '../test-support/prom-text.js'

const DAY = 86_400_000
const LOCK_KEY = 'tumbler_rejected_events_retention'

async function connect(t: Test, url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url })
  c.on('error', () => {})
  await c.connect()
  t.teardown(() => c.end().catch(() => {}))
  return c
}

/** Daily partitions of rejected_events, by name. */
async function partitions(url: string): Promise<string[]> {
  const rows = await query<{ name: string }>(
    url,
    "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'rejected_events'::regclass ORDER BY 1",
  )
  return rows.map((r) => r.name).filter((n) => n !== 'rejected_events_default')
}

const insertRow = (c: pg.Client, topic: string, offset: number, kafkaTs: string, recordedAt = 'now()') =>
  c.query(
    `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp, recorded_at)
           VALUES ($1, 0, $2, 'invalid_json', 'test row', '\\x00', 1, sha256('\\x00'), $3, ${recordedAt})`,
    [topic, offset, kafkaTs],
  )

/** Where each of a topic's rows is: offset → table. */
async function placement(url: string, topic: string): Promise<Record<string, string>> {
  const rows = await query<{ offset: string; table: string }>(
    url,
    'SELECT "offset"::text AS offset, tableoid::regclass::text AS table FROM rejected_events WHERE topic = $1',
    [topic],
  )
  return Object.fromEntries(rows.map((r) => [r.offset, r.table]))
}

t.test('retention passes on the real Postgres: create ahead, drop, move out of DEFAULT, skip when busy, one at a time', async (t) => {
  const db = databaseFor(t)
  await ensureDatabase(db.url)
  const pool = new pg.Pool({ connectionString: db.url, max: 2 })
  t.teardown(() => pool.end())
  await migrate(pool)
  const c = await connect(t, db.url)
  const at = (iso: string) => Date.parse(iso)

  // A fresh table at 2026-11-30 12:00 with 30 days: 2026-10-31 (holds the cutoff) to 2026-12-03.
  const p1 = await runRetentionPass(c, 30, at('2026-11-30T12:00:00Z'))
  t.ok(p1.ran)
  t.equal(p1.created.length, 34, '31 days back to today, 3 ahead')
  t.same([p1.created[0], p1.created.at(-1)], ['rejected_events_p20261031', 'rejected_events_p20261203'])
  t.same([p1.dropped, p1.skipped], [[], []])
  t.same(
    await runRetentionPass(c, 30, at('2026-11-30T13:00:00Z')),
    { ran: true, created: [], dropped: [], defaultRowsDeleted: 0, skipped: [] },
    'an hour later: nothing to do',
  )

  await insertRow(c, 'direct', 1, '2026-11-01T08:00:00Z') // its day expires first
  await insertRow(c, 'direct', 2, '2026-11-20T08:00:00Z') // kept throughout
  await insertRow(c, 'direct', 3, '2025-01-01T00:00:00Z') // DEFAULT, past the retention already
  await insertRow(c, 'direct', 4, '2027-06-01T00:00:00Z') // DEFAULT, far ahead, recorded now: kept
  await insertRow(c, 'direct', 5, '2027-06-02T00:00:00Z', "'2026-10-01T00:00:00Z'") // DEFAULT, far ahead, recorded 61 days before the clock: gone
  await insertRow(c, 'direct', 6, '2026-12-05T10:00:00Z') // DEFAULT until its day is created
  t.same(
    await placement(db.url, 'direct'),
    {
      1: 'rejected_events_p20261101',
      2: 'rejected_events_p20261120',
      3: 'rejected_events_default',
      4: 'rejected_events_default',
      5: 'rejected_events_default',
      6: 'rejected_events_default',
    },
    'rows land in their day, or in DEFAULT where no day covers them',
  )

  // Two days later: 12-04 and 12-05 are created (the row of 12-05 moves out of DEFAULT), 10-31 and 11-01 dropped.
  const p2 = await runRetentionPass(c, 30, at('2026-12-02T12:00:00Z'))
  t.same(p2.created, ['rejected_events_p20261204', 'rejected_events_p20261205'])
  t.same(p2.dropped, ['rejected_events_p20261031', 'rejected_events_p20261101'], 'days wholly before the cutoff 2026-11-02T12:00')
  t.equal(p2.defaultRowsDeleted, 2, 'DEFAULT: the row of 2025 and the one recorded 61 days ago')
  t.same(
    await placement(db.url, 'direct'),
    { 2: 'rejected_events_p20261120', 4: 'rejected_events_default', 6: 'rejected_events_p20261205' },
    'the 12-05 row moved into its new partition',
  )

  // A day with more rows in DEFAULT than a move may take is left there.
  await c.query(
    `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, kafka_timestamp)
     SELECT 'bulk', 0, g, 'invalid_json', '', '2026-12-06T00:00:00Z'::timestamptz + g * interval '1 ms' FROM generate_series(1, ${MOVE_MAX_ROWS + 1}) g`,
  )
  const p3 = await runRetentionPass(c, 30, at('2026-12-03T12:00:00Z'))
  t.same(p3.created, [], 'no partition for 12-06')
  t.match(p3.skipped, [{ table: 'rejected_events_p20261206', why: /more than 10000 rows/ }])
  const [bulk] = await query<{ n: string }>(db.url, "SELECT count(*)::text AS n FROM rejected_events_default WHERE topic = 'bulk'")
  t.equal(bulk?.n, String(MOVE_MAX_ROWS + 1), 'its rows stay in DEFAULT (they expire there by DELETE)')
  await c.query("DELETE FROM rejected_events WHERE topic = 'bulk'")

  // A writer's transaction holds rejected_events: the pass's first DDL waits LOCK_TIMEOUT_MS, gives up, leaves the rest to the next pass.
  const writer = await connect(t, db.url)
  await writer.query('BEGIN')
  await insertRow(writer, 'writer', 1, '2026-12-03T01:00:00Z')
  const p4 = await runRetentionPass(c, 30, at('2026-12-11T12:00:00Z'))
  t.same([p4.created, p4.dropped], [[], []], 'nothing created or dropped while the table is held')
  t.match(
    p4.skipped[0],
    { table: 'rejected_events_p20261206', why: new RegExp(`busy \\(lock not granted within ${LOCK_TIMEOUT_MS} ms\\)`) },
    'the first DDL waited LOCK_TIMEOUT_MS and gave up',
  )
  t.ok(
    p4.skipped.slice(1).every((s) => s.why.startsWith('not tried')),
    `the other ${p4.skipped.length - 1} steps were not even tried: one wait per pass`,
  )
  t.ok((await partitions(db.url)).includes('rejected_events_p20261110'), 'the partitions are all still there')
  await writer.query('COMMIT')
  const p5 = await runRetentionPass(c, 30, at('2026-12-11T12:00:00Z'))
  t.same(
    p5.created,
    Array.from({ length: 9 }, (_, i) => dayPartitionName(at('2026-12-06T00:00:00Z') + i * DAY)),
    'the next pass creates 12-06 to 12-14',
  )
  t.same(
    p5.dropped,
    Array.from({ length: 8 }, (_, i) => dayPartitionName(at('2026-11-03T00:00:00Z') + i * DAY)),
    'and drops 11-03 to 11-10',
  )
  t.same(p5.skipped, [])
  t.same(Object.keys(await placement(db.url, 'direct')).sort(), ['2', '4', '6'], 'the rows of kept days are untouched')

  // Another supervisor's pass holds the advisory lock: this one does nothing.
  const other = await connect(t, db.url)
  await other.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY])
  const p6 = await runRetentionPass(c, 30, at('2027-01-30T12:00:00Z'))
  t.same(p6, { ran: false, created: [], dropped: [], defaultRowsDeleted: 0, skipped: [] }, 'skipped while another pass runs')
  await other.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY])
  t.ok((await runRetentionPass(c, 30, at('2027-01-30T12:00:00Z'))).ran, 'runs once the lock is free')
})

t.test('a running supervisor drops expired days while records stream; payloads capped; kill -9 adds no duplicate', async (t) => {
  const MAX_PAYLOAD = 4096
  const BIG = 1024 * 1024 - 1024 // 1 MiB less Kafka's framing: the largest value the broker's default message.max.bytes takes
  const topic = await createTopic(t, 2)
  const db = databaseFor(t)
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: db.url,
    FLUSH_MS: '100',
    REJECTED_RETENTION_DAYS: '30',
    REJECTED_RETENTION_INTERVAL_SECONDS: '1',
    REJECTED_PAYLOAD_MAX_BYTES: String(MAX_PAYLOAD),
  }

  // The stream: what was sent per partition, in offset order (one idempotent producer, one request in flight).
  const sent: { bad: boolean; cents: number }[][] = [[], []]
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  t.teardown(() => producer.disconnect())
  const big = Buffer.alloc(BIG, 0x7b) // '{{{…': invalid JSON
  await producer.send({ topic, acks: -1, messages: [{ partition: 0, value: big, timestamp: String(Date.now()) }] })
  sent[0]!.push({ bad: true, cents: 0 })
  let streaming = true
  let seq = 0
  // A paced load (100 records per 50 ms tick) while the retention passes run: pacing, not a wait.
  const stream = (async () => {
    for await (const _ of every(50)) {
      if (!streaming) break
      const now = Date.now()
      const messages = Array.from({ length: 100 }, () => {
        const i = seq++
        const partition = i % 2
        const bad = i % 10 === 3
        const cents = 100 + (i % 900)
        const value = Buffer.from(
          bad
            ? `not json ${i}`
            : JSON.stringify({ product_category: ['Books', 'Home'][i % 2], amount: cents / 100, timestamp: seedTimestamp(now) }),
        )
        sent[partition]!.push({ bad, cents })
        return { partition, value, timestamp: String(now) }
      })
      await producer.send({ topic, acks: -1, messages })
    }
  })()
  t.teardown(() => {
    streaming = false
    return stream.catch(() => {})
  })

  let sup: Supervisor = await startSupervisor(t, env, `retention-${topic}-1`)
  await sup.waitReady()
  await waitFor(async () => (await committedRecords(db.url, topic)) > 500, 'the first commits')

  // Old days with rows, made as an operator's backfill would be, under the supervisors' lock so no pass runs meanwhile.
  const today = Math.floor(Date.now() / DAY) * DAY
  const old = [today - 40 * DAY, today - 35 * DAY].map(dayPartitionName)
  const admin = await connect(t, db.url)
  await admin.query('SELECT pg_advisory_lock(hashtext($1))', [LOCK_KEY])
  for (const [i, name] of old.entries()) {
    const from = new Date(today - (40 - 5 * i) * DAY).toISOString()
    const to = new Date(today - (39 - 5 * i) * DAY).toISOString()
    await admin.query(`CREATE TABLE ${name} (LIKE rejected_events INCLUDING ALL)`)
    await admin.query(`ALTER TABLE rejected_events ATTACH PARTITION ${name} FOR VALUES FROM ('${from}') TO ('${to}')`)
    for (let o = 0; o < 3; o++) await insertRow(admin, 'old', i * 10 + o, new Date(Date.parse(from) + o * 3_600_000).toISOString())
  }
  const kept = dayPartitionName(today - 10 * DAY)
  await insertRow(admin, 'old', 100, new Date(today - 10 * DAY + 1000).toISOString()) // within the 30 days
  await insertRow(admin, 'old', 101, new Date(today - 400 * DAY).toISOString()) // DEFAULT, expired
  await insertRow(admin, 'old', 102, new Date(today + 60 * DAY).toISOString()) // DEFAULT, far ahead, recorded now
  t.same(
    await placement(db.url, 'old'),
    {
      0: old[0],
      1: old[0],
      2: old[0],
      10: old[1],
      11: old[1],
      12: old[1],
      100: kept,
      101: 'rejected_events_default',
      102: 'rejected_events_default',
    },
    'the old rows are in their days (the supervisor created the kept day ahead)',
  )
  await admin.query('SELECT pg_advisory_unlock(hashtext($1))', [LOCK_KEY])
  const committedBefore = await committedRecords(db.url, topic)

  await waitFor(
    async () => (await partitions(db.url)).every((p) => !old.includes(p)),
    'the expired days dropped by the running supervisor',
    30_000,
  )
  await waitFor(async () => !('101' in (await placement(db.url, 'old'))), 'the expired DEFAULT row deleted', 30_000)
  t.same(await placement(db.url, 'old'), { 100: kept, 102: 'rejected_events_default' }, 'rows within the retention stay')
  const metrics = parseMetrics(await scrape(sup.port))
  t.equal(value(metrics, 'tumbler_rejected_partitions_dropped_total'), 2, 'tumbler_rejected_partitions_dropped_total counts the two days')
  t.equal(value(metrics, 'tumbler_rejected_default_rows_deleted_total'), 1)
  await waitFor(async () => (await committedRecords(db.url, topic)) > committedBefore + 500, 'commits going on after the drops')

  // kill -9 mid-stream; the next supervisor re-reads from Postgres' offsets.
  t.equal(await sup.kill('SIGKILL'), -1, 'killed')
  sup = await startSupervisor(t, env, `retention-${topic}-2`)
  await sup.waitReady()
  await waitFor(async () => (await committedRecords(db.url, topic)) > committedBefore + 2000, 'commits after the restart')
  streaming = false
  await stream
  const total = await topicRecords(topic)
  t.equal(total, sent[0]!.length + sent[1]!.length, 'the broker has every record sent')
  await waitFor(async () => (await committedRecords(db.url, topic)) >= total, `all ${total} records committed`, 120_000, 200)

  // consumed = counted + rejected, record by record.
  const wantRejected = sent.flatMap((records, p) => records.flatMap((r, o) => (r.bad ? [`${p}:${o}`] : [])))
  const rows = await query<{ key: string; reason: string; table: string }>(
    db.url,
    `SELECT partition || ':' || "offset" AS key, reason, tableoid::regclass::text AS table FROM rejected_events WHERE topic = $1 ORDER BY partition, "offset"`,
    [topic],
  )
  t.equal(rows.length, new Set(rows.map((r) => r.key)).size, 'no record stored twice')
  t.same(rows.map((r) => r.key).sort(), wantRejected.sort(), `the ${wantRejected.length} bad records, each once`)
  t.ok(rows.every((r) => r.reason === 'invalid_json'))
  t.same(
    rows.filter((r) => r.table === 'rejected_events_default').map((r) => r.key),
    [],
    "every streamed reject is in its day's partition, none in DEFAULT",
  )
  const [sales] = await query<{ n: string; cents: string }>(
    db.url,
    'SELECT sum(transaction_count)::text AS n, (sum(total_sales) * 100)::bigint::text AS cents FROM category_sales',
  )
  const good = sent.flat().filter((r) => !r.bad)
  t.equal(Number(sales?.n) + rows.length, total, `invariant: ${sales?.n} counted + ${rows.length} rejected = ${total} consumed`)
  t.equal(sales?.cents, String(good.reduce((a, r) => a + r.cents, 0)), 'the counted amounts, to the cent')

  // The 1 MiB record: 4096 bytes kept, its length and the hash of the whole value.
  const [stored] = await query<{ kept: number; bytes: number; sha: string; head: boolean }>(
    db.url,
    `SELECT octet_length(payload) AS kept, payload_bytes AS bytes, encode(payload_sha256, 'hex') AS sha, payload = $2 AS head FROM rejected_events WHERE topic = $1 AND partition = 0 AND "offset" = 0`,
    [topic, big.subarray(0, MAX_PAYLOAD)],
  )
  t.same(
    stored,
    { kept: MAX_PAYLOAD, bytes: BIG, sha: createHash('sha256').update(big).digest('hex'), head: true },
    'payload = first REJECTED_PAYLOAD_MAX_BYTES bytes, payload_bytes = full length, payload_sha256 = SHA-256 of the whole value',
  )
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})
