import { CompressionTypes, Partitioners } from 'kafkajs'
import { int, runMain, type Values } from '../cli.js'
import { kafkaOptions } from '../config.js'
import { createKafka, ensureTopic } from '../kafka/client.js'
import { configureLog } from '../shared/log.js'
import { retry } from '../shared/retry.js'
import { transaction } from './transactions.js'

// The producer program: the seed's synthetic transactions (src/producer/transactions.ts) to Kafka.

const options = {
  ...kafkaOptions,
  rate: { flag: 'rate', default: 1000, parse: int(0), help: 'events per second (0 = as fast as possible)' },
  count: { flag: 'count', default: 0, parse: int(0), help: 'events to send, then exit (0 = until interrupted)' },
  batch: { flag: 'batch', default: 500, parse: int(1, 100_000), help: 'events per produce request' },
}

/** Waits between sends of a batch the broker did not take (ms). */
const SEND_BACKOFF = { baseMs: 1000, maxMs: 30_000 }

async function main(o: Values<typeof options>): Promise<void> {
  configureLog('warn')
  const kafka = createKafka(o, 'tumbler-producer')
  await ensureTopic(kafka, o.kafkaTopic, o.topicPartitions)
  const admin = kafka.admin()
  await admin.connect()
  const partitions = (await admin.fetchTopicMetadata({ topics: [o.kafkaTopic] })).topics[0]!.partitions.length
  await admin.disconnect()
  // Idempotent + acks=all: a retried request is not written twice.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
    retry: { retries: Number.MAX_SAFE_INTEGER, maxRetryTime: 5000 },
  })
  await producer.connect()

  let stop = false
  process.on('SIGINT', () => (stop = true))
  process.on('SIGTERM', () => (stop = true))
  const started = Date.now()
  let sent = 0
  let seq = 0
  const progress = setInterval(() => {
    const s = (Date.now() - started) / 1000
    process.stderr.write(`producer: ${sent} sent, ${Math.round(sent / s)}/s\n`)
  }, 1000)

  while (!stop && (o.count === 0 || sent < o.count)) {
    const n = Math.min(o.batch, o.count === 0 ? o.batch : o.count - sent)
    const now = Date.now()
    const messages = Array.from({ length: n }, () => {
      const t = transaction(now)
      // Round robin over partitions: every partition gets the same share.
      return { partition: seq++ % partitions, key: t.transaction_id as string, value: JSON.stringify(t) }
    })
    // A broker away longer than the client's own retries: wait and send again (backoff to
    // 30 s), so a long outage slows the load down instead of ending it (and `npm start` with it).
    await retry(
      async () => {
        if (!stop) await producer.send({ topic: o.kafkaTopic, acks: -1, compression: CompressionTypes.None, messages })
      },
      {
        ...SEND_BACKOFF,
        onRetry: (err, attempt, delayMs) =>
          void process.stderr.write(`producer: send failed (${(err as Error).message}); try ${attempt + 1} in ${delayMs} ms\n`),
      },
    )
    sent += n
    if (o.rate > 0) {
      // Pace against the start so rounding never drifts the average rate.
      const aheadMs = (sent / o.rate) * 1000 - (Date.now() - started)
      if (aheadMs > 0) await new Promise((r) => setTimeout(r, aheadMs))
    }
  }
  clearInterval(progress)
  await producer.disconnect()
  process.stderr.write(`producer: done, ${sent} acknowledged in ${((Date.now() - started) / 1000).toFixed(1)}s\n`)
  process.exit(0)
}

runMain('producer', 'tumbler producer: synthetic e-commerce transactions (the seed event model) to Kafka.', options, main)
