// `node dist/bench/profile-top.js FILE.cpuprofile|DIR [--top N]`: the functions with the most
// self time in a V8 CPU profile (node --cpu-prof), as % of the sampled time and of the busy
// (non-idle) time, then the same grouped by where the code lives (kafkajs, pg, tumbler's
// src/ and workers/, node: internals, GC). Given a directory, it reads every profile of a
// main thread there (Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile;
// thread id 0 is the main thread); --all takes the worker threads' too. --from-s/--to-s keep
// only the samples in that span of seconds after the profile's start (≈ the process start):
// e.g. the timed window of a catch-up, [secondsFromStart − seconds, secondsFromStart] of
// bench/scaling.ts's JSON, leaving out start-up and shutdown.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  children?: number[]
}

interface Profile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples: number[]
  timeDeltas: number[]
}

/** One function's self time. */
export interface SelfTime {
  name: string
  where: string
  ms: number
  /** Of all sampled time, idle included. */
  pctAll: number
  /** Of busy time: everything but (idle). */
  pctBusy: number
}

/** Where a script URL belongs, for the grouped view. */
export function area(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native/builtin)'
  if (url.startsWith('node:')) return 'node: internals'
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (m) return m[1]!
  const own = /\/dist\/(src|workers|bench)\/([^/]+)$/.exec(url)
  if (own) return `${own[1]}/${own[2]}`
  return url
}

/** Self time per function (name + script + line) of one or more profiles, most first. */
export function selfTimes(
  profiles: Profile[],
  fromS = 0,
  toS = Number.POSITIVE_INFINITY,
): { top: SelfTime[]; areas: { area: string; ms: number; pctBusy: number }[]; totalMs: number; busyMs: number } {
  const byKey = new Map<string, { name: string; where: string; area: string; ms: number }>()
  let totalMs = 0
  let idleMs = 0
  for (const p of profiles) {
    const nodes = new Map(p.nodes.map((n) => [n.id, n]))
    let atUs = p.startTime
    for (let i = 0; i < p.samples.length; i++) {
      const n = nodes.get(p.samples[i]!)!
      // timeDeltas[i] is the time before sample i; it is charged to the sample (as DevTools does).
      const ms = (p.timeDeltas[i] ?? 0) / 1000
      atUs += p.timeDeltas[i] ?? 0
      const s = (atUs - p.startTime) / 1e6
      if (s < fromS || s > toS) continue
      const f = n.callFrame
      const name = f.functionName || '(anonymous)'
      totalMs += ms
      if (name === '(idle)') idleMs += ms
      const where = f.url ? `${f.url.replace(/^file:\/\/.*?\/(node_modules|dist)\//, '$1/')}:${f.lineNumber + 1}` : ''
      const key = `${name}@${where}`
      const e = byKey.get(key) ?? { name, where, area: area(f.url, name), ms: 0 }
      e.ms += ms
      byKey.set(key, e)
    }
  }
  const busyMs = totalMs - idleMs
  const pct = (ms: number, of: number) => Math.round((ms / of) * 1000) / 10
  const top = [...byKey.values()]
    .sort((a, b) => b.ms - a.ms)
    .map((e) => ({
      name: e.name,
      where: e.where,
      ms: Math.round(e.ms),
      pctAll: pct(e.ms, totalMs),
      pctBusy: e.name === '(idle)' ? 0 : pct(e.ms, busyMs),
    }))
  const areaMs = new Map<string, number>()
  for (const e of byKey.values()) if (e.name !== '(idle)') areaMs.set(e.area, (areaMs.get(e.area) ?? 0) + e.ms)
  const areas = [...areaMs].sort((a, b) => b[1] - a[1]).map(([a, ms]) => ({ area: a, ms: Math.round(ms), pctBusy: pct(ms, busyMs) }))
  return { top, areas, totalMs, busyMs }
}

function main(): void {
  const args = process.argv.slice(2)
  const topAt = args.indexOf('--top')
  const n = topAt >= 0 ? Number(args[topAt + 1]) : 15
  const all = args.includes('--all')
  const valueOf = (flag: string) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : undefined)
  const fromS = valueOf('--from-s') ?? 0
  const toS = valueOf('--to-s') ?? Number.POSITIVE_INFINITY
  const values = new Set(['--top', '--from-s', '--to-s'].filter((f) => args.includes(f)).map((f) => args.indexOf(f) + 1))
  const inputs = args.filter((a, i) => !a.startsWith('--') && !values.has(i))
  if (inputs.length === 0) {
    process.stderr.write('usage: profile-top FILE.cpuprofile|DIR [--top N] [--all] [--from-s S] [--to-s S]\n')
    process.exit(2)
  }
  const files = inputs.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => f.endsWith('.cpuprofile') && (all || /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f)))
          .map((f) => path.join(p, f))
      : [p],
  )
  const r = selfTimes(
    files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Profile),
    fromS,
    toS,
  )
  process.stdout.write(
    JSON.stringify({
      files,
      fromS,
      toS,
      totalMs: Math.round(r.totalMs),
      busyMs: Math.round(r.busyMs),
      top: r.top.slice(0, n),
      areas: r.areas,
    }) + '\n',
  )
  process.stderr.write(
    `${files.length} profile(s), ${fromS}..${toS} s: ${Math.round(r.totalMs)} ms sampled, ${Math.round(r.busyMs)} ms busy (not idle)\n`,
  )
  process.stderr.write('  self ms  % busy  function  (where)\n')
  for (const e of r.top.filter((e) => e.name !== '(idle)').slice(0, n))
    process.stderr.write(`  ${String(e.ms).padStart(7)}  ${e.pctBusy.toFixed(1).padStart(6)}  ${e.name}  ${e.where}\n`)
  process.stderr.write('  by area:\n')
  for (const a of r.areas.slice(0, 12))
    process.stderr.write(`  ${String(a.ms).padStart(7)}  ${a.pctBusy.toFixed(1).padStart(6)}  ${a.area}\n`)
}

main()
