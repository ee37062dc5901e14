// `npm run bench:scaling`: does one supervisor use more cores when it has them? One topic is
// loaded once; then the catch-up (bench/catch-up.ts, fresh group and database each run) runs
// with the supervisor pinned to 1 core and to 2 cores (taskset) × ACTORS 1, 2, 4 × KAFKA_FETCH
// supervisor and actors (--fetch; the modes of a cell run back to back), the configurations
// alternating round by round (order reversed every other round) so drift of the shared
// machine hits all alike. Each run: events/s, peak RSS, and the CPU each thread
// of the supervisor spent in the timed window (/proc/<pid>/task/*), as µs per record for the
// main thread and for the rest. With --ceiling (default) the bare kafkajs reader is timed on
// the same topic, pinned the same way, once per round and core count.
// JSON on stdout, a table on stderr, the JSON appended to bench/results/scaling.jsonl.
// Run it under the machine-wide lock: flock /tmp/tumbler-it.lock npm run bench:scaling
import { spawnSync } from 'node:child_process'
import { appendFileSync, mkdirSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { bool, int, list, runMain, text } from '../src/cli.js'
import { consumeLoaded } from './catch-up.js'
import { kafkajsCeiling } from './ceilings.js'
import { createNamedTopic, deleteTopic } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { ROOT } from '../test-support/paths.js'
import { THIS_BUILD } from '../test-support/supervisor-process.js'
import type { FetchMode } from '../src/shared/actor-fetch.js'
import { fetchModes, load, progress } from './lib.js'
import { byRole, findChild, ThreadCpuSampler, type ThreadCpu, type ThreadRole } from './thread-cpu.js'

const counts = (raw: string) => list(raw).map((s) => int(1, 256)(s))

const options = {
  events: { flag: 'events', default: 2_000_000, parse: int(1000), help: 'events loaded once into the shared topic' },
  partitions: { flag: 'partitions', default: 6, parse: int(1, 1000), help: 'partitions of the topic' },
  rounds: { flag: 'rounds', default: 1, parse: int(1, 20), help: 'runs of each configuration, alternating' },
  cores: {
    flag: 'cores',
    default: [1, 2],
    parse: counts,
    help: 'core counts the supervisor is pinned to (taskset -c 0..n-1), comma-separated',
  },
  actors: { flag: 'actors', default: [1, 2, 4], parse: counts, help: 'ACTORS values, comma-separated' },
  fetch: {
    flag: 'fetch',
    default: ['supervisor', 'actors'] as FetchMode[],
    parse: fetchModes,
    help: 'KAFKA_FETCH modes, comma-separated: each cores × ACTORS cell runs in each, back to back',
  },
  ceiling: {
    flag: 'ceiling',
    default: true,
    parse: bool,
    help: 'also time the bare kafkajs reader on the topic, pinned like the supervisor',
  },
  resultsDir: { flag: 'results-dir', default: path.join(ROOT, 'bench/results'), parse: text, help: 'where scaling.jsonl is appended' },
  // Internal: the pinned child that runs the kafkajs ceiling prints its result and exits.
  ceilingTopic: {
    flag: 'ceiling-topic',
    default: '',
    parse: text,
    help: '(internal) only time the bare kafkajs reader on this loaded topic of --events records',
  },
}

/** The CPUs of a pinned run: 0..cores-1 for taskset -c. */
const cpuList = (cores: number) => Array.from({ length: cores }, (_, i) => i).join(',')

/** CPU of the supervisor in the timed window, per role, and per record. */
export interface CpuSummary {
  wallSeconds: number
  /** All threads' CPU seconds / wall seconds: how many cores the process kept busy. */
  processCores: number
  /** Main thread CPU seconds / wall seconds: 1.0 is a saturated main thread. */
  mainCores: number
  mainShare: number
  mainUsPerRecord: number
  restUsPerRecord: number
  usPerRecordByRole: Record<ThreadRole, number>
  /** The whole machine in the window: cores busy (all processes) and stolen by the hypervisor. */
  machineCores: number
  stealCores: number
}

export interface ScalingRun {
  round: number
  cores: number
  actors: number
  fetch: FetchMode
  eventsPerSecond: number
  seconds: number
  secondsFromStart: number
  peakRssMb: number
  rebalances: number
  totalsMatched: boolean
  cpu: CpuSummary
  threads: ThreadCpu[]
}

function summarise(
  threads: ThreadCpu[],
  wallSeconds: number,
  events: number,
  machine: { busyCores: number; stealCores: number },
): CpuSummary {
  const roles = byRole(threads)
  const total = Object.values(roles).reduce((a, b) => a + b, 0)
  const us = (s: number) => Math.round((s * 1e6 * 1000) / events) / 1000
  return {
    wallSeconds,
    processCores: Math.round((total / wallSeconds) * 100) / 100,
    mainCores: Math.round((roles.main / wallSeconds) * 100) / 100,
    mainShare: Math.round((roles.main / total) * 1000) / 1000,
    mainUsPerRecord: us(roles.main),
    restUsPerRecord: us(total - roles.main),
    usPerRecordByRole: Object.fromEntries(Object.entries(roles).map(([k, v]) => [k, us(v)])) as Record<ThreadRole, number>,
    machineCores: machine.busyCores,
    stealCores: machine.stealCores,
  }
}

/** One catch-up of the loaded topic with the supervisor pinned to `cores` cores, ACTORS=actors and KAFKA_FETCH=fetch; CPU per thread from /proc over the timed window. */
async function run(
  topic: string,
  truth: Awaited<ReturnType<typeof load>>,
  { cores, actors, fetch }: { cores: number; actors: number; fetch: FetchMode },
  round: number,
): Promise<ScalingRun> {
  const build = { ...THIS_BUILD, wrap: ['taskset', '-c', cpuList(cores)] }
  const t0 = Date.now()
  // consumeLoaded spawns the supervisor before its first await: the child exists on return.
  const pending = consumeLoaded(topic, truth, build, { ACTORS: String(actors), KAFKA_FETCH: fetch })
  let pid: number | null = null
  for (let i = 0; i < 200 && pid === null; i++) {
    pid = findChild('dist/supervisor.js')
    if (pid === null) await new Promise((r) => setTimeout(r, 5))
  }
  if (pid === null) throw new Error('supervisor process not found')
  const sampler = new ThreadCpuSampler(pid, 100)
  let r: Awaited<typeof pending>
  try {
    r = await pending
  } finally {
    sampler.stop()
  }
  // consumeLoaded times from the first claim to the last record counted; both lie within
  // [t0 + secondsFromStart - seconds, t0 + secondsFromStart] give or take its own ~0 ms between t0 and spawn.
  const doneAt = t0 + r.secondsFromStart * 1000
  const threads = sampler.cpuBetween(doneAt - r.seconds * 1000, doneAt, actors)
  const machine = sampler.machineBetween(doneAt - r.seconds * 1000, doneAt)
  return {
    round,
    cores,
    actors,
    fetch,
    eventsPerSecond: r.eventsPerSecond,
    seconds: r.seconds,
    secondsFromStart: r.secondsFromStart,
    peakRssMb: r.peakRssMb,
    rebalances: r.rebalances,
    totalsMatched: r.totalsMatched,
    cpu: summarise(threads, r.seconds, r.events, machine),
    threads,
  }
}

/** The bare kafkajs reader on the topic in a child process pinned to `cores` cores. */
function pinnedCeiling(topic: string, events: number, cores: number): { eventsPerSecond: number; seconds: number } {
  const r = spawnSync(
    'taskset',
    [
      '-c',
      cpuList(cores),
      process.execPath,
      path.join(ROOT, 'dist/bench/scaling.js'),
      '--ceiling-topic',
      topic,
      '--events',
      String(events),
    ],
    { encoding: 'utf8', timeout: 300_000 },
  )
  if (r.status !== 0) throw new Error(`kafkajs ceiling failed (${r.status}): ${r.stderr.slice(0, 500)}`)
  return JSON.parse(r.stdout) as { eventsPerSecond: number; seconds: number }
}

/** The median, rounded to 3 decimals. */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return Math.round((s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2) * 1000) / 1000
}

