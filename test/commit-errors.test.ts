// A commit Postgres refuses for good (SQLSTATE class 22 or 23) stops only the partitions it
// belongs to, visibly, and is never retried in a loop; the other partitions go on exactly.
// Also: the numeric(38,2) migration on a database that has numeric(18,2) rows.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import t from 'tap'
import { migrate } from '../src/postgres/schema.js'
import { makeDataset } from '../test-support/dataset.js'
import { progressRows } from '../test-support/group.js'
import { createTopic, produce, type Produced } from '../test-support/broker.js'
import { ARTIFACTS } from '../test-support/paths.js'
import { databaseFor, PG_ADMIN_URL, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'
import { oracleTruth } from '../test-support/oracle.js'
import { parseMetrics, scrape, value } from '../test-support/prom-text.js'
import { assertMatchesTruth, waitCaughtUp } from '../test-support/verify.js'

const RULES = { windowMs: 60_000, latenessMs: 60_000, futureMs: 300_000 }

// A trigger that raises a data exception (22003, as a numeric(18,2) overflow did) for every
// category_sales row of the category 'Poison', which only partition 2 carries.
const POISON_TRIGGER = `
  CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.category = 'Poison' THEN
      RAISE EXCEPTION 'category % refused by the test', NEW.category USING ERRCODE = 'numeric_value_out_of_range';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON category_sales FOR EACH ROW EXECUTE FUNCTION refuse_poison();`

t.test(
  'Postgres refuses one partition’s commit for good: only it stops, visibly, without retries; the rest is exact; fixed and restarted, all counted once',
  async (t) => {
    const partitions = 4
    const bad = 2
    const third = 2000
    const data = makeDataset(partitions, 3 * third, 71)
    // Records i*partitions + p: the dataset in three parts of `third` records per partition.
    const part = (k: number) => data.records.slice(k * third * partitions, (k + 1) * third * partitions)
    const lastOfBad = part(0)
      .filter((r) => r.partition === bad)
      .at(-1)!
    // Three valid records of 'Poison' in the bad partition, at offsets third..third+2, in the
    // window the partition has reached (neither late nor future).
    const poison: Produced[] = [0, 1, 2].map((i) => ({
      partition: bad,
      value: JSON.stringify({
        product_category: 'Poison',
        amount: 12.34 + i,
        timestamp: new Date(lastOfBad.timestampMs - 500 - (lastOfBad.timestampMs % 1000)).toISOString(),
      }),
      timestampMs: lastOfBad.timestampMs,
    }))
    const all = [...part(0), ...poison, ...part(1), ...part(2)]
    const truth = oracleTruth(all, RULES)
    t.equal(truth.counted, data.truth.counted + poison.length, 'the oracle agrees with the dataset’s own ground truth, plus the poison')

    const topic = await createTopic(t, partitions)
    const db = databaseFor(t)
    const env = { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '100' }
    const logName = `commit-errors-${topic}`
    const logLines = (msg: string) =>
      readFileSync(path.join(ARTIFACTS, `${logName}.log`), 'utf8')
        .split('\n')
        .filter((l) => l.includes(`"msg":"${msg}`)).length

    // 1. The first part is counted, then the database starts refusing 'Poison'.
    await produce(topic, part(0))
    let sup = await startSupervisor(t, env, logName)
    await waitCaughtUp(db.url, topic, part(0).length)
    await query(db.url, POISON_TRIGGER)

    // 2. The poison and the second part: partition 2 fails at the poison, the others go on.
    await produce(topic, [...poison, ...part(1)])
    const failedAt = String(third)
    const others = [...Array(partitions).keys()].filter((p) => p !== bad)
    const othersAt = async (offset: number) => {
      const rows = await progressRows(db.url, topic)
      return others.every((p) => rows.get(p)?.nextOffset === String(offset))
    }
    await waitFor(() => othersAt(2 * third), 'the other partitions to count the second part')
    const ready = await waitFor(async () => {
      const r = await sup.readyz()
      return r.status === 503 && r.body.failed?.length ? r : null
    }, 'readyz to report the failed partition')
    t.match(
      ready.body.reason,
      new RegExp(`^partitions failed: .*partition ${bad} at offset ${failedAt}: SQLSTATE 22003 category Poison refused by the test`),
      `readyz 503 says why: ${ready.body.reason}`,
    )
    t.match(ready.body.failed, [{ partition: bad, fromOffset: failedAt, sqlstate: '22003' }], 'and lists it')
    t.same(
      ready.body.failed.map((f: { partition: number }) => f.partition),
      [bad],
      'only that partition',
    )
    t.match(
      ready.body.partitions.find((p: { partition: number }) => p.partition === bad),
      { committed: failedAt, failed: { sqlstate: '22003' } },
    )
    const summary = (await (await fetch(`http://127.0.0.1:${sup.port}/api/summary`)).json()) as { pipeline: { state: string } }
    t.equal(summary.pipeline.state, 'failed', 'the page shows the pipeline as failed')

    const scrapeNow = async () => parseMetrics(await scrape(sup.port))
    const metricsNow = async () => {
      const s = await scrapeNow()
      return {
        failed: value(s, 'tumbler_partitions_failed'),
        failures: value(s, 'tumbler_commit_failures_total', { sqlstate: '22003' }),
        retries: value(s, 'tumbler_postgres_transaction_retries_total'),
      }
    }
    t.same(
      await metricsNow(),
      { failed: 1, failures: 1, retries: 0 },
      'tumbler_partitions_failed 1, tumbler_commit_failures_total{sqlstate="22003"} 1, no transaction retried',
    )
    const progressAtFailure = (await progressRows(db.url, topic)).get(bad)!.nextOffset
    t.equal(progressAtFailure, failedAt, 'the failed partition’s position stays at the first refused record')
    // Exact: everything produced of the other partitions, and of the failed one what precedes the poison.
    const countedSoFar = (produced: Produced[]) => {
      let offsetInBad = 0
      return oracleTruth(
        produced.filter((r) => r.partition !== bad || offsetInBad++ < third),
        RULES,
      )
    }
    await assertMatchesTruth(t, db.url, topic, countedSoFar([...part(0), ...poison, ...part(1)]))

    // 3. While the others count a third part, in five slices (five commits at least, each
    // waited for), the failed partition is tried no more.
    const refusals = {
      whole: logLines('Postgres refused the commit'),
      partition: logLines('partition failed: Postgres refuses its commit'),
    }
    t.same(refusals, { whole: 1, partition: 1 }, 'the writer tried the refused work once whole, once alone')
    const flushesBefore = value(await scrapeNow(), 'tumbler_flushes_total')!
    const startedMs = Date.now()
    const slice = third / 5
    for (let j = 0; j < 5; j++) {
      await produce(topic, part(2).slice(j * slice * partitions, (j + 1) * slice * partitions))
      await waitFor(() => othersAt(2 * third + (j + 1) * slice), `the other partitions to count slice ${j + 1} of the third part`)
    }
    t.comment(
      `after the failure: ${value(await scrapeNow(), 'tumbler_flushes_total')! - flushesBefore} more commits over ${((Date.now() - startedMs) / 1000).toFixed(1)} s`,
    )
    t.same(
      await metricsNow(),
      { failed: 1, failures: 1, retries: 0 },
      'no further attempt on the failed partition while the others committed another part',
    )
    t.same(
      { whole: logLines('Postgres refused the commit'), partition: logLines('partition failed: Postgres refuses its commit') },
      refusals,
      'nothing more in the log either',
    )
    t.equal((await progressRows(db.url, topic)).get(bad)!.nextOffset, failedAt, 'its position has not moved')
    await assertMatchesTruth(t, db.url, topic, countedSoFar(all))
    t.equal((await sup.readyz()).status, 503, 'still not ready')

    // 4. The operator removes the cause and restarts the supervisor: all counted, once.
    t.equal(await sup.kill('SIGTERM'), 0, 'SIGTERM with a failed partition: clean exit')
    await query(db.url, 'DROP TRIGGER refuse_poison ON category_sales; DROP FUNCTION refuse_poison()')
    sup = await startSupervisor(t, env, logName)
    await waitCaughtUp(db.url, topic, all.length)
    await sup.waitReady()
    await assertMatchesTruth(t, db.url, topic, truth)
    t.equal(value(parseMetrics(await scrape(sup.port)), 'tumbler_partitions_failed'), 0, 'no failed partition after the restart')
    t.equal(await sup.kill('SIGTERM'), 0, 'clean exit')
  },
)

t.test('migration 002 on a database with numeric(18,2) rows: numeric(38,2), rows kept, no table rewrite', async (t) => {
  const db = databaseFor(t)
  await query(PG_ADMIN_URL, `CREATE DATABASE ${db.name}`)
  const pool = new pg.Pool({ connectionString: db.url, max: 1 })
  pool.on('error', () => {}) // the teardown drops the database WITH (FORCE)
  t.teardown(() => pool.end())
  // The schema as it was before 002: only 001 applied.
  const only001 = mkdtempSync(path.join(os.tmpdir(), 'tumbler-sql-'))
  t.teardown(() => rmSync(only001, { recursive: true, force: true }))
  copyFileSync(path.resolve(import.meta.dirname, '../sql/001_init.sql'), path.join(only001, '001_init.sql'))
  t.same(await migrate(pool, only001), ['001_init.sql'])

  const type = async () =>
    (
      await pool.query<{ t: string }>(
        `SELECT format_type(atttypid, atttypmod) AS t FROM pg_attribute WHERE attrelid = 'category_sales'::regclass AND attname = 'total_sales'`,
      )
    ).rows[0]!.t
  t.equal(await type(), 'numeric(18,2)')
  const rows: [string, string, string, number][] = [
    ['2026-11-25T00:00:00Z', 'Electronics', '9999999999999999.99', 10_000_001],
    ['2026-11-25T00:00:00Z', 'Café ☕', '0.01', 1],
    ['2026-11-25T00:01:00Z', 'Home', '123456.78', 42],
  ]
  for (const [start, category, total, count] of rows) {
    await pool.query(
      `INSERT INTO category_sales (window_start, window_end, category, total_sales, transaction_count) VALUES ($1, $1::timestamptz + interval '1 minute', $2, $3, $4)`,
      [start, category, total, count],
    )
  }
  const addCent = `UPDATE category_sales SET total_sales = total_sales + 0.01 WHERE category = 'Electronics'`
  await t.rejects(pool.query(addCent), { code: '22003' }, 'numeric(18,2) refuses a cent more than its largest total: SQLSTATE 22003')
  const read = async () =>
    (
      await pool.query<{ r: string }>(
        `SELECT window_start::text || ' ' || category || ' ' || total_sales::text || ' ' || transaction_count AS r FROM category_sales ORDER BY 1`,
      )
    ).rows.map((r) => r.r)
  const before = await read()
  const file = async () => (await pool.query<{ f: string }>(`SELECT pg_relation_filenode('category_sales')::text AS f`)).rows[0]!.f

  const fileBefore = await file()
  const applied = await migrate(pool)
  t.ok(applied.includes('002_total_sales_numeric_38.sql'), `applied ${applied.join(', ')}`)
  t.equal(await type(), 'numeric(38,2)', 'total_sales is numeric(38,2)')
  t.same(await read(), before, 'every row kept, to the cent')
  t.equal(await file(), fileBefore, 'the table was not rewritten (same file node)')
  await pool.query(addCent)
  t.equal(
    (await pool.query<{ v: string }>(`SELECT total_sales::text AS v FROM category_sales WHERE category = 'Electronics'`)).rows[0]!.v,
    '10000000000000000.00',
    'past the old bound now',
  )
  t.same(await migrate(pool), [], 'applied once')
})
