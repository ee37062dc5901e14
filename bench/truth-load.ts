// `node dist/bench/truth-load.js`: the truth load (test-support/truth-load.ts) as a child
// process; prints what the broker acknowledged as JSON on stdout when it stops (at --count or
// on SIGTERM).
import { fileURLToPath } from 'node:url'
import { Kafka, logLevel } from 'kafkajs'
import { int, list, runMain, text, type Values } from '../src/cli.js'
import { TruthLoad, truthJson } from '../test-support/truth-load.js'

const options = {
  kafkaBrokers: {
    env: 'KAFKA_BROKERS',
    flag: 'kafka-brokers',
    default: ['127.0.0.1:9092'],
    parse: list,
    help: 'comma-separated Kafka bootstrap servers',
  },
  topic: { flag: 'topic', default: 'transactions', parse: text, help: 'topic (must exist)' },
  rate: { flag: 'rate', default: 0, parse: int(0), help: 'events per second (0 = as fast as possible)' },
  count: { flag: 'count', default: 0, parse: int(0), help: 'events to send, then stop (0 = until SIGTERM)' },
  batch: { flag: 'batch', default: 1000, parse: int(1, 100_000), help: 'events per produce request' },
  badEvery: { flag: 'bad-every', default: 0, parse: int(0), help: 'every Nth event is not JSON (0 = none)' },
  windowSeconds: {
    env: 'WINDOW_SECONDS',
    flag: 'window-seconds',
    default: 60,
    parse: int(1, 86_400),
    help: 'the supervisor’s window size, for the truth’s keys',
  },
  id: { flag: 'id', default: 'p', parse: text, help: 'producer id, part of each transaction_id' },
}

async function main(o: Values<typeof options>): Promise<void> {
  const kafka = new Kafka({ clientId: `truth-load-${o.id}`, brokers: o.kafkaBrokers, logLevel: logLevel.NOTHING })
  const load = new TruthLoad(kafka, {
    topic: o.topic,
    rate: o.rate,
    count: o.count,
    batch: o.batch,
    badEvery: o.badEvery,
    windowMs: o.windowSeconds * 1000,
    id: o.id,
  }).start()
  const stop = () => void load.stop()
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  const progress = setInterval(() => process.stderr.write(`truth-load ${o.id}: ${load.truth.sent} acknowledged\n`), 5000)
  await load.finished()
  clearInterval(progress)
  process.stdout.write(JSON.stringify(truthJson(load.truth)) + '\n')
  process.exit(0)
}

if (process.argv[1] === fileURLToPath(import.meta.url))
  runMain(
    'truth-load',
    'tumbler truth-load: produces valid events (and optionally malformed ones) and prints what it produced as JSON.',
    options,
    main,
  )
