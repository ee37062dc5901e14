// `node dist/bench/crash-pause.js [--events N] [--actors A] [--crashes C]`: how long a
// partition stops being counted when a worker thread of the supervisor crashes. One
// supervisor (TUMBLER_FAULTS=sigusr2) catches up a loaded topic; at evenly spaced points of
// the catch-up the benchmark sends SIGUSR2, which terminates one random worker thread (an
// actor or the writer, src/supervisor.ts). Meanwhile it polls tumbler_progress every 10 ms
// and notes when each partition's next_offset moves. Per crash: the victim, its partitions
// (an actor's, from the "claimed partition" log lines; the writer's: all), and the times
// from the crash (its log line) to the thread's replacement, to the partitions claimed again,
// and to their next_offset moving again; the other partitions' longest stall in that span;
// and whether the consumer group rebalanced ("assignment" log lines after the crash). Each run
// is done once per KAFKA_FETCH mode (--fetch, order reversed every other run) on the same topic.
// JSON on stdout, a line per crash on stderr, appended to bench/results/crash-pause.jsonl.
// Run it under the machine-wide lock: flock /tmp/tumbler-it.lock node dist/bench/crash-pause.js
import { appendFileSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { int, runMain, text } from '../src/cli.js'
import { createNamedTopic, deleteTopic } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { ROOT } from '../test-support/paths.js'
import { dropDatabase, PG_BASE, withDb } from '../test-support/postgres.js'
import { waitFor } from '../test-support/wait.js'
import type { FetchMode } from '../src/shared/actor-fetch.js'
import { fetchModes, load, progress, startSupervisor } from './lib.js'

const options = {
  events: {
    flag: 'events',
    default: 4_000_000,
    parse: int(1000),
    help: 'events loaded into the topic (the catch-up must outlast the crashes)',
  },
  partitions: { flag: 'partitions', default: 6, parse: int(1, 1000), help: 'partitions of the topic' },
  actors: { flag: 'actors', default: 2, parse: int(1, 64), help: 'ACTORS of the supervisor' },
  crashes: { flag: 'crashes', default: 3, parse: int(1, 20), help: 'SIGUSR2 crashes per catch-up, evenly spaced over it' },
  runs: { flag: 'runs', default: 1, parse: int(1, 20), help: 'catch-ups per KAFKA_FETCH mode (fresh group and database each)' },
  fetch: {
    flag: 'fetch',
    default: ['supervisor', 'actors'] as FetchMode[],
    parse: fetchModes,
    help: 'KAFKA_FETCH modes, comma-separated: each run is done in each',
  },
  resultsDir: { flag: 'results-dir', default: path.join(ROOT, 'bench/results'), parse: text, help: 'where crash-pause.jsonl is appended' },
}

interface LogLine {
  time: string
  msg: string
  worker?: string
  done?: boolean
  partition?: number
  actor?: number
  partitions?: number[]
}

/** One crash and what followed, times in ms after the crash's log line. */
export interface CrashPause {
  run: number
  fetch: FetchMode
  victim: string
  partitions: number[]
  /** Counted records (sum of next_offset) when SIGUSR2 was sent. */
  atRecords: number
  /** piscina noticed the thread gone ("thread died"). */
  threadDiedMs: number | null
  /** The last of the victim's partitions claimed again ("claimed partition"). */
  reclaimedMs: number | null
  /** The last of the victim's partitions whose next_offset moved after its new claim: counted again. */
  countedAgainMs: number | null
  /** Per victim partition: last next_offset move before the crash → first move after its re-claim. */
  stallMsByPartition: Record<number, number | null>
  /** The other partitions' longest gap between next_offset moves overlapping [crash, countedAgain]. */
  othersLongestStallMs: number | null
  /** Typical gap between next_offset moves of a partition before the crash (median): the resolution. */
  baselineGapMs: number
  /** "assignment" log lines after the crash: a group rebalance. */
  rebalances: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[s.length >> 1]! : NaN
}

async function oneRun(
  runNo: number,
  topic: string,
  events: number,
  o: { actors: number; crashes: number; fetch: FetchMode },
): Promise<CrashPause[]> {
  const db = uniqueName('tumbler_crash')
  const url = `${PG_BASE}/${db}`
  const sup = startSupervisor({
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: uniqueName('g'),
    DATABASE_URL: url,
    ACTORS: String(o.actors),
    KAFKA_FETCH: o.fetch,
    TUMBLER_FAULTS: 'sigusr2',
  })
  const moves = new Map<number, number[]>() // partition → times (ms) its next_offset moved
  const last = new Map<number, string>()
  let counted = 0
  let polling = true
  const parse = (ls: string[]): LogLine[] => ls.flatMap((l) => (l.startsWith('{') ? [JSON.parse(l) as LogLine] : []))
  try {
    await waitFor(
      async () =>
        sup.logs.some((l) => l.includes('"msg":"http listening"')) &&
        withDb(url, async (c) => (await c.query('SELECT 1 FROM tumbler_progress LIMIT 1')).rowCount),
      'first claim',
      120_000,
      20,
    )
    const poller = (async () => {
      await withDb(url, async (c) => {
        while (polling) {
          const { rows } = await c.query<{ partition: number; next_offset: string }>(
            'SELECT partition, next_offset::text FROM tumbler_progress WHERE topic = $1',
            [topic],
          )
          const now = Date.now()
          let sum = 0
          for (const r of rows) {
            sum += Number(r.next_offset)
            if (last.get(r.partition) !== r.next_offset) {
              if (last.has(r.partition)) (moves.get(r.partition) ?? moves.set(r.partition, []).get(r.partition)!).push(now)
              last.set(r.partition, r.next_offset)
            }
          }
          counted = sum
          await new Promise((r) => setTimeout(r, 10))
        }
      })
    })()
    const sent: { atMs: number; atRecords: number; logIndex: number }[] = []
    for (let k = 1; k <= o.crashes; k++) {
      const target = Math.floor((events * k) / (o.crashes + 1))
      await waitFor(async () => counted >= target, `${target} records counted`, 120_000, 10)
      // The previous crash's thread must have lived 1 s, or crash() refuses (src/pipeline/serial-worker.ts).
      const logIndex = sup.logs.length
      sup.proc.kill('SIGUSR2')
      sent.push({ atMs: Date.now(), atRecords: counted, logIndex })
      const ok = await waitFor(
        async () => sup.logs.slice(logIndex).find((l) => l.includes('SIGUSR2: terminating')) ?? null,
        'SIGUSR2 log line',
        10_000,
        10,
      )
      progress(`crash-pause: run ${runNo} (${o.fetch}) crash ${k} at ${counted}/${events}: ${ok.slice(0, 200)}`)
      await new Promise((r) => setTimeout(r, 1500))
    }
    await waitFor(async () => counted >= events, 'catch-up', 300_000, 50)
    polling = false
    await poller
    const all = parse(sup.logs)
    const t = (l: LogLine) => Date.parse(l.time)
    const out: CrashPause[] = []
    for (const s of sent) {
      const crash = parse(sup.logs.slice(s.logIndex)).find((l) => l.msg.startsWith('SIGUSR2: terminating'))
      if (!crash) continue
      const crashAt = t(crash)
      const after = all.filter((l) => t(l) >= crashAt)
      if (!crash.done) {
        out.push({
          run: runNo,
          fetch: o.fetch,
          victim: `${crash.worker} (refused)`,
          partitions: [],
          atRecords: s.atRecords,
          threadDiedMs: null,
          reclaimedMs: null,
          countedAgainMs: null,
          stallMsByPartition: {},
          othersLongestStallMs: null,
          baselineGapMs: NaN,
          rebalances: 0,
        })
        continue
      }
      // Partition → actor from the claims before the crash (the last one of each partition wins).
      const owner = new Map<number, number>()
      for (const l of all) if (l.msg === 'claimed partition' && t(l) < crashAt) owner.set(l.partition!, l.actor!)
      const victimActor = /^actor-(\d+)$/.exec(crash.worker ?? '')
      const parts = [...owner.keys()].filter((p) => !victimActor || owner.get(p) === Number(victimActor[1])).sort((a, b) => a - b)
      const died = after.find((l) => l.msg === 'thread died; piscina starts a new one')
      const reclaims = new Map<number, number>()
      for (const l of after)
        if (l.msg === 'claimed partition' && parts.includes(l.partition!) && !reclaims.has(l.partition!)) reclaims.set(l.partition!, t(l))
      const stall: Record<number, number | null> = {}
      let countedAgain: number | null = 0
      for (const p of parts) {
        const m = moves.get(p) ?? []
        const re = reclaims.get(p)
        const before = m.filter((x) => x <= crashAt).pop()
        const again = re === undefined ? undefined : m.find((x) => x > re)
        stall[p] = before !== undefined && again !== undefined ? again - before : null
        countedAgain = again === undefined || countedAgain === null ? null : Math.max(countedAgain, again - crashAt)
      }
      const endAt = countedAgain === null ? crashAt : crashAt + countedAgain
      let others: number | null = null
      for (const [p, m] of moves) {
        if (parts.includes(p)) continue
        for (let i = 1; i < m.length; i++) if (m[i]! >= crashAt && m[i - 1]! <= endAt) others = Math.max(others ?? 0, m[i]! - m[i - 1]!)
      }
      const gaps = [...moves.values()].flatMap((m) =>
        m
          .filter((x) => x < crashAt)
          .slice(-20)
          .flatMap((x, i, a) => (i ? [x - a[i - 1]!] : [])),
      )
      out.push({
        run: runNo,
        fetch: o.fetch,
        victim: crash.worker ?? '?',
        partitions: parts,
        atRecords: s.atRecords,
        threadDiedMs: died ? t(died) - crashAt : null,
        reclaimedMs: reclaims.size === parts.length && parts.length ? Math.max(...reclaims.values()) - crashAt : null,
        countedAgainMs: parts.length ? countedAgain : null,
        stallMsByPartition: stall,
        othersLongestStallMs: others,
        baselineGapMs: median(gaps),
        rebalances: after.filter((l) => l.msg === 'assignment').length,
      })
    }
    await sup.stop()
    return out
  } finally {
    polling = false
    if (sup.proc.exitCode === null) sup.proc.kill('SIGKILL')
    await dropDatabase(db)
  }
}

runMain(
  'crash-pause',
  'the pause of a partition after its worker thread crashes (SIGUSR2 fault injection) during a catch-up (needs the broker and Postgres; run under flock /tmp/tumbler-it.lock).',
  options,
  async (o) => {
    const topic = uniqueName('crash')
    await createNamedTopic(topic, o.partitions)
    progress(`crash-pause: loading ${o.events} events into ${topic}`)
    await load(topic, o.partitions, o.events)
    const crashes: CrashPause[] = []
    try {
      for (let run = 1; run <= o.runs; run++)
        for (const fetch of run % 2 ? o.fetch : [...o.fetch].reverse())
          crashes.push(...(await oneRun(run, topic, o.events, { ...o, fetch })))
    } finally {
      await deleteTopic(topic)
    }
    const result = { at: new Date().toISOString(), events: o.events, partitions: o.partitions, actors: o.actors, fetch: o.fetch, crashes }
    const json = JSON.stringify(result)
    process.stdout.write(json + '\n')
    mkdirSync(o.resultsDir, { recursive: true })
    appendFileSync(path.join(o.resultsDir, 'crash-pause.jsonl'), json + '\n')
    for (const c of crashes)
      process.stderr.write(
        `  run ${c.run} ${c.fetch.padEnd(10)} ${c.victim.padEnd(8)} partitions [${c.partitions.join(',')}]: thread died +${c.threadDiedMs ?? '-'} ms, re-claimed +${c.reclaimedMs ?? '-'} ms, counted again +${c.countedAgainMs ?? '-'} ms; ` +
          `stall per partition ${JSON.stringify(c.stallMsByPartition)} ms (baseline gap ${c.baselineGapMs} ms); others' longest stall ${c.othersLongestStallMs ?? '-'} ms; rebalances ${c.rebalances}\n`,
      )
    // Per mode, over the actor crashes that completed: medians (ms after the crash).
    for (const fetch of o.fetch) {
      const mine = crashes.filter((c) => c.fetch === fetch && c.victim.startsWith('actor-') && c.countedAgainMs !== null)
      const med = (f: (c: CrashPause) => number | null) => median(mine.flatMap((c) => (f(c) === null ? [] : [f(c)!])))
      process.stderr.write(
        `  ${fetch}: ${mine.length} actor crashes, median re-claimed +${med((c) => c.reclaimedMs)} ms, counted again +${med((c) => c.countedAgainMs)} ms, others' longest stall ${med((c) => c.othersLongestStallMs)} ms\n`,
      )
    }
  },
)
