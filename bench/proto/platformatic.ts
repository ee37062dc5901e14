// Issue 13: is @platformatic/kafka a better Kafka seam than kafkajs for one process on every
// core? Bare readers that only count records, each in its own process, on one loaded topic.
// Under the machine-wide lock:
//   node dist/bench/proto/platformatic.js load [--events 2000000 --partitions 6]   → prints the topic
//   node dist/bench/proto/platformatic.js compare --topic T [--rounds 2]
//   node dist/bench/proto/platformatic.js delete --topic T
// compare runs, alternating the order round by round:
//   kafkajs    bench/ceilings.ts kafkajsCeiling (group of one, eachBatch, CONSUMER_FETCH)
//   stream     @platformatic/kafka Consumer.consume() stream (group of one, earliest), 'data' events
//   fetch      @platformatic/kafka Consumer.fetch() loop, explicit partitions/offsets, no group
//   threads-N  N worker threads, each its own Consumer.fetch() loop on 6/N partitions, JSON.parse of each value
// Results: JSON lines on stdout, appended to bench/results/proto-platformatic.jsonl.
import { spawnSync } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { readPartitions, type ReaderResult, type ReaderTask } from './platformatic-reader.js'

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    topic: { type: 'string' },
    events: { type: 'string', default: '2000000' },
    partitions: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '2' },
    modes: { type: 'string', default: 'kafkajs,stream,fetch' },
    threads: { type: 'string', default: '1,2' },
    mode: { type: 'string' },
    ends: { type: 'string' },
  },
})
const launchedAt = Date.now()
const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')
// The pipeline's fetch settings (src/kafka/client.ts CONSUMER_FETCH) for every reader, so the
// clients differ and nothing else; copied, since that module loads kafkajs into every process.
const FETCH = { maxBytes: 4 * 1024 * 1024, maxBytesPerPartition: 512 * 1024, maxWaitTime: 50 }

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : NaN
}

/** One measurement in this process: `ends[p]` is partition p's end offset. */
async function measure(mode: string, topic: string, ends: number[]): Promise<Record<string, unknown>> {
  const total = ends.reduce((a, b) => a + b, 0)
  let records = 0
  let parsed = 0
  let first: number
  let end: number
  if (mode === 'kafkajs') {
    // Imported here so the other modes' RSS has no kafkajs in it.
    const { kafkajsCeiling } = await import('../ceilings.js')
    const r = await kafkajsCeiling(topic, total)
    records = r.events
    end = Date.now()
    first = end - r.seconds * 1000
  } else if (mode === 'stream') {
    const { Consumer, MessagesStreamModes } = await import('@platformatic/kafka')
    const { uniqueName } = await import('../../test-support/names.js')
    const consumer = new Consumer({ clientId: 'proto-plat-stream', groupId: uniqueName('plat'), bootstrapBrokers: BROKERS, ...FETCH })
    // consume() resolves once the group is joined: timed from there, as kafkajsCeiling is from GROUP_JOIN.
    const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST, autocommit: false, ...FETCH })
    first = Date.now()
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject)
      stream.on('data', () => {
        if (++records === total) resolve()
      })
    })
    end = Date.now()
    await consumer.close(true)
  } else {
    const threads = mode === 'fetch' ? 0 : Number(mode.replace('threads-', ''))
    const all = ends.map((_, p) => p)
    const task = (partitions: number[]): ReaderTask => ({
      kind: 'plat-reader',
      brokers: BROKERS,
      topic,
      partitions,
      ends: Object.fromEntries(partitions.map((p) => [p, String(ends[p])])),
      parse: threads > 0,
      ...FETCH,
    })
    let results: ReaderResult[]
    if (threads === 0) results = [await readPartitions(task(all))]
    else {
      results = await Promise.all(
        Array.from({ length: threads }, (_, i) => {
          const w = new Worker(new URL('./platformatic-reader.js', import.meta.url), {
            workerData: task(all.filter((p) => p % threads === i)),
          })
          return new Promise<ReaderResult>((resolve, reject) => {
            w.once('message', (r: ReaderResult) => resolve(r))
            w.once('error', reject)
          })
        }),
      )
    }
    records = results.reduce((a, r) => a + r.records, 0)
    parsed = results.reduce((a, r) => a + r.parsed, 0)
    first = Math.min(...results.map((r) => r.firstAt))
    end = Math.max(...results.map((r) => r.endAt))
  }
  const seconds = (end - first) / 1000
  return {
    mode,
    records,
    parsed,
    seconds,
    eventsPerSecond: Math.round(records / seconds),
    fromLaunch: Math.round(records / ((end - launchedAt) / 1000)),
    peakRssMb: peakRssMb(),
  }
}

const RESULTS = 'bench/results/proto-platformatic.jsonl'
const command = positionals[0]
if (command === 'child') {
  const out = await measure(args.mode!, args.topic!, args.ends!.split(',').map(Number))
  console.log(JSON.stringify(out))
  process.exit(0)
}
const { createNamedTopic, deleteTopic, kafka } = await import('../../test-support/broker.js')
const { load, progress } = await import('../lib.js')
const { ROOT } = await import('../../test-support/paths.js')
if (command === 'load') {
  const { uniqueName } = await import('../../test-support/names.js')
  const topic = uniqueName('plat_load')
  await createNamedTopic(topic, Number(args.partitions))
  await load(topic, Number(args.partitions), Number(args.events))
  console.log(topic)
} else if (command === 'delete') {
  await deleteTopic(args.topic!)
} else if (command === 'compare') {
  const admin = kafka.admin()
  await admin.connect()
  const ends: number[] = []
  for (const o of await admin.fetchTopicOffsets(args.topic!)) ends[o.partition] = Number(o.high)
  await admin.disconnect()
  const child = (mode: string) => {
    progress(`${args.topic} ${mode}`)
    const argv = [
      path.join(ROOT, 'dist/bench/proto/platformatic.js'),
      'child',
      '--mode',
      mode,
      '--topic',
      args.topic!,
      '--ends',
      ends.join(','),
    ]
    const r = spawnSync(process.execPath, argv, { encoding: 'utf8', timeout: 300_000 })
    let out: Record<string, unknown>
    try {
      out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '') as Record<string, unknown>
    } catch {
      out = { mode, failed: true, status: r.status, stderr: r.stderr.slice(-2000) }
    }
    out = { at: new Date().toISOString(), topic: args.topic, round, ...out }
    appendFileSync(path.join(ROOT, RESULTS), JSON.stringify(out) + '\n')
    console.log(JSON.stringify(out))
  }
  let round = 0
  for (; round < Number(args.rounds); round++) {
    // Alternate the order round by round, so a drift of the shared machine hits all alike.
    const modes = [...args.modes!.split(','), ...args.threads!.split(',').map((n) => `threads-${n}`)].filter((m) => m !== 'threads-')
    if (round % 2) modes.reverse()
    for (const m of modes) child(m)
  }
} else {
  throw new Error('usage: platformatic.js load | compare | delete | child (see the header)')
}
