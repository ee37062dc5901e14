import { log } from '../shared/log.js'
import type { SupervisorConfig } from '../config.js'
import type { ActorMessage, ActorReplies, WriterMessage, WriterReplies } from '../shared/protocol.js'
import type { ActorWorker, WriterWorker } from './clients.js'
import type { ActorData, WriterData } from '../shared/worker-data.js'
import { SerialWorker } from './serial-worker.js'
import { actorFetchSettings } from '../kafka/client.js'

/** The supervisor's worker threads: ACTORS window actors and one writer. */
export interface Workers {
  actors: ActorWorker[]
  writer: WriterWorker
  /** All of them, actors first. */
  all: (ActorWorker | WriterWorker)[]
}

/** Starts the window actors (workers/window-actor.ts) and the writer (workers/writer.ts) with their workerData from the config. */
export function startWorkers(config: SupervisorConfig): Workers {
  const rules = { windowMs: config.windowSeconds * 1000, latenessMs: config.latenessSeconds * 1000, futureMs: config.futureSeconds * 1000 }
  const limits = { maxRecords: config.maxInFlightRecords, maxBytes: config.maxInFlightBytes }
  const actors = Array.from({ length: config.actors }, (_, index) => {
    const workerData: ActorData = {
      ...rules,
      index,
      faults: config.faults,
      rejectedPayloadMaxBytes: config.rejectedPayloadMaxBytes,
      faultFired: new SharedArrayBuffer(4),
      timestampDefaultZone: config.timestampDefaultZone,
      ...(config.kafkaFetch === 'actors' && { fetch: actorFetchSettings(config, `tumbler-${process.pid}-actor-${index}`, limits) }),
    }
    return new SerialWorker<ActorMessage, ActorReplies>({
      name: `actor-${index}`,
      filename: new URL('../../workers/window-actor.js', import.meta.url),
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
    filename: new URL('../../workers/writer.js', import.meta.url),
    workerData: writerData,
  })
  return { actors, writer, all: [...actors, writer] }
}

/**
 * Test-only (TUMBLER_FAULTS contains "sigusr2", as bench/chaos.ts sets it): each SIGUSR2
 * terminates one random worker thread, as a crash would. Without it SIGUSR2 keeps Node's default.
 */
export function crashOnSignal(workers: Workers, stopping: () => boolean): void {
  process.on('SIGUSR2', () => {
    const victim = workers.all[Math.floor(Math.random() * workers.all.length)]!
    log.warn('SIGUSR2: terminating a worker thread (fault injection)', { worker: victim.name, done: !stopping() && victim.crash() })
  })
}
