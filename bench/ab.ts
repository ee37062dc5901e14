// `npm run bench:ab -- --variants a=NODE[:ROOT][@FLAGS],b=…`: an A/B comparison on ONE loaded
// topic. The topic is loaded once; then each variant's supervisor (a Node.js binary, a built
// checkout, node flags and environment) reads all of it with a fresh group and database, the
// variants alternating for --rounds rounds (a, b, a, b, ...), so drift of the shared machine hits
// both alike. Prints each run and per variant the median events/s and peak RSS, as JSON on stdout.
import { int, runMain, text, UsageError } from '../src/cli.js'
import { consumeLoaded } from './catch-up.js'
import { createNamedTopic, deleteTopic } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { ROOT } from '../test-support/paths.js'
import type { Build } from '../test-support/supervisor-process.js'
import { load, progress } from './lib.js'

const options = {
  variants: {
    flag: 'variants',
    default: '',
    parse: text,
    help: 'comma-separated name=NODE_BINARY[:BUILT_CHECKOUT][@FLAGS] (checkout default: this one; FLAGS: node flags and VAR=value environment, joined by + or spaces)',
  },
  events: { flag: 'events', default: 2_000_000, parse: int(1000), help: 'events loaded once into the shared topic' },
  partitions: { flag: 'partitions', default: 6, parse: int(1, 1000), help: 'partitions of the topic' },
  rounds: { flag: 'rounds', default: 2, parse: int(1, 20), help: 'runs of each variant, alternating' },
}

/**
 * Parses "name=/path/node[:/path/checkout][@FLAGS],…" into named builds. FLAGS, joined by "+" or
 * spaces, are node flags (passed before dist/supervisor.js, e.g. --max-semi-space-size=2) or
 * VAR=value environment entries (e.g. MALLOC_ARENA_MAX=2). Throws UsageError naming a bad item.
 */
export function parseVariants(raw: string): Map<string, Build> {
  const out = new Map<string, Build>()
  for (const item of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([\w.-]+)=([^:@]+)(?::([^@]+))?(?:@(.*))?$/.exec(item)
    if (!m) throw new UsageError(`invalid --variants item "${item}": expected name=NODE_BINARY[:CHECKOUT][@FLAGS]`)
    const nodeArgs: string[] = []
    const env: Record<string, string> = {}
    for (const token of (m[4] ?? '').split(/[+\s]+/).filter(Boolean)) {
      const e = /^([A-Za-z_]\w*)=(.*)$/.exec(token)
      if (e) env[e[1]!] = e[2]!
      else if (token.startsWith('-')) nodeArgs.push(token)
      else throw new UsageError(`invalid flag "${token}" in --variants item "${item}": expected --node-flag or VAR=value`)
    }
    out.set(m[1]!, { node: m[2]!, root: m[3] ?? ROOT, nodeArgs, env })
  }
  if (out.size < 2) throw new UsageError('--variants needs at least two variants')
  return out
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 ? s[mid]! : Math.round((s[mid - 1]! + s[mid]!) / 2)
}

runMain(
  'bench-ab',
  'A/B catch-up on one loaded topic, variants alternating (needs the broker and built checkouts).',
  options,
  async (o) => {
    const variants = parseVariants(o.variants)
    const topic = uniqueName('ab')
    await createNamedTopic(topic, o.partitions)
    progress(`ab: loading ${o.events} events into ${topic}`)
    const truth = await load(topic, o.partitions, o.events)
    const runs: {
      variant: string
      round: number
      eventsPerSecond: number
      peakRssMb: number
      rebalances: number
      totalsMatched: boolean
    }[] = []
    try {
      for (let round = 1; round <= o.rounds; round++) {
        for (const [variant, build] of variants) {
          const r = await consumeLoaded(topic, truth, build)
          runs.push({
            variant,
            round,
            eventsPerSecond: r.eventsPerSecond,
            peakRssMb: r.peakRssMb,
            rebalances: r.rebalances,
            totalsMatched: r.totalsMatched,
          })
          progress(
            `ab: ${variant} round ${round}: ${r.eventsPerSecond} events/s, peak RSS ${r.peakRssMb} MB, rebalances ${r.rebalances}, totals ${r.totalsMatched ? 'exact' : 'WRONG'}`,
          )
        }
      }
    } finally {
      await deleteTopic(topic)
    }
    const summary = [...variants].map(([variant, build]) => {
      const mine = runs.filter((r) => r.variant === variant)
      return {
        variant,
        nodeArgs: build.nodeArgs ?? [],
        env: build.env ?? {},
        medianEventsPerSecond: median(mine.map((r) => r.eventsPerSecond)),
        medianPeakRssMb: median(mine.map((r) => r.peakRssMb)),
        runs: mine.map((r) => r.eventsPerSecond),
        peakRssRunsMb: mine.map((r) => r.peakRssMb),
      }
    })
    process.stdout.write(
      JSON.stringify({ at: new Date().toISOString(), events: o.events, partitions: o.partitions, runs, summary }, null, 2) + '\n',
    )
    for (const s of summary)
      process.stderr.write(
        `  ${s.variant.padEnd(12)} median ${s.medianEventsPerSecond} events/s (runs ${s.runs.join(', ')}), peak RSS ${s.medianPeakRssMb} MB (runs ${s.peakRssRunsMb.join(', ')})\n`,
      )
    if (runs.some((r) => !r.totalsMatched)) process.exitCode = 1
  },
)
