import os from 'node:os'
import { bool, int, list, oneOf, text, UsageError, type Option, type Values } from './cli.js'
import { parseZone } from './shared/time-zone.js'
import { parseFaults } from './shared/faults.js'
import type { FetchMode } from './shared/actor-fetch.js'

/** host:port, port 1..65535 (an IPv6 host in brackets). */
const brokers = (raw: string): string[] =>
  list(raw).map((b) => {
    const m = /^(\[[^\]]+\]|[^:\s[\]]+):(\d{1,5})$/.exec(b)
    if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535) throw new UsageError(`expected host:port, got "${b}"`)
    return b
  })

/** A name Kafka accepts for a topic (its Topic.validate): 1..249 of [a-zA-Z0-9._-], not "." or "..". */
const topicName = (raw: string): string => {
  const t = text(raw)
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(t) || t === '.' || t === '..')
    throw new UsageError(`"${t}" is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)`)
  return t
}

/** A postgres:// or postgresql:// URL whose parts decode (libpq variables fill in what it leaves out). */
const postgresUrl = (raw: string): string => {
  const t = text(raw)
  let u: URL
  try {
    u = new URL(t)
    decodeURIComponent(u.pathname)
    decodeURIComponent(u.username)
    decodeURIComponent(u.password)
  } catch {
    throw new UsageError('expected a URL such as postgresql://user@host:5432/db')
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw new UsageError(`expected postgresql://, got ${u.protocol}//`)
  return t
}

/** TUMBLER_FAULTS checked at start (src/shared/faults.ts), so a typo is a usage error, not dying threads. */
const faultSpec = (raw: string): string => {
  try {
    parseFaults(raw)
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  return raw
}

const opt = <T>(o: Option<T>): Option<T> => o

/** Shared by the supervisor and the producer. */
export const kafkaOptions = {
  kafkaBrokers: opt({
    env: 'KAFKA_BROKERS',
    flag: 'kafka-brokers',
    default: ['127.0.0.1:9092'],
    parse: brokers,
    help: 'comma-separated Kafka bootstrap servers',
  }),
  kafkaTopic: opt({ env: 'KAFKA_TOPIC', flag: 'kafka-topic', default: 'transactions', parse: topicName, help: 'input topic' }),
  topicPartitions: opt({
    env: 'TOPIC_PARTITIONS',
    flag: 'topic-partitions',
    default: 6,
    parse: int(1, 10_000),
    help: 'partitions used when the topic has to be created',
  }),
  kafkaSsl: opt({ env: 'KAFKA_SSL', flag: 'kafka-ssl', default: false, parse: bool, help: 'connect to Kafka over TLS' }),
  kafkaSslCaFile: opt({
    env: 'KAFKA_SSL_CA_FILE',
    flag: 'kafka-ssl-ca-file',
    default: '',
    parse: text,
    help: 'PEM file of the CA that signed the brokers (default: the system CAs)',
  }),
  kafkaSslCertFile: opt({
    env: 'KAFKA_SSL_CERT_FILE',
    flag: 'kafka-ssl-cert-file',
    default: '',
    parse: text,
    help: 'PEM client certificate for mutual TLS',
  }),
  kafkaSslKeyFile: opt({
    env: 'KAFKA_SSL_KEY_FILE',
    flag: 'kafka-ssl-key-file',
    default: '',
    parse: text,
    help: 'PEM client key for mutual TLS',
  }),
  kafkaSaslMechanism: opt<string>({
    env: 'KAFKA_SASL_MECHANISM',
    flag: 'kafka-sasl-mechanism',
    default: '',
    parse: oneOf(['plain', 'scram-sha-256', 'scram-sha-512']),
    help: 'SASL mechanism: plain, scram-sha-256 or scram-sha-512 (empty: no SASL)',
  }),
  kafkaSaslUsername: opt({ env: 'KAFKA_SASL_USERNAME', flag: 'kafka-sasl-username', default: '', parse: text, help: 'SASL user name' }),
  kafkaSaslPassword: opt({
    env: 'KAFKA_SASL_PASSWORD',
    flag: 'kafka-sasl-password',
    default: '',
    parse: text,
    help: 'SASL password (prefer the variable: flags show in ps)',
  }),
}

/**
 * The largest amount is just under 1e9 dollars = 1e11 cents; a delta of FLUSH_RECORDS
 * such records must stay below 2^53 to be exact in a JS number: 50,000 * 1e11 = 5e15 < 9.007e15.
 */
export const MAX_FLUSH_RECORDS = 50_000

/**
 * Bounded so that one rejected value stays far below V8's string limit (~512 MB) when the
 * writer sends it to Postgres as hex text (twice its size), and below bytea's 1 GB.
 */
export const MAX_REJECTED_PAYLOAD_BYTES = 64 * 1024 * 1024

/** One partition per day: Postgres plans a few hundred partitions well, thousands poorly. 0 keeps everything. */
export const MAX_REJECTED_RETENTION_DAYS = 366

export const supervisorOptions = {
  ...kafkaOptions,
  kafkaGroupId: opt({
    env: 'KAFKA_GROUP_ID',
    flag: 'kafka-group-id',
    default: 'tumbler',
    parse: text,
    help: 'consumer group; supervisors with one group id share the partitions',
  }),
  sessionTimeoutMs: opt({
    env: 'KAFKA_SESSION_TIMEOUT_MS',
    flag: 'kafka-session-timeout-ms',
    default: 10_000,
    parse: int(1000, 300_000),
    help: 'consumer group session timeout in ms: how long a dead supervisor keeps its partitions',
  }),
  databaseUrl: opt({
    env: 'DATABASE_URL',
    flag: 'database-url',
    default: 'postgresql://postgres@127.0.0.1:5432/tumbler',
    parse: postgresUrl,
    help: 'Postgres connection string (libpq variables are honoured)',
  }),
  httpHost: opt({
    env: 'HTTP_HOST',
    flag: 'http-host',
    default: '127.0.0.1',
    parse: text,
    help: 'address the UI, API, health and metrics listen on',
  }),
  httpPort: opt({
    env: 'HTTP_PORT',
    flag: 'http-port',
    default: 8501,
    parse: int(0, 65_535),
    help: 'port the UI, API, health and metrics listen on',
  }),
  uiToken: opt({
    env: 'UI_TOKEN',
    flag: 'ui-token',
    default: '',
    parse: text,
    help: 'bearer token required by the UI, API and WebSocket (empty: open); health and metrics stay open',
  }),
  apiRateLimit: opt({
    env: 'API_RATE_LIMIT',
    flag: 'api-rate-limit',
    default: 600,
    parse: int(1),
    help: 'requests per minute per client address on /api/*',
  }),
  wsMaxClients: opt({
    env: 'WS_MAX_CLIENTS',
    flag: 'ws-max-clients',
    default: 1000,
    parse: int(1, 1_000_000),
    help: 'WebSocket clients /ws feeds at once; past it an upgrade gets 503',
  }),
  windowSeconds: opt({
    env: 'WINDOW_SECONDS',
    flag: 'window-seconds',
    default: 60,
    parse: int(1, 86_400),
    help: 'tumbling window size in seconds',
  }),
  latenessSeconds: opt({
    env: 'LATENESS_SECONDS',
    flag: 'lateness-seconds',
    default: 60,
    parse: int(0, 86_400),
    help: 'watermark delay (allowed lateness) in seconds',
  }),
  idlePartitionSeconds: opt({
    env: 'IDLE_PARTITION_SECONDS',
    flag: 'idle-partition-seconds',
    default: 300,
    parse: int(0, 31_536_000),
    help: 'a partition with nothing to read for this many seconds stops holding back window finality: its watermark is raised (0 = never)',
  }),
  futureSeconds: opt({
    env: 'FUTURE_SECONDS',
    flag: 'future-seconds',
    default: 300,
    parse: int(0, 31_536_000),
    help: 'event time further than this after the Kafka timestamp is rejected (future)',
  }),
  timestampDefaultZone: opt({
    env: 'TIMESTAMP_DEFAULT_ZONE',
    flag: 'timestamp-default-zone',
    default: 'UTC',
    parse: (raw: string) => parseZone(raw.trim()).name,
    help: 'zone of a timestamp written without one: an IANA name (Europe/Paris) or a fixed offset (+05:30)',
  }),
  kafkaFetch: opt<FetchMode>({
    env: 'KAFKA_FETCH',
    flag: 'kafka-fetch',
    default: 'supervisor',
    parse: oneOf(['supervisor', 'actors']) as (raw: string) => FetchMode,
    help: 'where records are fetched and decoded: supervisor (kafkajs on the main thread) or actors (each actor fetches its partitions itself, with @platformatic/kafka)',
  }),
  actors: opt({ env: 'ACTORS', flag: 'actors', default: os.availableParallelism(), parse: int(1, 256), help: 'window actor threads' }),
  flushMs: opt({
    env: 'FLUSH_MS',
    flag: 'flush-ms',
    default: 250,
    parse: int(10, 60_000),
    help: 'longest time an update waits before it is committed, in ms',
  }),
  flushRecords: opt({
    env: 'FLUSH_RECORDS',
    flag: 'flush-records',
    default: 20_000,
    parse: int(1, MAX_FLUSH_RECORDS),
    help: 'records handed to one actor that trigger an early flush',
  }),
  flushBytes: opt({
    env: 'FLUSH_BYTES',
    flag: 'flush-bytes',
    default: 8 * 1024 * 1024,
    parse: int(1024),
    help: 'record bytes handed to one actor that trigger an early flush',
  }),
  maxInFlightRecords: opt({
    env: 'MAX_INFLIGHT_RECORDS',
    flag: 'max-inflight-records',
    default: 20_000,
    parse: int(1),
    help: 'records of one partition read but not yet committed before the partition is paused',
  }),
  maxInFlightBytes: opt({
    env: 'MAX_INFLIGHT_BYTES',
    flag: 'max-inflight-bytes',
    default: 16 * 1024 * 1024,
    parse: int(1024),
    help: 'record bytes of one partition read but not yet committed before the partition is paused',
  }),
  rejectedPayloadMaxBytes: opt({
    env: 'REJECTED_PAYLOAD_MAX_BYTES',
    flag: 'rejected-payload-max-bytes',
    default: 65_536,
    parse: int(0, MAX_REJECTED_PAYLOAD_BYTES),
    help: 'bytes of a rejected record value kept in rejected_events.payload (its full length and SHA-256 are always kept)',
  }),
  rejectedRetentionDays: opt({
    env: 'REJECTED_RETENTION_DAYS',
    flag: 'rejected-retention-days',
    default: 30,
    parse: int(0, MAX_REJECTED_RETENTION_DAYS),
    help: 'days of rejected_events kept, by Kafka timestamp: older daily partitions are dropped (0: keep everything)',
  }),
  rejectedRetentionIntervalSeconds: opt({
    env: 'REJECTED_RETENTION_INTERVAL_SECONDS',
    flag: 'rejected-retention-interval-seconds',
    default: 3600,
    parse: int(1, 86_400),
    help: "how often a supervisor creates the coming days' rejected_events partitions and drops expired ones, in seconds",
  }),
  logLevel: opt<string>({
    env: 'LOG_LEVEL',
    flag: 'log-level',
    default: 'info',
    parse: oneOf(['debug', 'info', 'warn', 'error']),
    help: 'debug, info, warn or error',
  }),
  faults: opt({
    env: 'TUMBLER_FAULTS',
    flag: 'faults',
    default: '',
    parse: faultSpec,
    help: 'test-only fault injection, e.g. "actor0:batch:40,writer:commit:3" (that thread dies once, at its Nth batch / commit); "sigusr2": each SIGUSR2 kills one random worker thread',
  }),
}

export type KafkaSettings = Values<typeof kafkaOptions>

export type SupervisorConfig = Values<typeof supervisorOptions>
