// `npm run bench`: catch-up (N and 4N), the client's and broker's ceilings on the same
// topic, and live freshness. Prints one JSON object on stdout and a human table on stderr,
// and appends the JSON to bench/results/results.jsonl.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { int, runMain, text } from '../src/cli.js'
import { catchUp } from './catch-up.js'
import { brokerCeiling, kafkajsCeiling } from './ceilings.js'
import { deleteTopic } from '../test-support/broker.js'
import { ROOT } from '../test-support/paths.js'
import { progress } from './lib.js'
import { live } from './live.js'

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
  resultsDir: { flag: 'results-dir', default: path.join(ROOT, 'bench/results'), parse: text, help: 'where results.jsonl is appended' },
}

runMain('bench', 'tumbler load benchmark (needs the broker: npm run kafka:start).', options, async (o) => {
  const quick = o.quick
  const events = quick ? 100_000 : o.events
  const kafkaVersion = /<kafka.version>([^<]+)</.exec(readFileSync(path.join(ROOT, 'kafka/pom.xml'), 'utf8'))?.[1] ?? 'unknown'

  const n = await catchUp(events, o.partitions, true)
  progress(`catch-up ${events}: ${n.eventsPerSecond} events/s, peak RSS ${n.peakRssMb} MB`)
  progress('ceilings: bare kafkajs consumer, then ConsumerPerformance, on the same topic')
  const client = await kafkajsCeiling(n.topic, events)
  const broker = brokerCeiling(n.topic, events)
  await deleteTopic(n.topic)
  const n4 = quick ? null : await catchUp(events * 4, o.partitions)
  const liveResult = await live(quick ? 5000 : o.rate, quick ? 10 : o.seconds, o.partitions)

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
    catchUp: { ...n, topic: undefined },
    catchUp4N: n4 && { ...n4, topic: undefined },
    ceilings: {
      kafkajs: client,
      broker: { eventsPerSecond: broker.eventsPerSecond, mbPerSecond: broker.mbPerSecond },
      pipelineToKafkajs: +(n.eventsPerSecond / client.eventsPerSecond).toFixed(2),
      pipelineToBroker: +(n.eventsPerSecond / broker.eventsPerSecond).toFixed(2),
    },
    live: liveResult,
    totalsMatched: n.totalsMatched && (n4?.totalsMatched ?? true) && liveResult.totalsMatched,
  }
  mkdirSync(o.resultsDir, { recursive: true })
  appendFileSync(path.join(o.resultsDir, 'results.jsonl'), JSON.stringify(result) + '\n')
  process.stdout.write(JSON.stringify(result, null, 2) + '\n')
  const row = (k: string, v: unknown) => process.stderr.write(`  ${k.padEnd(34)} ${v}\n`)
  process.stderr.write('\ntumbler bench\n')
  row(
    `catch-up ${events} events`,
    `${n.eventsPerSecond} events/s (${n.seconds.toFixed(1)} s), peak RSS ${n.peakRssMb} MB, rebalances ${n.rebalances}`,
  )
  if (n4) row(`catch-up ${events * 4} events`, `${n4.eventsPerSecond} events/s, peak RSS ${n4.peakRssMb} MB, rebalances ${n4.rebalances}`)
  row('bare kafkajs consumer', `${client.eventsPerSecond} events/s → pipeline at ${result.ceilings.pipelineToKafkajs}×`)
  row('Kafka ConsumerPerformance', `${broker.eventsPerSecond} events/s → pipeline at ${result.ceilings.pipelineToBroker}×`)
  row(
    `live ${liveResult.rate}/s for ${liveResult.seconds.toFixed(0)} s`,
    `freshness p50 ${liveResult.freshnessMs.p50} ms, p99 ${liveResult.freshnessMs.p99} ms, max ${liveResult.freshnessMs.max} ms`,
  )
  const fin = liveResult.finalityMs
  const finality =
    fin.windows > 0
      ? `${fin.windows} windows, p50 ${fin.p50} ms, p99 ${fin.p99} ms (lateness ${fin.latenessMs} ms included)`
      : `no window became final (the run is not longer than the ${fin.latenessMs} ms lateness; --seconds 180 shows it)`
  row('live: window end → final', `${finality}; commits ${liveResult.commits.count}, mean ${liveResult.commits.meanMs} ms`)
  row('totals matched the ground truth', result.totalsMatched)
  process.exit(result.totalsMatched ? 0 : 1)
})
