// Prototype (issue 13): one process whose window actors are each a kafkajs consumer in the
// group (bench/proto/actor.ts), partitions spread by tumbler's assigner (./assigner.ts).
// Prints one JSON line on stdout. Modes:
//   --mode tput  --actors N: read the topic to its end; events/s, peak RSS, heartbeat gaps.
//   --mode crash --actors N [--session-ms S --heartbeat-ms H --mitigation none|leave]:
//     terminate actor 0 mid-run, start a replacement at once, and time the rebalance.
//   --mode ceiling: one bare kafkajs consumer (bench/ceilings.ts) on the same topic.
// Run by bench/proto/run.ts, under the machine-wide lock.
import { readFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import { Worker } from 'node:worker_threads'
import { Kafka, logLevel } from 'kafkajs'
import { kafkajsCeiling } from '../ceilings.js'
import { BROKERS } from '../../test-support/broker.js'
import { uniqueName } from '../../test-support/names.js'
import { PARTITION_BASE, type ActorEvent, type ProtoActorData } from './messages.js'
import type { AssignDecision } from './assigner.js'

const { values: args } = parseArgs({
  options: {
    mode: { type: 'string', default: 'tput' },
    topic: { type: 'string' },
    actors: { type: 'string', default: '2' },
    'session-ms': { type: 'string', default: '30000' },
    'heartbeat-ms': { type: 'string', default: '3000' },
    chunk: { type: 'string', default: '2000' },
    mitigation: { type: 'string', default: 'none' },
    'crash-after-ms': { type: 'string', default: '1500' },
    // V8 young generation per actor (resourceLimits), MB; 0 = Node's default.
    'young-mb': { type: 'string', default: '0' },
  },
})
const topic = args.topic!
const launchedAt = Date.now()

function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
  return m ? Math.round(Number(m[1]) / 1024) : NaN
}

/** Each partition's end offset (the loaded topic is not written to while this runs). */
async function endOffsets(): Promise<number[]> {
  const admin = new Kafka({ clientId: 'proto-main', brokers: BROKERS, logLevel: logLevel.NOTHING }).admin()
  await admin.connect()
  const offsets = await admin.fetchTopicOffsets(topic)
  await admin.disconnect()
  const ends: number[] = []
  for (const o of offsets) ends[o.partition] = Number(o.high)
  return ends
}

/**
 * LeaveGroup on behalf of another member. kafkajs' admin has no such call; its Cluster does
 * (coordinator.leaveGroup), reachable only through the client's private createCluster symbol.
 */
async function leaveGroupFor(groupId: string, memberId: string): Promise<{ sentAt: number; doneAt: number; error?: string }> {
  const kafka = new Kafka({ clientId: 'proto-main-leave', brokers: BROKERS, logLevel: logLevel.NOTHING })
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster')!
  type Coordinator = { leaveGroup(a: { groupId: string; memberId: string }): Promise<unknown> }
  type Cluster = {
    connect(): Promise<void>
    disconnect(): Promise<void>
    findGroupCoordinator(a: { groupId: string }): Promise<Coordinator>
  }
  const cluster = (kafka as unknown as Record<symbol, (o: object) => Cluster>)[symbol]!({})
  const sentAt = Date.now()
  try {
    await cluster.connect()
    const coordinator = await cluster.findGroupCoordinator({ groupId })
    await coordinator.leaveGroup({ groupId, memberId })
    return { sentAt, doneAt: Date.now() }
  } catch (err) {
    return { sentAt, doneAt: Date.now(), error: String(err) }
  } finally {
    await cluster.disconnect().catch(() => {})
  }
}

if (args.mode === 'ceiling') {
  const ends = await endOffsets()
  const total = ends.reduce((a, b) => a + b, 0)
  const r = await kafkajsCeiling(topic, total)
  console.log(
    JSON.stringify({ mode: 'ceiling', ...r, fromLaunch: Math.round(total / ((Date.now() - launchedAt) / 1000)), peakRssMb: peakRssMb() }),
  )
  process.exit(0)
}

const actors = Number(args.actors)
const crash = args.mode === 'crash'
const ends = await endOffsets()
const total = ends.reduce((a, b) => a + b, 0)
const groupId = uniqueName('proto')
const processId = `${process.pid}-${randomBytes(3).toString('hex')}`
const progress = new SharedArrayBuffer(4 * (PARTITION_BASE + ends.length))
const counters = new Int32Array(progress)
const events: ActorEvent[] = []
const logs = new Map<number, Extract<ActorEvent, { type: 'log' }>>()
const workers = new Map<number, Worker>()
let nextSlot = 0

