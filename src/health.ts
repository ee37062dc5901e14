import type { PartitionFailure } from './shared/protocol.js'

// The supervisor's readiness as a value: `state` is what /readyz, /api/summary and the page
// switch on; `reason` is words for a human and is never parsed. (The page once showed
// "Starting" for "Kafka unreachable" because a prefix test on the reason missed a new sentence.)

/** Why the supervisor is not ready, most serious first in the order decideHealth checks them. */
export type NotReadyState = 'starting' | 'postgres_unreachable' | 'kafka_unreachable' | 'stopping' | 'failed'

/** Not ready: `state` for programs, `reason` for people (the error, how long, what comes next). */
export interface NotReady {
  state: NotReadyState
  reason: string
}

/** Consuming, and Postgres answers. */
export interface Ready {
  state: 'ready'
  reason: null
}

/** The supervisor's readiness, as GET /readyz reports it (200 when `state` is 'ready', else 503). */
export type Health = Ready | NotReady

export const READY: Ready = { state: 'ready', reason: null }

/** What readiness is decided from; each is read fresh by the supervisor when /readyz or the summary asks. */
export interface HealthInputs {
  /** Set when Kafka refused our configuration (the process is on its way out): the error's message. */
  configFailure: string | null
  /** The shutdown sequence has begun. */
  stopping: boolean
  /** The last Postgres probe's error message (SELECT 1 every 2 s), null once one succeeds. */
  postgresError: string | null
  /** The Kafka consumer's own verdict (src/kafka/group-consumer.ts notReady()): null when it is in the group and heard from the broker. */
  consumer: NotReady | null
  /** Owned partitions whose commit Postgres refuses for good (Pipeline.failures()), in partition order. */
  failedPartitions: readonly PartitionFailure[]
}

/**
 * The readiness these inputs mean. The first that applies wins: a refused configuration,
 * then shutting down, Postgres unreachable, the consumer's own state (starting, Kafka
 * unreachable, failed), partitions Postgres refuses for good; else ready. Pure.
 */
export function decideHealth(i: HealthInputs): Health {
  if (i.configFailure !== null) return { state: 'failed', reason: `kafka refuses our configuration: ${i.configFailure}` }
  if (i.stopping) return { state: 'stopping', reason: 'shutting down' }
  if (i.postgresError !== null) return { state: 'postgres_unreachable', reason: `postgres unreachable: ${i.postgresError}` }
  if (i.consumer) return i.consumer
  if (i.failedPartitions.length) {
    const each = i.failedPartitions.map((f) => `partition ${f.partition} at offset ${f.fromOffset}: SQLSTATE ${f.sqlstate} ${f.message}`)
    return {
      state: 'failed',
      reason: `partitions failed: Postgres refuses their commit, they stopped until the supervisor restarts (${each.join('; ')})`,
    }
  }
  return READY
}
