import { log } from '../shared/log.js'
import type { ConsumerControl } from './consumer-control.js'
import type { Part, PartitionTable } from './partition-table.js'

// Kafka's fetch position against where counting stands. Postgres, not Kafka, knows where each
// partition resumes, and kafkajs moves a fetch position on its own in more than one way; each
// guard below answers one case seen in the tests (e2e, outages, zombie) and must stay.

/**
 * kafkajs answers an out-of-range fetch by moving the partition to the log start or end
 * ("resetting to default offset"), seen after rebalances: a fetch that started past the next
 * offset to count (`fetchedOffset` > dispatched) would skip records without a trace, so it
 * is sent back there — unless retention has deleted them (the log now starts past it), where
 * the log start is all there is. kafkajs also moves past records it drops itself (aborted
 * transactions, transaction markers); a seek back that comes back to the same fetch offset
 * shows that, and the batch is taken. Resolves true if the batch may be counted, false if it
 * is dropped (sent back, or `current()` says the partition changed hands meanwhile).
 */
export async function fetchStartOk(part: Part, fetchedOffset: string, consumer: ConsumerControl, current: () => boolean): Promise<boolean> {
  if (BigInt(fetchedOffset) <= part.flow.dispatched) return true
  const low = await consumer.lowOffsets().then(
    (lows) => BigInt(lows.get(part.partition) ?? '0'),
    () => 0n,
  )
  if (!current()) return false
  const partition = part.partition
  const next = part.flow.dispatched.toString()
  if (low <= part.flow.dispatched) {
    // Sent back to `next` already, and kafkajs came back from the same offset again: it read
    // [next, fetched) and skipped it itself — records of aborted transactions and transaction
    // markers, which it drops in read_committed — so there is nothing there to count.
    const seekBack = part.seekBack
    if (seekBack?.to === part.flow.dispatched && seekBack.fetched === fetchedOffset) {
      part.seekBack = null
      log.warn('offsets skipped by the Kafka client (aborted transactions or transaction markers); going on after them', {
        partition,
        from: next,
        to: fetchedOffset,
      })
      return true
    }
    log.warn('fetch started past the next offset to count; seeking back', { partition, fetched: fetchedOffset, next })
    part.seekBack = { to: part.flow.dispatched, fetched: fetchedOffset }
    consumer.seek(partition, next)
    return false
  }
  log.warn('records deleted from Kafka before they were counted (retention); going on from the log start', {
    partition,
    from: next,
    logStart: low.toString(),
  })
  return true
}

/**
 * The first batch after a claim must not start past the stored position (Kafka's position may
 * be ahead of Postgres): if it does, the consumer is sent back and false returned.
 */
export function firstBatchOk(part: Part, firstOffset: string, consumer: ConsumerControl): boolean {
  if (!part.checkFirstBatch) return true
  part.checkFirstBatch = false
  if (BigInt(firstOffset) <= part.flow.dispatched) return true
  const stored = part.flow.dispatched.toString()
  log.warn('fetch position ahead of Postgres; seeking back', { partition: part.partition, fetched: firstOffset, stored })
  consumer.seek(part.partition, stored)
  return false
}

/** How long a partition may go without a batch before its fetch position is set again (see reassertPositions). */
export const POSITION_WATCHDOG_MS = 5_000

/**
 * kafkajs can move a partition's fetch position to the log end on its own (its answer to an
 * OFFSET_OUT_OF_RANGE, seen from the broker just after a restart): if no more records come,
 * no batch ever shows the jump. An active, unpaused partition that got no batch for
 * POSITION_WATCHDOG_MS is sent back to where counting stands; for a partition that is simply
 * idle this seek changes nothing.
 */
export function reassertPositions(parts: PartitionTable, consumer: ConsumerControl, nowMs: number): void {
  for (const part of parts.values()) {
    if (part.state !== 'active' || part.paused || nowMs - part.lastBatchMs < POSITION_WATCHDOG_MS) continue
    part.lastBatchMs = nowMs
    try {
      consumer.seek(part.partition, part.flow.dispatched.toString())
    } catch (err) {
      log.debug('position watchdog: seek refused', { partition: part.partition, error: err as Error }) // consumer restarting; next round
    }
  }
}
