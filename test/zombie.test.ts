// A zombie: a supervisor frozen (SIGSTOP) long enough for the group to give its partitions
// to the others, then thawed (SIGCONT) while the stream goes on. It still believes it owns
// them and tries to commit what it had counted; the epoch fence refuses it, and whatever it
// does until it rejoins the group changes no total.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import pg from 'pg'
import t, { type Test } from 'tap'
import { makeDataset } from '../test-support/dataset.js'
import { ownerPid, producePaced, progressRows, waitHeldBy, waitStableSharing } from '../test-support/group.js'
import { tcpPortsOf } from '../test-support/proc-status.js'
import { createTopic, produce } from '../test-support/broker.js'
import { ARTIFACTS } from '../test-support/paths.js'
import { committedRecords, databaseFor } from '../test-support/postgres.js'
import { startSupervisor, type Supervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

t.test('SIGSTOP a supervisor until its partitions move, SIGCONT it: its commits are fenced, totals exact', (t) =>
  runZombie(t, 'anywhere', 31),
)

// The hard case: frozen inside a commit, holding the row locks of its partitions' progress.
// The new owners' claims wait for those locks until Postgres ends the frozen session
// (the writer's idle_in_transaction_session_timeout, 15 s). Before the writer did its COPYs
// ahead of the fence, about one freeze in five landed in a COPY, where no timeout applies:
// the locks stayed until the zombie woke up and every other supervisor stalled meanwhile.
t.test('frozen inside a commit, holding its progress rows: the others wait it out, its commit is fenced, totals exact', (t) =>
  runZombie(t, 'in-commit', 37),
)

/**
 * SIGSTOPs `sup` at a moment its writer is inside a transaction that holds row locks on
 * tumbler_progress (seen in pg_locks through the writer's session, found by its client port).
 */
async function freezeInsideCommit(sup: Supervisor, url: string): Promise<string> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const holding = async () => {
      const { rows } = await c.query<{ state: string; query: string }>(
        `SELECT a.state, left(a.query, 40) AS query FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid JOIN pg_class r ON r.oid = l.relation
          WHERE a.client_port = ANY($1::int[]) AND a.application_name = 'tumbler-writer' AND r.relname = 'tumbler_progress' AND l.mode = 'RowShareLock' AND l.granted`,
        [tcpPortsOf(sup.proc.pid!, 5432)],
      )
      return rows[0] ? `${rows[0].state}: ${rows[0].query.replace(/\s+/g, ' ')}` : null
    }
    const deadline = Date.now() + 120_000
    for (let attempt = 1; Date.now() < deadline; attempt++) {
      if (!(await holding())) continue
      sup.proc.kill('SIGSTOP')
      // Frozen inside the transaction once Postgres waits for it: idle in transaction (or
      // in a COPY, waiting for data). A statement or COMMIT the server is still running
      // finishes by itself; look again until it has.
      let frozen = await holding()
      while (frozen?.startsWith('active') && !/^active: COPY/.test(frozen) && Date.now() < deadline) frozen = await holding()
      if (frozen) return `after ${attempt} look(s) at pg_locks, its session: ${frozen}`
      sup.proc.kill('SIGCONT') // it finished the commit before the signal landed; try again
    }
    throw new Error('never caught the writer inside a commit')
  } finally {
    await c.end()
  }
}

