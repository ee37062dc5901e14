// Scenario "catch-up": N events are in the topic before the supervisor starts; how fast
// does category_sales reach the ground truth, and how much memory does it take?
import type { FetchMode } from '../src/shared/actor-fetch.js'
import { createNamedTopic, deleteTopic } from '../test-support/broker.js'
import { uniqueName } from '../test-support/names.js'
import { dropDatabase, PG_BASE, withDb } from '../test-support/postgres.js'
import { THIS_BUILD, type Build } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { countRebalances, load, progress, startSupervisor, type Truth } from './lib.js'

export interface CatchUpResult {
  events: number
  partitions: number
  seconds: number
  eventsPerSecond: number
  /** From the supervisor's start, including start-up and group join. */
  secondsFromStart: number
  peakRssMb: number
  rebalances: number
  totalsMatched: boolean
  topic: string
  /** KAFKA_FETCH of the supervisor: where records were fetched and decoded. */
  fetch: FetchMode
}

/**
 * Loads `events` into a fresh topic, then a supervisor per KAFKA_FETCH mode reads all of it, the
 * modes one after the other on the same topic (fresh group and database each). Returns the
 * topic (deleted unless `keepTopic`) and one result per mode, in the order of `modes`.
 */
export async function catchUp(
  events: number,
  partitions: number,
  modes: FetchMode[],
  keepTopic = false,
): Promise<{ topic: string; runs: CatchUpResult[] }> {
  const topic = uniqueName('bench')
  await createNamedTopic(topic, partitions)
  progress(`catch-up: loading ${events} events into ${partitions} partitions`)
  const truth = await load(topic, partitions, events)
  try {
    const runs: CatchUpResult[] = []
    for (const fetch of modes) {
      const r = await consumeLoaded(topic, truth, THIS_BUILD, { KAFKA_FETCH: fetch })
      progress(`catch-up ${events} (KAFKA_FETCH=${fetch}): ${r.eventsPerSecond} events/s, peak RSS ${r.peakRssMb} MB`)
      runs.push({ ...r, partitions, topic, fetch })
    }
    return { topic, runs }
  } finally {
    if (!keepTopic) await deleteTopic(topic)
  }
}

/**
 * One supervisor (of `build`) with a fresh consumer group and database reads the whole loaded
 * `topic`; timed from its first partition claim (right after the group join) until
 * category_sales holds `truth.count` records. Throws after 30 min.
 */
export async function consumeLoaded(
  topic: string,
  truth: Truth,
  build: Build = THIS_BUILD,
  env: Record<string, string> = {},
): Promise<Omit<CatchUpResult, 'partitions' | 'topic' | 'fetch'>> {
  const db = uniqueName('tumbler_bench')
  const url = `${PG_BASE}/${db}`
  const events = truth.count
  progress(`catch-up: starting the supervisor (${build.node})`)
  const started = Date.now()
  const sup = startSupervisor({ KAFKA_TOPIC: topic, KAFKA_GROUP_ID: uniqueName('g'), DATABASE_URL: url, ...env }, build)
  try {
    const sum = () =>
      withDb(
        url,
        async (c) =>
          (
            await c.query<{ n: string | null; cents: string | null }>(
              'SELECT sum(transaction_count)::text AS n, (sum(total_sales) * 100)::bigint::text AS cents FROM category_sales',
            )
          ).rows[0]!,
      )
    const firstClaim = await waitFor(
      async () => withDb(url, async (c) => ((await c.query('SELECT 1 FROM tumbler_progress LIMIT 1')).rowCount ? Date.now() : null)),
      'first claim',
      120_000,
      10,
    )
    let lastReport = Date.now()
    const done = await waitFor(
      async () => {
        const s = await sum()
        if (Date.now() - lastReport > 2000) {
          progress(`catch-up: ${s.n ?? 0}/${events} counted`)
          lastReport = Date.now()
        }
        return Number(s.n) >= truth.count ? { at: Date.now(), s } : null
      },
      'catch-up',
      30 * 60_000,
      50,
    )
    const seconds = (done.at - firstClaim) / 1000
    const totalsMatched = Number(done.s.n) === truth.count && BigInt(done.s.cents ?? -1) === truth.cents
    await sup.stop()
    return {
      events,
      seconds,
      eventsPerSecond: Math.round(events / seconds),
      secondsFromStart: (done.at - started) / 1000,
      peakRssMb: sup.peakRssMb(),
      rebalances: countRebalances(sup.logs),
      totalsMatched,
    }
  } finally {
    if (sup.proc.exitCode === null) sup.proc.kill('SIGKILL')
    await dropDatabase(db)
  }
}
