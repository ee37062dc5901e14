import os from 'node:os'
import { randomUUID } from 'node:crypto'
import pg from 'pg'
import { runMain } from './cli.js'
import { supervisorOptions, type SupervisorConfig } from './config.js'
import { ensureDatabase, migrate } from './postgres/schema.js'
import { createHttp } from './http/server.js'
import { GroupConsumer } from './kafka/group-consumer.js'
import { CONSUMER_FETCH, createKafka, ensureTopic } from './kafka/client.js'
import { configureLog, log, redactUrl } from './shared/log.js'
import { Pipeline } from './pipeline/coordinator.js'
import { startRejectedRetention } from './postgres/rejected-retention.js'
import { instrumentSupervisor } from './metrics/instrument.js'
import { SerialWorker } from './pipeline/serial-worker.js'
import { ActorClient, WriterClient } from './pipeline/clients.js'
import type { ActorMessage, ActorReplies, WriterMessage, WriterReplies } from './shared/protocol.js'
import type { ActorData, WriterData } from './shared/worker-data.js'
import { hasSignalFault, warnIfAsked } from './shared/faults.js'
import { decideHealth } from './health.js'

// The stream processor's main thread: config, schema, threads, the Kafka consumer, HTTP,
// and the shutdown sequence. CPU work (parsing, validation, windows, SQL) runs in the
// worker threads, so this thread's event loop stays free for kafkajs heartbeats.

const DRAIN_DEADLINE_MS = 9_000
/** How often the topic's offsets are asked from Kafka (high watermarks, partition count). */
const HIGH_WATERMARK_POLL_MS = 2000

