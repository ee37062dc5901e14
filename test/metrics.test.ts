// Unit tests of the metrics pieces: the lag clock, the weighted histogram, the declarations
// (naming guide, bounded labels, promtool) and the /metrics plugin. No Kafka, no Postgres.
import Fastify from 'fastify'
import { Registry } from 'prom-client'
import t from 'tap'
import { metricsPlugin } from '../src/http/metrics-route.js'
import { OffsetClock } from '../src/metrics/lag-clock.js'
import { bindMetricSources, metrics, registry, type PartitionSample } from '../src/metrics/registry.js'
import { threadSampler } from '../src/shared/thread-stats.js'
import { WeightedHistogram } from '../src/metrics/weighted-histogram.js'
import { parseMetrics, promtoolCheckMetrics, types, value } from '../test-support/prom-text.js'
import { waitFor } from '../test-support/wait.js'

t.test('OffsetClock: lag seconds from when the high watermark passed the committed offset', async (t) => {
  const c = new OffsetClock()
  t.equal(c.highWatermark, null, 'nothing seen yet')
  c.observe(100n, 10_000)
  c.observe(100n, 11_000) // unchanged: the first sighting stays the time of 100
  c.observe(200n, 12_000)
  c.observe(150n, 12_500) // a stale, lower reading is ignored
  c.observe(300n, 14_000)
  t.equal(c.highWatermark, 300n)
  // Committed offsets only move forward, and the clock forgets what lies behind them: ask in order.
  t.equal(c.lagSeconds(50n, 20_000), 10, 'older than every sighting: a lower bound, the time since the first')
  t.equal(c.lagSeconds(199n, 20_000), 8, 'the record that made the watermark 200')
  // Record 249 made the high watermark 250, halfway between 200 (12 s) and 300 (14 s): 13 s.
  t.equal(c.lagSeconds(249n, 20_000), 7, 'interpolated between two sightings')
  t.equal(c.lagSeconds(300n, 20_000), 0, 'caught up: no lag')
  t.equal(c.lagSeconds(500n, 20_000), 0, 'past the newest sighting: no lag')
})

t.test('OffsetClock: bounded memory keeps the oldest sighting and stays monotonic', async (t) => {
  const c = new OffsetClock()
  for (let i = 1; i <= 5000; i++) c.observe(BigInt(i * 10), i * 100)
  t.equal(c.highWatermark, 50_000n)
  t.equal(c.lagSeconds(0n, 600_000), 599.9, 'the first sighting (0.1 s) survives thinning')
  let last = Infinity
  for (let committed = 0n; committed <= 50_000n; committed += 997n) {
    const lag = c.lagSeconds(committed, 600_000)
    t.ok(lag <= last, `lag does not grow as the committed offset moves forward (${committed})`)
    last = lag
  }
  t.equal(c.lagSeconds(50_000n, 600_000), 0)
})

t.test('WeightedHistogram: n observations at once, rendered as a Prometheus histogram', async (t) => {
  const r = new Registry()
  const h = new WeightedHistogram({ name: 'x_seconds', help: 'test', buckets: [0.1, 0.5, 1], registers: [r] })
  h.observeMany(0.05, 3)
  h.observeMany(0.5, 2) // on a bound: le is inclusive
  h.observeMany(7, 1)
  h.observeMany(0.2, 0) // nothing
  h.observeMany(Number.NaN, 4) // nothing
  const s = parseMetrics(await r.metrics())
  t.same(
    ['0.1', '0.5', '1', '+Inf'].map((le) => value(s, 'x_seconds_bucket', { le })),
    [3, 5, 5, 6],
    'cumulative buckets',
  )
  t.equal(value(s, 'x_seconds_count'), 6)
  t.equal(value(s, 'x_seconds_sum'), 0.15 + 1 + 7)
  t.equal(types(await r.metrics()).get('x_seconds'), 'histogram')
  r.resetMetrics()
  t.equal(value(parseMetrics(await r.metrics()), 'x_seconds_count'), 0, 'reset')
})

