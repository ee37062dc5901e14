// The chaos run (`npm run chaos -- --minutes 10`): N supervisors in one consumer group, a
// producer that remembers exactly what it sent, and, at random moments, kill -9 of a
// supervisor (restarted a moment later) or the crash of one of its worker threads (SIGUSR2
// with TUMBLER_FAULTS=sigusr2). At the end the producer stops, the group catches up, and
// Postgres must hold exactly what was sent: every (window, category) to the cent, every
// malformed record once in rejected_events. Prints one JSON object on stdout and a human
// line on stderr; exits 1 on any mismatch.
import type { ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { int, runMain, type Values } from '../src/cli.js'
import { createNamedTopic, deleteTopic, kafka } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { ROOT } from '../test-support/paths.js'
import { dropDatabase, PG_BASE, withDb } from '../test-support/postgres.js'
import { rng } from '../test-support/rng.js' // the fault schedule is reproducible from the printed seed (timing is not)
import { spawnSupervisor } from '../test-support/supervisor-process.js'
import { checkPostgres, TruthLoad } from '../test-support/truth-load.js'
import { waitFor } from '../test-support/wait.js'
import { progress } from './lib.js'

const options = {
  minutes: {
    flag: 'minutes',
    default: 10,
    parse: (raw: string) => positive(raw),
    help: 'how long faults are injected (minutes, may be fractional)',
  },
  seconds: { flag: 'seconds', default: 0, parse: int(0), help: 'the same in seconds (wins over --minutes when set)' },
  supervisors: { flag: 'supervisors', default: 3, parse: int(1, 16), help: 'supervisors in the consumer group' },
  actors: { flag: 'actors', default: 1, parse: int(1, 64), help: 'ACTORS of each supervisor' },
  partitions: { flag: 'partitions', default: 6, parse: int(1, 1000), help: 'partitions of the chaos topic' },
  rate: { flag: 'rate', default: 5000, parse: int(1), help: 'events per second produced during the run' },
  meanGapMs: { flag: 'mean-gap-ms', default: 4000, parse: int(100), help: 'mean time between two faults (exponential)' },
  processKillShare: {
    flag: 'process-kill-percent',
    default: 40,
    parse: int(0, 100),
    help: 'share of faults that kill -9 a supervisor (the rest kill a thread)',
  },
  seed: { flag: 'seed', default: 0, parse: int(0), help: 'seed of the fault schedule (0: from the clock; printed)' },
  logDir: {
    flag: 'log-dir',
    default: path.join(ROOT, 'test-artifacts'),
    parse: (raw: string) => raw,
    help: 'where each supervisor slot logs (chaos-<topic>-<slot>.log)',
  },
}

function positive(raw: string): number {
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got "${raw}"`)
  return n
}

export interface ChaosResult {
  ok: boolean
  seconds: number
  supervisors: number
  partitions: number
  seed: number
  events: number
  malformed: number
  /** kill -9 of a running supervisor. */
  processKills: number
  /** Worker threads terminated through SIGUSR2 (the supervisor confirmed it in its log). */
  threadKills: number
  /** Threads piscina replaced, as the supervisors logged it. */
  threadRestarts: number
  /** Supervisors that exited without being killed (a bug unless something else broke). */
  unexpectedExits: { slot: number; code: number | null }[]
  /** Exit codes of the final SIGTERM (0 expected). */
  finalExitCodes: (number | null)[]
  catchUpSeconds: number
  rows: number
  counted: number
  rejected: number
  diffs: string[]
  topic: string
}

class Slot {
  proc: ChildProcess | null = null
  /** Set once the supervisor logged 'http listening': its SIGUSR2 handler is in place. */
  listening = false
  exited: Promise<number | null> = Promise.resolve(null)
  killedByUs = false
  private readonly log: WriteStream

  constructor(
    readonly index: number,
    private readonly env: Record<string, string>,
    logFile: string,
    private readonly counters: { threadKills: number; threadRestarts: number; unexpected: { slot: number; code: number | null }[] },
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' })
  }

  get alive(): boolean {
    return this.proc !== null && this.proc.exitCode === null && this.proc.signalCode === null
  }

  start(): void {
    const { proc } = spawnSupervisor(this.env)
    this.proc = proc
    this.listening = false
    this.killedByUs = false
    let rest = ''
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.log.write(chunk)
      const lines = (rest + chunk).split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        if (line.includes('"msg":"http listening"')) this.listening = true
        else if (line.includes('"msg":"SIGUSR2: terminating a worker thread') && line.includes('"done":true')) this.counters.threadKills++
        else if (line.includes('"msg":"thread died; piscina starts a new one"')) this.counters.threadRestarts++
      }
    })
    this.exited = new Promise((resolve) =>
      proc.on('exit', (code, signal) => {
        if (!this.killedByUs) this.counters.unexpected.push({ slot: this.index, code: code ?? (signal ? -1 : null) })
        resolve(code)
      }),
    )
  }

  kill9(): void {
    this.killedByUs = true
    this.proc?.kill('SIGKILL')
  }

  async stop(): Promise<number | null> {
    if (!this.alive) return this.proc?.exitCode ?? null
    this.killedByUs = true
    this.proc!.kill('SIGTERM')
    return this.exited
  }
}

export async function chaos(o: Values<typeof options>): Promise<ChaosResult> {
  const seconds = o.seconds || o.minutes * 60
  const seed = o.seed || Date.now() % 1_000_000_000
  const random = rng(seed)
  const topic = uniqueName('chaos')
  const dbName = uniqueName('tumbler_chaos')
  const url = `${PG_BASE}/${dbName}`
  await createNamedTopic(topic, o.partitions)
  mkdirSync(o.logDir, { recursive: true })
  const counters = { threadKills: 0, threadRestarts: 0, unexpected: [] as { slot: number; code: number | null }[] }
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: url,
    ACTORS: String(o.actors),
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
    WINDOW_SECONDS: '60',
    // Events are "now" and in order per partition; a long lateness keeps a producer hiccup
    // from turning records late (the truth has none).
    LATENESS_SECONDS: '3600',
    // A dead member's partitions move on after 6 s instead of 10.
    KAFKA_SESSION_TIMEOUT_MS: '6000',
    TUMBLER_FAULTS: 'sigusr2',
  }
  const slots = Array.from({ length: o.supervisors }, (_, i) => new Slot(i, env, path.join(o.logDir, `chaos-${topic}-${i}.log`), counters))
  const committed = async () =>
    withDb(url, async (c) =>
      Number(
        (await c.query<{ n: string | null }>('SELECT sum(next_offset)::text AS n FROM tumbler_progress WHERE topic = $1', [topic])).rows[0]
          ?.n ?? 0,
      ),
    ).catch(() => 0)
  const restarts = new Set<Promise<void>>()
  let processKills = 0
  try {
    progress(
      `chaos: ${o.supervisors} supervisors on ${topic} (${o.partitions} partitions), ${o.rate}/s for ${seconds} s, seed ${seed}; logs in ${o.logDir}/chaos-${topic}-*.log`,
    )
    for (const s of slots) s.start()
    const load = new TruthLoad(kafka, { topic, rate: o.rate, badEvery: 500, windowMs: 60_000, id: 'chaos' }).start()
    const deadline = Date.now() + seconds * 1000
    let lastReport = Date.now()
    while (Date.now() < deadline) {
      // The next fault after an exponential gap (the schedule, not a synchronisation).
      const gap = Math.min(3 * o.meanGapMs, Math.max(200, -Math.log(1 - random()) * o.meanGapMs))
      await new Promise((r) => setTimeout(r, Math.min(gap, Math.max(0, deadline - Date.now()))))
      if (Date.now() >= deadline) break
      for (const s of slots) if (!s.alive && !s.killedByUs) s.start() // died by itself: counted, restarted
      const alive = slots.filter((s) => s.alive)
      const listening = alive.filter((s) => s.listening)
      const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)]!
      // The first two faults are one of each kind, so even a short run has both.
      const faults = processKills + counters.threadKills
      const wantProcess = faults === 0 ? random() < 0.5 : faults === 1 ? processKills === 0 : random() * 100 < o.processKillShare
      if (alive.length && (wantProcess || listening.length === 0)) {
        const victim = pick(alive)
        victim.kill9()
        processKills++
        // Back after 0.5-4 s: sometimes before the group noticed, sometimes after.
        const back = (async () => {
          await victim.exited
          await new Promise((r) => setTimeout(r, 500 + random() * 3500))
          victim.start()
        })()
        restarts.add(back)
        void back.finally(() => restarts.delete(back))
      } else if (listening.length) {
        pick(listening).proc!.kill('SIGUSR2')
      }
      if (Date.now() - lastReport > 10_000) {
        lastReport = Date.now()
        progress(
          `chaos: ${Math.round((deadline - Date.now()) / 1000)} s left; ${load.truth.sent} sent, ${await committed()} committed; kills: ${processKills} process, ${counters.threadKills} thread`,
        )
      }
    }

    // The end: every slot running, the producer stopped, the group caught up, compare.
    await Promise.all([...restarts])
    for (const s of slots) if (!s.alive) s.start()
    const truth = await load.stop()
    progress(`chaos: faults stopped; producer sent ${truth.sent} (${truth.bad} malformed); waiting for the group to catch up`)
    const caughtUpFrom = Date.now()
    await waitFor(async () => (await committed()) >= truth.sent, `all ${truth.sent} records committed`, 10 * 60_000, 250)
    const catchUpSeconds = (Date.now() - caughtUpFrom) / 1000
    const check = await checkPostgres(url, topic, truth)
    const finalExitCodes = await Promise.all(slots.map((s) => s.stop()))
    return {
      ok: check.ok,
      seconds,
      supervisors: o.supervisors,
      partitions: o.partitions,
      seed,
      events: truth.sent,
      malformed: truth.bad,
      processKills,
      threadKills: counters.threadKills,
      threadRestarts: counters.threadRestarts,
      unexpectedExits: counters.unexpected,
      finalExitCodes,
      catchUpSeconds,
      rows: check.rows,
      counted: check.counted,
      rejected: check.rejected,
      diffs: check.diffs,
      topic,
    }
  } finally {
    for (const s of slots) if (s.alive) s.kill9()
    await deleteTopic(topic)
    await dropDatabase(dbName).catch(() => {})
  }
}

async function main(o: Values<typeof options>): Promise<void> {
  const r = await chaos(o)
  process.stdout.write(JSON.stringify(r) + '\n')
  process.stderr.write(
    `chaos: ${r.ok ? 'INVARIANT HELD' : 'MISMATCH'} after ${r.seconds} s: ${r.events} events (${r.malformed} malformed), survived ${r.processKills} supervisor kill -9 and ${r.threadKills} thread kills ` +
      `(${r.threadRestarts} thread restarts), ${r.unexpectedExits.length} unexpected exits; caught up ${r.catchUpSeconds.toFixed(1)} s after the producer stopped; ` +
      `${r.rows} (window, category) rows${r.ok ? ' exact to the cent' : `; differences: ${r.diffs.join('; ')}`}\n`,
  )
  process.exit(r.ok ? 0 : 1)
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  runMain(
    'chaos',
    'tumbler chaos run: random kill -9 of supervisors and worker-thread crashes under load, then checks Postgres against what was produced.',
    options,
    main,
  )
