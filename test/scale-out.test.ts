// Three supervisors in one consumer group share the partitions; one is killed with -9
// mid-stream and the other two take its partitions over from the positions in Postgres.
import t from 'tap'
import { LATENESS_MS, makeDataset } from '../test-support/dataset.js'
import { assertQuietTopicFinal, closedRowChanges, finalityState, watchClosedRows } from '../test-support/finality.js'
import { ownerPid, producePaced, progressRows, waitHeldBy, waitStableSharing } from '../test-support/group.js'
import { createTopic, produce } from '../test-support/broker.js'
import { committedRecords, databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

t.test('3 supervisors, one group: partitions shared, kill -9 one mid-stream, totals exact, final rows never change', async (t) => {
  const partitions = 6
  const data = makeDataset(partitions, 20_000, 21)
  const total = data.records.length
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await watchClosedRows(db.url)
  // One actor each (2 cores for 3 supervisors, the broker and Postgres); a 4 s session so
  // the dead member's partitions move on quickly; idle partitions only once the stream is over.
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: db.url,
    ACTORS: '1',
    FLUSH_MS: '100',
    MAX_INFLIGHT_RECORDS: '4000',
    KAFKA_SESSION_TIMEOUT_MS: '4000',
    IDLE_PARTITION_SECONDS: '10',
  }

  // A third of the stream is there before the start; the rest arrives while they run.
  const before = Math.floor(total / 3)
  await produce(topic, data.records.slice(0, before))
  const sups = [
    await startSupervisor(t, env, `scale-out-a-${topic}`),
    await startSupervisor(t, env, `scale-out-b-${topic}`),
    await startSupervisor(t, env, `scale-out-c-${topic}`),
  ]
  const sent = { n: before }
  const rest = producePaced(topic, data.records.slice(before), 5_000, sent)

  const shares = await waitStableSharing(sups, partitions, 'three supervisors sharing the partitions')
  t.comment(`shares: ${shares.map((s) => `[${s.join(',')}]`).join(' ')}`)
  const all = shares.flat()
  t.equal(new Set(all).size, all.length, 'no partition is held by two supervisors')
  t.same([...new Set(all)].sort(), [0, 1, 2, 3, 4, 5], 'every partition is held')
  const rows = await progressRows(db.url, topic)
  shares.forEach((share, i) => {
    t.same(
      share.filter((p) => ownerPid(rows.get(p)?.owner ?? '') !== sups[i]!.proc.pid),
      [],
      `Postgres names supervisor ${i} as the owner of its partitions`,
    )
  })

  // kill -9 the supervisor with the most partitions, once the stream is about half through.
  const victim = shares.reduce((best, s, i) => (s.length > shares[best]!.length ? i : best), 0)
  const moved = shares[victim]!
  await waitFor(async () => (await committedRecords(db.url, topic)) >= total / 2, 'half the stream committed', 180_000, 20)
  const atKill = await progressRows(db.url, topic)
  const closedAtKill = (await finalityState(db.url, topic)).closedRows
  const killedAt = Date.now()
  t.equal(
    await sups[victim]!.kill('SIGKILL'),
    -1,
    `kill -9 supervisor ${victim} (partitions ${moved.join(',')}) with ${sent.n} of ${total} produced`,
  )
  const survivors = sups.filter((_, i) => i !== victim)

  // Its partitions show up, claimed, at the survivors...
  await waitHeldBy(survivors, moved, 'the survivors to hold the dead member’s partitions', 120_000, 50)
  const claimedMs = Date.now() - killedAt
  // ...and move forward from where Postgres had them.
  await waitFor(
    async () => {
      const now = await progressRows(db.url, topic)
      return moved.every(
        (p) =>
          BigInt(now.get(p)!.nextOffset) > BigInt(atKill.get(p)!.nextOffset) ||
          BigInt(now.get(p)!.nextOffset) >= BigInt(data.perPartition[p]!),
      )
    },
    'progress on the moved partitions',
    120_000,
    50,
  )
  const progressMs = Date.now() - killedAt
  t.comment(
    `kill -9 → partitions ${moved.join(',')} claimed by the survivors after ${(claimedMs / 1000).toFixed(1)} s, committing again after ${(progressMs / 1000).toFixed(1)} s (session timeout 4 s)`,
  )

  await rest
  await waitCaughtUp(db.url, topic, total, 180_000)
  const after = await progressRows(db.url, topic)
  const survivorPids = new Set(survivors.map((s) => s.proc.pid))
  t.same(
    moved.filter((p) => !survivorPids.has(ownerPid(after.get(p)!.owner))),
    [],
    'Postgres names a survivor as the owner of each moved partition',
  )
  t.ok(
    moved.every((p) => BigInt(after.get(p)!.epoch) > BigInt(atKill.get(p)!.epoch)),
    'each moved partition was claimed under a new epoch',
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)
  t.ok(closedAtKill > 0, `windows became final while three supervisors committed (${closedAtKill} rows before the kill)`)
  await assertQuietTopicFinal(t, db.url, topic, LATENESS_MS)
  t.same(await closedRowChanges(db.url), [], 'no final row changed, with three writers and a kill -9')
  for (const s of survivors) t.equal(await s.kill('SIGTERM'), 0, 'survivor exits 0 on SIGTERM')
})
