// kill -9 at random moments, and crashes of single threads: nothing lost, nothing doubled.
import t from 'tap'
import { rng } from '../test-support/rng.js'
import { LATENESS_MS, makeDataset } from '../test-support/dataset.js'
import { assertQuietTopicFinal, closedRowChanges, finalityState, watchClosedRows } from '../test-support/finality.js'
import { createTopic, produce } from '../test-support/broker.js'
import { committedRecords, databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

t.test('kill -9 the supervisor 3 times mid-stream, restart: totals exact, final rows never change', async (t) => {
  const partitions = 4
  const data = makeDataset(partitions, 50_000, 11)
  const total = data.records.length
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await watchClosedRows(db.url)
  // A short session timeout: the killed member's partitions move on after 3 s, not 10. Idle
  // partitions after 5 s: only once the stream is over (the ground truth has no idle advance).
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: db.url,
    FLUSH_MS: '100',
    MAX_INFLIGHT_RECORDS: '5000',
    KAFKA_SESSION_TIMEOUT_MS: '3000',
    IDLE_PARTITION_SECONDS: '5',
  }

  // Half the stream is there before the first start; the rest arrives while it runs and dies.
  await produce(topic, data.records.slice(0, total / 2))
  const rest = produce(topic, data.records.slice(total / 2))
  const random = rng(Date.now() % 1_000_000)
  let lastKill = 0
  let killedAt = 0
  let closedAtLastKill = 0
  const recoveries: number[] = []
  for (let kill = 1; kill <= 3; kill++) {
    const sup = await startSupervisor(t, env, `crash-${topic}`)
    if (kill > 1) {
      await waitFor(async () => (await committedRecords(db.url, topic)) > killedAt, 'progress after restart', 120_000, 20)
      recoveries.push(Date.now() - lastKill)
    }
    // A random point around 1/4, 1/2 and 3/4 of the stream.
    const target = Math.max(killedAt + 1000, Math.floor(total * (kill / 4 + (random() - 0.5) * 0.15)))
    await waitFor(async () => (await committedRecords(db.url, topic)) >= target, `progress past ${target}`, 120_000, 20)
    lastKill = Date.now()
    const code = await sup.kill('SIGKILL')
    killedAt = await committedRecords(db.url, topic)
    closedAtLastKill = (await finalityState(db.url, topic)).closedRows
    t.equal(code, -1, `kill -9 #${kill} at ${killedAt} of ${total} committed, ${closedAtLastKill} rows final`)
  }
  await rest
  const sup = await startSupervisor(t, env, `crash-${topic}`)
  await waitCaughtUp(db.url, topic, total)
  t.comment(
    `kill -9 → restarted supervisor commits again after: ${recoveries.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} (start-up + group join); last kill → all ${total} caught up: ${((Date.now() - lastKill) / 1000).toFixed(1)} s`,
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)
  t.ok(closedAtLastKill > 0, 'windows were final before the last kill -9')
  await assertQuietTopicFinal(t, db.url, topic, LATENESS_MS)
  t.same(await closedRowChanges(db.url), [], 'no final row changed across the kills and replays')
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit after recovery')
})

t.test('one actor thread and the writer thread die mid-stream: restarted, totals exact', async (t) => {
  const partitions = 4
  const data = makeDataset(partitions, 20_000, 13)
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, data.records)
  // actor0 dies at its 2nd batch; the writer dies right after its 4th COMMIT, before
  // replying, so the main thread cannot know whether that transaction landed.
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '50', TUMBLER_FAULTS: 'actor0:batch:2,writer:commit:4' },
    `thread-crash-${topic}`,
  )
  await waitCaughtUp(db.url, topic, data.records.length)
  const { body } = await sup.readyz()
  t.equal(body.restarts.actors[0], 1, 'actor 0 was restarted once')
  t.equal(body.restarts.actors[1], 0, 'actor 1 was not')
  t.equal(body.restarts.writer, 1, 'the writer was restarted once')
  await assertMatchesTruth(t, db.url, topic, data.truth)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
})
