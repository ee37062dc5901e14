// Outages of the services around the pipeline, against a real Postgres and a real broker; a
// test that stops, restarts or slows one runs a private one (never the machine's cluster or
// the shared broker): Postgres restarted and stopped (also before the supervisor starts), the
// broker stopped and restarted (idle, busy, during a join, before the supervisor starts), a
// consumer crashing the same way again and again, category_sales locked, records deleted by
// retention. Each ends with the totals compared to the ground truth to the cent.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t, { type Test } from 'tap'
import pg from 'pg'
import { makeDataset } from '../test-support/dataset.js'
import { BROKERS, createTopic, kafka, produce, type Produced } from '../test-support/broker.js'
import { ARTIFACTS } from '../test-support/paths.js'
import { committedRecords, databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor, type Supervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { oracleTruth } from '../test-support/oracle.js'
import { inFlight, privateBroker, privatePostgres, SteadyProducer, type PrivateBroker } from '../test-support/outage.js'
import { parseMetrics, scrape, value } from '../test-support/prom-text.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

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
 * The Postgres outages' common start: a private Postgres cluster, 4 partitions, the first
 * `head` records of each dataset produced and counted by a supervisor with a small in-flight
 * bound, before the outage begins.
 */
async function countedHead(t: Test, perPartition: number, seed: number, head: number, maxInFlight: number, logPrefix: string) {
  const pgs = await privatePostgres(t)
  const data = makeDataset(4, perPartition, seed)
  const topic = await createTopic(t, 4)
  await produce(topic, data.records.slice(0, head))
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: pgs.url, FLUSH_MS: '100', MAX_INFLIGHT_RECORDS: String(maxInFlight) },
    `${logPrefix}-${topic}`,
  )
  await waitCaughtUp(pgs.url, topic, head)
  return { data, total: data.records.length, topic, pgs, db: { url: pgs.url }, sup, partitions: 4 }
}

