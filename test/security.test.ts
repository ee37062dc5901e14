// Kafka SASL for real (the local broker's SASL_PLAINTEXT listener on 9095), refused
// credentials, and no secret in any log line.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { makeDataset } from '../test-support/dataset.js'
import { createTopic, produce } from '../test-support/broker.js'
import { ARTIFACTS } from '../test-support/paths.js'
import { databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'
import { spawnSync } from 'node:child_process'

const SASL_BROKER = '127.0.0.1:9095'
const KAFKA_PASSWORD = 'tumbler-test-secret'
const PG_PASSWORD = 'pg-password-never-logged'

const logOf = (name: string) => readFileSync(path.join(ARTIFACTS, `${name}.log`), 'utf8')

t.test('SASL/PLAIN: consumes through the authenticated listener; no password in the logs', async (t) => {
  const data = makeDataset(2, 2000, 5)
  const topic = await createTopic(t, 2)
  const db = databaseFor(t)
  await produce(topic, data.records)
  // Trust auth ignores the password, so it can be set here only to prove it is never logged.
  const url = db.url.replace('postgres@', `postgres:${PG_PASSWORD}@`)
  const name = `sasl-${topic}`
  const sup = await startSupervisor(
    t,
    {
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: topic,
      DATABASE_URL: url,
      KAFKA_BROKERS: SASL_BROKER,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'tumbler',
      KAFKA_SASL_PASSWORD: KAFKA_PASSWORD,
      LOG_LEVEL: 'debug',
    },
    name,
  )
  await waitCaughtUp(db.url, topic, data.records.length)
  await assertMatchesTruth(t, db.url, topic, data.truth)
  t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  const log = logOf(name)
  t.match(log, /"msg":"starting"/, 'the log was written')
  t.notOk(log.includes(KAFKA_PASSWORD), 'the Kafka password is not in the log')
  t.notOk(log.includes(PG_PASSWORD), 'the Postgres password is not in the log')
})

t.test('SASL with a wrong password: never ready, and the password is not logged', async (t) => {
  const topic = await createTopic(t, 1)
  const db = databaseFor(t)
  const name = `sasl-bad-${topic}`
  const wrong = 'wrong-password-also-secret'
  const sup = await startSupervisor(
    t,
    {
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: topic,
      DATABASE_URL: db.url,
      KAFKA_BROKERS: SASL_BROKER,
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'tumbler',
      KAFKA_SASL_PASSWORD: wrong,
      LOG_LEVEL: 'debug',
    },
    name,
  )
  const code = await waitFor(
    async () => (sup.proc.exitCode !== null ? String(sup.proc.exitCode) : null),
    'the supervisor gives up',
    120_000,
  )
  t.not(code, '0', 'exits with an error')
  const log = logOf(name)
  t.match(log, /SASL|[Aa]uthentication/, 'the log says authentication failed')
  t.notOk(log.includes(wrong), 'the password is not in the log')
})

t.test('SASL mechanism without credentials is a usage error', async (t) => {
  const r = spawnSync(process.execPath, ['dist/supervisor.js'], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_SASL_MECHANISM: 'scram-sha-256' },
  })
  t.equal(r.status, 2)
  t.match(r.stderr, /KAFKA_SASL_MECHANISM/)
  const bad = spawnSync(process.execPath, ['dist/supervisor.js'], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_SASL_MECHANISM: 'kerberos' },
  })
  t.equal(bad.status, 2, 'unknown mechanism')
  const ca = spawnSync(process.execPath, ['dist/supervisor.js'], {
    encoding: 'utf8',
    env: { ...process.env, KAFKA_SSL_CA_FILE: '/nonexistent/ca.pem' },
  })
  t.equal(ca.status, 2, 'unreadable CA file')
  t.match(ca.stderr, /KAFKA_SSL_CA_FILE/)
})