async function runZombie(t: Test, freeze: 'anywhere' | 'in-commit', seed: number): Promise<void> {
  const partitions = 6
  const data = makeDataset(partitions, 20_000, seed)
  const total = data.records.length
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: db.url,
    ACTORS: '1',
    FLUSH_MS: '100',
    MAX_INFLIGHT_RECORDS: '4000',
    KAFKA_SESSION_TIMEOUT_MS: '4000',
  }

  const before = Math.floor(total / 4)
  await produce(topic, data.records.slice(0, before))
  // The zombie flushes rarely, so when it is frozen it almost surely holds counted,
  // uncommitted records that it will try to commit when it wakes up.
  const zombieLog = `zombie-z-${topic}`
  const zombie = await startSupervisor(t, { ...env, FLUSH_MS: '1500' }, zombieLog)
  const others = [await startSupervisor(t, env, `zombie-b-${topic}`), await startSupervisor(t, env, `zombie-c-${topic}`)]
  const sent = { n: before }
  // The last 300 records of each partition are held back until the group has settled
  // after the zombie's return, so that every partition sees commits by its final holder.
  const tail = 300 * partitions
  const rest = producePaced(topic, data.records.slice(before, total - tail), 4_000, sent)

  const shares = await waitStableSharing([zombie, ...others], partitions, 'three supervisors sharing the partitions')
  const mine = shares[0]!
  await waitFor(async () => (await committedRecords(db.url, topic)) >= total / 3, 'a third of the stream committed', 180_000, 20)
  const fencedBefore = (await zombie.readyz()).body.stats.fencedPartitions as number
  const atStop = await progressRows(db.url, topic)
  t.same(
    mine.filter((p) => ownerPid(atStop.get(p)!.owner) !== zombie.proc.pid),
    [],
    `the zombie owns partitions ${mine.join(',')} in Postgres before it freezes`,
  )
  if (freeze === 'in-commit') t.comment(`frozen inside a commit ${await freezeInsideCommit(zombie, db.url)}`)
  else zombie.proc.kill('SIGSTOP')
  const stoppedAt = Date.now()
  t.comment(`SIGSTOP with ${sent.n} of ${total} produced`)

  // The group gives its partitions to the others, which claim them (a claim may wait up
  // to the writer's idle_in_transaction_session_timeout if the zombie froze mid-commit)...
  await waitHeldBy(others, mine, 'the others to claim the frozen supervisor’s partitions', 120_000, 100)
  const movedMs = Date.now() - stoppedAt
  // ...and the stream goes on under the new owners.
  await waitFor(
    async () => {
      const now = await progressRows(db.url, topic)
      return mine.every(
        (p) => BigInt(now.get(p)!.nextOffset) > BigInt(atStop.get(p)!.nextOffset) && ownerPid(now.get(p)!.owner) !== zombie.proc.pid,
      )
    },
    'the new owners to commit on the moved partitions',
    120_000,
    100,
  )
  t.comment(
    `partitions ${mine.join(',')} claimed by the others ${(movedMs / 1000).toFixed(1)} s after SIGSTOP; SIGCONT after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s with ${sent.n} of ${total} produced`,
  )
  const contAt = new Date().toISOString()
  zombie.proc.kill('SIGCONT')

  // Awake, it commits what it had counted under its old epochs: refused.
  const fenced = await waitFor(
    async () => {
      const n = ((await zombie.readyz()).body.stats.fencedPartitions as number) - fencedBefore
      return n > 0 ? n : null
    },
    'the zombie’s first fenced commit',
    60_000,
    50,
  )
  t.ok(fenced > 0, `the zombie's commit after SIGCONT was fenced (${fenced} partition(s) refused)`)
  const lines = readFileSync(path.join(ARTIFACTS, `${zombieLog}.log`), 'utf8')
    .split('\n')
    .filter((l) => l.includes('"commit fenced"') && (JSON.parse(l).time as string) >= contAt)
  const reasons = lines.flatMap((l) =>
    (JSON.parse(l).fenced as { partition: number; reason: string }[]).map((f) => `${f.partition}: ${f.reason}`),
  )
  t.ok(
    reasons.some((r) => /stale epoch/.test(r)),
    `its log says why: ${reasons.slice(0, 3).join('; ')}`,
  )

  // It rejoins; the group settles with three members again and the stream completes.
  // (Right after SIGCONT it still lists its old partitions: wait for disjoint shares.)
  const sups = [zombie, ...others]
  const settled = await waitStableSharing(sups, partitions, 'the group to settle with the zombie back in', 180_000, true)
  t.comment(`after the zombie's return: ${settled.map((s) => `[${s.join(',')}]`).join(' ')}`)
  await rest
  await produce(topic, data.records.slice(total - tail))
  await waitCaughtUp(db.url, topic, total, 180_000)
  // Until a holder commits, the owner column may still name whoever claimed last (the
  // thawed zombie claims what it believes it holds; the holder's next commit is fenced
  // and it claims back). Every partition got records after the group settled, so now
  // Postgres must name, for each, the one supervisor holding it.
  const final = await waitStableSharing(sups, partitions, 'the group after the tail', 60_000, true)
  const owners = await progressRows(db.url, topic)
  t.same(
    final.flatMap((share, i) => share.filter((p) => ownerPid(owners.get(p)!.owner) !== sups[i]!.proc.pid)),
    [],
    'Postgres names, for every partition, the one supervisor that holds it',
  )
  await assertMatchesTruth(t, db.url, topic, data.truth)
  const stats = (await zombie.readyz()).body.stats
  t.comment(`zombie stats at the end: ${JSON.stringify(stats)}`)
  for (const s of [zombie, ...others]) t.equal(await s.kill('SIGTERM'), 0, 'exits 0 on SIGTERM')
}
