// A real Prometheus scrapes a real supervisor while the producer runs: the series operators
// will use exist and move, the shipped alert rules evaluate on them, and promtool accepts
// the exposition.
import path from 'node:path'
import t from 'tap'
import { createTopic } from '../test-support/broker.js'
import { databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { startProducer, startPrometheus } from '../test-support/processes.js'
import { promtoolCheckMetrics, scrape } from '../test-support/prom-text.js'

const ALERTS = path.resolve(import.meta.dirname, '../prometheus/alerts.yml')

t.test('Prometheus scrapes /metrics: consumption rises, lag per partition, freshness observed, rules healthy', async (t) => {
  const partitions = 3
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  const sup = await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url }, `prometheus-${topic}`)
  await sup.waitReady()
  startProducer(t, topic, 2000, `prometheus-producer-${topic}`)
  const prom = await startPrometheus(t, [`127.0.0.1:${sup.port}`], [ALERTS], `prometheus-server-${topic}`)
  const num = async (promql: string): Promise<number | null> => {
    const r = await prom.query(promql)
    return r.length ? Number(r[0]!.value[1]) : null
  }

  await waitFor(async () => ((await num('count_over_time(up{job="tumbler"}[1m])')) ?? 0) >= 2, 'two scrapes', 60_000, 250)
  t.equal(await num('min_over_time(up{job="tumbler"}[1m])'), 1, 'every scrape succeeded')

  const first = await waitFor(
    async () => {
      const v = await num('tumbler_records_consumed_total{job="tumbler"}')
      return v !== null && v > 0 ? v : null
    },
    'records consumed',
    60_000,
    250,
  )
  const later = await waitFor(
    async () => {
      const v = await num('tumbler_records_consumed_total{job="tumbler"}')
      return v !== null && v > first ? v : null
    },
    'the consumed total to rise in a later scrape',
    60_000,
    250,
  )
  t.ok(later > first, `consumed total rises while the producer runs (${first} → ${later})`)

  const lagSeries = await waitFor(
    async () => {
      const r = await prom.query(`tumbler_consumer_lag_records{topic="${topic}"}`)
      return r.length === partitions ? r : null
    },
    'a lag series per partition',
    60_000,
    250,
  )
  t.same(lagSeries.map((s) => s.metric.partition).sort(), ['0', '1', '2'], 'tumbler_consumer_lag_records: one series per partition')
  t.ok(
    lagSeries.every((s) => Number(s.value[1]) >= 0),
    'lag is never negative',
  )
  t.equal(
    (await prom.query(`tumbler_consumer_lag_seconds{topic="${topic}"}`)).length,
    partitions,
    'tumbler_consumer_lag_seconds: one series per partition',
  )
  t.equal(
    (await prom.query(`tumbler_event_time_lag_seconds{topic="${topic}"}`)).length,
    partitions,
    'tumbler_event_time_lag_seconds: one series per partition',
  )

  const observed = await waitFor(
    async () => {
      const v = await num('tumbler_freshness_seconds_count')
      return v !== null && v > 0 ? v : null
    },
    'freshness observations',
    60_000,
    250,
  )
  t.ok(observed > 0, `the freshness histogram has ${observed} observations`)
  const p99 = await waitFor(
    () => num('histogram_quantile(0.99, sum by (le) (rate(tumbler_freshness_seconds_bucket[15s])))'),
    'a freshness p99',
    30_000,
    250,
  )
  t.ok(Number.isFinite(p99) && p99 > 0, `freshness p99 from Prometheus: ${p99} s`)

  // The README's queries for the seed's monitoring wishes, evaluated by the real thing.
  const inputRate = await waitFor(() => num('sum(deriv(tumbler_partition_high_watermark[15s]))'), 'input rate', 30_000, 250)
  const processingRate = await waitFor(() => num('sum(rate(tumbler_records_processed_total[15s]))'), 'processing rate', 30_000, 250)
  t.ok(inputRate > 0 && processingRate > 0, `input ${inputRate.toFixed(0)} records/s, processed ${processingRate.toFixed(0)} records/s`)
  const errorRate = await num('sum(rate(tumbler_records_rejected_total[15s])) / sum(rate(tumbler_records_processed_total[15s]))')
  t.equal(errorRate, 0, 'the producer sends only valid records: error rate 0')

  const threads = (await prom.query('tumbler_thread_busy_seconds_total')).map((s) => s.metric.thread).sort()
  t.same(threads, ['actor-0', 'actor-1', 'main', 'writer'], 'busy time from every thread')
  t.equal((await prom.query('tumbler_thread_heap_used_bytes > 0')).length, 4, 'heap of every thread')

  const groups = await waitFor(
    async () => {
      const data = (await prom.get('/api/v1/rules')) as { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
      const rules = data.groups.flatMap((g) => g.rules)
      return rules.length === 8 && rules.every((r) => r.health === 'ok') ? rules : null
    },
    'the alert rules to evaluate',
    30_000,
    250,
  )
  t.equal(groups.length, 8, 'all eight alert rules load and evaluate on live series')
  const firing = (await prom.get('/api/v1/alerts')) as { alerts: { labels: { alertname: string }; state: string }[] }
  t.same(
    firing.alerts.filter((a) => a.labels.alertname === 'TumblerSupervisorDown'),
    [],
    'the supervisor counts as scraped',
  )

  const check = promtoolCheckMetrics(await scrape(sup.port))
  t.equal(check.status, 0, 'promtool check metrics passes on a scrape under load', { output: check.out })

  t.equal(await sup.kill('SIGTERM'), 0, 'supervisor drains and exits 0')
})