t.test('Postgres restarted, then stopped and started, mid-stream: pauses, readyz 503, resumes, totals exact', async (t) => {
  const maxInFlight = 3000
  const head = 10_000
  const { data, total, topic, pgs, db, sup } = await countedHead(t, 20_000, 21, head, maxInFlight, 'pg-outage')
  const stream = new SteadyProducer(topic, data.records.slice(head), 4000)
  const { w, sample } = flowWatch(sup)
  t.teardown(() => stream.stop())

  // 1. A restart (fast shutdown: every connection is cut) while records flow.
  await waitFor(() => stream.sent >= 8_000, 'the stream flowing')
  const before1 = await committedRecords(db.url, topic)
  const t1 = Date.now()
  await pgs.restart()
  const restartMs = Date.now() - t1
  await waitFor(async () => (await committedRecords(db.url, topic)) > before1, 'a commit after the restart', 60_000, 50)
  const resume1Ms = Date.now() - t1 - restartMs
  t.pass(`Postgres restart took ${secs(restartMs)}; first commit ${secs(resume1Ms)} after it was back`)

  // 2. Away long enough to be noticed: readyz says why, partitions fill up to the bound and pause.
  await waitFor(() => stream.sent >= 24_000, 'more of the stream')
  const before2 = await committedRecords(db.url, topic)
  const t2 = Date.now()
  await pgs.stop()
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
  await pgs.start()
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
  const pgs = await privatePostgres(t)
  const db = { url: pgs.url }
  const head = 8_000
  await produce(topic, data.records.slice(0, head))
  const logName = `pg-rebalance-${topic}`
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100', KAFKA_SESSION_TIMEOUT_MS: '6000' },
    logName,
  )
  await waitCaughtUp(db.url, topic, head)
  const stream = new SteadyProducer(topic, data.records.slice(head), 2000)
  t.teardown(() => stream.stop())
  const partitionStates = async () => ((await sup.readyz()).body.partitions as { partition: number; state: string }[]).map((p) => p.state)

  const t0 = Date.now()
  await pgs.stop()
  await waitFor(async () => (await sup.readyz()).status === 503, 'readyz 503 while Postgres is away', 30_000)
  // Another member joins the group (it reads nothing and commits nothing) and leaves again:
  // the supervisor gives partitions up, gets them back, and must claim them from Postgres.
  const other = kafka.consumer({ groupId: topic, sessionTimeout: 6000, heartbeatInterval: 600 })
  t.teardown(() => other.disconnect())
  await other.connect()
  await other.subscribe({ topic, fromBeginning: true })
  await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} })
  await waitFor(
    async () => (await partitionStates()).length < partitions,
    'the supervisor giving partitions to the other member',
    60_000,
    200,
  )
  await other.disconnect()
  await waitFor(
    async () => {
      const states = await partitionStates()
      return states.length === partitions && states.includes('claiming')
    },
    'all partitions back, some still claiming',
    60_000,
    200,
  )
  await waitFor(
    () => readFileSync(path.join(ARTIFACTS, `${logName}.log`), 'utf8').includes('claim failed, retrying'),
    'a claim failing and being retried',
    30_000,
    200,
  )
  await pgs.start()
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
  const pgs = await privatePostgres(t)
  const db = { url: pgs.url }
  await produce(topic, data.records)
  await pgs.stop()
  const stoppedAt = Date.now()
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100' },
    `pg-down-at-start-${topic}`,
  )
  const waits = () =>
    sup
      .logTail(1000)
      .split('\n')
      .filter((l) => l.includes('"msg":"waiting for Postgres"')).length
  await waitFor(() => waits() >= 3, 'the supervisor trying Postgres again and again', 30_000, 100)
  t.equal(sup.proc.exitCode, null, `still running after ${waits()} tries`)
  const startedAt = Date.now()
  await pgs.start()
  await waitCaughtUp(db.url, topic, data.records.length, 60_000)
  t.pass(
    `Postgres away ${secs(startedAt - stoppedAt)} at start; all ${data.records.length} records committed ${secs(Date.now() - startedAt)} after pg_ctl start was issued`,
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

interface ConsumerFailure {
  /** kafkajs's own verdict: it would have restarted the consumer (true), or left it stopped for good (restart: false). */
  retriable: boolean
  error: string
  /** The wait before the next consumer, as logged. */
  backoffMs: number
}

/** The consumer failures the supervisor logged so far. */
function consumerFailures(logName: string): ConsumerFailure[] {
  return readFileSync(path.join(ARTIFACTS, `${logName}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"kafka consumer failed'))
    .map((l) => JSON.parse(l) as { retriable: boolean; error: { message: string }; backoffMs: number })
    .map((l) => ({ retriable: l.retriable, error: l.error.message, backoffMs: l.backoffMs }))
}

/**
 * The broker outages' common start: a private broker (the outages stop it), a topic of 4
 * partitions on it, and a supervisor factory with a short session timeout.
 */
async function onPrivateBroker(t: Test, logPrefix: string, env: Record<string, string> = {}) {
  const broker = await privateBroker(t)
  const topic = await createTopic(t, 4, broker.kafka)
  const db = databaseFor(t)
  const logName = `${logPrefix}-${topic}`
  const supervisor = () =>
    startSupervisor(
      t,
      {
        KAFKA_BROKERS: broker.brokers,
        KAFKA_TOPIC: topic,
        KAFKA_GROUP_ID: topic,
        DATABASE_URL: db.url,
        FLUSH_MS: '100',
        KAFKA_SESSION_TIMEOUT_MS: '6000',
        ...env,
      },
      logName,
    )
  return { broker, topic, db, logName, supervisor, produce: (records: Produced[]) => produce(topic, records, 5000, broker.kafka) }
}

interface Outage {
  /** Broker stop issued → readyz 503 "kafka_unreachable" (null: not seen, a short restart). */
  notReadyMs: number | null
  /** Broker stop issued → the consumer's first failure logged (null: none while the broker was away). */
  failedMs: number | null
  /** Broker stop issued → broker answering again. */
  awayMs: number
  /** Broker back → readyz 200. */
  readyMs: number
  /** Consumer failures from the stop until ready again. */
  failures: ConsumerFailure[]
  reason: string | null
}

/**
 * One outage of the only broker under a running supervisor. Long (the default): the broker
 * stays away until readyz says 503 kafka_unreachable and the consumer has failed (kafkajs gave
 * up on it), and the process must still run; short: it starts again at once (a restart), so
 * kafkajs meets a broker coming back. Either way the supervisor must be ready again after it.
 */
async function brokerOutage(
  t: Test,
  broker: PrivateBroker,
  sup: Supervisor,
  logName: string,
  o: { short?: boolean; whenBack?: () => Promise<void> } = {},
): Promise<Outage> {
  const seen = consumerFailures(logName).length
  const t0 = Date.now()
  await broker.stop()
  let notReadyMs: number | null = null
  let failedMs: number | null = null
  let reason: string | null = null
  if (!o.short) {
    const away = await waitFor(
      async () => {
        const r = await sup.readyz()
        return r.status === 503 && r.body.state === 'kafka_unreachable' ? r.body : null
      },
      'readyz 503, kafka_unreachable',
      60_000,
      100,
    )
    notReadyMs = Date.now() - t0
    reason = away.reason as string
    await waitFor(() => consumerFailures(logName).length > seen, 'the consumer failing (kafkajs giving up on the broker)', 60_000, 200)
    failedMs = Date.now() - t0
    t.equal(sup.proc.exitCode, null, `the supervisor is still running ${secs(failedMs)} into the outage: ${reason}`)
  }
  await broker.start()
  const back = Date.now()
  await o.whenBack?.()
  await sup.waitReady(120_000)
  return { notReadyMs, failedMs, awayMs: back - t0, readyMs: Date.now() - back, failures: consumerFailures(logName).slice(seen), reason }
}

/** Rejections keyed "partition:offset", with the offsets from `from` on moved up by one (a record inserted there). */
const shiftOffsets = (rejected: Map<string, string>, from: number) =>
  new Map(
    [...rejected].map(([key, reason]) => {
      const [p, offset] = key.split(':').map(Number) as [number, number]
      return [`${p}:${offset >= from ? offset + 1 : offset}`, reason]
    }),
  )

const describeOutage = (o: Outage) =>
  [
    o.notReadyMs === null ? 'restart' : `readyz 503 ${secs(o.notReadyMs)}, consumer failed ${secs(o.failedMs ?? 0)} after the stop`,
    `broker away ${secs(o.awayMs)}`,
    `ready ${secs(o.readyMs)} after it was back`,
    `consumer failures: ${o.failures.map((f) => `${f.retriable ? 'retriable' : 'restart: false'} (${f.error})`).join(', ') || 'none'}`,
  ].join('; ')

t.test('Kafka broker stopped, then restarted, under an idle consumer: never exits, consumes again, totals exact', async (t) => {
  const { broker, topic, db, logName, supervisor, produce } = await onPrivateBroker(t, 'kafka-idle')
  const data = makeDataset(4, 2_500, 24)
  const chunk = 2_000
  let produced = chunk
  await produce(data.records.slice(0, produced))
  const sup = await supervisor()
  await waitCaughtUp(db.url, topic, produced)
  const kinds = new Set<string>()
  // One long outage, then restarts until kafkajs has crashed both ways (at most 3: the kind depends on timing).
  for (let i = 0; i < 4 && (i === 0 || kinds.size < 2); i++) {
    const o = await brokerOutage(t, broker, sup, logName, { short: i > 0 })
    if (i === 0) t.match(o.reason, /^kafka unreachable: /, 'readyz says why')
    for (const f of o.failures) kinds.add(f.retriable ? 'restart: true' : 'restart: false')
    // Records produced after the outage are counted: the consumer fetches again.
    const back = Date.now()
    await produce(data.records.slice(produced, (produced += chunk)))
    await waitCaughtUp(db.url, topic, produced, 60_000)
    t.comment(
      `${i === 0 ? 'outage' : `restart ${i}`}: ${describeOutage(o)}; new records committed ${secs(Date.now() - back)} after it was ready`,
    )
  }
  t.comment(`kafkajs crash kinds seen: ${[...kinds].join(', ') || 'none'}`)
  await produce(data.records.slice(produced))
  await waitCaughtUp(db.url, topic, data.records.length)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test(
  'Kafka broker stopped, then restarted, under a busy consumer (a backlog streaming, partitions pausing at the in-flight bound): never exits, resumes where it was, totals exact',
  async (t) => {
    // A small in-flight bound makes the supervisor take ~10 s over the backlog, so each stop hits it mid-stream.
    const { broker, topic, db, logName, supervisor, produce } = await onPrivateBroker(t, 'kafka-busy', {
      MAX_INFLIGHT_RECORDS: '200',
      FLUSH_MS: '250',
    })
    const data = makeDataset(4, 10_000, 22)
    const total = data.records.length
    await produce(data.records)
    const sup = await supervisor()
    for (const short of [false, true]) {
      const from = await committedRecords(db.url, topic)
      await waitFor(async () => (await committedRecords(db.url, topic)) >= from + 2_000, 'the backlog streaming', 60_000, 50)
      const atStop = await committedRecords(db.url, topic)
      t.ok(atStop < total, `stopped with ${atStop} of ${total} committed`)
      const o = await brokerOutage(t, broker, sup, logName, { short })
      const back = Date.now()
      const before = await committedRecords(db.url, topic)
      await waitFor(async () => (await committedRecords(db.url, topic)) > before, 'commits again', 60_000, 50)
      t.comment(`${short ? 'restart' : 'outage'}: ${describeOutage(o)}; committing again ${secs(Date.now() - back)} after it was ready`)
    }
    await waitCaughtUp(db.url, topic, total)
    await assertMatchesTruth(t, db.url, topic, data.truth)
    await assertNoRestarts(t, sup)
    t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  },
)

t.test('Kafka broker stopped while the supervisor is joining its group: never exits, joins when it is back, totals exact', async (t) => {
  const { broker, topic, db, logName, supervisor, produce } = await onPrivateBroker(t, 'kafka-join')
  const data = makeDataset(4, 2_500, 28)
  await produce(data.records)
  // A member that takes the partitions first and then holds still inside eachBatch: it neither
  // heartbeats nor rejoins, so the coordinator keeps a new member's JoinGroup waiting until the
  // holder's session (15 s) ends. It reads nothing for good (no offsets resolved or committed).
  let release = () => {}
  const held = new Promise<void>((resolve) => (release = resolve))
  let holding = false
  const holder = broker.kafka.consumer({ groupId: topic, sessionTimeout: 15_000, heartbeatInterval: 3_000 })
  const holderGone = async () => {
    release()
    await holder.disconnect().catch(() => {})
  }
  t.teardown(holderGone)
  await holder.connect()
  await holder.subscribe({ topic, fromBeginning: true })
  await holder.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    eachBatch: async () => {
      holding = true
      await held
    },
  })
  await waitFor(() => holding, 'the holder inside eachBatch')
  const sup = await supervisor()
  const admin = broker.kafka.admin()
  await admin.connect()
  const joining = await waitFor(
    async () => {
      const [group] = (await admin.describeGroups([topic])).groups
      return group?.state === 'PreparingRebalance' && group.members.length === 2 ? group : null
    },
    'the supervisor waiting in JoinGroup',
    30_000,
    100,
  )
  await admin.disconnect()
  const r = await sup.readyz()
  t.same(
    [r.status, r.body.state],
    [503, 'starting'],
    `the supervisor is joining (group ${joining.state}, ${joining.members.length} members): ${r.body.reason}`,
  )
  // Once the broker is back the holder leaves the group for good, so the join need not wait for its session to end.
  const o = await brokerOutage(t, broker, sup, logName, { whenBack: holderGone })
  t.comment(`outage during the join: ${describeOutage(o)}`)
  await waitCaughtUp(db.url, topic, data.records.length)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test('Kafka broker down when the supervisor starts: it waits for it (readyz says why), then counts exactly', async (t) => {
  const { broker, topic, db, logName, supervisor, produce } = await onPrivateBroker(t, 'kafka-down-at-start')
  const data = makeDataset(4, 2_500, 31)
  await produce(data.records)
  await broker.stop()
  const stoppedAt = Date.now()
  const sup = await supervisor()
  const away = await waitFor(
    async () => {
      const r = await sup.readyz()
      return r.status === 503 && r.body.state === 'kafka_unreachable' ? r.body : null
    },
    'readyz 503, kafka_unreachable',
    30_000,
    100,
  )
  t.match(away.reason, /^kafka unreachable: /, `readyz: ${away.reason}`)
  // Away until the first try (the topic, through kafkajs's own retries) has failed and been retried.
  await waitFor(() => consumerFailures(logName).length > 0, 'the first try failing', 60_000, 200)
  t.equal(sup.proc.exitCode, null, `still running ${secs(Date.now() - stoppedAt)} after the broker stopped`)
  await broker.start()
  const back = Date.now()
  await waitCaughtUp(db.url, topic, data.records.length)
  t.pass(
    `broker away ${secs(back - stoppedAt)} at start; all ${data.records.length} records committed ${secs(Date.now() - back)} after it was back`,
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})

t.test(
  'Kafka consumer crashing the same way again and again (a Snappy batch kafkajs cannot decode): restart: false each time, reported, backoff grows, never exits (KAFKA_FETCH=actors: the batch is read)',
  async (t) => {
    const data = makeDataset(1, 3_000, 30)
    const topic = await createTopic(t, 1)
    const db = databaseFor(t)
    const logName = `kafka-poison-${topic}`
    await produce(topic, data.records.slice(0, 2_000))
    const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100' }, logName)
    await waitCaughtUp(db.url, topic, 2_000)
    // Kafka's own console producer writes one Snappy-compressed batch (kafkajs has no Snappy codec), then the rest follows.
    const poison = spawnSync(
      'bash',
      [
        'scripts/kafka.sh',
        'tool',
        'org.apache.kafka.tools.ConsoleProducer',
        '--bootstrap-server',
        BROKERS[0]!,
        '--topic',
        topic,
        '--compression-codec',
        'snappy',
      ],
      { input: '{"poison": true}\n', encoding: 'utf8', timeout: 60_000 },
    )
    t.equal(poison.status, 0, `a Snappy batch at offset 2000 ${poison.stderr}`)
    await produce(topic, data.records.slice(2_000))
    if (process.env.KAFKA_FETCH === 'actors') {
      // The actors' client (@platformatic/kafka) decodes Snappy: the batch is read like any
      // other and its record, not a transaction, is rejected; no consumer fails.
      await waitFor(
        async () => (await committedRecords(db.url, topic)) >= 3_001,
        'every record committed, the Snappy one too',
        120_000,
        200,
      )
      const rejected = shiftOffsets(data.truth.rejected, 2_000).set('0:2000', 'invalid_category')
      await assertMatchesTruth(t, db.url, topic, { ...data.truth, rejected })
      t.same(consumerFailures(logName), [], 'no consumer failure')
      await assertNoRestarts(t, sup)
      t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
      return
    }
    const failures = await waitFor(
      () => {
        const f = consumerFailures(logName)
        return f.length >= 3 ? f : null
      },
      'three consumer failures',
      60_000,
      200,
    )
    t.same(
      new Set(failures.map((f) => `${f.retriable} ${f.error}`)),
      new Set(['false Snappy compression not implemented']),
      'each a non-retriable crash (kafkajs would leave the consumer stopped), each the same',
    )
    t.ok(failures[2]!.backoffMs > failures[0]!.backoffMs, `backoff grows: ${failures.map((f) => f.backoffMs).join(', ')} ms`)
    const report = await waitFor(
      async () => {
        const r = await sup.readyz()
        return r.status === 503 && r.body.state === 'failed' && /times in a row/.test(r.body.reason) ? r.body : null
      },
      'readyz 503 reporting the repeating failure',
      30_000,
      100,
    )
    t.match(report.reason, /Snappy compression not implemented, \d+ times in a row; next try in \d+ s/, `readyz: ${report.reason}`)
    t.ok(
      value(parseMetrics(await scrape(sup.port)), 'tumbler_consumer_restarts_total')! >= 3,
      'tumbler_consumer_restarts_total counts them',
    )
    t.equal(sup.proc.exitCode, null, 'the supervisor is still running')
    // The operator's way out: delete the batch (its records stay in Kafka's log until then); counting goes on after it.
    const admin = kafka.admin()
    await admin.connect()
    try {
      await admin.fetchTopicMetadata({ topics: [topic] }) // deleteTopicRecords needs the leaders known
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2001' }] })
    } finally {
      await admin.disconnect()
    }
    await waitFor(async () => (await committedRecords(db.url, topic)) >= 3_001, 'the records after the batch committed', 120_000, 200)
    await assertMatchesTruth(t, db.url, topic, { ...data.truth, rejected: shiftOffsets(data.truth.rejected, 2_000) })
    await assertNoRestarts(t, sup)
    t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  },
)

t.test(
  'Postgres slow: category_sales locked 10 s while records keep coming: backs off within bounds, catches up, totals exact',
  async (t) => {
    const maxInFlight = 2000
    const head = 5_000
    const { data, total, topic, pgs, db, sup, partitions } = await countedHead(t, 12_500, 23, head, maxInFlight, 'pg-slow')

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
      async () =>
        (
          await query(
            pgs.adminUrl,
            "SELECT 1 FROM pg_stat_activity WHERE datname = $1 AND application_name = 'tumbler-writer' AND wait_event_type = 'Lock'",
            [new URL(db.url).pathname.slice(1)],
          )
        ).length > 0,
      'the writer waiting on the lock',
      30_000,
    )
    const lockedAt = Date.now()
    const committedAtLock = await committedRecords(db.url, topic)
    // Held for 10 s of the writer waiting, and until every partition has hit the bound and paused.
    await waitFor(
      async () => (await sample(), Date.now() - lockedAt >= 10_000 && w.paused.size === partitions),
      'the lock held 10 s and every partition paused',
      60_000,
      200,
    )
    const committedAtRelease = await committedRecords(db.url, topic)
    const heldMs = Date.now() - lockedAt
    await locker.query('COMMIT')
    const releasedAt = Date.now()
    t.equal(committedAtRelease, committedAtLock, 'nothing committed while the table was locked')

    await stream.done
    await waitCaughtUp(db.url, topic, total)
    t.pass(
      `lock held ${secs(heldMs)} with the writer waiting; all ${total} records committed ${secs(Date.now() - releasedAt)} after the release`,
    )
    t.ok(w.maxInFlight <= maxInFlight, `in flight per partition stayed within MAX_INFLIGHT_RECORDS (${w.maxInFlight} ≤ ${maxInFlight})`)
    await assertMatchesTruth(t, db.url, topic, data.truth)
    await assertNoRestarts(t, sup)
    t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  },
)

t.test('records deleted from Kafka (retention) before they were counted: the partition goes on from the log start', async (t) => {
  const data = makeDataset(1, 10_000, 26)
  const topic = await createTopic(t, 1)
  const db = databaseFor(t)
  const head = 3_000
  await produce(topic, data.records.slice(0, head))
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100', MAX_INFLIGHT_RECORDS: '1000' },
    `retention-${topic}`,
  )
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
  const at = await waitFor(
    async () => (await sup.readyz()).body.partitions.find((p: { paused: boolean }) => p.paused),
    'the partition paused at the bound',
    60_000,
  )
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
  const sales = await query<{ w: string; category: string; total: string; count: string }>(
    db.url,
    'SELECT (extract(epoch FROM window_start) * 1000)::bigint::text AS w, category, total_sales::text AS total, transaction_count AS count FROM category_sales',
  )
  const cents = (c: bigint) => `${c / 100n}.${String(c % 100n).padStart(2, '0')}`
  t.same(
    sales.map((r) => `${r.w}|${r.category} = ${r.total} / ${r.count}`).sort(),
    [...truth.sales].map(([k, v]) => `${k} = ${cents(v.cents)} / ${v.count}`).sort(),
    'category_sales: the records before the deletion and after the new log start, to the cent',
  )
  const rejected = await query<{ key: string; reason: string }>(
    db.url,
    `SELECT partition || ':' || "offset" AS key, reason FROM rejected_events`,
  )
  t.same(
    Object.fromEntries(rejected.map((r) => [r.key, r.reason]).sort()),
    Object.fromEntries([...truth.rejected].sort()),
    'rejected_events: the same records, offset by offset',
  )
  t.match(
    readFileSync(path.join(ARTIFACTS, `retention-${topic}.log`), 'utf8'),
    /records deleted from Kafka before they were counted/,
    'the skipped range is logged',
  )
  await assertNoRestarts(t, sup)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')

  // Deleted while no supervisor runs: the claim itself moves to the log start, and says so.
  await produce(topic, makeDataset(1, 2_000, 27).records) // offsets 10000..11999
  const admin2 = kafka.admin()
  await admin2.connect()
  try {
    await admin2.fetchTopicMetadata({ topics: [topic] })
    await admin2.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '11000' }] })
  } finally {
    await admin2.disconnect()
  }
  const restarted = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url },
    `retention-restart-${topic}`,
  )
  await waitCaughtUp(db.url, topic, 12_000, 60_000)
  t.match(
    readFileSync(path.join(ARTIFACTS, `retention-restart-${topic}.log`), 'utf8'),
    /"from":"10000","logStart":"11000","msg":"records deleted from Kafka before they were counted/,
    'a claim past deleted records logs the skipped range',
  )
  t.equal(await restarted.kill('SIGTERM'), 0, 'clean exit')
})
