// Outages of the real services the pipeline depends on, each on a private server that the
// test starts and removes itself: a PostgreSQL cluster (initdb into a temporary directory,
// a free port) and a Kafka broker (scripts/kafka.sh with its own KAFKA_HOME_DIR and ports).
// The machine's own cluster and the shared broker are never stopped, restarted or
// reconfigured. Plus a producer that keeps the stream flowing and holds still while the broker is away.
import { execFile } from 'node:child_process'
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { Kafka, logLevel, type Producer } from 'kafkajs'
import { kafka, messagesOf, type Produced } from './broker.js'
import { uniqueName } from './names.js'
import { ROOT } from './paths.js'
import { freePort } from './ports.js'
import { query } from './postgres.js'
import type { Teardown } from './teardown.js'
import { waitFor } from './wait.js'

const run = promisify(execFile)

/** The newest installed PostgreSQL's binaries (Debian: /usr/lib/postgresql/<major>/bin). */
export const PG_BIN = path.join(
  '/usr/lib/postgresql',
  readdirSync('/usr/lib/postgresql')
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(a) - Number(b))
    .at(-1)!,
  'bin',
)

export interface PrivatePostgres {
  port: number
  /** postgresql://postgres@127.0.0.1:<port>/<a new database name>; the supervisor creates it. */
  url: string
  /** The cluster's `postgres` database, for a test's own probes. */
  adminUrl: string
  start(): Promise<void>
  /** Fast shutdown: every connection is cut, as a restart for maintenance does. */
  stop(): Promise<void>
  restart(): Promise<void>
  answers(): Promise<boolean>
}

/**
 * A PostgreSQL cluster of the test's own: `initdb` (trust auth) into a temporary directory,
 * started with `pg_ctl` on a free port with its socket in that directory, stopped and removed
 * in teardown. initdb and postgres refuse to run as root, so as root (tests here run as root)
 * they run as the `postgres` OS user, which owns the directory.
 */
