// The whole pipeline against the real broker and Postgres: a seeded stream with late,
// future and malformed records, compared with an independent ground truth to the cent.
import t from 'tap'
import { MALFORMED, makeDataset } from '../test-support/dataset.js'
import { createTopic, produce } from '../test-support/broker.js'
import { databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

t.test('200k events over 4 partitions: category_sales and rejected_events equal the ground truth', async (t) => {
  const partitions = 4
  const data = makeDataset(partitions, 50_000, 7)
  t.ok(data.records.length >= 200_000, 'at least 200k events')
  t.ok(new Set(MALFORMED.map((m) => m.kind)).size >= 10, 'at least 10 kinds of malformed records')
  t.ok([...data.truth.rejected.values()].includes('late'), 'the stream has late records')
  t.ok([...data.truth.rejected.values()].includes('future'), 'the stream has future records')

  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, data.records)
  const started = Date.now()
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url }, `e2e-${topic}`)
  await waitCaughtUp(db.url, topic, data.records.length)
  const seconds = (Date.now() - started) / 1000
  t.comment(
    `e2e: ${data.records.length} events caught up in ${seconds.toFixed(1)} s from supervisor start = ${Math.round(data.records.length / seconds)} events/s (includes start-up)`,
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)

  const rows = await query<{ category: string }>(
    db.url,
    "SELECT DISTINCT category FROM category_sales WHERE category LIKE 'Robert%' OR category LIKE 'Caf%'",
  )
  t.equal(rows.length, 2, 'SQL-looking and non-ASCII categories are stored as data')
  const payload = await query<{ hex: string }>(
    db.url,
    "SELECT encode(payload, 'hex') AS hex FROM rejected_events WHERE reason = 'invalid_utf8' LIMIT 1",
  )
  t.equal(payload[0]?.hex, '7bc3287d', 'the raw bytes of a rejected record are kept')

  const groupOffsets = await (async () => {
    const { kafka } = await import('../test-support/broker.js')
    const admin = kafka.admin()
    await admin.connect()
    try {
      return (await admin.fetchOffsets({ groupId: topic, topics: [topic] }))[0]!.partitions
    } finally {
      await admin.disconnect()
    }
  })()
  t.equal(
    groupOffsets.reduce((a, p) => a + Number(p.offset), 0),
    data.records.length,
    'offsets are committed to Kafka too, for lag tools',
  )

  const code = await sup.kill('SIGTERM')
  t.equal(code, 0, 'SIGTERM drains and exits 0')
})
