import type pg from 'pg'
import { claimPartition } from '../postgres/schema.js'
import { log } from '../shared/log.js'
import { retry } from '../shared/retry.js'
import type { ActorClient } from './clients.js'
import type { ConsumerControl } from './consumer-control.js'
import { IdleWatch } from './idle-watch.js'
import { InFlight, type InFlightLimits } from '../shared/in-flight.js'
import type { Part, PartitionTable } from './partition-table.js'

// The claim (docs/architecture.md, "The commit protocol", step 1): every recovery — a group
// join, a thread crash, a fenced commit — takes a partition the same way: bump its epoch in
// Postgres, reset its actor to the stored position, seek the consumer there.

/** What a claim needs from the coordinator. */
export interface ClaimContext {
  parts: PartitionTable
  db: pg.Pool
  topic: string
  owner: string
  actors: ActorClient[]
  consumer: ConsumerControl
  limits: InFlightLimits
  /** IDLE_PARTITION_SECONDS in ms; 0 = never idle. */
  idleMs: number
  stopping(): boolean
  /** A claim finished: the partition is active at its stored position (count it, resume it). */
  claimed(part: Part): void
}

/** Waits between attempts of a claim that failed (Postgres or Kafka away). */
const CLAIM_BACKOFF = { baseMs: 200, maxMs: 5000 }

/**
 * Claims these partitions, each retried until it holds or is superseded (released, or claimed
 * again: its generation moved on). Each is paused in the consumer until its claim is done.
 */
export function claim(ctx: ClaimContext, partitions: number[]): void {
  const claims = partitions.map((partition) => {
    const previous = ctx.parts.get(partition)
    const part: Part = {
      partition,
      actor: ctx.parts.actorFor(partition, ctx.actors.length),
      generation: (previous?.generation ?? 0) + 1,
      state: 'claiming',
      ready: Promise.resolve(false),
      epoch: previous?.epoch ?? '0',
      flow: new InFlight(ctx.limits, 0n),
      checkFirstBatch: true,
      seekBack: null,
      paused: previous?.paused ?? false,
      failure: null,
      lastBatchMs: Date.now(),
      idle: new IdleWatch(ctx.idleMs, Date.now()),
    }
    ctx.parts.set(partition, part)
    // Paused until claimed: a claim can wait on a row lock as long as a frozen owner's
    // transaction lives (up to 15 s), and dispatch() must not wait for it, since kafkajs
    // sends no heartbeat while a batch is in eachBatch.
    ctx.consumer.pause(partition)
    return part
  })
  let lows: Promise<Map<number, string>> | null = null
  for (const part of claims) {
    const generation = part.generation
    const current = () => ctx.parts.get(part.partition)?.generation === generation
    const attempt = async (): Promise<boolean> => {
      if (!current() || ctx.stopping()) return false
      lows ??= ctx.consumer.lowOffsets()
      const low = (await lows).get(part.partition) ?? '0'
      const claim = await claimPartition(ctx.db, ctx.topic, part.partition, ctx.owner, low)
      if (claim.skippedFrom !== null)
        log.warn('records deleted from Kafka before they were counted (retention); going on from the log start', {
          partition: part.partition,
          from: claim.skippedFrom,
          logStart: claim.nextOffset,
        })
      if (!current()) return false
      await ctx.actors[part.actor]!.assign({
        partition: part.partition,
        epoch: claim.epoch,
        nextOffset: claim.nextOffset,
        maxEventMs: claim.maxEventMs,
        idleWatermarkMs: claim.idleWatermarkMs,
      })
      if (!current()) return false
      part.epoch = claim.epoch
      part.flow = new InFlight(ctx.limits, BigInt(claim.nextOffset))
      part.state = 'active'
      // Idle time counts from the claim's commit, not from when it was asked for: a claim that
      // waited on a row lock must not shorten IDLE_PARTITION_SECONDS (the claim row's time is what operators see).
      part.idle.busy(Date.now())
      ctx.consumer.seek(part.partition, claim.nextOffset)
      ctx.claimed(part)
      log.info('claimed partition', { partition: part.partition, epoch: claim.epoch, nextOffset: claim.nextOffset, actor: part.actor })
      return true
    }
    part.ready = retry(attempt, {
      ...CLAIM_BACKOFF,
      onRetry: (err, attempt, backoffMs) => {
        lows = null
        log.warn('claim failed, retrying', { partition: part.partition, attempt, backoffMs, error: err as Error })
      },
    }).then((r) => r.value)
  }
}