function startActor(index: number): number {
  const slot = nextSlot++
  const data: ProtoActorData = {
    index,
    slot,
    process: processId,
    groupId,
    topic,
    brokers: BROKERS,
    sessionTimeout: Number(args['session-ms']),
    heartbeatInterval: Number(args['heartbeat-ms']),
    chunk: Number(args.chunk),
    autoCommit: crash,
    progress,
  }
  const youngMb = Number(args['young-mb'])
  const w = new Worker(new URL('./actor.js', import.meta.url), {
    workerData: data,
    ...(youngMb > 0 && { resourceLimits: { maxYoungGenerationSizeMb: youngMb } }),
  })
  w.on('message', (e: ActorEvent | { type: 'flush' }) => {
    if (e.type === 'flush') return
    if (e.type === 'log') logs.set(e.slot, e)
    else events.push(e)
  })
  w.on('error', (err) => events.push({ type: 'crash', slot, t: Date.now(), error: String(err) }))
  workers.set(slot, w)
  return slot
}

const maxSeen = ends.map(() => 0)
const done = () => {
  for (let p = 0; p < ends.length; p++) maxSeen[p] = Math.max(maxSeen[p]!, Atomics.load(counters, PARTITION_BASE + p))
  return maxSeen.every((v, p) => v >= ends[p]!)
}
const waitFor = async (cond: () => boolean, what: string, timeoutMs = 240_000) => {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}
const assigns = () => events.filter((e): e is Extract<ActorEvent, { type: 'assign' }> => e.type === 'assign')
const joins = () => events.filter((e): e is Extract<ActorEvent, { type: 'join' }> => e.type === 'join')
/** The last decision that gave partitions to `actors` members, and the time every one of them joined. */
function fullGroup(after = 0): { decision: AssignDecision; t: number; joinedAt: number } | null {
  const a = assigns().filter((x) => x.t >= after && x.decision.members.length === actors)
  const last = a.at(-1)
  if (!last) return null
  const ids = new Set(last.decision.members.map((m) => m.memberId))
  const js = joins().filter((j) => j.t >= last.t && ids.has(j.memberId))
  if (new Set(js.map((j) => j.memberId)).size < ids.size) return null
  return { decision: last.decision, t: last.t, joinedAt: Math.max(...js.map((j) => j.t)) }
}

for (let i = 0; i < actors; i++) startActor(i)

const result: Record<string, unknown> = { mode: args.mode, actors, chunk: Number(args.chunk), youngMb: Number(args['young-mb']), total }
let crashAt = 0
if (crash) {
  await waitFor(() => fullGroup() !== null, 'the full group')
  const first = fullGroup()!
  await new Promise((r) => setTimeout(r, Number(args['crash-after-ms'])))
  const victim = joins()
    .filter((j) => j.slot === 0)
    .at(-1)!
  crashAt = Date.now()
  await workers.get(0)!.terminate()
  const terminatedAt = Date.now()
  const replacement = startActor(0)
  const leave = args.mitigation === 'leave' ? await leaveGroupFor(groupId, victim.memberId) : null
  await waitFor(
    () => assigns().some((a) => a.t > crashAt && !a.decision.members.some((m) => m.memberId === victim.memberId)),
    'a decision without the victim',
  )
  Object.assign(result, {
    sessionMs: Number(args['session-ms']),
    heartbeatMs: Number(args['heartbeat-ms']),
    mitigation: args.mitigation,
    victim: { memberId: victim.memberId, partitions: victim.partitions },
    firstFullGroupMs: first.joinedAt - launchedAt,
    terminateMs: terminatedAt - crashAt,
    leave: leave && { sentMs: leave.sentAt - crashAt, doneMs: leave.doneAt - crashAt, error: leave.error },
    replacementSlot: replacement,
  })
}
await waitFor(done, 'the topic read to its end')
const doneAt = Date.now()
for (const w of workers.values()) w.postMessage({ type: 'report' })
await waitFor(() => logs.size === workers.size - (crash ? 1 : 0), 'the actors logs', 10_000)
const parsed = Array.from({ length: nextSlot }, (_, s) => Atomics.load(counters, s)).reduce((a, b) => a + b, 0)
const full = fullGroup()

