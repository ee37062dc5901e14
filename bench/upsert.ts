// `node dist/bench/upsert.js`: the writer's bulk UPSERT two ways, on a scratch database:
// (a) COPY into a connection-lifetime temp table + INSERT … SELECT … ON CONFLICT (what the
// writer does), (b) one INSERT … SELECT FROM unnest($arrays) … ON CONFLICT (a multi-row
// INSERT with a fixed statement text). Prints ms per transaction for several batch sizes.
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import { uniqueName } from '../test-support/names.js'
import { dropDatabase, PG_BASE, withDb } from '../test-support/postgres.js'

const SCHEMA = `CREATE TABLE category_sales (window_start timestamptz NOT NULL, window_end timestamptz NOT NULL, category varchar(50) NOT NULL,
  total_sales numeric(18,2) NOT NULL, transaction_count bigint NOT NULL, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (window_start, category));
  CREATE TEMP TABLE stage_sales (window_start_ms bigint, category text, cents numeric, cnt bigint) ON COMMIT DELETE ROWS;`

const UPSERT_TAIL = `ON CONFLICT (window_start, category) DO UPDATE SET total_sales = c.total_sales + EXCLUDED.total_sales,
  transaction_count = c.transaction_count + EXCLUDED.transaction_count, updated_at = EXCLUDED.updated_at`

interface Row {
  ms: number
  category: string
  cents: number
  count: number
}

async function viaCopy(c: pg.Client, rows: Row[]): Promise<void> {
  await c.query('BEGIN')
  await pipeline(
    Readable.from([rows.map((r) => `${r.ms}\t${r.category}\t${r.cents}\t${r.count}\n`).join('')]),
    c.query(copyFrom('COPY stage_sales FROM STDIN')),
  )
  await c.query(
    `INSERT INTO category_sales AS c SELECT 'epoch'::timestamptz + window_start_ms * interval '1 ms', 'epoch'::timestamptz + (window_start_ms + 60000) * interval '1 ms', category, cents / 100, cnt, now() FROM stage_sales ORDER BY 1, 3 ${UPSERT_TAIL}`,
  )
  await c.query('COMMIT')
}

async function viaInsert(c: pg.Client, rows: Row[]): Promise<void> {
  await c.query('BEGIN')
  await c.query(
    `INSERT INTO category_sales AS c SELECT 'epoch'::timestamptz + ms * interval '1 ms', 'epoch'::timestamptz + (ms + 60000) * interval '1 ms', category, cents / 100, cnt, now()
       FROM unnest($1::bigint[], $2::text[], $3::numeric[], $4::bigint[]) AS v(ms, category, cents, cnt) ORDER BY 1, 3 ${UPSERT_TAIL}`,
    [rows.map((r) => r.ms), rows.map((r) => r.category), rows.map((r) => r.cents), rows.map((r) => r.count)],
  )
  await c.query('COMMIT')
}

const db = uniqueName('tumbler_upsert')
await withDb(`${PG_BASE}/postgres`, (c) => c.query(`CREATE DATABASE ${db}`))
const results: Record<string, Record<string, number>> = {}
try {
  await withDb(`${PG_BASE}/${db}`, async (c) => {
    await c.query(SCHEMA)
    for (const size of [6, 60, 600, 6000]) {
      const rows = Array.from({ length: size }, (_, i) => ({
        ms: Math.floor(i / 6) * 60_000,
        category: `cat${i % 6}`,
        cents: 12_345,
        count: 3,
      }))
      const iterations = Math.max(20, Math.round(20_000 / size))
      results[size] = {}
      for (const [name, fn] of [
        ['copy', viaCopy],
        ['insert', viaInsert],
        ['copy ', viaCopy],
      ] as const) {
        const started = process.hrtime.bigint()
        for (let i = 0; i < iterations; i++) await fn(c, rows)
        results[size]![name.trim()] = Number(process.hrtime.bigint() - started) / 1e6 / iterations
      }
    }
  })
} finally {
  await dropDatabase(db)
}
process.stdout.write(JSON.stringify({ msPerTransaction: results }) + '\n')
for (const [size, r] of Object.entries(results))
  process.stderr.write(
    `  ${size.padStart(5)} rows: COPY+INSERT…SELECT ${r.copy!.toFixed(2)} ms, INSERT…unnest ${r.insert!.toFixed(2)} ms\n`,
  )
