// The built supervisor (`node dist/supervisor.js`) as a child process: spawned the same way for
// tests and benchmarks, and, for tests, with its log in test-artifacts/, a free HTTP port and a
// SIGKILL in teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, existsSync, mkdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { ARTIFACTS, ROOT } from './paths.js'
import { freePort } from './ports.js'
import type { Teardown } from './teardown.js'
import { waitFor } from './wait.js'

/** Which supervisor to run: a Node.js binary and a built checkout (default: this process's Node and this checkout). */
export interface Build {
  node: string
  root: string
  /** A command the supervisor runs under, e.g. ['taskset', '-c', '0'] (it must exec node, so the pid stays the supervisor's). */
  wrap?: string[]
  /** Node flags of this variant, after the checkout's own (e.g. ['--max-semi-space-size=1']). */
  nodeArgs?: string[]
  /** Environment of this variant, under the caller's (e.g. { MALLOC_ARENA_MAX: '2' }). */
  env?: Record<string, string>
}
export const THIS_BUILD: Build = { node: process.execPath, root: ROOT }

/** The node flags a checkout's launchers give its supervisor (its scripts/supervisor-node-flags: the main thread's V8 heap bounds; none if it has no such file). */
export function supervisorNodeFlags(root: string): string[] {
  const file = path.join(root, 'scripts/supervisor-node-flags')
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean) : []
}

export interface SpawnOptions {
  build?: Build
  /** Extra node flags, e.g. --cpu-prof. */
  nodeArgs?: string[]
  /** Runs it under `nice -n <nice>` (lower CPU priority). */
  nice?: number
  /** stdout is piped for a log file, or ignored (the supervisor logs to stderr). */
  stdout?: 'pipe' | 'ignore'
}

/**
 * Spawns `<node> dist/supervisor.js` of `build` in its checkout, with this process's environment,
 * HTTP_PORT=0 and LOG_LEVEL=info, then `env`; stderr is always piped. `exited` resolves with the
 * exit code, -1 if a signal ended it.
 */
export function spawnSupervisor(
  env: Record<string, string>,
  opts: SpawnOptions = {},
): { proc: ChildProcess; exited: Promise<number | null> } {
  const build = opts.build ?? THIS_BUILD
  const command = [
    ...(build.wrap ?? []),
    ...(opts.nice ? ['nice', '-n', String(opts.nice)] : []),
    build.node,
    ...supervisorNodeFlags(build.root),
  ]
  const proc = spawn(
    command[0]!,
    [...command.slice(1), ...(build.nodeArgs ?? []), ...(opts.nodeArgs ?? []), path.join(build.root, 'dist/supervisor.js')],
    {
      cwd: build.root,
      env: { ...process.env, HTTP_PORT: '0', LOG_LEVEL: 'info', ...build.env, ...env },
      stdio: ['ignore', opts.stdout ?? 'ignore', 'pipe'],
    },
  )
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))))
  return { proc, exited }
}

/** A supervisor a test started (startSupervisor). */
export interface Supervisor {
  proc: ChildProcess
  port: number
  exited: Promise<number | null>
  readyz(): Promise<{ status: number; body: any }>
  waitReady(timeoutMs?: number): Promise<void>
  kill(signal: NodeJS.Signals): Promise<number | null>
  /** The last lines of its log, for a failure message. */
  logTail(lines?: number): string
}

/**
 * Starts `node dist/supervisor.js` with the given environment; logs go to test-artifacts/.
 * `nice` lowers its CPU priority (the overload test: producers outrun it on a small machine).
 */
export async function startSupervisor(
  t: Teardown,
  env: Record<string, string>,
  logName: string,
  opts: { nice?: number } = {},
): Promise<Supervisor> {
  // A restart test passes the previous run's HTTP_PORT: pages reconnect to the same address.
  const port = env.HTTP_PORT ? Number(env.HTTP_PORT) : await freePort()
  mkdirSync(ARTIFACTS, { recursive: true })
  const logFile = path.join(ARTIFACTS, `${logName}.log`)
  const out = createWriteStream(logFile, { flags: 'a' })
  const { proc, exited } = spawnSupervisor(
    // REJECTED_RETENTION_DAYS=0: the datasets' fixed dates (2026-01-01…) are older than the
    // default 30 days, and a retention pass would delete their rejected rows before the check.
    { ACTORS: '2', HTTP_PORT: String(port), REJECTED_RETENTION_DAYS: '0', ...env },
    { nice: opts.nice, stdout: 'pipe' },
  )
  proc.stdout!.pipe(out, { end: false })
  proc.stderr!.pipe(out, { end: false })
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL')
      await exited
    }
  })
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`)
    return { status: res.status, body: await res.json() }
  }
  return {
    proc,
    port,
    exited,
    readyz,
    waitReady: async (timeoutMs = 60_000) => {
      await waitFor(async () => (await readyz()).status === 200, `supervisor ${logName} ready`, timeoutMs)
    },
    kill: async (signal) => {
      proc.kill(signal)
      return exited
    },
    logTail: (lines = 20) => {
      const all = existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n') : []
      return all.slice(-lines).join('\n')
    },
  }
}