export async function privatePostgres(t: Teardown): Promise<PrivatePostgres> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tumbler-pg-'))
  const data = path.join(dir, 'data')
  const asRoot = process.getuid?.() === 0
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chownSync(dir, Number(stdout), Number(gid))
  }
  const pg = (bin: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args], { cwd: dir, timeout: 60_000 })
      : run(path.join(PG_BIN, bin), args, { cwd: dir, timeout: 60_000 })
  const port = await freePort()
  t.teardown(async () => {
    await pg('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {}) // not running: fine
    rmSync(dir, { recursive: true, force: true })
  })
  await pg('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8'])
  const adminUrl = `postgresql://postgres@127.0.0.1:${port}/postgres`
  const answers = async () => {
    try {
      await query(adminUrl, 'SELECT 1')
      return true
    } catch {
      return false
    }
  }
  const start = async () => {
    await pg('pg_ctl', [
      'start',
      '-D',
      data,
      '-l',
      path.join(dir, 'postgres.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`,
    ])
  }
  const stop = async () => {
    await pg('pg_ctl', ['stop', '-D', data, '-m', 'fast', '-w', '-t', '60'])
  }
  await start()
  await waitFor(answers, `private Postgres on port ${port} answering`, 30_000)
  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/${uniqueName('tumbler_test')}`,
    adminUrl,
    start,
    stop,
    restart: async () => (await stop(), await start()),
    answers,
  }
}

export interface PrivateBroker {
  /** host:port of its PLAINTEXT listener, for KAFKA_BROKERS. */
  brokers: string
  /** A client of this broker (the tests' shared `kafka` talks to the shared broker); pass it to createTopic, produce, SteadyProducer. */
  kafka: Kafka
  start(): Promise<void>
  /** A clean shutdown (SIGTERM; SIGKILL after 30 s), as scripts/kafka.sh stop does. */
  stop(): Promise<void>
}

/**
 * A single-node Kafka broker of the test's own: scripts/kafka.sh with KAFKA_HOME_DIR in a
 * temporary directory (data, logs, server.properties; the jars are shared from .kafka/lib) and
 * free ports for its three listeners. Stopped and removed in teardown.
 */
export async function privateBroker(t: Teardown): Promise<PrivateBroker> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'tumbler-kafka-'))
  const [port, controllerPort, saslPort] = [await freePort(), await freePort(), await freePort()]
  const env = {
    ...process.env,
    KAFKA_HOME_DIR: home,
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_SASL_PORT: String(saslPort),
    KAFKA_HEAP_OPTS: '-Xmx384m -Xms384m',
  }
  const kafkaSh = (action: 'start' | 'stop') => run('bash', ['scripts/kafka.sh', action], { cwd: ROOT, env, timeout: 240_000 })
  t.teardown(async () => {
    await kafkaSh('stop').catch(() => {})
    rmSync(home, { recursive: true, force: true })
  })
  const brokers = `127.0.0.1:${port}`
  const client = new Kafka({ clientId: 'tumbler-test-private', brokers: [brokers], logLevel: logLevel.NOTHING })
  await kafkaSh('start')
  return {
    brokers,
    kafka: client,
    start: async () => void (await kafkaSh('start')),
    stop: async () => void (await kafkaSh('stop')),
  }
}

/**
 * Sends `records` in order (one idempotent producer per run of chunks, acks=all, so
 * offsets are the records' index in their partition) at about `perSecond`. pause() waits
 * for the chunk in flight and disconnects, so a broker restart never meets a send whose
 * outcome is unknown (a resend could duplicate records); resume() goes on with a new producer.
 */
export class SteadyProducer {
  sent = 0
  readonly done: Promise<void>
  private pauseRequested: (() => void) | null = null
  private resumed: (() => void) | null = null
  private stopped = false

  constructor(
    topic: string,
    private readonly records: Produced[],
    perSecond: number,
    chunk = 250,
    private readonly client: Kafka = kafka,
  ) {
    this.done = this.run(topic, perSecond, chunk)
  }

  private async run(topic: string, perSecond: number, chunk: number): Promise<void> {
    let producer: Producer | null = null
    let due = Date.now()
    try {
      while (this.sent < this.records.length && !this.stopped) {
        if (this.pauseRequested) {
          await producer?.disconnect()
          producer = null
          const paused = this.pauseRequested
          await new Promise<void>((resolve) => {
            this.resumed = resolve
            paused()
          })
          due = Date.now()
          if (this.stopped) break
        }
        if (!producer) {
          producer = this.client.producer({ idempotent: true, maxInFlightRequests: 1 })
          await producer.connect()
        }
        // Pacing is load shaping (a live stream), not synchronisation.
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()))
        const messages = messagesOf(this.records.slice(this.sent, this.sent + chunk))
        await producer.send({ topic, acks: -1, messages })
        this.sent += messages.length
        due += (messages.length / perSecond) * 1000
      }
    } finally {
      await producer?.disconnect()
    }
  }

  /** Resolves once no send is in flight and the producer is disconnected (or everything was sent). */
  pause(): Promise<void> {
    return Promise.race([new Promise<void>((resolve) => (this.pauseRequested = resolve)), this.done])
  }

  resume(): void {
    this.pauseRequested = null
    this.resumed?.()
    this.resumed = null
  }

  /** Teardown: stop after the chunk in flight, whatever the test got to. */
  async stop(): Promise<void> {
    this.stopped = true
    this.resume()
    await this.done.catch(() => {})
  }
}

/** dispatched − committed per partition, from /readyz details. */
export function inFlight(body: {
  partitions?: { partition: number; dispatched: string; committed: string; paused: boolean }[]
}): { partition: number; inFlight: number; paused: boolean }[] {
  return (body.partitions ?? []).map((p) => ({
    partition: p.partition,
    inFlight: Number(BigInt(p.dispatched) - BigInt(p.committed)),
    paused: p.paused,
  }))
}
