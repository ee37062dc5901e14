// The shared Kafka broker (started by .ci/run or `npm run kafka:start`): one kafkajs client,
// topics created and removed, records produced in a known order.
import { Kafka, logLevel, type Message } from 'kafkajs'
import { uniqueName } from './names.js'
import type { Teardown } from './teardown.js'

/** Bootstrap servers of the shared broker: KAFKA_BROKERS (comma-separated host:port), default 127.0.0.1:9092. */
export const BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',')

/** A client of the shared broker (a private broker has its own: outage.ts). */
export const kafka = new Kafka({ clientId: 'tumbler-test', brokers: BROKERS, logLevel: logLevel.NOTHING })

/** Topic-level settings, e.g. `{ name: 'message.timestamp.type', value: 'LogAppendTime' }`. */
export type TopicConfig = { name: string; value: string }[]

/** Creates `topic` (replication 1) and waits for its partition leaders; throws if it exists. */
export async function createNamedTopic(
  topic: string,
  partitions: number,
  configEntries: TopicConfig = [],
  client: Kafka = kafka,
): Promise<void> {
  const admin = client.admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: 1, configEntries }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

/** Deletes `topic`; a topic that is not there is not an error. */
export async function deleteTopic(topic: string, client: Kafka = kafka): Promise<void> {
  const admin = client.admin()
  await admin.connect()
  await admin.deleteTopics({ topics: [topic] }).catch(() => {})
  await admin.disconnect()
}

/** A new topic on the shared broker, deleted in teardown (`client`: another broker's, whose fixture removes it whole). */
export async function createTopic(t: Teardown, partitions: number, client: Kafka = kafka): Promise<string> {
  const topic = uniqueName('t')
  await createNamedTopic(topic, partitions, [], client)
  if (client === kafka) t.teardown(() => deleteTopic(topic))
  return topic
}

/** One record to produce. */
export interface Produced {
  partition: number
  value: Buffer | string | null
  /** Kafka record timestamp (ms), set explicitly so the `future` rule is deterministic. */
  timestampMs: number
}

/** Records as kafkajs messages, partition and timestamp set explicitly. */
export const messagesOf = (records: Produced[]): Message[] =>
  records.map((r) => ({ partition: r.partition, value: r.value as Buffer | string | null, timestamp: String(r.timestampMs) }))

/** Sends records in order per partition (idempotent, acks=all), so offsets are their index within the partition. */
export async function produce(topic: string, records: Produced[], chunk = 5000, client: Kafka = kafka): Promise<void> {
  const producer = client.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    for (let i = 0; i < records.length; i += chunk)
      await producer.send({ topic, acks: -1, messages: messagesOf(records.slice(i, i + chunk)) })
  } finally {
    await producer.disconnect()
  }
}

/** Records in the topic: the sum of its partitions' end offsets (nothing is deleted in tests). */
export async function topicRecords(topic: string): Promise<number> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((a, o) => a + Number(o.high), 0)
  } finally {
    await admin.disconnect()
  }
}
