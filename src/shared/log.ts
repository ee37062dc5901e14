import { isMainThread, threadId, workerData } from 'node:worker_threads'
import { pino, type ChildLoggerOptions, type Logger } from 'pino'

// JSON lines on stderr, one object per event, from every thread of the process, through pino:
//   {"level":"info","time":"2026-…Z","owner":"host:pid:id","thread":"actor-0",…fields,"msg":"…"}
// The call sites keep a small facade, log.info(msg, fields), rather than pino's
// logger.info(fields, msg): the same four levels everywhere, the field named `error`
// serialized with its stack as pino's `err` is, and one place that knows how a thread gets
// its logger (the main thread from configureLog, a worker from its workerData).

export type Level = 'debug' | 'info' | 'warn' | 'error'
const LEVELS: readonly Level[] = ['debug', 'info', 'warn', 'error']

/** What a worker thread's logger inherits from the main thread; SerialWorker puts it in workerData.log. */
export interface ThreadLog {
  /** This thread's name in the `thread` field: `actor-0`, `writer`. */
  thread: string
  level: Level
  /** The main thread's bindings (owner). */
  bindings: Record<string, unknown>
  /** The process-wide line lock (below). */
  lock: SharedArrayBuffer
}

/**
 * Keys whose values never reach a log line, at any of the first three levels of a line
 * (pino's `redact`). Connection strings are different: log them through redactUrl.
 */
const SECRET_KEYS = ['password', 'kafkaSaslPassword', 'uiToken', 'token', 'authorization', 'cookie']
const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`])

const inherited = isMainThread ? undefined : (workerData as { log?: ThreadLog } | null)?.log
const lock = new Int32Array(inherited?.lock ?? new SharedArrayBuffer(4))
let settings = { level: inherited?.level ?? ('info' as Level), bindings: inherited?.bindings ?? {} }
const thread = isMainThread ? 'main' : (inherited?.thread ?? `thread-${threadId}`)

// Every thread writes its lines itself, synchronously, to fd 2: nothing waits in a buffer
// when a thread or the process exits (a worker's process.stderr goes through the main
// thread's event loop and loses its last lines on process.exit). A write(2) of up to 4 KiB
// (PIPE_BUF) to a pipe is atomic; a longer line is written in pieces, so every thread takes
// this lock (one Int32 in shared memory) around a line, and a line is never cut by another's.
const FREE = 0
// A thread terminated mid-write (worker.terminate() runs no `finally`) would hold it forever:
// a lock held this long without a release is taken over.
const STALE_LOCK_MS = 1000
const fd2 = pino.destination({ fd: 2, sync: true })
fd2.on('error', () => {}) // stderr gone (EPIPE): there is nowhere left to say so
const sink = {
  write(line: string): void {
    const me = threadId + 1
    for (;;) {
      const holder = Atomics.compareExchange(lock, 0, FREE, me)
      if (holder === FREE) break
      if (Atomics.wait(lock, 0, holder, STALE_LOCK_MS) === 'timed-out' && Atomics.compareExchange(lock, 0, holder, me) === holder) break
    }
    try {
      fd2.write(line)
    } finally {
      Atomics.compareExchange(lock, 0, me, FREE)
      Atomics.notify(lock, 0, 1)
    }
  },
}

function createLogger(): Logger {
  return pino(
    {
      level: settings.level,
      base: { ...settings.bindings, thread },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
      redact: { paths: REDACT_PATHS, censor: '***' },
    },
    sink,
  )
}

let root = createLogger()

/**
 * Sets this process's level and the fields of every line (the supervisor's `owner`), and
 * routes process warnings into the log. Call it once, first, in the main thread; worker
 * threads started afterwards (src/pipeline/serial-worker.ts) inherit both through workerLog().
 * An unknown level falls back to info.
 */
export function configureLog(level: string, fields: Record<string, unknown> = {}): void {
  settings = { level: LEVELS.includes(level as Level) ? (level as Level) : 'info', bindings: fields }
  root = createLogger()
  logProcessWarnings()
}

/** The log settings for a worker thread named `thread`, to pass as its workerData.log. */
export function workerLog(thread: string): ThreadLog {
  return { thread, level: settings.level, bindings: settings.bindings, lock: lock.buffer as SharedArrayBuffer }
}

/**
 * A pino child logger, for a library that takes one (Fastify's loggerInstance): its lines
 * have the shape of the others; its level is `atLeast` or the configured level, whichever is higher.
 */
export function childLogger(atLeast: Level, options: ChildLoggerOptions = {}): Logger {
  const level = LEVELS[Math.max(LEVELS.indexOf(atLeast), LEVELS.indexOf(settings.level))]!
  return root.child({}, { ...options, level })
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => root.debug(fields ?? {}, msg),
  info: (msg: string, fields?: Record<string, unknown>) => root.info(fields ?? {}, msg),
  warn: (msg: string, fields?: Record<string, unknown>) => root.warn(fields ?? {}, msg),
  error: (msg: string, fields?: Record<string, unknown>) => root.error(fields ?? {}, msg),
}

/**
 * Process warnings (kafkajs 2.2.4's negative setTimeout is a TimeoutNegativeWarning on
 * Node 24+, kafkajs issue 1751) become warn lines instead of Node's plain-text printout, so
 * stderr stays JSON lines. Per thread: each thread has its own `process` events.
 */
function logProcessWarnings(): void {
  process.removeAllListeners('warning')
  process.on('warning', (w: Error & { code?: string }) =>
    log.warn('process warning', { warning: { name: w.name, code: w.code, message: w.message, stack: w.stack } }),
  )
}

// A worker thread has no main() of its own: it is configured when it loads this module.
if (!isMainThread) logProcessWarnings()

/** A connection string fit for a log line: the password never leaves the process. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable url)'
  }
}
