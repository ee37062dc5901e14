import { Kafka, logLevel, type Consumer, type LogEntry } from 'kafkajs'
import { log } from './log.js'

// kafkajs wiring shared by the supervisor, the producer and the tests' helpers.

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

export function createKafka(brokers: string[], clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers,
    logLevel: logLevel.WARN,
    retry: { initialRetryTime: 200, retries: 10, maxRetryTime: 5000 },
    logCreator:
      () =>
      ({ level, log: entry }: LogEntry) => {
        const { message, ...rest } = entry
        log[levels[level] ?? 'info'](`kafkajs: ${message}`, { kafka: rest })
      },
  })
}

/** Creates the topic with `partitions` if it is missing; an existing topic is left as it is. */
export async function ensureTopic(kafka: Kafka, topic: string, partitions: number): Promise<void> {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const existing = await admin.listTopics()
    if (existing.includes(topic)) return
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions, replicationFactor: -1 }], waitForLeaders: true })
    log.info('created topic', { topic, partitions })
  } finally {
    await admin.disconnect()
  }
}

export type { Consumer }
