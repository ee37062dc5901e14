import os from 'node:os'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { runMain } from './cli.js'
import { supervisorOptions, type SupervisorConfig } from './config.js'
import { decideHealth } from './health.js'
import { createHttp } from './http/server.js'
import { CONSUMER_FETCH, createKafka, ensureTopic } from './kafka/client.js'
import { GroupConsumer } from './kafka/group-consumer.js'
import { TopicWatch } from './kafka/topic-watch.js'
import { instrumentSupervisor } from './metrics/instrument.js'
import { ActorClient, WriterClient } from './pipeline/clients.js'
import { Pipeline } from './pipeline/coordinator.js'
import { crashOnSignal, startWorkers } from './pipeline/workers.js'
import { startRejectedRetention } from './postgres/rejected-retention.js'
import { ensureDatabase, migrate } from './postgres/schema.js'
import { hasSignalFault, warnIfAsked } from './shared/faults.js'
import { configureLog, log, redactUrl } from './shared/log.js'
import { BroadcastChannel } from 'node:worker_threads'
import { FETCH_REPORT_CHANNEL, type FetchReport } from './shared/actor-fetch.js'

// The stream processor's main thread: wires config, schema, threads, the Kafka consumer, the
// pipeline, metrics and HTTP together, and stops them in order. CPU work (parsing, validation,
// windows, SQL) runs in the worker threads, so this thread's event loop stays free for kafkajs
// heartbeats.

const DRAIN_DEADLINE_MS = 9_000
const POSTGRES_PROBE_MS = 2_000