runMain(
  'bench-scaling',
  'catch-up with the supervisor pinned to 1..n cores × ACTORS × KAFKA_FETCH, per-thread CPU per record (needs the broker and Postgres; run under flock /tmp/tumbler-it.lock).',
  options,
  async (o) => {
    if (o.ceilingTopic) {
      process.stdout.write(JSON.stringify(await kafkajsCeiling(o.ceilingTopic, o.events)) + '\n')
      process.exit(0) // kafkajs may leave timers behind
    }
    const topic = uniqueName('scaling')
    await createNamedTopic(topic, o.partitions)
    progress(`scaling: loading ${o.events} events into ${topic} (${o.partitions} partitions)`)
    const truth = await load(topic, o.partitions, o.events)
    const configs = o.cores.flatMap((cores) => o.actors.flatMap((actors) => o.fetch.map((fetch) => ({ cores, actors, fetch }))))
    const runs: ScalingRun[] = []
    const ceilings: { round: number; cores: number; eventsPerSecond: number }[] = []
    try {
      for (let round = 1; round <= o.rounds; round++) {
        const order = round % 2 ? configs : [...configs].reverse()
        for (const config of order) {
          const r = await run(topic, truth, config, round)
          runs.push(r)
          progress(
            `scaling: round ${round} cores ${r.cores} actors ${r.actors} fetch ${r.fetch}: ${r.eventsPerSecond} events/s, peak RSS ${r.peakRssMb} MB, main ${r.cpu.mainUsPerRecord} µs/record (${r.cpu.mainCores} cores), rest ${r.cpu.restUsPerRecord} µs/record, process ${r.cpu.processCores} cores, totals ${r.totalsMatched ? 'exact' : 'WRONG'}`,
          )
        }
        if (o.ceiling)
          for (const cores of o.cores) {
            const c = pinnedCeiling(topic, o.events, cores)
            ceilings.push({ round, cores, eventsPerSecond: c.eventsPerSecond })
            progress(`scaling: round ${round} bare kafkajs on ${cores} cores: ${c.eventsPerSecond} events/s`)
          }
      }
    } finally {
      await deleteTopic(topic)
    }
    const summary = configs.map(({ cores, actors, fetch }) => {
      const mine = runs.filter((r) => r.cores === cores && r.actors === actors && r.fetch === fetch)
      const ceiling = ceilings.filter((c) => c.cores === cores).map((c) => c.eventsPerSecond)
      const eps = Math.round(median(mine.map((r) => r.eventsPerSecond)))
      return {
        cores,
        actors,
        fetch,
        medianEventsPerSecond: eps,
        runs: mine.map((r) => r.eventsPerSecond),
        medianPeakRssMb: median(mine.map((r) => r.peakRssMb)),
        mainUsPerRecord: median(mine.map((r) => r.cpu.mainUsPerRecord)),
        restUsPerRecord: median(mine.map((r) => r.cpu.restUsPerRecord)),
        mainCores: median(mine.map((r) => r.cpu.mainCores)),
        processCores: median(mine.map((r) => r.cpu.processCores)),
        machineCores: median(mine.map((r) => r.cpu.machineCores)),
        stealCores: median(mine.map((r) => r.cpu.stealCores)),
        actorUsPerRecord: median(mine.map((r) => r.cpu.usPerRecordByRole.actor)),
        v8UsPerRecord: median(mine.map((r) => r.cpu.usPerRecordByRole.v8)),
        mainShare: median(mine.map((r) => r.cpu.mainShare)),
        kafkajsCeiling: ceiling.length ? Math.round(median(ceiling)) : null,
        toKafkajs: ceiling.length ? Math.round((eps / median(ceiling)) * 100) / 100 : null,
      }
    })
    const result = {
      at: new Date().toISOString(),
      machine: { cores: os.availableParallelism(), cpu: os.cpus()[0]?.model, node: process.version },
      events: o.events,
      partitions: o.partitions,
      rounds: o.rounds,
      fetch: o.fetch,
      nodeArgs: process.env.BENCH_NODE_ARGS ?? '',
      summary,
      ceilings,
      runs,
    }
    const json = JSON.stringify(result)
    process.stdout.write(json + '\n')
    mkdirSync(o.resultsDir, { recursive: true })
    appendFileSync(path.join(o.resultsDir, 'scaling.jsonl'), json + '\n')
    const head = [
      'cores',
      'actors',
      'fetch',
      'events/s',
      'kafkajs',
      'ratio',
      'RSS MB',
      'main µs/rec',
      'rest µs/rec',
      '(actors',
      'v8)',
      'main share',
      'main cores',
      'proc cores',
      'machine',
      'steal',
      'runs',
    ]
    const rows = summary.map((s) =>
      [
        s.cores,
        s.actors,
        s.fetch,
        s.medianEventsPerSecond,
        s.kafkajsCeiling ?? '-',
        s.toKafkajs ?? '-',
        s.medianPeakRssMb,
        s.mainUsPerRecord,
        s.restUsPerRecord,
        s.actorUsPerRecord,
        s.v8UsPerRecord,
        s.mainShare,
        s.mainCores,
        s.processCores,
        s.machineCores,
        s.stealCores,
        s.runs.join('/'),
      ].map(String),
    )
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    for (const line of [head, ...rows]) process.stderr.write('  ' + line.map((c, i) => c.padStart(widths[i]!)).join('  ') + '\n')
    if (runs.some((r) => !r.totalsMatched)) process.exitCode = 1
  },
)
