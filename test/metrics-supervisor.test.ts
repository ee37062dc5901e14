// /metrics of a real supervisor against what it was fed: counts by reason equal the dataset's
// ground truth, positions equal the partitions' ends, and no counter ever goes back, also
// when a worker thread dies and is replaced.
import { setInterval as every } from 'node:timers/promises'
import t from 'tap'
import { makeDataset } from '../test-support/dataset.js'
import { createTopic, produce } from '../test-support/broker.js'
import { databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { startProducer } from '../test-support/processes.js'
import { parseMetrics, scrape, types, value, type Sample } from '../test-support/prom-text.js'
import { waitCaughtUp } from '../test-support/verify.js'
import { RejectReason } from '../src/shared/protocol.js'

/** Scrapes every interval until stopped; keeps every scrape for the monotonicity check. */
function recorder(port: number, everyMs = 200) {
  const scrapes: Sample[][] = []
  let counterNames = new Set<string>()
  let stopped = false
  const loop = (async () => {
    // A scraper, as Prometheus is: one scrape per tick until stopped.
    for await (const _ of every(everyMs)) {
      if (stopped) break
      try {
        const text = await scrape(port)
        for (const [name, type] of types(text)) if (type === 'counter' || type === 'histogram') counterNames.add(name)
        scrapes.push(parseMetrics(text))
      } catch {
        // the supervisor may be between start and listen
      }
    }
  })()
  return {
    scrapes,
    latest: () => scrapes[scrapes.length - 1] ?? [],
    async stop() {
      stopped = true
      await loop
    },
    /** Every counter and histogram sample that went down between two consecutive scrapes. */
    decreases(): string[] {
      counterNames = new Set([...counterNames].flatMap((n) => [n, `${n}_bucket`, `${n}_count`, `${n}_sum`]))
      const out: string[] = []
      for (let i = 1; i < scrapes.length; i++) {
        const prev = new Map(
          scrapes[i - 1]!.filter((s) => counterNames.has(s.name)).map((s) => [`${s.name}${JSON.stringify(s.labels)}`, s.value]),
        )
        for (const s of scrapes[i]!) {
          const key = `${s.name}${JSON.stringify(s.labels)}`
          const before = prev.get(key)
          if (before !== undefined && s.value < before) out.push(`${key}: ${before} → ${s.value} (scrape ${i})`)
        }
      }
      return out
    },
  }
}

t.test('counts equal the ground truth; positions equal the partitions; counters monotonic across an actor restart', async (t) => {
  const partitions = 4
  const perPartition = 5000
  const data = makeDataset(partitions, perPartition, 11)
  const topic = await createTopic(t, partitions)
  const db = databaseFor(t)
  await produce(topic, data.records)
  // actor 0 dies at its 2nd batch: its partitions are re-read, consumed counts them again.
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '50', TUMBLER_FAULTS: 'actor0:batch:2' },
    `metrics-truth-${topic}`,
  )
  const rec = recorder(sup.port)
  t.teardown(() => rec.stop())
  await waitCaughtUp(db.url, topic, data.records.length)
  const total = data.records.length
  await waitFor(
    () =>
      value(rec.latest(), 'tumbler_records_processed_total') === total &&
      value(rec.latest(), 'tumbler_consumer_lag_records', { partition: '3' }) === 0,
    'metrics to show everything processed',
    30_000,
  )
  // Stats reports come once a second: make sure a few arrive after the restart.
  const settled = rec.scrapes.length
  await waitFor(() => rec.scrapes.length >= settled + 8, 'more scrapes', 30_000)
  await rec.stop()
  const s = rec.latest()

  t.same(rec.decreases(), [], 'no counter or histogram sample ever went down')
  t.equal(value(s, 'tumbler_thread_restarts_total', { thread: 'actor-0' }), 1, 'the actor restart is counted')
  t.equal(value(s, 'tumbler_thread_restarts_total', { thread: 'actor-1' }), 0)
  t.equal(value(s, 'tumbler_thread_restarts_total', { thread: 'writer' }), 0)

  t.equal(value(s, 'tumbler_records_processed_total'), total, 'processed: every offset once, despite the re-read')
  t.ok(
    value(s, 'tumbler_records_consumed_total')! > total,
    `consumed counts the re-read records again (${value(s, 'tumbler_records_consumed_total')} for ${total})`,
  )
  const want = new Map<string, number>()
  for (const reason of data.truth.rejected.values()) want.set(reason, (want.get(reason) ?? 0) + 1)
  for (const reason of Object.values(RejectReason)) {
    t.equal(
      value(s, 'tumbler_records_rejected_total', { reason }),
      want.get(reason) ?? 0,
      `rejected{reason="${reason}"} equals the ground truth`,
    )
  }
  t.ok((want.get('late') ?? 0) > 0 && (want.get('future') ?? 0) > 0, 'the dataset has late and future records')
  t.equal(value(s, 'tumbler_freshness_seconds_count'), total, 'one freshness observation per processed record')

  const rows = Number((await query<{ n: string }>(db.url, 'SELECT count(*) AS n FROM category_sales'))[0]!.n)
  t.ok(
    value(s, 'tumbler_window_updates_total')! >= rows,
    `window updates (${value(s, 'tumbler_window_updates_total')}) cover every category_sales row (${rows})`,
  )
  t.equal(value(s, 'tumbler_flush_duration_seconds_count'), value(s, 'tumbler_flushes_total'), 'one flush duration per flush')
  t.equal(value(s, 'tumbler_flush_rows_sum'), value(s, 'tumbler_window_updates_total'), 'rows per flush add up to the window updates')

  for (let p = 0; p < partitions; p++) {
    const labels = { topic, partition: String(p) }
    const size = data.records.filter((r) => r.partition === p).length
    t.equal(value(s, 'tumbler_partition_committed_offset', labels), size, `partition ${p}: committed offset is the partition's end`)
    t.equal(value(s, 'tumbler_partition_high_watermark', labels), size, `partition ${p}: high watermark`)
    t.equal(value(s, 'tumbler_consumer_lag_records', labels), 0, `partition ${p}: no lag in records`)
    t.equal(value(s, 'tumbler_consumer_lag_seconds', labels), 0, `partition ${p}: no lag in seconds`)
    t.ok(value(s, 'tumbler_event_time_lag_seconds', labels)! > 60, `partition ${p}: event-time lag includes the 60 s lateness`)
  }
  t.equal(value(s, 'tumbler_partitions_assigned'), partitions)
  const [fin] = await query<{ low: string; windows: string }>(
    db.url,
    'SELECT (SELECT low_watermark_ms FROM tumbler_topics WHERE topic = $1)::text AS low, (SELECT count(DISTINCT window_start) FROM category_sales WHERE closed_at IS NOT NULL)::text AS windows',
    [topic],
  )
  t.equal(value(s, 'tumbler_low_watermark_seconds', { topic }), Number(fin!.low) / 1000, 'the low watermark as committed in tumbler_topics')
  t.ok(Number(fin!.windows) > 0, `${fin!.windows} windows final`)
  t.equal(value(s, 'tumbler_windows_closed_total'), Number(fin!.windows), 'windows closed: one per final window')
  t.equal(value(s, 'tumbler_partitions_idle'), 0, 'no partition idle (IDLE_PARTITION_SECONDS 300)')
  t.ok(value(s, 'tumbler_consumer_rebalances_total')! >= 1, 'the group join is counted')
  for (const thread of ['main', 'actor-0', 'actor-1', 'writer']) {
    t.ok(value(s, 'tumbler_thread_busy_seconds_total', { thread })! > 0, `${thread}: busy time`)
    t.ok(value(s, 'tumbler_thread_heap_used_bytes', { thread })! > 0, `${thread}: heap`)
  }
  t.ok(value(s, 'tumbler_http_request_duration_seconds_count', { route: '/metrics', code: '200' })! > 0, 'the scrapes themselves are timed')
  // The supervisor runs on the project's own Node (started with process.execPath under npm test).
  t.equal(
    value(s, 'nodejs_version_info', { version: process.version, major: process.version.slice(1).split('.')[0]! }),
    1,
    `nodejs_version_info says ${process.version}`,
  )

  t.equal(await sup.kill('SIGTERM'), 0)
})