async function main(config: SupervisorConfig): Promise<void> {
  const owner = `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
  configureLog(config.logLevel, { owner })
  warnIfAsked(config.faults)
  log.info('starting', {
    topic: config.kafkaTopic,
    group: config.kafkaGroupId,
    brokers: config.kafkaBrokers,
    database: redactUrl(config.databaseUrl),
    actors: config.actors,
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
  const topic = config.kafkaTopic
  const admin = kafka.admin()
  // Connected by the consumer's first start (the broker may be away now); reads before that fail fast.
  let adminConnected = false
  const topicOffsets = async () => {
    if (!adminConnected) throw new Error('not connected to Kafka yet')
    return admin.fetchTopicOffsets(topic)
  }
  // Readiness: one question to the broker every 2 s, no retries, so an outage shows at once.
  const probeAdmin = createKafka(config, `tumbler-${process.pid}-probe`, true).admin()
  let probeConnected = false

  const rules = { windowMs: config.windowSeconds * 1000, latenessMs: config.latenessSeconds * 1000, futureMs: config.futureSeconds * 1000 }
  const actors = Array.from({ length: config.actors }, (_, index) => {
    const workerData: ActorData = {
      ...rules,
      index,
      faults: config.faults,
      rejectedPayloadMaxBytes: config.rejectedPayloadMaxBytes,
      faultFired: new SharedArrayBuffer(4),
      timestampDefaultZone: config.timestampDefaultZone,
    }
    return new SerialWorker<ActorMessage, ActorReplies>({
      name: `actor-${index}`,
      filename: new URL('../workers/window-actor.js', import.meta.url),
      workerData,
    })
  })
  const writerData: WriterData = {
    databaseUrl: config.databaseUrl,
    windowMs: rules.windowMs,
    latenessMs: rules.latenessMs,
    faults: config.faults,
    faultFired: new SharedArrayBuffer(4),
  }
  const writer = new SerialWorker<WriterMessage, WriterReplies>({
    name: 'writer',
    filename: new URL('../workers/writer.js', import.meta.url),
    workerData: writerData,
  })

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
        sawHighWatermark(batch.partition, batch.highWatermark)
        // fetchedOffset: where kafkajs fetched from (its Batch has it; its types do not).
        const last = await pipeline.dispatch(batch.partition, batch.messages, isStale, (batch as { fetchedOffset?: string }).fetchedOffset)
        if (last !== null) resolveOffset(last)
        await heartbeat()
      },
    },
    prepare: async () => {
      await ensureTopic(kafka, topic, config.topicPartitions)
      await admin.connect()
      adminConnected = true
      // The partition count before the first commit: without it no window becomes final.
      await pollOffsets()
    },
    // A broker away shows first as heartbeats no longer accepted (kafkajs sends one about every
    // sessionTimeout/10 while it runs, paused partitions or not); kafkajs may retry a while before it gives up.
    silentAfterMs: config.sessionTimeoutMs,
    probe: async () => {
      try {
        if (!probeConnected) await probeAdmin.connect()
        probeConnected = true
        await probeAdmin.describeCluster()
      } catch (err) {
        probeConnected = false
        await probeAdmin.disconnect().catch(() => {})
        throw err
      }
    },
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
    },
    db,
    actors.map((a) => new ActorClient(a)),
    new WriterClient(writer),
    { ...consumer.control, lowOffsets: async () => new Map((await topicOffsets()).map((o) => [o.partition, o.low])) },
  )

  const telemetry = instrumentSupervisor({
    topic,
    latenessMs: rules.latenessMs,
    pipeline,
    threads: [...actors, writer],
    db,
    consumer,
  })
  // High watermarks feed the lag metrics and the idle watch; eachBatch tells them for free,
  // and this poll for partitions that get no batches. It also tells the topic's partition
  // count, without which no window becomes final.
  const sawHighWatermark = (partition: number, highWatermark: string): void => {
    telemetry.sawHighWatermark(partition, highWatermark)
    pipeline.sawHighWatermark(partition, highWatermark)
  }
  let polling = false
  const pollOffsets = async (): Promise<void> => {
    if (polling) return
    polling = true
    try {
      const offsets = await topicOffsets()
      pipeline.setPartitionCount(offsets.length)
      for (const o of offsets) sawHighWatermark(o.partition, o.high)
    } catch (err) {
      log.debug('topic offsets poll failed', { error: err as Error })
    } finally {
      polling = false
    }
  }
  const offsetsPoll = setInterval(() => void pollOffsets(), HIGH_WATERMARK_POLL_MS)

  // Set when Kafka refuses our configuration (its error message): the process stops.
  let configFailure: string | null = null
  let postgresError: string | null = null
  let stopping = false
  // Test-only (TUMBLER_FAULTS contains "sigusr2", as bench/chaos.ts sets it): each SIGUSR2
  // terminates one random worker thread, as a crash would. Without it SIGUSR2 keeps Node's default.
  if (hasSignalFault(config.faults)) {
    const threads = [...actors, writer]
    process.on('SIGUSR2', () => {
      const victim = threads[Math.floor(Math.random() * threads.length)]!
      log.warn('SIGUSR2: terminating a worker thread (fault injection)', { worker: victim.name, done: !stopping && victim.crash() })
    })
  }
  consumer.on('join', (partitions: number[]) => pipeline.onAssignment(partitions))
  // Flush before a rebalance takes partitions away; the new owner's claim waits for the commit.
  consumer.on('rebalancing', () => pipeline.flushAll())
  consumer.on('fatal', (err: Error) => {
    configFailure = err.message
    void shutdown('kafka configuration error', 1)
  })

  const pgProbe = setInterval(() => {
    db.query('SELECT 1').then(
      () => (postgresError = null),
      (err: Error) => (postgresError = err.message),
    )
  }, 2_000)

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
        restarts: { actors: actors.map((a) => a.restarts), writer: writer.restarts },
      }),
    },
    kafkaOffsets: async () => (await topicOffsets()).map((o) => ({ partition: o.partition, low: o.low, high: o.high })),
  })
  await http.listen({ host: config.httpHost, port: config.httpPort })
  log.info('http listening', { url: `http://${config.httpHost}:${(http.server.address() as { port: number }).port}/` })

  // The topic, the admin client and the group: a broker that is away now is waited for (readyz says so).
  consumer.start()

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
      await Promise.all([...actors.map((a) => a.close()), writer.close()])
      clearInterval(pgProbe)
      clearInterval(offsetsPoll)
      await retention.close()
      telemetry.close()
      await http.close()
      if (adminConnected) await admin.disconnect()
      if (probeConnected) await probeAdmin.disconnect()
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
