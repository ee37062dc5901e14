// `npm run bench`: catch-up (N and 4N), the client's and broker's ceilings on the same
// topic, and live freshness, each scenario in both KAFKA_FETCH modes (--fetch; the catch-ups
// read one loaded topic per size, mode after mode): "before" = the first mode (supervisor:
// kafkajs on the main thread), "after" = the second (actors: each actor fetches its own
// partitions). Prints one JSON object on stdout and a human table on stderr, and appends the
// JSON to bench/results/results.jsonl: the before figures where every earlier line has them
// (with `fetch`), the after figures under `after`.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { int, runMain, text } from '../src/cli.js'
import { catchUp } from './catch-up.js'
import { brokerCeiling, kafkajsCeiling } from './ceilings.js'
import { deleteTopic } from '../test-support/broker.js'
import { ROOT } from '../test-support/paths.js'
import type { FetchMode } from '../src/shared/actor-fetch.js'
import { fetchModes, progress } from './lib.js'
import { live, type LiveResult } from './live.js'

const options = {
  events: {
    flag: 'events',
    default: 2_000_000,
    parse: int(1000),
    help: 'events for the catch-up scenario (N; memory is also measured with 4N unless --quick)',
  },
  partitions: { flag: 'partitions', default: 6, parse: int(1, 1000), help: 'partitions of the benchmark topics' },
  rate: { flag: 'rate', default: 20_000, parse: int(1), help: 'events/s of the live scenario' },
  seconds: { flag: 'seconds', default: 60, parse: int(1), help: 'duration of the live scenario' },
  quick: {
    flag: 'quick',
    default: false,
    parse: (raw: string) => raw !== 'false',
    help: 'a ~30 s smoke run: 100k events, no 4N run, 10 s live at 5,000/s',
  },
  fetch: {
    flag: 'fetch',
    default: ['supervisor', 'actors'] as FetchMode[],
    parse: fetchModes,
    help: 'KAFKA_FETCH modes, comma-separated, one or two: before (and after)',
  },
  resultsDir: { flag: 'results-dir', default: path.join(ROOT, 'bench/results'), parse: text, help: 'where results.jsonl is appended' },
}

runMain('bench', 'tumbler load benchmark (needs the broker: npm run kafka:start).', options, async (o) => {
  const quick = o.quick
  const events = quick ? 100_000 : o.events
  const kafkaVersion = /<kafka.version>([^<]+)</.exec(readFileSync(path.join(ROOT, 'kafka/pom.xml'), 'utf8'))?.[1] ?? 'unknown'
  const modes = o.fetch.slice(0, 2)

  const n = await catchUp(events, o.partitions, modes, true)
  progress('ceilings: bare kafkajs consumer, then ConsumerPerformance, on the same topic')
  const client = await kafkajsCeiling(n.topic, events)
  const broker = brokerCeiling(n.topic, events)
  await deleteTopic(n.topic)
  const n4 = quick ? null : await catchUp(events * 4, o.partitions, modes)
  const lives: (LiveResult & { fetch: FetchMode })[] = []
  for (const fetch of modes) {
    progress(`live (KAFKA_FETCH=${fetch})`)
    lives.push({ ...(await live(quick ? 5000 : o.rate, quick ? 10 : o.seconds, o.partitions, { KAFKA_FETCH: fetch })), fetch })
  }

  // One mode's figures: catch-ups without their topic, ratios to the ceilings, the live run.
  const figures = (i: number) => {
    const c = n.runs[i]!
    return {
      fetch: modes[i]!,
      catchUp: { ...c, topic: undefined },
      catchUp4N: n4 && { ...n4.runs[i]!, topic: undefined },
      pipelineToKafkajs: +(c.eventsPerSecond / client.eventsPerSecond).toFixed(2),
      pipelineToBroker: +(c.eventsPerSecond / broker.eventsPerSecond).toFixed(2),
      live: lives[i]!,
    }
  }
  const before = figures(0)
  const after = modes.length > 1 ? figures(1) : null
  const all = [before, ...(after ? [after] : [])]
  const result = {
    at: new Date().toISOString(),
    quick,
    machine: {
      cores: os.availableParallelism(),
      cpu: os.cpus()[0]?.model,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      kafka: kafkaVersion,
    },
    fetch: before.fetch,
    catchUp: before.catchUp,
    catchUp4N: before.catchUp4N,
    ceilings: {
      kafkajs: client,
      broker: { eventsPerSecond: broker.eventsPerSecond, mbPerSecond: broker.mbPerSecond },
      pipelineToKafkajs: before.pipelineToKafkajs,
      pipelineToBroker: before.pipelineToBroker,
    },
    live: before.live,
    after,
    totalsMatched: all.every((f) => f.catchUp.totalsMatched && (f.catchUp4N?.totalsMatched ?? true) && f.live.totalsMatched),
  }
  mkdirSync(o.resultsDir, { recursive: true })
  appendFileSync(path.join(o.resultsDir, 'results.jsonl'), JSON.stringify(result) + '\n')
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')

  // The table: a row per figure, a column per mode (before, after).
  const rows: [string, ...string[]][] = [['', ...all.map((f, i) => `${i ? 'after' : 'before'}: KAFKA_FETCH=${f.fetch}`)]]
  const row = (k: string, cell: (f: (typeof all)[number]) => string) => rows.push([k, ...all.map(cell)])
  const catchUpCell = (c: { eventsPerSecond: number; seconds: number; peakRssMb: number; rebalances: number }) =>
    `${c.eventsPerSecond} events/s (${c.seconds.toFixed(1)} s), peak RSS ${c.peakRssMb} MB, rebalances ${c.rebalances}`
  row(`catch-up ${events} events`, (f) => catchUpCell(f.catchUp))
  if (n4) row(`catch-up ${events * 4} events`, (f) => catchUpCell(f.catchUp4N!))
  row(`bare kafkajs ${client.eventsPerSecond} events/s`, (f) => `pipeline at ${f.pipelineToKafkajs}×`)
  row(`ConsumerPerformance ${broker.eventsPerSecond} events/s`, (f) => `pipeline at ${f.pipelineToBroker}×`)
  row(
    `live ${before.live.rate}/s for ${before.live.seconds.toFixed(0)} s`,
    (f) => `freshness p50 ${f.live.freshnessMs.p50} ms, p99 ${f.live.freshnessMs.p99} ms, max ${f.live.freshnessMs.max} ms`,
  )
  row('live: peak RSS, writer commits', (f) => `${f.live.peakRssMb} MB, ${f.live.commits.count} commits, mean ${f.live.commits.meanMs} ms`)
  row('live: window end → final', (f) => {
    const fin = f.live.finalityMs
    return fin.windows > 0 ? `${fin.windows} windows, p50 ${fin.p50} ms, p99 ${fin.p99} ms (lateness included)` : 'none (run ≤ lateness)'
  })
  row('totals matched the ground truth', (f) =>
    String(f.catchUp.totalsMatched && (f.catchUp4N?.totalsMatched ?? true) && f.live.totalsMatched),
  )
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i]!.length)))
  process.stderr.write('\ntumbler bench\n')
  for (const r of rows)
    process.stderr.write(
      '  ' +
        r
          .map((c, i) => c.padEnd(widths[i]!))
          .join('  ')
          .trimEnd() +
        '\n',
    )
  process.exit(result.totalsMatched ? 0 : 1)
})
