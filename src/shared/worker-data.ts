// Each worker's workerData: what the supervisor passes a thread when it starts it (the thread
// protocol's messages are in protocol.ts; the logger's settings are added as `log`, see log.ts).
import type { ActorFetchSettings } from './actor-fetch.js'

/** The event-time rules every actor applies (ms); from WINDOW_SECONDS, LATENESS_SECONDS, FUTURE_SECONDS. */
export interface WindowRules {
  windowMs: number
  latenessMs: number
  futureMs: number
}

/** workerData of a window actor (workers/window-actor.ts). */
export interface ActorData extends WindowRules {
  /** This actor's index; its fault role is `actor<index>`. */
  index: number
  faults: string
  /** REJECTED_PAYLOAD_MAX_BYTES: bytes of a rejected value kept. */
  rejectedPayloadMaxBytes: number
  /** One Int32 shared with the supervisor: set once the injected fault has fired. */
  faultFired: SharedArrayBuffer
  /** TIMESTAMP_DEFAULT_ZONE, as validated at start (an IANA name or a fixed offset). */
  timestampDefaultZone: string
  /** KAFKA_FETCH=actors: the actor fetches its partitions itself (workers/fetch-loop.ts); absent: the supervisor sends BATCHes. */
  fetch?: ActorFetchSettings
}

/** workerData of the writer (workers/writer.ts). */
export interface WriterData {
  databaseUrl: string
  windowMs: number
  /** LATENESS_SECONDS in ms: a partition's watermark is its largest event time minus this. */
  latenessMs: number
  faults: string
  /** One Int32 shared with the supervisor: set once the injected fault has fired. */
  faultFired: SharedArrayBuffer
}