t.test('threadSampler: busy time grows, heap is this isolate', async (t) => {
  const sample = threadSampler('main')
  // Event-loop utilization is accounted per loop iteration: start the measure in a fresh one.
  await new Promise((r) => setImmediate(r))
  const a = sample()
  const end = Date.now() + 30
  while (Date.now() < end); // keep the loop busy
  // The monitor's next tick runs late by the block and records it; until then a sample shows no delay.
  const b = await waitFor(
    () => {
      const s = sample()
      return s.lagMaxMs > 0 ? s : null
    },
    'the delay monitor to tick after the block',
    5_000,
    5,
  )
  t.equal(b.thread, 'main')
  t.ok(b.busyMs - a.busyMs >= 25, `busy time counts a 30 ms block (${(b.busyMs - a.busyMs).toFixed(1)} ms)`)
  t.ok(b.lagMaxMs >= 15, `the block shows as event-loop delay (${b.lagMaxMs.toFixed(1)} ms)`)
  t.ok(b.heapUsedBytes > 0 && b.heapUsedBytes <= b.heapTotalBytes)
})

const ALLOWED_LABELS = new Set(['topic', 'partition', 'reason', 'thread', 'state', 'method', 'route', 'code', 'sqlstate'])

t.test('declarations follow the naming guide and keep labels bounded', async (t) => {
  const declared = registry.getMetricsAsArray().filter((m) => m.name.startsWith('tumbler_'))
  t.ok(declared.length >= 30, `${declared.length} tumbler metrics`)
  for (const m of declared) {
    const labels = (m as unknown as { labelNames?: string[] }).labelNames ?? []
    const isCounter = (m as unknown as { type: string }).type === 'counter'
    t.equal(m.name.endsWith('_total'), isCounter, `${m.name}: _total exactly on counters`)
    t.notMatch(m.name, /_(ms|milliseconds|kb|mb|percent)(_|$)/, `${m.name}: base units`)
    t.ok(m.help.length > 20, `${m.name}: has help`)
    t.same(
      labels.filter((l) => !ALLOWED_LABELS.has(l)),
      [],
      `${m.name}: only bounded labels`,
    )
  }
  t.same(
    ['tumbler_ws_clients', 'tumbler_ws_dropped_pushes_total', 'tumbler_ws_rejected_total'].filter(
      (n) => !declared.some((m) => m.name === n),
    ),
    [],
    'the WebSocket metrics exist for the UI plugin',
  )
})

