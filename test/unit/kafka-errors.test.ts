// Which consumer failures end the process (src/kafka/errors.ts classifyKafkaError): only those that
// say our configuration is refused. The errors are kafkajs's own classes, built as kafkajs builds them.
import t from 'tap'
import kafkajs from 'kafkajs'
import { classifyKafkaError, kafkajsWouldRestart } from '../../src/kafka/errors.js'

// kafkajs is CommonJS and its error classes are not named ESM exports; their typings also
// leave out constructor arguments that the classes take.
type AnyError = new (...args: unknown[]) => Error
const errors = kafkajs as unknown as Record<string, AnyError>
const make = (name: string, ...args: unknown[]) => new errors[name]!(...args)

/** A broker's error answer, as kafkajs's createErrorFromCode makes it. */
const protocol = (type: string, retriable: boolean) => make('KafkaJSProtocolError', { message: type, type, code: 0, retriable })
const connection = (message: string, code: string) =>
  make('KafkaJSConnectionError', `Connection error: ${message}`, { broker: '127.0.0.1:9092', code })
const refused = () => connection('connect ECONNREFUSED 127.0.0.1:9092', 'ECONNREFUSED')
const exhausted = (cause: Error) => make('KafkaJSNumberOfRetriesExceeded', cause, { retryCount: 5, retryTime: 4000 })
const noCoordinator = () => make('KafkaJSGroupCoordinatorNotFound', 'Failed to find group coordinator')

t.test('a broker that is away, or answers with a passing condition: transient (retried)', async (t) => {
  const cases: [string, Error][] = [
    ['connection refused', refused()],
    ['connection refused, retries exhausted', exhausted(refused())],
    ['no group coordinator (the restart: false crash of an outage)', noCoordinator()],
    ['request timeout', make('KafkaJSRequestTimeoutError', 'Request Heartbeat(key: 12, version: 3) timed out')],
    ['coordinator moved', protocol('NOT_COORDINATOR_FOR_GROUP', true)],
    ['rebalance', protocol('REBALANCE_IN_PROGRESS', true)],
    ['topic not there (deleted, or not yet created): repeats, reported, retried', protocol('UNKNOWN_TOPIC_OR_PARTITION', true)],
    ['unknown host (a broker whose DNS name comes back with it)', connection('getaddrinfo ENOTFOUND kafka-0', 'ENOTFOUND')],
    ['a non-retriable error that says nothing about our settings', make('KafkaJSNonRetriableError', 'Closed connection')],
    ['not a kafkajs error at all', new TypeError('x is undefined')],
  ]
  for (const [what, err] of cases) t.equal(classifyKafkaError(err), 'transient', what)
})

t.test('our settings refused: config (the process exits 1), wherever it sits in the cause chain', async (t) => {
  const cases: [string, Error][] = [
    ['SASL credentials', make('KafkaJSSASLAuthenticationError', 'SASL PLAIN authentication failed: Authentication failed')],
    ['SASL, broker answer', protocol('SASL_AUTHENTICATION_FAILED', false)],
    ['group ACL', protocol('GROUP_AUTHORIZATION_FAILED', false)],
    ['topic ACL, retries exhausted', exhausted(protocol('TOPIC_AUTHORIZATION_FAILED', false))],
    ['session timeout outside the broker range', protocol('INVALID_SESSION_TIMEOUT', false)],
    ['TLS certificate', connection('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT')],
    ['TLS to a plaintext listener', exhausted(connection('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'))],
  ]
  for (const [what, err] of cases) t.equal(classifyKafkaError(err), 'config', what)
})

t.test("kafkajs's own verdict (logged as `retriable`): restart after retries ran out or a retriable cause", async (t) => {
  t.equal(kafkajsWouldRestart(exhausted(refused())), true, 'retries exhausted: kafkajs restarts')
  t.equal(kafkajsWouldRestart(refused()), true, 'a connection error is retriable')
  t.equal(kafkajsWouldRestart(noCoordinator()), false, 'no coordinator: kafkajs leaves the consumer stopped')
  t.equal(kafkajsWouldRestart(make('KafkaJSError', 'x', { retriable: false })), false)
})