// The largest gap between two heartbeats an actor had accepted, while records were read.
const heartbeatGaps = [...logs.values()].map((l) => {
  let gap = 0
  for (let i = 1; i < l.heartbeats.length; i++) gap = Math.max(gap, l.heartbeats[i]! - l.heartbeats[i - 1]!)
  return gap
})
Object.assign(result, {
  seconds: (doneAt - launchedAt) / 1000,
  eventsPerSecondFromLaunch: Math.round(total / ((doneAt - launchedAt) / 1000)),
  parsedRecords: parsed,
  peakRssMb: peakRssMb(),
  maxHeartbeatGapMs: Math.max(...heartbeatGaps),
  heartbeatIntervalMs: Number(args['heartbeat-ms']),
  crashes: events.filter((e) => e.type === 'crash').map((e) => (e as { error: string }).error),
})
if (!crash && full) {
  // Every record is read again after the last rebalance (no commits): time from the full group.
  Object.assign(result, {
    fullGroupMs: full.joinedAt - launchedAt,
    eventsPerSecond: Math.round(total / ((doneAt - full.joinedAt) / 1000)),
    rebalancesBeforeFull: assigns().length - 1,
  })
}
if (crash) {
  const rel = (t: number) => t - crashAt
  const victim = result.victim as { memberId: string; partitions: number[] }
  const decisionWithout = assigns().find((a) => a.t > crashAt && !a.decision.members.some((m) => m.memberId === victim.memberId))!
  const joinsAfter = joins().filter((j) => j.t >= decisionWithout.t)
  // Per partition: first batch read after the crash and after the new decision.
  const allBatches = [...logs.entries()].flatMap(([slot, l]) => l.batches.map(([s, e, p, n]) => ({ slot, s, e, p, n })))
  const partitions = ends.map((_, p) => {
    const after = allBatches.filter((b) => b.p === p && b.s >= decisionWithout.t).sort((a, b) => a.s - b.s)[0]
    const lastBefore = allBatches.filter((b) => b.p === p && b.e <= decisionWithout.t).sort((a, b) => b.e - a.e)[0]
    return { p, victims: victim.partitions.includes(p), lastBeforeMs: lastBefore && rel(lastBefore.e), resumedMs: after && rel(after.s) }
  })
  // Healthy actors: the longest time without a batch in progress, around the rebalance.
  const healthy = [...logs.entries()]
    .filter(([slot]) => slot !== 0 && slot !== result.replacementSlot)
    .map(([slot, l]) => {
      const bs = l.batches.filter((b) => b[1] >= crashAt - 2000).sort((a, b) => a[0] - b[0])
      let gap = 0
      let from = 0
      let busyUntil = bs[0]?.[1] ?? crashAt
      for (const [s, e] of bs.slice(1)) {
        if (s - busyUntil > gap) {
          gap = s - busyUntil
          from = busyUntil
        }
        busyUntil = Math.max(busyUntil, e)
      }
      return { slot, pauseMs: gap, pauseFromMs: rel(from), pauseToMs: rel(from + gap) }
    })
  Object.assign(result, {
    timeline: {
      rebalancingSeenMs: events
        .filter((e): e is Extract<ActorEvent, { type: 'rebalancing' }> => e.type === 'rebalancing' && e.t > crashAt)
        .map((e) => `${e.slot}@${rel(e.t)}`),
      joinGroupRequests: events
        .filter((e): e is Extract<ActorEvent, { type: 'request' }> => e.type === 'request' && e.t > crashAt && e.api === 'JoinGroup')
        .map((e) => `${e.slot}: sent ${rel(e.sentAt)} took ${e.duration}`),
      decisionWithoutVictimMs: rel(decisionWithout.t),
      decisionMembers: decisionWithout.decision.members.length,
      decisionsAfterCrash: assigns()
        .filter((a) => a.t > crashAt)
        .map((a) => `${rel(a.t)}:${a.decision.members.length}`),
      allJoinedMs: joinsAfter.length ? rel(Math.max(...joinsAfter.map((j) => j.t))) : null,
      everyPartitionResumedMs: Math.max(...partitions.map((p) => p.resumedMs ?? Infinity)),
      partitions,
      healthy,
      // A healthy actor consumes nothing from the moment it learns of the rebalance (its
      // heartbeat or fetch gets REBALANCE_IN_PROGRESS) until it has joined again: its JoinGroup blocks.
      healthyStalls: healthy.map(({ slot }) => {
        const seen = events.find((e) => e.type === 'rebalancing' && e.slot === slot && e.t > crashAt) as { t: number } | undefined
        const joined = joinsAfter.find((j) => j.slot === slot)
        return { slot, fromMs: seen && rel(seen.t), toMs: joined && rel(joined.t), stallMs: seen && joined ? joined.t - seen.t : null }
      }),
    },
  })
}
console.log(JSON.stringify(result))
for (const w of workers.values()) void w.terminate()
process.exit(0)