t.test('collect() reads the bound sources at scrape time; promtool accepts the result', async (t) => {
  let consumed = 100
  const part = (partition: number, over: Partial<PartitionSample> = {}): PartitionSample => ({
    topic: 'orders',
    partition,
    highWatermark: 1000n,
    committed: 400n,
    lagSeconds: 2.5,
    eventTimeLagSeconds: 61,
    paused: false,
    idle: false,
    failed: false,
    ...over,
  })
  let parts = [
    part(0, { paused: true }),
    part(1, { committed: 1000n, lagSeconds: 0, idle: true }),
    part(2, { highWatermark: null, lagSeconds: null, eventTimeLagSeconds: null, failed: true }),
  ]
  bindMetricSources({
    partitions: () => parts,
    threads: () => [
      { name: 'actor-0', mailboxDepth: 3 },
      { name: 'writer', mailboxDepth: 0 },
    ],
    pool: () => ({ total: 3, idle: 1, waiting: 2, max: 4 }),
    consumed: () => consumed,
  })
  t.teardown(() => bindMetricSources(null))

  const before = value(parseMetrics(await registry.metrics()), 'tumbler_records_consumed_total')!
  consumed = 250
  const text = await registry.metrics()
  const s = parseMetrics(text)
  t.equal(value(s, 'tumbler_records_consumed_total')! - before, 150, 'the consumed counter catches up with the pipeline at the scrape')
  t.equal(value(s, 'tumbler_consumer_lag_records', { partition: '0' }), 600, 'lag = high watermark - committed')
  t.equal(value(s, 'tumbler_consumer_lag_records', { partition: '1' }), 0)
  t.equal(value(s, 'tumbler_consumer_lag_records', { partition: '2' }), undefined, 'no lag series before the high watermark is known')
  t.equal(value(s, 'tumbler_consumer_lag_seconds', { topic: 'orders', partition: '0' }), 2.5)
  t.equal(value(s, 'tumbler_event_time_lag_seconds', { partition: '0' }), 61)
  t.equal(value(s, 'tumbler_partition_committed_offset', { partition: '2' }), 400)
  t.equal(value(s, 'tumbler_partitions_assigned'), 3)
  t.equal(value(s, 'tumbler_partitions_paused'), 1)
  t.equal(value(s, 'tumbler_partitions_idle'), 1)
  t.equal(value(s, 'tumbler_partitions_failed'), 1, 'a partition whose commit Postgres refuses counts as failed')
  t.equal(value(s, 'tumbler_thread_mailbox_tasks', { thread: 'actor-0' }), 3)
  t.same(
    [value(s, 'tumbler_postgres_pool_connections', { state: 'active' }), value(s, 'tumbler_postgres_pool_connections', { state: 'idle' })],
    [2, 1],
  )
  t.equal(value(s, 'tumbler_postgres_pool_waiting_clients'), 2)
  t.equal(value(s, 'tumbler_postgres_pool_max_connections'), 4)
  t.equal(value(s, 'tumbler_records_rejected_total', { reason: 'late' }), 0, 'every reject reason exists from the start')

  parts = [part(1)]
  consumed = 200 // a smaller reading (never happens) must not make the counter go back
  const after = parseMetrics(await registry.metrics())
  t.equal(value(after, 'tumbler_consumer_lag_records', { partition: '0' }), undefined, 'a partition given up disappears')
  t.equal(value(after, 'tumbler_partitions_failed'), 0, 'no failed partition left')
  t.equal(value(after, 'tumbler_records_consumed_total'), value(s, 'tumbler_records_consumed_total'), 'counter never goes back')

  const check = promtoolCheckMetrics(text)
  t.equal(check.status, 0, 'promtool check metrics passes', { output: check.out })
})

t.test('/metrics plugin: text format, request durations labelled by route pattern', async (t) => {
  const app = Fastify()
  await app.register(metricsPlugin)
  app.get('/things/:id', async () => ({ ok: true }))
  t.teardown(() => app.close())

  await app.inject('/things/12345')
  await app.inject('/no/such/path')
  const res = await app.inject('/metrics')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  const s = parseMetrics(res.body)
  t.equal(
    value(s, 'tumbler_http_request_duration_seconds_count', { method: 'GET', route: '/things/:id', code: '200' }),
    1,
    'labelled by the route pattern',
  )
  t.equal(
    value(s, 'tumbler_http_request_duration_seconds_count', { route: 'unmatched', code: '404' }),
    1,
    'unknown paths share one label value',
  )
  t.notOk(res.body.includes('12345') || res.body.includes('/no/such'), 'no raw URL becomes a label value')
  t.ok(
    s.some((x) => x.name === 'process_cpu_seconds_total'),
    'default process metrics',
  )
  t.ok(
    s.some((x) => x.name === 'nodejs_heap_size_used_bytes'),
    'default Node.js metrics',
  )
  const again = parseMetrics((await app.inject('/metrics')).body)
  t.equal(
    value(again, 'tumbler_metrics_render_seconds_count'),
    (value(s, 'tumbler_metrics_render_seconds_count') ?? 0) + 1,
    'each render is timed',
  )
})

t.test('WebSocket metrics are plain objects the UI plugin can move', async (t) => {
  metrics.wsClients.set(3)
  metrics.wsDroppedPushes.inc(2)
  const s = parseMetrics(await registry.metrics())
  t.equal(value(s, 'tumbler_ws_clients'), 3)
  t.ok(value(s, 'tumbler_ws_dropped_pushes_total')! >= 2)
  metrics.wsClients.set(0)
})
