import { log } from '../src/shared/log.js'
import { sqlState } from '../src/shared/pg-errors.js'
import type { PartitionFailure, PartitionFlush } from '../src/shared/protocol.js'
import { mergeCommitted, type Committed } from './commit-plan.js'

/**
 * Postgres refused the transaction of all these flushes for a reason that does not go away
 * (`refusal`, a deterministic error: src/shared/pg-errors.ts; docs/architecture.md "Failure
 * classification"). One transaction per partition, through `attempt` (which still retries
 * transient errors), then finds the partitions it refuses (a CHECK or trigger on one category,
 * a total one partition's delta pushes past the column): those are reported as failed, the
 * others are committed. Each partition is tried once more here, never in a loop; in partition
 * order, so a partition's data is judged against what the ones before it committed.
 */
export async function isolate(
  flushes: PartitionFlush[],
  refusal: unknown,
  attempt: (flushes: PartitionFlush[]) => Promise<Committed>,
): Promise<Committed> {
  const byPartition = new Map<number, PartitionFlush[]>()
  for (const f of flushes) byPartition.set(f.partition, [...(byPartition.get(f.partition) ?? []), f])
  const partitions = [...byPartition.keys()].sort((a, b) => a - b)
  log.error('Postgres refused the commit (not retried); committing each partition alone to find the ones it refuses', {
    partitions,
    sqlstate: sqlState(refusal),
    error: refusal as Error,
  })
  const results: Committed[] = []
  const failed: PartitionFailure[] = []
  for (const partition of partitions) {
    const own = byPartition.get(partition)!
    try {
      // With one partition, the refusal already is its own.
      if (partitions.length === 1) throw refusal
      results.push(await attempt(own))
    } catch (err) {
      const failure: PartitionFailure = {
        partition,
        epoch: own.at(-1)!.epoch,
        fromOffset: own[0]!.fromOffset,
        sqlstate: sqlState(err) ?? '?????',
        message: (err as Error).message,
      }
      log.error('partition failed: Postgres refuses its commit', { ...failure, error: err as Error })
      failed.push(failure)
    }
  }
  return mergeCommitted(results, failed)
}
