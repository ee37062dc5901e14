// Driver of the issue-13 prototype (bench/proto/actor-consumers.ts). Under the machine-wide lock:
//   node dist/bench/proto/run.js load [--events 2000000 --partitions 6]   → prints the topic
//   node dist/bench/proto/run.js tput --topic T [--rounds 1 --cores 2,1 --actors 1,2,4]
//   node dist/bench/proto/run.js crash --topic T --variants 30000/3000/none,6000/600/none,...
// Each configuration runs in its own process (pinned with taskset for --cores 1); results are
// printed as JSON lines and appended to bench/results/proto-actor-consumers.jsonl.
import { spawnSync } from 'node:child_process'
import { appendFileSync } from 'node:fs'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createNamedTopic } from '../../test-support/broker.js'
import { uniqueName } from '../../test-support/names.js'
import { ROOT } from '../../test-support/paths.js'
import { load, progress } from '../lib.js'

const { positionals, values: args } = parseArgs({
  allowPositionals: true,
  options: {
    topic: { type: 'string' },
    events: { type: 'string', default: '2000000' },
    partitions: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '1' },
    cores: { type: 'string', default: '2,1' },
    actors: { type: 'string', default: '1,2,4' },
    ceiling: { type: 'string', default: 'true' },
    variants: { type: 'string', default: '30000/3000/none,6000/600/none,30000/3000/leave' },
    'crash-actors': { type: 'string', default: '4' },
    chunk: { type: 'string', default: '2000' },
    'young-mb': { type: 'string', default: '0' },
  },
})
const RESULTS = path.join(ROOT, 'bench/results/proto-actor-consumers.jsonl')
const nums = (s: string) => s.split(',').map(Number)

function child(cores: number, extra: string[]): Record<string, unknown> {
  const argv = [
    ...(cores === 1 ? ['taskset', '-c', '0'] : []),
    process.execPath,
    path.join(ROOT, 'dist/bench/proto/actor-consumers.js'),
    '--topic',
    args.topic!,
    ...extra,
  ]
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 300_000 })
  const line = r.stdout.trim().split('\n').at(-1) ?? ''
  let out: Record<string, unknown>
  try {
    out = JSON.parse(line) as Record<string, unknown>
  } catch {
    out = { failed: true, status: r.status, stderr: r.stderr.slice(-2000) }
  }
  out = { cores, at: new Date().toISOString(), topic: args.topic, ...out }
  appendFileSync(RESULTS, JSON.stringify(out) + '\n')
  console.log(JSON.stringify(out))
  return out
}

const command = positionals[0]
if (command === 'load') {
  const topic = uniqueName('proto_load')
  await createNamedTopic(topic, Number(args.partitions))
  await load(topic, Number(args.partitions), Number(args.events))
  console.log(topic)
} else if (command === 'tput') {
  for (let round = 0; round < Number(args.rounds); round++) {
    const cores = nums(args.cores!)
    const actors = nums(args.actors!)
    // Alternate the order round by round, so a drift of the shared machine hits all alike.
    if (round % 2) actors.reverse()
    for (const c of cores) {
      if (args.ceiling === 'true') child(c, ['--mode', 'ceiling'])
      for (const n of actors) {
        progress(`round ${round} cores ${c} actors ${n}`)
        child(c, ['--mode', 'tput', '--actors', String(n), '--chunk', args.chunk!, '--young-mb', args['young-mb']!])
      }
    }
  }
} else if (command === 'crash') {
  for (const v of args.variants!.split(',')) {
    const [session, heartbeat, mitigation] = v.split('/')
    progress(`crash session ${session} heartbeat ${heartbeat} mitigation ${mitigation}`)
    child(2, [
      '--mode',
      'crash',
      '--actors',
      args['crash-actors']!,
      '--session-ms',
      session!,
      '--heartbeat-ms',
      heartbeat!,
      '--mitigation',
      mitigation!,
    ])
  }
} else {
  throw new Error('usage: run.js load | tput | crash (see the header)')
}
