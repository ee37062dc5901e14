// Window finality end to end (docs/contract.md "Window semantics"; issue 12) on the real broker and
// Postgres: a partition with nothing to read stops holding windows open after
// IDLE_PARTITION_SECONDS, its later records for final windows are late, closed rows never
// change, and each closing transaction sends one NOTIFY.
import { setInterval as every } from 'node:timers/promises'
import pg from 'pg'
import t from 'tap'
import { LATENESS_MS, makeDataset, WINDOW_MS } from '../test-support/dataset.js'
import { assertQuietTopicFinal, closedRowChanges, finalityState, watchClosedRows } from '../test-support/finality.js'
import { producePaced } from '../test-support/group.js'
import { createTopic, produce } from '../test-support/broker.js'
import { databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

const IDLE_SECONDS = 2

/** A valid record for partition 3, its Kafka timestamp equal to its event time. */
const record = (eventMs: number, category = 'Home', amount = 12.34) => ({
  partition: 3,
  value: JSON.stringify({ product_category: category, amount, timestamp: new Date(eventMs).toISOString() }),
  timestampMs: eventMs,
})

t.test(
  '4 partitions, one empty: windows become final after IDLE_PARTITION_SECONDS; a later record for a final window there is late',
  async (t) => {
    const data = makeDataset(3, 5_000, 31) // partitions 0..2; partition 3 gets nothing
    const topic = await createTopic(t, 4)
    const db = databaseFor(t)
    await watchClosedRows(db.url)
    const listener = new pg.Client({ connectionString: db.url })
    await listener.connect()
    t.teardown(() => listener.end())
    const notifications: { windowStart: string; windowEnd: string }[] = []
    listener.on('notification', (n) => notifications.push(JSON.parse(n.payload!)))
    await listener.query('LISTEN tumbler_windows_closed')

    await produce(topic, data.records)
    const sup = await startSupervisor(
      t,
      { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, IDLE_PARTITION_SECONDS: String(IDLE_SECONDS), FLUSH_MS: '100' },
      `finality-${topic}`,
    )
    await waitCaughtUp(db.url, topic, data.records.length)
    await assertMatchesTruth(t, db.url, topic, data.truth)

    const final = await assertQuietTopicFinal(t, db.url, topic, LATENESS_MS)
    const [p3] = await query<{ idle_watermark_ms: string; claimed: Date }>(
      db.url,
      'SELECT idle_watermark_ms, updated_at AS claimed FROM tumbler_progress WHERE topic = $1 AND partition = 3',
      [topic],
    )
    t.equal(Number(p3!.idle_watermark_ms), final.lowWatermarkMs, 'the empty partition was advanced to the others’ watermark')
    const [first] = await query<{ at: Date }>(db.url, 'SELECT min(closed_at) AS at FROM category_sales')
    t.ok(
      first!.at.getTime() - p3!.claimed.getTime() >= IDLE_SECONDS * 1000,
      `no window was final before partition 3 had been idle ${IDLE_SECONDS} s (claimed ${p3!.claimed.toISOString()}, first closing ${first!.at.toISOString()})`,
    )

    // Partition 3 gets a stream of its own now, paced so that several commits move its
    // watermark: the idle partitions follow it, and the windows it passes close one commit after another.
    const wave = Array.from({ length: 3_000 }, (_, i) =>
      record(final.lowWatermarkMs! + LATENESS_MS + i * 40, ['Home', 'Books', 'Toys'][i % 3]),
    )
    await producePaced(topic, wave, 1_000, undefined, 100)
    await waitCaughtUp(db.url, topic, data.records.length + wave.length)
    const quiet = await assertQuietTopicFinal(t, db.url, topic, LATENESS_MS)
    t.ok(quiet.lowWatermarkMs! > final.lowWatermarkMs!, 'the low watermark followed partition 3')
    t.same(await query(db.url, 'SELECT "offset" FROM rejected_events WHERE partition = 3'), [], 'none of its records was late')

    // One NOTIFY per closing transaction (closed_at is the transaction's time), naming its windows.
    const transactions = await query<{ from: Date; to: Date }>(
      db.url,
      'SELECT min(window_start) AS from, max(window_end) AS to FROM category_sales WHERE closed_at IS NOT NULL GROUP BY closed_at ORDER BY 1',
    )
    t.ok(transactions.length >= 2, `${transactions.length} closing transactions`)
    await waitFor(() => notifications.length >= transactions.length, `${transactions.length} notifications`, 10_000)
    t.same(
      notifications.map((n) => `${n.windowStart} ${n.windowEnd}`),
      transactions.map((r) => `${r.from.toISOString()} ${r.to.toISOString()}`),
      'one NOTIFY per closing transaction, with the start and end of the windows it closed',
    )

    // Partition 3 now: a record for the oldest (final) window is late; one for a window still open counts.
    const oldest = Number(
      (
        await query<{ ms: string }>(db.url, 'SELECT (extract(epoch FROM min(window_start)) * 1000)::bigint::text AS ms FROM category_sales')
      )[0]!.ms,
    )
    const open = quiet.lowWatermarkMs! + 1 // in the window that ends after the low watermark
    const before = await query<{ total: string; count: string }>(
      db.url,
      'SELECT total_sales::text AS total, transaction_count::text AS count FROM category_sales WHERE window_start = $1 AND category = $2',
      [new Date(Math.floor(open / WINDOW_MS) * WINDOW_MS), 'Home'],
    )
    await produce(topic, [record(oldest + 1_000), record(open)])
    await waitCaughtUp(db.url, topic, data.records.length + wave.length + 2)
    const rejected = await query<{ offset: string; reason: string; detail: string }>(
      db.url,
      'SELECT "offset", reason, detail FROM rejected_events WHERE partition = 3',
    )
    t.same(
      rejected.map((r) => [r.offset, r.reason]),
      [[String(wave.length), 'late']],
      'the record of partition 3 for a final window is rejected as late',
    )
    t.comment(`detail: ${rejected[0]?.detail}`)
    const after = await query<{ total: string; count: string }>(
      db.url,
      'SELECT total_sales::text AS total, transaction_count::text AS count FROM category_sales WHERE window_start = $1 AND category = $2',
      [new Date(Math.floor(open / WINDOW_MS) * WINDOW_MS), 'Home'],
    )
    t.equal(Number(after[0]!.count), Number(before[0]?.count ?? 0) + 1, 'the record for the open window is counted')
    t.same(await closedRowChanges(db.url), [], 'no final row changed')
    t.equal((await finalityState(db.url, topic)).lowWatermarkMs, quiet.lowWatermarkMs, 'the low watermark did not move back')
    t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  },
)

t.test('IDLE_PARTITION_SECONDS=0: nothing becomes final while a partition has no records; its first records close windows', async (t) => {
  const data = makeDataset(3, 2_000, 32)
  const topic = await createTopic(t, 4)
  const db = databaseFor(t)
  await watchClosedRows(db.url)
  await produce(topic, data.records)
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, IDLE_PARTITION_SECONDS: '0', FLUSH_MS: '100' },
    `finality-off-${topic}`,
  )
  await waitCaughtUp(db.url, topic, data.records.length)

  // Absence has to be watched for a while: three times the idle time that closed windows above.
  const until = Date.now() + 3 * IDLE_SECONDS * 1000
  const seen = new Set<string>()
  for await (const _ of every(250)) {
    const s = await finalityState(db.url, topic)
    seen.add(`low watermark ${s.lowWatermarkMs}, ${s.closedRows} final rows`)
    if (Date.now() >= until) break
  }
  t.same([...seen], ['low watermark null, 0 final rows'], `for ${3 * IDLE_SECONDS} s after catching up: no low watermark, no final row`)
  t.same(
    await query(db.url, 'SELECT partition FROM tumbler_progress WHERE topic = $1 AND idle_watermark_ms IS NOT NULL', [topic]),
    [],
    'no partition was advanced',
  )

  // A record of partition 3 for the oldest window still counts: nothing was final.
  const oldest = Number(
    (
      await query<{ ms: string }>(db.url, 'SELECT (extract(epoch FROM min(window_start)) * 1000)::bigint::text AS ms FROM category_sales')
    )[0]!.ms,
  )
  const newest = Number(
    (await query<{ ms: string }>(db.url, 'SELECT max(max_event_ms)::text AS ms FROM tumbler_progress WHERE topic = $1', [topic]))[0]!.ms,
  )
  await produce(topic, [record(oldest + 1_000, 'Late but open')])
  await waitCaughtUp(db.url, topic, data.records.length + 1)
  t.same(await query(db.url, 'SELECT "offset" FROM rejected_events WHERE partition = 3'), [], 'not late')
  t.equal((await query(db.url, "SELECT 1 FROM category_sales WHERE category = 'Late but open'")).length, 1, 'counted in the oldest window')

  // Its watermark then passes the others': the low watermark is theirs, without any idleness.
  const [lowest] = await query<{ ms: string }>(
    db.url,
    'SELECT min(max_event_ms)::text AS ms FROM tumbler_progress WHERE topic = $1 AND partition < 3',
    [topic],
  )
  await produce(topic, [record(newest + WINDOW_MS, 'Ahead')])
  await waitCaughtUp(db.url, topic, data.records.length + 2)
  const s = await waitFor(async () => {
    const s = await finalityState(db.url, topic)
    return s.lowWatermarkMs !== null ? s : null
  }, 'a low watermark once partition 3 has one')
  t.equal(s.lowWatermarkMs, Number(lowest!.ms) - LATENESS_MS, 'the low watermark is the slowest partition’s watermark')
  t.ok(s.closedRows > 0, `${s.closedRows} rows final`)
  t.same(await closedRowChanges(db.url), [], 'no final row changed')
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})
