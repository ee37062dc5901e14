// CPU time of every thread of another process, from /proc, sampled while it runs: which
// thread of the supervisor spends the CPU (bench/scaling.ts). Linux only.
import { readdirSync, readFileSync } from 'node:fs'

/** One reading: per thread id, its name and its CPU time so far (ns). */
interface Reading {
  atMs: number
  threads: Map<number, { comm: string; ns: number }>
  /** The whole machine from /proc/stat's "cpu" line, in ticks (1/100 s): busy (user, nice, system, irq, softirq) and steal. */
  machine: { busy: number; steal: number }
}

function machineTicks(): { busy: number; steal: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  // user nice system idle iowait irq softirq steal ...
  return { busy: f[0]! + f[1]! + f[2]! + f[5]! + f[6]!, steal: f[7] ?? 0 }
}

/**
 * The role of a supervisor thread, from the names Node 26 gives its threads:
 * `node-MainThread` (the JS main thread, tid = pid: kafkajs, the pipeline, HTTP), `WorkerThread`
 * (a worker_threads Worker without a name: piscina starts the actors, then the writer),
 * `node-V8Worker` and `DelayedTaskSche` (V8's platform: concurrent GC marking, parallel
 * scavenges, background compilation, for every isolate of the process), `libuv-worker`
 * (the threadpool: dns, fs, zlib). Anything else is `other` (SignalInspector, ...).
 */
export type ThreadRole = 'main' | 'actor' | 'writer' | 'worker' | 'v8' | 'libuv' | 'other'

/** CPU of one thread over a window. */
export interface ThreadCpu {
  tid: number
  comm: string
  role: ThreadRole
  cpuSeconds: number
}

/** CPU time (ns) of thread `tid` of `pid`: sum_exec_runtime from schedstat, else utime+stime from stat (1/CLK_TCK s, assumed 100 Hz). */
function threadNs(pid: number, tid: number): number {
  try {
    return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0])
  } catch {
    // schedstat needs CONFIG_SCHEDSTATS: fall back to the tick counts. Fields 14/15, after the ')' of comm.
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) * 10_000_000
  }
}

/** The pid of a child of this process whose command line contains `needle`, or null. */
export function findChild(needle: string): number | null {
  for (const task of readdirSync(`/proc/${process.pid}/task`)) {
    let children: string
    try {
      children = readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8')
    } catch {
      continue
    }
    for (const pid of children.trim().split(' ').filter(Boolean).map(Number)) {
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) return pid
      } catch {
        // gone already
      }
    }
  }
  return null
}

/**
 * Samples every thread of `pid` every `everyMs` until stop(); a thread that exits keeps its
 * last reading. cpuBetween() answers for any window inside the sampled span, interpolating
 * each thread's CPU linearly between readings (error ≤ one interval of that thread's CPU).
 */
export class ThreadCpuSampler {
  private readonly readings: Reading[] = []
  private readonly timer: NodeJS.Timeout

  constructor(
    readonly pid: number,
    everyMs = 100,
  ) {
    this.sample()
    this.timer = setInterval(() => this.sample(), everyMs)
  }

  private sample(): void {
    const threads = new Map<number, { comm: string; ns: number }>()
    let tids: string[]
    try {
      tids = readdirSync(`/proc/${this.pid}/task`)
    } catch {
      return // the process is gone
    }
    for (const t of tids) {
      const tid = Number(t)
      try {
        threads.set(tid, { comm: readFileSync(`/proc/${this.pid}/task/${tid}/comm`, 'utf8').trim(), ns: threadNs(this.pid, tid) })
      } catch {
        // the thread exited between readdir and read
      }
    }
    this.readings.push({ atMs: Date.now(), threads, machine: machineTicks() })
  }

  stop(): void {
    clearInterval(this.timer)
    this.sample()
  }

  /** CPU time (ns) of thread `tid` at time t (ms), interpolated; 0 before its first reading, its last reading after it exited. */
  private at(tid: number, t: number): number {
    let before: { atMs: number; ns: number } | null = null
    for (const r of this.readings) {
      const th = r.threads.get(tid)
      if (!th) continue
      if (r.atMs <= t) before = { atMs: r.atMs, ns: th.ns }
      else {
        if (!before) return 0
        return before.ns + ((th.ns - before.ns) * (t - before.atMs)) / Math.max(1, r.atMs - before.atMs)
      }
    }
    return before?.ns ?? 0
  }

  /** Cores the whole machine kept busy in [fromMs, toMs] (every process: broker, Postgres, this one), and cores stolen by the hypervisor; readings nearest the ends. */
  machineBetween(fromMs: number, toMs: number): { busyCores: number; stealCores: number } {
    const nearest = (t: number) => this.readings.reduce((a, b) => (Math.abs(b.atMs - t) < Math.abs(a.atMs - t) ? b : a))
    const a = nearest(fromMs)
    const b = nearest(toMs)
    const seconds = Math.max(0.001, (b.atMs - a.atMs) / 1000)
    const cores = (ticks: number) => Math.round((ticks / 100 / seconds) * 100) / 100
    return { busyCores: cores(b.machine.busy - a.machine.busy), stealCores: cores(b.machine.steal - a.machine.steal) }
  }

  /**
   * CPU seconds of each thread in [fromMs, toMs], with its role. Worker threads are told
   * apart by start order (thread ids grow): the first `actors` are the actors, the next one
   * the writer (src/supervisor.ts creates them in that order); more (a restarted thread)
   * are `worker`.
   */
  cpuBetween(fromMs: number, toMs: number, actors: number): ThreadCpu[] {
    const names = new Map<number, string>()
    for (const r of this.readings) for (const [tid, th] of r.threads) names.set(tid, th.comm)
    const workers = [...names]
      .filter(([, comm]) => comm === 'WorkerThread')
      .map(([tid]) => tid)
      .sort((a, b) => a - b)
    const role = (tid: number, comm: string): ThreadRole => {
      if (tid === this.pid) return 'main' // a new thread carries its creator's name until it renames itself
      const w = workers.indexOf(tid)
      if (w >= 0) return w < actors ? 'actor' : w === actors ? 'writer' : 'worker'
      if (comm === 'node-V8Worker' || comm === 'DelayedTaskSche') return 'v8'
      if (comm === 'libuv-worker') return 'libuv'
      return 'other'
    }
    return [...names]
      .map(([tid, comm]) => ({
        tid,
        comm,
        role: role(tid, comm),
        cpuSeconds: Math.max(0, this.at(tid, toMs) - this.at(tid, fromMs)) / 1e9,
      }))
      .sort((a, b) => a.tid - b.tid)
  }
}

/** Sums CPU seconds per role. */
export function byRole(threads: ThreadCpu[]): Record<ThreadRole, number> {
  const out: Record<ThreadRole, number> = { main: 0, actor: 0, writer: 0, worker: 0, v8: 0, libuv: 0, other: 0 }
  for (const t of threads) out[t.role] += t.cpuSeconds
  return out
}
