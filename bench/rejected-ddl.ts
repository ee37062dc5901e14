// `node dist/bench/rejected-ddl.js [--seconds N]`: what the rejected_events retention DDL
// (src/postgres/rejected-retention.ts) costs the commits that store rejected records, on a scratch
// database. Writer-like transactions (BEGIN; INSERT 10 rejected rows … ON CONFLICT DO NOTHING;
// COMMIT) run back to back on 4 connections for N seconds, first alone, then while retention
// passes run every 100 ms on a clock that advances one day per pass, so that each pass ATTACHes
// one daily partition and DROPs one (an hour's work of a real supervisor is one such pass a day).
// Prints the transactions' latency percentiles for both phases as JSON and a human line.
import { parseArgs } from 'node:util'
import pg from 'pg'
import { ensureDatabase, migrate } from '../src/postgres/schema.js'
import { runRetentionPass } from '../src/postgres/rejected-retention.js'
import { uniqueName } from '../test-support/names.js'
import { dropDatabase, PG_BASE } from '../test-support/postgres.js'
import { percentile } from './lib.js'

const DAY_MS = 86_400_000
const WRITERS = 4
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '10' } } })
const seconds = Number(values.seconds)

interface Phase {
  transactions: number
  p50Ms: number
  p99Ms: number
  maxMs: number
  passes: number
  created: number
  dropped: number
  skipped: number
}

async function phase(url: string, withDdl: boolean, start: number): Promise<Phase> {
  let clock = start
  let offset = 0
  let stop = false
  const latencies: number[] = []
  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    while (!stop) {
      const kafkaTs = new Date(clock + 1000 * w).toISOString()
      const first = (offset += 10)
      const t0 = performance.now()
      await c.query('BEGIN')
      await c.query(
        `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, payload_bytes, payload_sha256, kafka_timestamp)
         SELECT 'bench', $1, g, 'invalid_json', 'bench', '\\x7b7b', 2, sha256('\\x7b7b'), $3 FROM generate_series($2::bigint, $2::bigint + 9) g
         ON CONFLICT (kafka_timestamp, topic, partition, "offset") DO NOTHING`,
        [w, first, kafkaTs],
      )
      await c.query('COMMIT')
      latencies.push(performance.now() - t0)
    }
    await c.end()
  })
  const result = { passes: 0, created: 0, dropped: 0, skipped: 0 }
  const ddl = (async () => {
    if (!withDdl) return
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    while (!stop) {
      const r = await runRetentionPass(c, 30, clock)
      result.passes++
      result.created += r.created.length
      result.dropped += r.dropped.length
      result.skipped += r.skipped.length
      clock += DAY_MS
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    await c.end()
  })()
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000))
  stop = true
  await Promise.all([...writers, ddl])
  latencies.sort((a, b) => a - b)
  const ms = (v: number) => Math.round(v * 100) / 100
  return {
    transactions: latencies.length,
    p50Ms: ms(percentile(latencies, 50)),
    p99Ms: ms(percentile(latencies, 99)),
    maxMs: ms(latencies.at(-1) ?? 0),
    ...result,
  }
}

const name = uniqueName('tumbler_rejected_ddl')
const url = `${PG_BASE}/${name}`
try {
  await ensureDatabase(url)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  await migrate(pool)
  await pool.end()
  const start = Math.floor(Date.now() / DAY_MS) * DAY_MS
  // The first pass creates the 34 partitions of a fresh table; not measured.
  const setup = new pg.Client({ connectionString: url })
  await setup.connect()
  await runRetentionPass(setup, 30, start)
  await setup.end()
  const alone = await phase(url, false, start)
  const withDdl = await phase(url, true, start)
  process.stdout.write(JSON.stringify({ seconds, writers: WRITERS, alone, withDdl }) + '\n')
  process.stderr.write(
    `rejected-ddl: writer transactions p50/p99/max ${alone.p50Ms}/${alone.p99Ms}/${alone.maxMs} ms alone, ${withDdl.p50Ms}/${withDdl.p99Ms}/${withDdl.maxMs} ms with ${withDdl.passes} passes (${withDdl.created} ATTACH, ${withDdl.dropped} DROP, ${withDdl.skipped} skipped)\n`,
  )
} finally {
  await dropDatabase(name)
}