async function main(config: SupervisorConfig): Promise<void> {
  const owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  configureLog(config.logLevel, { owner })
  warnIfAsked(config.faults)
  const topic = config.kafkaTopic
  log.info('starting', {
    topic,
    group: config.kafkaGroupId,
    brokers: config.kafkaBrokers,
    database: redactUrl(config.databaseUrl),
    actors: config.actors,
    fetch: config.kafkaFetch,
  })

  // First: a bad TLS/SASL setting is a usage error, found before anything is touched.
  const kafka = createKafka(config, `tumbler-${process.pid}`)
  await ensureDatabase(config.databaseUrl)
  const db = new pg.Pool({ connectionString: config.databaseUrl, max: 4, application_name: 'tumbler-supervisor' })
  db.on('error', (err) => log.warn('postgres pool error', { error: err }))
  await migrate(db)
  // Not awaited: until the day's partition exists, its rows go to the DEFAULT partition (and are moved when it is created).
  const retention = startRejectedRetention({
    databaseUrl: config.databaseUrl,
    retentionDays: config.rejectedRetentionDays,
    intervalMs: config.rejectedRetentionIntervalSeconds * 1000,
  })
  const workers = startWorkers(config)
  // KAFKA_FETCH=actors: the kafkajs consumer only holds the group membership (every assigned
  // partition paused in it) and commits offsets for lag tools; the actors fetch (workers/fetch-loop.ts).
  const fetchInActors = config.kafkaFetch === 'actors'

  // High watermarks feed the lag metrics and the idle watch: eachBatch tells them for free, the
  // topic watch's poll for partitions that get no batches, with the topic's partition count.
  const watch = new TopicWatch(kafka, createKafka(config, `tumbler-${process.pid}-probe`, true), topic, {
    partitionCount: (n) => pipeline.setPartitionCount(n),
    highWatermark: (partition, high) => sawHighWatermark(partition, high),
  })
  const sawHighWatermark = (partition: number, highWatermark: string): void => {
    telemetry.sawHighWatermark(partition, highWatermark)
    pipeline.sawHighWatermark(partition, highWatermark)
  }
  const consumer = new GroupConsumer(kafka, {
    topic,
    consumer: {
      groupId: config.kafkaGroupId,
      sessionTimeout: config.sessionTimeoutMs,
      heartbeatInterval: Math.max(100, Math.floor(config.sessionTimeoutMs / 10)),
      ...CONSUMER_FETCH,
      allowAutoTopicCreation: false,
    },
    run: {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: Math.max(1, config.topicPartitions),
      eachBatch: async ({ batch, resolveOffset, heartbeat, isStale }) => {
        if (fetchInActors) return // a batch fetched before the join's pause (below): the actors read it themselves
        sawHighWatermark(batch.partition, batch.highWatermark)
        // fetchedOffset: where kafkajs fetched from (its Batch has it; its types do not).
        const last = await pipeline.dispatch(batch.partition, batch.messages, isStale, (batch as { fetchedOffset?: string }).fetchedOffset)
        if (last !== null) resolveOffset(last)
        await heartbeat()
      },
    },
    prepare: async () => {
      await ensureTopic(kafka, topic, config.topicPartitions)
      await watch.connect()
    },
    // A broker away shows first as heartbeats no longer accepted (kafkajs sends one about every
    // sessionTimeout/10 while it runs, paused partitions or not); kafkajs may retry a while before it gives up.
    silentAfterMs: config.sessionTimeoutMs,
    probe: () => watch.probe(),
  })
  const pipeline = new Pipeline(
    {
      topic,
      owner,
      flushMs: config.flushMs,
      flushRecords: config.flushRecords,
      flushBytes: config.flushBytes,
      maxInFlightRecords: config.maxInFlightRecords,
      maxInFlightBytes: config.maxInFlightBytes,
      idleMs: config.idlePartitionSeconds * 1000,
      fetchInActors,
    },
    db,
    workers.actors.map((a) => new ActorClient(a)),
    new WriterClient(workers.writer),
    // KAFKA_FETCH=actors: positions and pauses are the actors' (what their fetch requests name); Kafka only gets offset commits.
    fetchInActors
      ? {
          seek: () => {},
          pause: () => {},
          resume: () => {},
          commitOffsets: consumer.control.commitOffsets,
          lowOffsets: () => watch.lowOffsets(),
        }
      : { ...consumer.control, lowOffsets: () => watch.lowOffsets() },
  )
  const fetchReports = fetchInActors ? new BroadcastChannel(FETCH_REPORT_CHANNEL) : null
  fetchReports?.unref()
  if (fetchReports)
    fetchReports.onmessage = (event) => {
      const report = (event as { data: FetchReport }).data
      for (const p of report.partitions) sawHighWatermark(p.partition, p.highWatermark)
      pipeline.fetched(report)
    }
  const telemetry = instrumentSupervisor({
    topic,
    latenessMs: config.latenessSeconds * 1000,
    pipeline,
    threads: workers.all,
    db,
    consumer,
  })

  // Set when Kafka refuses our configuration (its error message): the process stops.
  let configFailure: string | null = null
  let postgresError: string | null = null
  let stopping = false
  if (hasSignalFault(config.faults)) crashOnSignal(workers, () => stopping)
  consumer.on('join', (partitions) => {
    if (fetchInActors) for (const p of partitions) consumer.control.pause(p)
    pipeline.onAssignment(partitions)
  })
  // Flush before a rebalance takes partitions away; the new owner's claim waits for the commit.
  consumer.on('rebalancing', () => pipeline.flushAll())
  consumer.on('fatal', (err) => {
    configFailure = err.message
    void shutdown('kafka configuration error', 1)
  })
  const pgProbe = setInterval(() => {
    db.query('SELECT 1').then(
      () => (postgresError = null),
      (err: Error) => (postgresError = err.message),
    )
  }, POSTGRES_PROBE_MS)

  const http = await createHttp({
    config,
    db,
    pipeline,
    health: {
      now: () =>
        decideHealth({ configFailure, stopping, postgresError, consumer: consumer.notReady(), failedPartitions: pipeline.failures() }),
      details: () => ({
        partitions: pipeline.partitions(),
        failed: pipeline.failures(),
        stats: pipeline.stats,
        restarts: { actors: workers.actors.map((a) => a.restarts), writer: workers.writer.restarts },
      }),
    },
    kafkaOffsets: () => watch.offsets(),
  })
  await http.listen({ host: config.httpHost, port: config.httpPort })
  log.info('http listening', { url: `http://${config.httpHost}:${(http.server.address() as { port: number }).port}/` })

  // The topic, the admin client and the group: a broker that is away now is waited for (readyz says so).
  consumer.start()

  /** Stops taking batches, commits what the actors hold, leaves the group, then closes everything; exits with `code`. */
  async function shutdown(why: string, code = 0): Promise<void> {
    if (stopping) return
    stopping = true
    log.info('shutting down', { why })
    const deadline = setTimeout(() => {
      log.error('drain did not finish in time; exiting (Postgres keeps the last committed position)', { deadlineMs: DRAIN_DEADLINE_MS })
      process.exit(1)
    }, DRAIN_DEADLINE_MS)
    deadline.unref()
    try {
      const t0 = Date.now()
      await consumer.stop() // no new batches; waits for the ones being dispatched
      const t1 = Date.now()
      await pipeline.drain()
      const t2 = Date.now()
      await consumer.disconnect()
      const t3 = Date.now()
      await Promise.all(workers.all.map((w) => w.close()))
      clearInterval(pgProbe)
      await retention.close()
      telemetry.close()
      await http.close()
      await watch.close()
      fetchReports?.close()
      await db.end()
      log.info('drain steps', { stopMs: t1 - t0, drainMs: t2 - t1, disconnectMs: t3 - t2, closeMs: Date.now() - t3 })
      log.info('stopped', { stats: pipeline.stats })
      process.exit(code)
    } catch (err) {
      log.error('shutdown failed', { error: err as Error })
      process.exit(1)
    }
  }
  process.on('SIGTERM', () => void shutdown('SIGTERM'))
  process.on('SIGINT', () => void shutdown('SIGINT'))
}

runMain(
  'supervisor',
  'tumbler: consumes Kafka, aggregates tumbling windows on worker threads, writes Postgres, serves UI, API and /metrics.',
  supervisorOptions,
  main,
)
