// Scenario "ceilings": how fast can anything read this topic here? (a) a bare kafkajs
// consumer that does nothing with the records: the client's ceiling; (b) Kafka's own
// ConsumerPerformance tool: the broker's ceiling.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import { CONSUMER_FETCH } from '../src/kafka/client.js'
import { kafka } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { ROOT } from '../test-support/paths.js'

export async function kafkajsCeiling(topic: string, events: number): Promise<{ events: number; seconds: number; eventsPerSecond: number }> {
  // The pipeline's fetch settings: with them kafkajs alone reads faster here than with 32 MiB fetches (bench/README.md).
  const consumer = kafka.consumer({ groupId: uniqueName('ceiling'), ...CONSUMER_FETCH })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  let seen = 0
  // Timed from the group join, as the pipeline is timed from its partition claims.
  let first = 0
  consumer.on(consumer.events.GROUP_JOIN, () => (first = Date.now()))
  const end = await new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 8,
      eachBatch: async ({ batch }) => {
        seen += batch.messages.length
        if (seen >= events) resolve(Date.now())
      },
    })
  })
  await consumer.disconnect()
  const seconds = (end - first) / 1000
  return { events: seen, seconds, eventsPerSecond: Math.round(seen / seconds) }
}

export function brokerCeiling(topic: string, events: number): { eventsPerSecond: number; mbPerSecond: number; raw: string } {
  const r = spawnSync(
    'bash',
    [
      path.join(ROOT, 'scripts/kafka.sh'),
      'tool',
      'org.apache.kafka.tools.ConsumerPerformance',
      '--bootstrap-server',
      '127.0.0.1:9092',
      '--topic',
      topic,
      '--messages',
      String(events),
      '--timeout',
      '60000',
      '--group',
      uniqueName('perf'),
    ],
    { encoding: 'utf8', timeout: 300_000 },
  )
  // Output: a header line, then "start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, ..."
  const lines = r.stdout.trim().split('\n')
  const header = lines.findIndex((l) => l.includes('nMsg.sec'))
  const cols = header >= 0 ? lines[header]!.split(',').map((s) => s.trim()) : []
  const values = header >= 0 && lines[header + 1] ? lines[header + 1]!.split(',').map((s) => s.trim()) : []
  const get = (name: string) => Number(values[cols.indexOf(name)])
  return {
    eventsPerSecond: Math.round(get('nMsg.sec')),
    mbPerSecond: get('MB.sec'),
    raw: r.status === 0 ? lines.slice(header).join(' | ') : `${r.stderr}`.slice(0, 500),
  }
}
