// Overload and shutdown under load. Producers (child processes, as fast as the broker
// takes them) outrun the supervisor, which runs at a lower CPU priority: on this 2-core
// machine, producing a record costs more CPU than consuming it, so without the handicap
// the producers, not the pipeline, would be the bottleneck. Every producer remembers what
// it sent (test-support/truth-load.ts), so Postgres is checked to the cent at the end.
import { spawn } from 'node:child_process'
import path from 'node:path'
import { setInterval as every } from 'node:timers/promises'
import t from 'tap'
import { addTruth, checkPostgres, emptyTruth, TruthLoad, type Truth, type TruthJson } from '../test-support/truth-load.js'
import { memoryMb } from '../test-support/proc-status.js'
import { createTopic, kafka, topicRecords } from '../test-support/broker.js'
import { committedRecords, databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { waitCaughtUp } from '../test-support/verify.js'

const ROOT = path.resolve(import.meta.dirname, '..')
const PRODUCERS = 3
const NICE = 10
const OVERLOAD_MS = 45_000
/**
 * The RSS bound (VmHWM of the whole process: main thread, 2 actors, writer). What lives there:
 * 4 V8 isolates (the main one ~60-170 MB under load, each worker ~10-20 MB, measured through
 * tumbler_thread_heap_total_bytes); one kafkajs fetch of up to 32 MB (maxBytes) of Buffers
 * plus its decoded messages; at most MAX_INFLIGHT_RECORDS (20,000) records per partition read
 * but not committed (6 x 20,000 x ~0.3 KB); the writer's staged commit; code and thread
 * stacks. Runs here peaked at 443-519 MB (the peak comes during the full-speed drain, as in
 * `npm run bench`'s catch-up: 392-474 MB); 768 MB is 1.5x that, for V8 collecting lazily on a
 * starved CPU. None of it grows with the backlog: at the end of the overload the lag is
 * ~4 million records, ~1 GB of raw bytes, which an unbounded buffer would have to hold.
 */
const RSS_BOUND_MB = 768

interface Producers {
  stop(): Promise<Truth>
}

/** `n` child processes running bench/truth-load.js at full speed. */
function startProducers(topic: string, n: number, tag: string): Producers {
  const children = Array.from({ length: n }, (_, i) => {
    const proc = spawn(
      process.execPath,
      ['dist/bench/truth-load.js', '--topic', topic, '--rate', '0', '--bad-every', '1000', '--id', `${tag}${i}`],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] },
    )
    let out = ''
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise<TruthJson>((resolve, reject) =>
      proc.on('exit', (code) =>
        code === 0 ? resolve(JSON.parse(out) as TruthJson) : reject(new Error(`producer ${tag}${i} exited ${code}: the truth is unknown`)),
      ),
    )
    return { proc, exited }
  })
  return {
    stop: async () => {
      for (const c of children) c.proc.kill('SIGTERM')
      const truth = emptyTruth()
      for (const c of children) addTruth(truth, await c.exited)
      return truth
    },
  }
}

