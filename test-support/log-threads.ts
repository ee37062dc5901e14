// A program for test/unit/log.test.ts: the main thread and three worker threads log at the
// same moment through src/shared/log.ts (lines far longer than a pipe's 4 KiB atomic write), each
// thread emits a process warning, then the process exits at once. argv[2]: padding (chars).
import { isMainThread, Worker, workerData } from 'node:worker_threads'
import { configureLog, log, workerLog } from '../src/shared/log.js'

const WORKERS = 3
const LINES = 100
const pad = 'x'.repeat(Number(process.argv[2] ?? 20_000))

function logLines(): void {
  for (let i = 0; i < LINES; i++) log.info('long line', { i, pad })
}

function warnAndExit(): void {
  log.debug('debug line')
  log.warn('with an error', {
    error: new Error('outer', { cause: new Error('inner') }),
    password: 'never-logged',
    sasl: { password: 'never-logged' },
  })
  process.emitWarning('provoked', { type: 'TestWarning', code: 'TEST_CODE' })
  // The warning is emitted on the next tick; exit right after it, as abruptly as a program may.
  setImmediate(() => process.exit(0))
}

if (isMainThread) {
  configureLog('debug', { owner: 'test-owner' })
  // A start barrier: every thread begins logging when all of them are ready.
  const ready = new Int32Array(new SharedArrayBuffer(4))
  const exited = Array.from({ length: WORKERS }, (_, i) => {
    const w = new Worker(new URL(import.meta.url), {
      argv: process.argv.slice(2),
      workerData: { ready: ready.buffer, log: workerLog(`worker-${i}`) },
    })
    return new Promise((resolve) => w.on('exit', resolve))
  })
  while (Atomics.load(ready, 0) < WORKERS) Atomics.wait(ready, 0, Atomics.load(ready, 0), 10)
  Atomics.store(ready, 0, -1)
  Atomics.notify(ready, 0)
  logLines()
  await Promise.all(exited) // the workers' last lines are out when they exit: nothing to wait for
  warnAndExit()
} else {
  const ready = new Int32Array((workerData as { ready: SharedArrayBuffer }).ready)
  Atomics.add(ready, 0, 1)
  while (Atomics.load(ready, 0) !== -1) Atomics.wait(ready, 0, Atomics.load(ready, 0), 10)
  logLines()
  warnAndExit()
}
