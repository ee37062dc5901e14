import type { InFlightLimits } from './in-flight.js'

// KAFKA_FETCH=actors (issue 13): each window actor fetches and decodes its own partitions with
// a group-less @platformatic/kafka client (workers/fetch-loop.ts), from the offsets its claims
// give it; the supervisor's kafkajs consumer only holds the group membership. What the two
// sides share for that: the actor's Kafka settings and the report it sends after each fetch.

/** Where records are fetched and decoded (KAFKA_FETCH): `supervisor` = kafkajs on the main thread (default), `actors` = in each actor. */
export type FetchMode = 'supervisor' | 'actors'

/** An actor's Kafka settings (workerData.fetch), resolved on the main thread: plain data, files already read. */
export interface ActorFetchSettings {
  /** KAFKA_BROKERS, host:port. */
  brokers: string[]
  topic: string
  clientId: string
  /** TLS: true for the system CAs, or PEM texts (KAFKA_SSL_*_FILE); absent for plaintext. */
  tls?: true | { ca?: string[]; cert?: string; key?: string }
  /** SASL, mechanism as Kafka names it (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512). */
  sasl?: { mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'; username: string; password: string }
  /** Bytes a fetch response may hold in all (Kafka still returns one larger record alone). */
  maxBytes: number
  /** Bytes a fetch response may hold per partition. */
  maxBytesPerPartition: number
  /** How long the broker may hold a fetch for an idle partition (ms). */
  maxWaitMs: number
  /** MAX_INFLIGHT_RECORDS / MAX_INFLIGHT_BYTES per partition: past them the actor stops fetching it until COMMITTED. */
  limits: InFlightLimits
}

/** The BroadcastChannel on which actors post their FetchReports to the main thread. */
export const FETCH_REPORT_CHANNEL = 'tumbler:fetch-report'

/**
 * One partition's part of a fetch the actor has counted: records and value bytes read from
 * the previous `nextOffset` up to this one, the partition's high watermark (log end offset) as
 * the broker told it, and whether the actor stopped fetching it at an in-flight bound. Offsets
 * are decimal strings.
 */
export interface FetchedPartition {
  partition: number
  epoch: string
  records: number
  bytes: number
  nextOffset: string
  highWatermark: string
  paused: boolean
}

/**
 * What an actor posts on FETCH_REPORT_CHANNEL after it has counted a fetch response (never one
 * message per record): the main thread keeps its in-flight view, asks for flushes at
 * FLUSH_RECORDS/FLUSH_BYTES, and feeds the lag and idle watches from it. A report for an epoch
 * the main thread no longer holds is ignored.
 */
export interface FetchReport {
  actor: number
  partitions: FetchedPartition[]
}
