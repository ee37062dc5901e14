import { readFileSync } from 'node:fs'
import { Kafka, logLevel, type Consumer, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs'
import { UsageError } from '../cli.js'
import type { KafkaSettings } from '../config.js'
import { log } from '../shared/log.js'
import type { ActorFetchSettings } from '../shared/actor-fetch.js'
import type { InFlightLimits } from '../shared/in-flight.js'

// kafkajs wiring shared by the supervisor, the producer and the tests' helpers.

const levels: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
}

/** TLS and SASL from the settings; a missing file or credential is a usage error (exit 2). */
export function securityConfig(k: KafkaSettings): Pick<KafkaConfig, 'ssl' | 'sasl'> {
  const read = (file: string, name: string) => {
    try {
      return readFileSync(file, 'utf8')
    } catch (err) {
      throw new UsageError(`invalid ${name}: cannot read ${file}: ${(err as Error).message}`)
    }
  }
  const files = k.kafkaSslCaFile || k.kafkaSslCertFile || k.kafkaSslKeyFile
  const ssl: KafkaConfig['ssl'] = files
    ? {
        ...(k.kafkaSslCaFile && { ca: [read(k.kafkaSslCaFile, 'KAFKA_SSL_CA_FILE')] }),
        ...(k.kafkaSslCertFile && { cert: read(k.kafkaSslCertFile, 'KAFKA_SSL_CERT_FILE') }),
        ...(k.kafkaSslKeyFile && { key: read(k.kafkaSslKeyFile, 'KAFKA_SSL_KEY_FILE') }),
      }
    : k.kafkaSsl
  if (!k.kafkaSaslMechanism) return { ssl }
  if (!k.kafkaSaslUsername || !k.kafkaSaslPassword)
    throw new UsageError('invalid KAFKA_SASL_MECHANISM: needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD')
  const sasl = { mechanism: k.kafkaSaslMechanism, username: k.kafkaSaslUsername, password: k.kafkaSaslPassword } as SASLOptions
  return { ssl, sasl }
}

/**
 * An actor's Kafka settings for KAFKA_FETCH=actors (workers/fetch-loop.ts): the same brokers,
 * TLS and SASL as the supervisor's kafkajs client, in @platformatic/kafka's terms, and the
 * same fetch sizes (CONSUMER_FETCH). Throws UsageError as securityConfig does.
 */
export function actorFetchSettings(settings: KafkaSettings, clientId: string, limits: InFlightLimits): ActorFetchSettings {
  const { ssl, sasl } = securityConfig(settings)
  const tls = ssl === true ? true : ssl ? { ca: ssl.ca as string[] | undefined, cert: ssl.cert as string, key: ssl.key as string } : undefined
  const plain = sasl as { mechanism: string; username: string; password: string } | undefined
  return {
    brokers: settings.kafkaBrokers,
    topic: settings.kafkaTopic,
    clientId,
    ...(tls && { tls }),
    ...(plain && { sasl: { ...plain, mechanism: plain.mechanism.toUpperCase() as 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512' } }),
    maxBytes: CONSUMER_FETCH.maxBytes,
    maxBytesPerPartition: CONSUMER_FETCH.maxBytesPerPartition,
    maxWaitMs: CONSUMER_FETCH.maxWaitTimeInMs,
    limits,
  }
}

/**
 * A kafkajs client with our security settings, retries and logger. `probe`: a client that asks
 * once and fails at once (no retries: kafkajs would retry a refused connection for ~30 s) and
 * logs nothing of kafkajs's own (its caller reports the failure).
 */
export function createKafka(settings: KafkaSettings, clientId: string, probe = false): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    ...securityConfig(settings),
    logLevel: probe ? logLevel.NOTHING : logLevel.WARN,
    retry: probe ? { retries: 0 } : { initialRetryTime: 200, retries: 10, maxRetryTime: 5000 },
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

/**
 * Fetch settings of the supervisor's consumer (the benchmark's bare kafkajs ceiling uses them
 * too). Small fetches: kafkajs decodes a whole response on the main thread before it fetches
 * again, so 4 MiB responses keep that thread busy in shorter turns than 32 MiB ones and hold
 * far less memory (bench/README.md, "Fetch sizes"). Kafka still returns a record larger than
 * these limits, alone. maxWaitTimeInMs is the long-poll of an idle fetch, and also how long
 * kafkajs sleeps when every partition is paused by flow control (resume() does not wake it);
 * short, it also keeps consumer.stop() in a drain short.
 */
export const CONSUMER_FETCH = { maxBytesPerPartition: 512 * 1024, maxBytes: 4 * 1024 * 1024, maxWaitTimeInMs: 50 } as const

export type { Consumer }
