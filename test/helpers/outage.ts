// Outages of the real services the pipeline depends on: the local Postgres cluster
// (pg_ctlcluster) and the dev Kafka broker (scripts/kafka.sh), plus a producer that keeps
// the stream flowing and can hold still while the broker is away.
import { execFile } from 'node:child_process'
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import type { Message, Producer } from 'kafkajs'
import { kafka, PG_ADMIN_URL, query, waitFor, type Produced } from './harness.js'

const run = promisify(execFile)
const ROOT = path.resolve(import.meta.dirname, '../..')

/** The newest installed Postgres major version (15 here), as pg_ctlcluster names clusters. */
export const PG_VERSION = readdirSync('/etc/postgresql').sort((a, b) => Number(a) - Number(b)).at(-1)!

/** pg_ctlcluster start|stop|restart for the "main" cluster; systemd is not running, so no redirect. */
export async function pgCtl(action: 'start' | 'stop' | 'restart'): Promise<void> {
  await run('pg_ctlcluster', ['--skip-systemctl-redirect', PG_VERSION, 'main', action], { timeout: 60_000 })
}

export async function pgAnswers(): Promise<boolean> {
  try {
    await query(PG_ADMIN_URL, 'SELECT 1')
    return true
  } catch {
    return false
  }
}

/** Teardown: other tests need Postgres, whatever happened here. */
export async function ensurePgUp(): Promise<void> {
  if (await pgAnswers()) return
  await pgCtl('start').catch(() => {}) // "already running" while it is still starting
  await waitFor(pgAnswers, 'Postgres answering again', 60_000, 200)
}

/** scripts/kafka.sh restart|stop|start: it only stops a broker it started from .kafka/. */
export async function kafkaSh(action: 'restart' | 'stop' | 'start'): Promise<void> {
  await run('bash', ['scripts/kafka.sh', action], { cwd: ROOT, timeout: 240_000 })
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

  constructor(topic: string, private readonly records: Produced[], perSecond: number, chunk = 250) {
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
          producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
          await producer.connect()
        }
        // Pacing is load shaping (a live stream), not synchronisation.
        if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()))
        const messages: Message[] = this.records.slice(this.sent, this.sent + chunk).map((r) => ({ partition: r.partition, value: r.value as Buffer | string | null, timestamp: String(r.timestampMs) }))
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
export function inFlight(body: { partitions?: { partition: number; dispatched: string; committed: string; paused: boolean }[] }): { partition: number; inFlight: number; paused: boolean }[] {
  return (body.partitions ?? []).map((p) => ({ partition: p.partition, inFlight: Number(BigInt(p.dispatched) - BigInt(p.committed)), paused: p.paused }))
}