t.test('busy time, restarts and transaction retries keep counting when the writer thread is replaced', async (t) => {
  const topic = await createTopic(t, 2)
  const db = databaseFor(t)
  startProducer(t, topic, 1000, `metrics-writer-producer-${topic}`)
  // The writer dies right after its 30th COMMIT (about 8 s in at FLUSH_MS 250): its busy time so far must not be lost.
  const sup = await startSupervisor(
    t,
    { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, TUMBLER_FAULTS: 'writer:commit:30' },
    `metrics-writer-${topic}`,
  )
  const rec = recorder(sup.port, 250)
  t.teardown(() => rec.stop())
  const busy = () => value(rec.latest(), 'tumbler_thread_busy_seconds_total', { thread: 'writer' }) ?? 0
  const beforeCrash = await waitFor(
    () => (value(rec.latest(), 'tumbler_thread_restarts_total', { thread: 'writer' }) === 0 && busy() > 0 ? busy() : null),
    'writer busy time before the crash',
    60_000,
  )
  await waitFor(() => value(rec.latest(), 'tumbler_thread_restarts_total', { thread: 'writer' }) === 1, 'the writer restart', 60_000)
  const atRestart = busy()
  await waitFor(() => busy() > atRestart, 'the new writer to report busy time', 30_000)
  const processedAfter = value(rec.latest(), 'tumbler_records_processed_total')!
  await waitFor(() => value(rec.latest(), 'tumbler_records_processed_total')! > processedAfter, 'commits after the restart', 30_000)

  // Cut the new writer's Postgres connection: its next transaction fails and is retried.
  t.equal(value(rec.latest(), 'tumbler_postgres_transaction_retries_total'), 0, 'no retries so far')
  const cut = await query<{ pid: number }>(
    db.url,
    "SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'tumbler-writer'",
  )
  t.equal(cut.length, 1, 'the writer connection was cut')
  await waitFor(() => value(rec.latest(), 'tumbler_postgres_transaction_retries_total')! >= 1, 'the retry to be counted', 30_000)
  await rec.stop()

  t.same(rec.decreases(), [], 'no counter or histogram sample ever went down')
  t.ok(busy() > beforeCrash, `writer busy seconds kept growing across the replacement (${beforeCrash.toFixed(3)} → ${busy().toFixed(3)})`)
  t.equal(value(rec.latest(), 'tumbler_thread_restarts_total', { thread: 'writer' }), 1, 'one writer restart')
  t.equal(await sup.kill('SIGTERM'), 0)
})
