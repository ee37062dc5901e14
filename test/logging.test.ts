// The supervisor's stderr is JSON lines only, from every thread, process warnings included
// (issue 9): kafkajs 2.2.4's negative setTimeout is a TimeoutNegativeWarning on Node 24+,
// and TUMBLER_FAULTS=warning makes every thread emit one more, deterministically.
import t from 'tap'
import { jsonLines } from '../test-support/json-lines.js'
import { makeDataset } from '../test-support/dataset.js'
import { createTopic, produce } from '../test-support/broker.js'
import { databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { waitCaughtUp } from '../test-support/verify.js'

t.test('a supervisor run with warnings in every thread: stderr is all JSON lines, warnings included', async (t) => {
  const partitions = 2
  const data = makeDataset(partitions, 2_000, 11)
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, data.records)

  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, ACTORS: '2', TUMBLER_FAULTS: 'warning' },
    `logging-${topic}`,
  )
  let stderr = ''
  let stdout = ''
  sup.proc.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  sup.proc.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))

  const threads = ['main', 'actor-0', 'actor-1', 'writer']
  const warnedThreads = () => new Set([...stderr.matchAll(/"thread":"([^"]+)"[^\n]*"name":"TumblerFaultWarning"/g)].map((m) => m[1]))
  await waitFor(
    () => threads.every((th) => warnedThreads().has(th)),
    `the injected warning logged by each of ${threads.join(', ')}`,
    60_000,
  )
  await waitCaughtUp(db.url, topic, data.records.length)
  t.equal(await sup.kill('SIGTERM'), 0, 'SIGTERM drains and exits 0')

  t.equal(stdout, '', 'nothing on stdout')
  const { notJson, lines } = jsonLines(stderr)
  t.same(notJson, [], 'every stderr line is one JSON object')
  const malformed = lines.filter(
    (l) =>
      typeof l.msg !== 'string' ||
      !['debug', 'info', 'warn', 'error'].includes(l.level) ||
      new Date(l.time).toISOString() !== l.time ||
      typeof l.owner !== 'string' ||
      typeof l.thread !== 'string',
  )
  t.same(malformed, [], 'every line has msg, a level name, an ISO time, the owner and its thread')
  t.equal(new Set(lines.map((l) => l.owner)).size, 1, 'one owner on every line, worker threads included')

  for (const thread of threads) {
    const warning = lines.find((l) => l.thread === thread && l.msg === 'process warning' && l.warning?.name === 'TumblerFaultWarning')
    t.match(
      warning,
      { level: 'warn', warning: { code: 'TUMBLER_FAULT', message: 'injected warning (TUMBLER_FAULTS=warning)' } },
      `${thread}: its process warning is a warn line`,
    )
  }
  t.ok(
    lines.some((l) => l.thread === 'main' && l.msg === 'stopped'),
    "the main thread's own lines carry thread: main",
  )
  // Not asserted (a kafkajs release may fix it): whether kafkajs' TimeoutNegativeWarning came; it is a JSON line above if it did.
  const kafkajs = lines.filter((l) => l.warning?.name === 'TimeoutNegativeWarning')
  t.comment(
    `kafkajs TimeoutNegativeWarning lines: ${kafkajs.length} (threads: ${[...new Set(kafkajs.map((l) => l.thread))].join(', ') || 'none'})`,
  )
})
