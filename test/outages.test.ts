// Outages of the services around the pipeline, mid-stream, against the real Postgres
// cluster and the real broker: Postgres restarted and stopped (also before the supervisor
// starts), the broker restarted and stopped, category_sales locked. Each ends with the totals compared to the ground truth to the cent.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import pg from 'pg'
import { makeDataset } from './helpers/dataset.js'
import { ARTIFACTS, committedRecords, createTopic, databaseFor, kafka, PG_ADMIN_URL, produce, query, startSupervisor, waitFor, type Supervisor } from './helpers/harness.js'
import { oracleTruth } from './helpers/oracle.js'
import { ensurePgUp, inFlight, kafkaSh, pgCtl, SteadyProducer } from './helpers/outage.js'
import { assertMatchesTruth, waitCaughtUp } from './helpers/verify.js'

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`

/** Polls /readyz and keeps the largest dispatched − committed of any partition and the partitions seen paused. */
function flowWatch(sup: Supervisor) {
  const w = { maxInFlight: 0, paused: new Set<number>() }
  const sample = async () => {
    const { body } = await sup.readyz()
    for (const p of inFlight(body)) {
      w.maxInFlight = Math.max(w.maxInFlight, p.inFlight)
      if (p.paused) w.paused.add(p.partition)
    }
    return body
  }
  return { w, sample }
}

async function assertNoRestarts(t: Test, sup: Supervisor): Promise<void> {
  const { body } = await sup.readyz()
  t.same(body.restarts, { actors: body.restarts.actors.map(() => 0), writer: 0 }, 'no thread died: the writer retried, the actors waited')
}

/**
 * The Postgres outages' common start: 4 partitions, the first `head` records of each dataset
 * produced and counted by a supervisor with a small in-flight bound, before the outage begins.
 */
async function countedHead(t: Test, perPartition: number, seed: number, head: number, maxInFlight: number, logPrefix: string) {
  const data = makeDataset(4, perPartition, seed)
  const topic = await createTopic(t, 4)
  const db = databaseFor(t)
  await produce(topic, data.records.slice(0, head))
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100', MAX_INFLIGHT_RECORDS: String(maxInFlight) }, `${logPrefix}-${topic}`)
  await waitCaughtUp(db.url, topic, head)
  return { data, total: data.records.length, topic, db, sup, partitions: 4 }
}

t.test('Postgres restarted, then stopped and started, mid-stream: pauses, readyz 503, resumes, totals exact', async (t) => {
  const maxInFlight = 3000
  const head = 10_000
  const { data, total, topic, db, sup } = await countedHead(t, 20_000, 21, head, maxInFlight, 'pg-outage')
  const stream = new SteadyProducer(topic, data.records.slice(head), 4000)
  const { w, sample } = flowWatch(sup)

  // Teardowns run last-registered first: Postgres is up again before the database is dropped.
  t.teardown(ensurePgUp)
  t.teardown(() => stream.stop())

  // 1. A restart (fast shutdown: every connection is cut) while records flow.
  await waitFor(() => stream.sent >= 8_000, 'the stream flowing')
  const before1 = await committedRecords(db.url, topic)
  const t1 = Date.now()
  await pgCtl('restart')
  const restartMs = Date.now() - t1
  await waitFor(async () => (await committedRecords(db.url, topic)) > before1, 'a commit after the restart', 60_000, 50)
  const resume1Ms = Date.now() - t1 - restartMs
  t.pass(`Postgres restart took ${secs(restartMs)}; first commit ${secs(resume1Ms)} after it was back`)

  // 2. Away long enough to be noticed: readyz says why, partitions fill up to the bound and pause.
  await waitFor(() => stream.sent >= 24_000, 'more of the stream')
  const before2 = await committedRecords(db.url, topic)
  const t2 = Date.now()
  await pgCtl('stop')
  const away = await waitFor(
    async () => {
      const r = await sup.readyz()
      return r.status === 503 ? r.body : null
    },
    'readyz 503 while Postgres is away',
    30_000,
  )
  t.match(away.reason, /postgres/i, `readyz 503 says why: ${away.reason}`)
  await waitFor(async () => (await sample(), w.paused.size > 0), 'a partition paused at the in-flight bound', 60_000)
  t.equal(sup.proc.exitCode, null, 'the supervisor is still running')
  await pgCtl('start')
  const pgBack = Date.now()
  const outageMs = pgBack - t2
  await sup.waitReady(60_000)
  const readyMs = Date.now() - pgBack
  await waitFor(async () => (await committedRecords(db.url, topic)) > before2, 'a commit after Postgres came back', 60_000, 50)
  const resume2Ms = Date.now() - pgBack
  t.pass(`Postgres away ${secs(outageMs)}: readyz 200 again ${secs(readyMs)} and first commit ${secs(resume2Ms)} after it was back`)

  await stream.done
  await waitCaughtUp(db.url, topic, total)
  t.ok(w.maxInFlight <= maxInFlight, `in flight per partition stayed within MAX_INFLIGHT_RECORDS (${w.maxInFlight} ≤ ${maxInFlight})`)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('Postgres away during a rebalance: the claims retry until it is back, totals exact', async (t) => {
  const partitions = 4
  const data = makeDataset(partitions, 10_000, 25)
  const total = data.records.length
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  const head = 8_000
  await produce(topic, data.records.slice(0, head))
  const logName = `pg-rebalance-${topic}`
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100', KAFKA_SESSION_TIMEOUT_MS: '6000' }, logName)
  await waitCaughtUp(db.url, topic, head)
  const stream = new SteadyProducer(topic, data.records.slice(head), 2000)
  t.teardown(ensurePgUp)
  t.teardown(() => stream.stop())
  const partitionStates = async () => ((await sup.readyz()).body.partitions as { partition: number; state: string }[]).map((p) => p.state)

  const t0 = Date.now()
  await pgCtl('stop')
  await waitFor(async () => (await sup.readyz()).status === 503, 'readyz 503 while Postgres is away', 30_000)
  // Another member joins the group (it reads nothing and commits nothing) and leaves again:
  // the supervisor gives partitions up, gets them back, and must claim them from Postgres.
  const other = kafka.consumer({ groupId: topic, sessionTimeout: 6000, heartbeatInterval: 600 })
  t.teardown(() => other.disconnect())
  await other.connect()
  await other.subscribe({ topic, fromBeginning: true })
  await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} })
  await waitFor(async () => (await partitionStates()).length < partitions, 'the supervisor giving partitions to the other member', 60_000, 200)
  await other.disconnect()
  await waitFor(async () => {
    const states = await partitionStates()
    return states.length === partitions && states.includes('claiming')
  }, 'all partitions back, some still claiming', 60_000, 200)
  await waitFor(() => readFileSync(path.join(ARTIFACTS, `${logName}.log`), 'utf8').includes('claim failed, retrying'), 'a claim failing and being retried', 30_000, 200)
  await pgCtl('start')
  const pgBack = Date.now()
  await waitFor(async () => (await partitionStates()).every((s) => s === 'active'), 'every partition claimed', 60_000, 100)
  t.pass(`Postgres away ${secs(pgBack - t0)} across two rebalances; every partition claimed ${secs(Date.now() - pgBack)} after it was back`)

  await stream.done
  await waitCaughtUp(db.url, topic, total)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('Postgres down when the supervisor starts: it waits for it, then counts exactly', async (t) => {
  const partitions = 2
  const data = makeDataset(partitions, 5_000, 27)
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, data.records)
  t.teardown(ensurePgUp)
  await pgCtl('stop')
  const stoppedAt = Date.now()
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100' }, `pg-down-at-start-${topic}`)
  const waits = () => sup.logTail(1000).split('\n').filter((l) => l.includes('"msg":"waiting for Postgres"')).length
  await waitFor(() => waits() >= 3, 'the supervisor trying Postgres again and again', 30_000, 100)
  t.equal(sup.proc.exitCode, null, `still running after ${waits()} tries`)
  const startedAt = Date.now()
  await pgCtl('start')
  await waitCaughtUp(db.url, topic, data.records.length, 60_000)
  t.pass(`Postgres away ${secs(startedAt - stoppedAt)} at start; all ${data.records.length} records committed ${secs(Date.now() - startedAt)} after pg_ctlcluster start was issued`)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

/**
 * The two broker outages' common start: 4 partitions streamed at 4,000 records/s through a
 * supervisor until `flowing` records are sent and some are counted; then the producer holds
 * still (nothing can be produced while the only broker is away). Teardowns run
 * last-registered first: the broker is up again before the topic is deleted.
 */
async function streamUntilBrokerOutage(t: Test, perPartition: number, seed: number, logPrefix: string, flowing: number) {
  const data = makeDataset(4, perPartition, seed)
  const topic = await createTopic(t, 4)
  const db = databaseFor(t)
  const logName = `${logPrefix}-${topic}`
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100' }, logName)
  await sup.waitReady()
  const stream = new SteadyProducer(topic, data.records, 4000)
  t.teardown(() => kafkaSh('start'))
  t.teardown(() => stream.stop())
  await waitFor(async () => stream.sent >= flowing && (await committedRecords(db.url, topic)) > 0, 'the stream flowing and counted')
  await stream.pause()
  return { data, total: data.records.length, topic, db, logName, sup, stream, sentBefore: stream.sent, t0: Date.now() }
}

t.test('Kafka broker restarted mid-stream: the consumer reconnects and resumes, totals exact', async (t) => {
  const { data, total, topic, db, sup, stream, sentBefore, t0 } = await streamUntilBrokerOutage(t, 15_000, 22, 'kafka-outage', 20_000)
  await kafkaSh('restart')
  const brokerBack = Date.now()
  stream.resume()
  // Counted records beyond what was produced before the restart: new records went all the way through.
  await waitFor(async () => (await committedRecords(db.url, topic)) > sentBefore, 'records produced after the restart committed', 180_000, 100)
  const resumeMs = Date.now() - brokerBack
  t.pass(`broker restart took ${secs(brokerBack - t0)}; records produced after it were committed ${secs(resumeMs)} after it was back`)

  await stream.done
  await waitCaughtUp(db.url, topic, total, 180_000)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(sup.proc.exitCode, null, 'the supervisor never exited')
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

// A long outage: readyz must say so (heartbeats no longer accepted), whether or not kafkajs
// has given up retrying yet (it crashes the consumer with restart: true after roughly 30 s, or keeps retrying).
t.test('Kafka broker stopped until readyz says so, and long enough for kafkajs to give up: rejoins, totals exact', async (t) => {
  const { data, total, topic, db, logName, sup, stream, sentBefore, t0 } = await streamUntilBrokerOutage(t, 10_000, 24, 'kafka-away', 12_000)
  await kafkaSh('stop')
  const away = await waitFor(
    async () => {
      const r = await sup.readyz()
      return r.status === 503 ? r.body : null
    },
    'readyz 503 while the broker is away',
    120_000,
    250,
  )
  const notReadyMs = Date.now() - t0
  t.match(away.reason, /kafka/i, `readyz 503 says why: ${away.reason}`)
  // The path a long outage takes: kafkajs gives up and restarts the consumer. Waited for with a
  // deadline; the test holds either way (kafkajs has been seen retrying for minutes instead).
  const gaveUp = await waitFor(() => readFileSync(path.join(ARTIFACTS, `${logName}.log`), 'utf8').includes('"msg":"consumer crashed"'), 'kafkajs restarting the consumer', 45_000, 250).then(
    () => true,
    () => false,
  )
  t.comment(gaveUp ? `kafkajs restarted the consumer ${secs(Date.now() - t0)} into the outage` : 'kafkajs was still retrying when the broker came back')
  await kafkaSh('start')
  const brokerBack = Date.now()
  stream.resume()
  await sup.waitReady(120_000)
  const readyMs = Date.now() - brokerBack
  await waitFor(async () => (await committedRecords(db.url, topic)) > sentBefore, 'records produced after the outage committed', 120_000, 100)
  t.pass(`readyz 503 ${secs(notReadyMs)} into the outage; broker away ${secs(brokerBack - t0)}; ready again ${secs(readyMs)} and new records committed ${secs(Date.now() - brokerBack)} after it was back`)

  await stream.done
  await waitCaughtUp(db.url, topic, total, 180_000)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(sup.proc.exitCode, null, 'the supervisor never exited')
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('Postgres slow: category_sales locked 10 s while records keep coming: backs off within bounds, catches up, totals exact', async (t) => {
  const maxInFlight = 2000
  const head = 5_000
  const { data, total, topic, db, sup, partitions } = await countedHead(t, 12_500, 23, head, maxInFlight, 'pg-slow')

  const locker = new pg.Client({ connectionString: db.url, application_name: 'tumbler-test-locker' })
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE category_sales IN ACCESS EXCLUSIVE MODE')
  // A burst first (big fetches, the bound's hard case), then a steady stream for the rest.
  const burst = 20_000
  await produce(topic, data.records.slice(head, head + burst))
  const stream = new SteadyProducer(topic, data.records.slice(head + burst), 2500)
  t.teardown(() => stream.stop())
  const { w, sample } = flowWatch(sup)
  await waitFor(
    async () => (await query(PG_ADMIN_URL, "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tumbler-writer' AND wait_event_type = 'Lock'", [db.name])).length > 0,
    'the writer waiting on the lock',
    30_000,
  )
  const lockedAt = Date.now()
  const committedAtLock = await committedRecords(db.url, topic)
  // Held for 10 s of the writer waiting, and until every partition has hit the bound and paused.
  await waitFor(async () => (await sample(), Date.now() - lockedAt >= 10_000 && w.paused.size === partitions), 'the lock held 10 s and every partition paused', 60_000, 200)
  const committedAtRelease = await committedRecords(db.url, topic)
  const heldMs = Date.now() - lockedAt
  await locker.query('COMMIT')
  const releasedAt = Date.now()
  t.equal(committedAtRelease, committedAtLock, 'nothing committed while the table was locked')

  await stream.done
  await waitCaughtUp(db.url, topic, total)
  t.pass(`lock held ${secs(heldMs)} with the writer waiting; all ${total} records committed ${secs(Date.now() - releasedAt)} after the release`)
  t.ok(w.maxInFlight <= maxInFlight, `in flight per partition stayed within MAX_INFLIGHT_RECORDS (${w.maxInFlight} ≤ ${maxInFlight})`)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('records deleted from Kafka (retention) before they were counted: the partition goes on from the log start', async (t) => {
  const data = makeDataset(1, 10_000, 26)
  const topic = await createTopic(t, 1)
  const db = databaseFor(t)
  const head = 3_000
  await produce(topic, data.records.slice(0, head))
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100', MAX_INFLIGHT_RECORDS: '1000' }, `retention-${topic}`)
  await waitFor(async () => (await committedRecords(db.url, topic)) > 0, 'a first commit', 60_000, 20).catch((err: Error) => {
    throw new Error(`${err.message}; its log ends:\n${sup.logTail()}`)
  })
  // Postgres held still: the partition stops at the in-flight bound, at most 1000 past the
  // first 3000 records, well before the records deleted below.
  const locker = new pg.Client({ connectionString: db.url })
  locker.on('error', () => {}) // the database is dropped with (FORCE) in teardown
  await locker.connect()
  t.teardown(() => locker.end())
  await locker.query('BEGIN')
  await locker.query('LOCK TABLE category_sales IN ACCESS EXCLUSIVE MODE')
  await produce(topic, data.records.slice(head))
  const at = await waitFor(async () => (await sup.readyz()).body.partitions.find((p: { paused: boolean }) => p.paused), 'the partition paused at the bound', 60_000)
  const dispatched = Number(at.dispatched)
  const logStart = 6_000
  t.ok(dispatched < logStart, `stopped at offset ${dispatched}, before the records to delete`)
  const admin = kafka.admin()
  await admin.connect()
  try {
    await admin.fetchTopicMetadata({ topics: [topic] })
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: String(logStart) }] })
  } finally {
    await admin.disconnect()
  }
  await locker.query('COMMIT')
  await waitCaughtUp(db.url, topic, data.records.length, 60_000).catch(async (err: Error) => {
    throw new Error(`${err.message}; readyz partitions ${JSON.stringify((await sup.readyz()).body.partitions)}`)
  })

  // What was read before the deletion, and the log from its new start: nothing else, nothing twice.
  const seen = data.records.map((r, offset) => ({ ...r, offset })).filter((r) => r.offset < dispatched || r.offset >= logStart)
  const truth = oracleTruth(seen, { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 })
  const sales = await query<{ w: string; category: string; total: string; count: string }>(db.url, 'SELECT (extract(epoch FROM window_start) * 1000)::bigint::text AS w, category, total_sales::text AS total, transaction_count AS count FROM category_sales')
  const cents = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`
  t.same(sales.map((r) => `${r.w}|${r.category} = ${r.total} / ${r.count}`).sort(), [...truth.sales].map(([k, v]) => `${k} = ${cents(v.cents)} / ${v.count}`).sort(), 'category_sales: the records before the deletion and after the new log start, to the cent')
  const rejected = await query<{ key: string; reason: string }>(db.url, `SELECT partition || ':' || "offset" AS key, reason FROM rejected_events`)
  t.same(Object.fromEntries(rejected.map((r) => [r.key, r.reason]).sort()), Object.fromEntries([...truth.rejected].sort()), 'rejected_events: the same records, offset by offset')
  t.match(readFileSync(path.join(ARTIFACTS, `retention-${topic}.log`), 'utf8'), /records deleted from Kafka before they were counted/, 'the skipped range is logged')
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})
