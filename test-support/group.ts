// Helpers for tests that run several supervisors in one consumer group: who owns which
// partition (as each supervisor says, and as Postgres says), a paced producer so the
// stream is still flowing while processes die.
import { kafka, messagesOf, type Produced } from './broker.js'
import { query } from './postgres.js'
import type { Supervisor } from './supervisor-process.js'
import { waitFor } from './wait.js'

/** The partitions a supervisor holds and has claimed, or null while it does not answer. */
export async function activePartitions(sup: Supervisor): Promise<number[] | null> {
  try {
    const { body } = await sup.readyz()
    return (body.partitions as { partition: number; state: string }[]).filter((p) => p.state === 'active').map((p) => p.partition)
  } catch {
    return null
  }
}

/** Waits until `partitions` are all active at one of `sups` (taken over from a dead or frozen member); fails with `what` after timeoutMs. */
export async function waitHeldBy(
  sups: Supervisor[],
  partitions: number[],
  what: string,
  timeoutMs = 120_000,
  everyMs = 100,
): Promise<void> {
  await waitFor(
    async () => {
      const held = new Set<number>()
      for (const s of sups) for (const p of (await activePartitions(s)) ?? []) held.add(p)
      return partitions.every((p) => held.has(p))
    },
    what,
    timeoutMs,
    everyMs,
  )
}

/** Each supervisor's active partitions, read one after another. */
export async function sharing(sups: Supervisor[]): Promise<(number[] | null)[]> {
  const out: (number[] | null)[] = []
  for (const s of sups) out.push(await activePartitions(s))
  return out
}

/**
 * Waits until every supervisor answers with a non-empty share, the shares cover all
 * `partitions`, and two reads in a row agree (a rebalance is not half-way through).
 * Returns the shares; whether they are disjoint is for the caller to check, unless
 * `disjoint` makes it part of the wait (a thawed zombie lists partitions it lost).
 */
export async function waitStableSharing(
  sups: Supervisor[],
  partitions: number,
  what: string,
  timeoutMs = 120_000,
  disjoint = false,
): Promise<number[][]> {
  const deadline = Date.now() + timeoutMs
  let previous = ''
  for (;;) {
    const dead = sups.findIndex((s) => s.proc.exitCode !== null || s.proc.signalCode !== null)
    if (dead >= 0)
      throw new Error(`supervisor ${dead} exited (${sups[dead]!.proc.exitCode ?? sups[dead]!.proc.signalCode}) while waiting for ${what}`)
    const shares = await sharing(sups)
    const key = JSON.stringify(shares)
    const covered = new Set(shares.flatMap((s) => s ?? []))
    const held = shares.reduce((n, s) => n + (s?.length ?? 0), 0)
    if (
      shares.every((s) => s !== null && s.length > 0) &&
      covered.size === partitions &&
      (!disjoint || held === partitions) &&
      key === previous
    )
      return shares as number[][]
    previous = key
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last shares ${key}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}

/** tumbler_progress per partition: owner (host:pid:id), epoch, next offset. */
export async function progressRows(url: string, topic: string): Promise<Map<number, { owner: string; epoch: string; nextOffset: string }>> {
  try {
    const rows = await query<{ partition: number; owner: string; epoch: string; next_offset: string }>(
      url,
      'SELECT partition, owner, epoch, next_offset FROM tumbler_progress WHERE topic = $1',
      [topic],
    )
    return new Map(rows.map((r) => [r.partition, { owner: r.owner, epoch: r.epoch, nextOffset: r.next_offset }]))
  } catch {
    return new Map() // the database or the table is not there yet
  }
}

/** The pid a progress row's owner names (owner = host:pid:random). */
export const ownerPid = (owner: string) => Number(owner.split(':').at(-2))

/**
 * Produces `records` at about `perSecond` (in chunks, one idempotent producer, in order per
 * partition), so the stream keeps flowing while the test kills or stops processes. Pacing
 * is load shaping, not synchronisation.
 */
export async function producePaced(topic: string, records: Produced[], perSecond: number, sent = { n: 0 }, chunk = 2000): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
  await producer.connect()
  try {
    const started = Date.now()
    for (let i = 0; i < records.length; i += chunk) {
      const due = started + (i / perSecond) * 1000
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()))
      const messages = messagesOf(records.slice(i, i + chunk))
      await producer.send({ topic, acks: -1, messages })
      sent.n += messages.length
    }
  } finally {
    await producer.disconnect()
  }
}
