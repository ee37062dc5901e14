import { log } from './log.js'

// Test-only fault injection (TUMBLER_FAULTS): "actor0:batch:40,writer:commit:3" makes the
// thread of that role die at its 40th batch / 3rd commit, once: the flag lives in shared
// memory that outlives the thread, so its replacement runs clean.

export interface FaultSpec {
  role: string
  task: string
  nth: number
}

/**
 * The token "sigusr2" in TUMBLER_FAULTS makes the supervisor terminate one random worker
 * thread on each SIGUSR2 (the chaos run's thread kills; src/supervisor.ts).
 */
export const SIGNAL_FAULT = 'sigusr2'

/**
 * The token "warning" in TUMBLER_FAULTS makes every thread emit one process warning
 * (TumblerFaultWarning) as it starts: test/logging.test.ts checks that it reaches the JSON log.
 */
export const WARNING_FAULT = 'warning'

const hasToken = (spec: string, token: string): boolean => spec.split(',').some((s) => s.trim() === token)
export const hasSignalFault = (spec: string): boolean => hasToken(spec, SIGNAL_FAULT)

/** Emits the "warning" fault's process warning in the calling thread, if the spec asks for it. */
export function warnIfAsked(spec: string): void {
  if (hasToken(spec, WARNING_FAULT))
    process.emitWarning('injected warning (TUMBLER_FAULTS=warning)', { type: 'TumblerFaultWarning', code: 'TUMBLER_FAULT' })
}

export function parseFaults(spec: string): FaultSpec[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s && s !== SIGNAL_FAULT && s !== WARNING_FAULT)
    .map((s) => {
      const [role, task, nth] = s.split(':')
      if (!role || !task || !nth || !/^\d+$/.test(nth)) throw new Error(`bad fault "${s}": expected role:task:N`)
      return { role, task, nth: Number(nth) }
    })
}

/** Returns a function to call at each task; it ends the thread abruptly at the Nth. Call it once, as the thread starts. */
export function faultCounter(spec: string, role: string, fired: Int32Array): (task: string) => void {
  warnIfAsked(spec)
  const faults = parseFaults(spec).filter((f) => f.role === role)
  const seen = new Map<string, number>()
  return (task) => {
    if (faults.length === 0 || Atomics.load(fired, 0) === 1) return
    const n = (seen.get(task) ?? 0) + 1
    seen.set(task, n)
    if (faults.some((f) => f.task === task && f.nth === n)) {
      Atomics.store(fired, 0, 1)
      // process.exit in a worker stops the thread right here, mid-task, as a crash would
      // (the line is written synchronously before it).
      log.error('injected fault: the thread dies', { role, task, nth: n })
      process.exit(70)
    }
  }
}