t.test(
  'producers outrun the pipeline for 45 s: RSS bounded, lag grows and drains, totals exact; SIGTERM under full load exits 0',
  async (t) => {
    const topic = await createTopic(t, 6)
    const db = databaseFor(t)
    // All events are "now", in order per partition: a huge lateness keeps a producer that
    // stalls for a while from making the others' records late (the truth has no late ones).
    const env = { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, LATENESS_SECONDS: '3600' }
    const truth = emptyTruth()

    // 1. The pipeline's own rate: a 200k backlog, no producer competing for the CPU.
    const pre = new TruthLoad(kafka, { topic, rate: 0, count: 200_000, badEvery: 1000, windowMs: 60_000, id: 'pre' }).start()
    await pre.finished()
    addTruth(truth, pre.truth)
    const sup = await startSupervisor(t, env, `overload-${topic}`, { nice: NICE })
    await waitFor(async () => (await committedRecords(db.url, topic)) > 0, 'first commit', 120_000, 20)
    const firstCommit = Date.now()
    await waitCaughtUp(db.url, topic, truth.sent)
    const alone = Math.round(truth.sent / ((Date.now() - firstCommit) / 1000))

    // 2. Overload: producers at full speed for 45 s, sampled every 500 ms.
    const samples: { at: number; produced: number; committed: number; rss: number }[] = []
    const sample = async () => {
      const mem = memoryMb(sup.proc.pid!)
      if (!mem || sup.proc.exitCode !== null) throw new Error(`the supervisor died under overload (exit ${sup.proc.exitCode})`)
      samples.push({ at: Date.now(), produced: await topicRecords(topic), committed: await committedRecords(db.url, topic), rss: mem!.rss })
    }
    let producers = startProducers(topic, PRODUCERS, 'a')
    const started = Date.now()
    await sample()
    // A sampler, not a wait: one sample per 500 ms tick for the length of the overload.
    for await (const _ of every(500)) {
      await sample()
      if (Date.now() - started >= OVERLOAD_MS) break
    }
    addTruth(truth, await producers.stop())
    const first = samples[0]!
    const last = samples[samples.length - 1]!
    const seconds = (last.at - first.at) / 1000
    const producedRate = Math.round((last.produced - first.produced) / seconds)
    const committedRate = Math.round((last.committed - first.committed) / seconds)
    const lag = samples.map((s) => s.produced - s.committed)
    const quarter = lag[Math.floor(lag.length / 4)]!
    t.ok(
      lag[lag.length - 1]! > quarter && lag[lag.length - 1]! > 100_000,
      `lag grew: ${quarter} after a quarter, ${lag[lag.length - 1]} at the end`,
    )

    // 3. The same supervisor drains the lag.
    const drainStart = Date.now()
    await waitCaughtUp(db.url, topic, truth.sent, 600_000)
    const drainSeconds = (Date.now() - drainStart) / 1000
    const peak = memoryMb(sup.proc.pid!)!
    const peakRss = Math.max(...samples.map((s) => s.rss), peak.rss)
    t.ok(peak.hwm < RSS_BOUND_MB, `peak RSS ${Math.round(peak.hwm)} MB (VmHWM) stays under ${RSS_BOUND_MB} MB`)
    t.comment(
      `pipeline alone: ${alone}/s; overload ${seconds.toFixed(0)} s: producers ${producedRate}/s vs pipeline ${committedRate}/s (${(producedRate / Math.max(1, committedRate)).toFixed(1)}x), ` +
        `lag max ${Math.max(...lag)}, drained in ${drainSeconds.toFixed(1)} s; RSS max sampled ${Math.round(peakRss)} MB, VmHWM ${Math.round(peak.hwm)} MB`,
    )
    t.same(
      await checkPostgres(db.url, topic, truth).then((c) => c.diffs),
      [],
      `after the overload: ${truth.sent} events (${truth.bad} malformed) in Postgres to the cent`,
    )
    const { body } = await sup.readyz()
    t.same([body.restarts.actors, body.restarts.writer], [[0, 0], 0], 'no thread died')

    // 4. SIGTERM under full load: producers at full speed again, a growing backlog.
    producers = startProducers(topic, PRODUCERS, 'b')
    const before = await committedRecords(db.url, topic)
    await waitFor(
      async () =>
        (await topicRecords(topic)) - (await committedRecords(db.url, topic)) > 200_000 && (await committedRecords(db.url, topic)) > before,
      'a backlog of 200k with commits going on',
      120_000,
      100,
    )
    const termAt = Date.now()
    const code = await sup.kill('SIGTERM')
    const termMs = Date.now() - termAt
    // Exit 0 also means within the contract's 10 s: past 9 s the supervisor gives up and exits 1.
    t.equal(code, 0, `SIGTERM under full load: drained and exited 0 after ${termMs} ms`)
    addTruth(truth, await producers.stop())

    // 5. Restarted, it resumes from Postgres: totals exact.
    const again = await startSupervisor(t, env, `overload-${topic}`)
    await waitCaughtUp(db.url, topic, truth.sent, 600_000)
    t.same(
      await checkPostgres(db.url, topic, truth).then((c) => c.diffs),
      [],
      `after SIGTERM and restart: ${truth.sent} events in Postgres to the cent`,
    )
    t.equal(await again.kill('SIGTERM'), 0, 'clean exit')
  },
)
