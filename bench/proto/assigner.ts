import { AssignerProtocol, type Assigner, type GroupMember, type PartitionAssigner } from 'kafkajs'

// Prototype (issue 13): the partition → member decision in tumbler's code. Every member of
// the consumer group is one window actor; it announces the process (supervisor) it lives in
// and its actor index in the member metadata's userData. The group leader's assign() spreads
// the partitions over processes first, then over each process's actors, so a process with
// more actors does not take more partitions than another, and a deterministic order gives an
// actor back the same partitions after every (eager) rebalance.

/** What a member announces: the supervisor it lives in (unique per process run) and its actor index there. */
export interface ActorIdentity {
  process: string
  actor: number
}

/** What the leader saw and decided, for the benchmark's timeline. */
export interface AssignDecision {
  members: { memberId: string; process: string; actor: number }[]
  assignment: Record<string, number[]>
}

/** Version of the userData layout below; a member announcing another one is refused. */
const VERSION = 1
export const ASSIGNER_NAME = 'TumblerActorAssigner'

/** `n` items dealt over `k` holders as evenly as possible: holder i gets items i, i+k, i+2k, ... */
function deal<T>(items: readonly T[], holders: number): T[][] {
  const out: T[][] = Array.from({ length: holders }, () => [])
  items.forEach((item, i) => out[i % holders]!.push(item))
  return out
}

/**
 * Partitions of `partitions` (ids, any order) for each member: round-robin over the processes
 * (sorted by id), then round-robin over each process's actors (sorted by index; member id
 * breaks a tie, e.g. a replacement joined before the dead actor was removed). Pure: the unit
 * of the assigner's rule. Throws on a member with no or malformed userData.
 */
export function spread(
  members: readonly { memberId: string; identity: ActorIdentity }[],
  partitions: readonly number[],
): Map<string, number[]> {
  const byProcess = new Map<string, { memberId: string; identity: ActorIdentity }[]>()
  for (const m of members) {
    const list = byProcess.get(m.identity.process) ?? []
    list.push(m)
    byProcess.set(m.identity.process, list)
  }
  const processes = [...byProcess.keys()].sort()
  const sorted = [...partitions].sort((a, b) => a - b)
  const out = new Map<string, number[]>(members.map((m) => [m.memberId, []]))
  deal(sorted, processes.length).forEach((share, i) => {
    const actors = byProcess.get(processes[i]!)!.sort((a, b) => a.identity.actor - b.identity.actor || (a.memberId < b.memberId ? -1 : 1))
    deal(share, actors.length).forEach((ps, j) => out.get(actors[j]!.memberId)!.push(...ps))
  })
  return out
}

function identityOf(member: GroupMember): ActorIdentity {
  const userData = AssignerProtocol.MemberMetadata.decode(member.memberMetadata)?.userData
  const raw = JSON.parse(userData?.toString('utf8') || '{}') as { v?: number } & Partial<ActorIdentity>
  if (raw.v !== VERSION || typeof raw.process !== 'string' || typeof raw.actor !== 'number')
    throw new Error(`group member ${member.memberId} announces no tumbler actor identity (v${VERSION})`)
  return { process: raw.process, actor: raw.actor }
}

/**
 * A kafkajs `partitionAssigners` entry for one actor's consumer: `self` is announced in the
 * JoinGroup metadata; `onAssign` (leader only) sees each decision.
 */
export function actorAssigner(self: ActorIdentity, onAssign?: (d: AssignDecision) => void): PartitionAssigner {
  return ({ cluster }): Assigner => ({
    name: ASSIGNER_NAME,
    version: VERSION,
    async assign({ members, topics }) {
      const identified = members.map((m) => ({ memberId: m.memberId, identity: identityOf(m) }))
      const perTopic = topics.map((topic) => ({
        topic,
        shares: spread(
          identified,
          cluster.findTopicPartitionMetadata(topic).map((p) => p.partitionId),
        ),
      }))
      const decision: AssignDecision = {
        members: identified.map((m) => ({ memberId: m.memberId, ...m.identity })),
        assignment: {},
      }
      const result = members.map(({ memberId }) => {
        const assignment: Record<string, number[]> = {}
        for (const { topic, shares } of perTopic) assignment[topic] = shares.get(memberId)!
        decision.assignment[memberId] = perTopic.flatMap((t) => t.shares.get(memberId)!)
        return {
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: VERSION, assignment, userData: Buffer.alloc(0) }),
        }
      })
      onAssign?.(decision)
      return result
    },
    protocol({ topics }) {
      const userData = Buffer.from(JSON.stringify({ v: VERSION, ...self }))
      return { name: ASSIGNER_NAME, metadata: AssignerProtocol.MemberMetadata.encode({ version: VERSION, topics, userData }) }
    },
  })
}
