// Which failures of the Kafka consumer end the process: only those that say our configuration
// is wrong (credentials, ACLs, group or topic settings, TLS certificates); a broker that is
// away is waited for (src/kafka/group-consumer.ts).

/** `config`: waiting will not help (the process exits 1); `transient`: the broker or the network, retried. */
export type KafkaErrorKind = 'config' | 'transient'

/** Broker error types (Kafka protocol error codes, as kafkajs names them) that say our settings are refused. */
const CONFIG_ERROR_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'UNSUPPORTED_SASL_MECHANISM',
  'ILLEGAL_SASL_STATE',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_SESSION_TIMEOUT',
  'INVALID_GROUP_ID',
  'INCONSISTENT_GROUP_PROTOCOL',
  'INVALID_TOPIC_EXCEPTION',
  'INVALID_PARTITIONS',
  'INVALID_REPLICATION_FACTOR',
  'INVALID_CONFIG',
  'POLICY_VIOLATION',
  'UNSUPPORTED_VERSION',
])
/** kafkajs errors that say the same: SASL refused, a broker too old for the client. */
const CONFIG_ERROR_NAMES = new Set(['KafkaJSSASLAuthenticationError', 'KafkaJSServerDoesNotSupportApiKey'])
/** Socket error codes (Node's TLS) of a certificate or protocol mismatch, which kafkajs reports as a connection error. */
const CONFIG_SOCKET_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
])

interface ErrorLike {
  name?: string
  type?: string
  code?: string
  retriable?: boolean
  cause?: unknown
}

/** The error and its causes, outermost first (kafkajs wraps the last failure in KafkaJSNumberOfRetriesExceeded). */
function causes(err: unknown): ErrorLike[] {
  const chain: ErrorLike[] = []
  for (let e = err as ErrorLike | undefined; e && typeof e === 'object' && chain.length < 10; e = e.cause as ErrorLike | undefined)
    chain.push(e)
  return chain
}

/**
 * Sorts a failure of the consumer (a kafkajs CRASH, or a throw from connect/subscribe/run) by
 * whether waiting can fix it: an error anywhere in its cause chain that names a refused
 * setting is `config`; everything else (connection refused or reset, timeouts, no coordinator,
 * leader changes, whatever kafkajs calls non-retriable about a broker that is away) is `transient`.
 */
export function classifyKafkaError(err: unknown): KafkaErrorKind {
  for (const e of causes(err)) {
    if (
      (e.type && CONFIG_ERROR_TYPES.has(e.type)) ||
      (e.name && CONFIG_ERROR_NAMES.has(e.name)) ||
      (e.code && CONFIG_SOCKET_CODES.has(e.code))
    )
      return 'config'
  }
  return 'transient'
}

/** What kafkajs itself would have done with this crash: restart the consumer (true) or leave it stopped (false). */
export function kafkajsWouldRestart(err: unknown): boolean {
  const chain = causes(err)
  return chain[0]?.name === 'KafkaJSNumberOfRetriesExceeded' || chain.at(-1)?.retriable === true
}
