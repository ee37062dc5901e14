// The shared Postgres (127.0.0.1:5432): each test or benchmark run gets a database of its own,
// created by the supervisor (or the caller) and dropped afterwards.
import pg from 'pg'
import { uniqueName } from './names.js'
import type { Teardown } from './teardown.js'

// bigint columns (offsets, epochs, counts) come back as text, never as a rounded JS number.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

/** The server, without a database: BENCH_PG_BASE, default postgresql://postgres@127.0.0.1:5432. */
export const PG_BASE = process.env.BENCH_PG_BASE ?? 'postgresql://postgres@127.0.0.1:5432'

/** Its `postgres` database, for CREATE and DROP DATABASE: PG_ADMIN_URL, default PG_BASE/postgres. */
export const PG_ADMIN_URL = process.env.PG_ADMIN_URL ?? `${PG_BASE}/postgres`

/** Runs `fn` with a connected client of `url` and ends the client whatever happens. */
export async function withDb<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

/** One statement on a connection of its own; its rows. */
export async function query<R extends pg.QueryResultRow = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  return withDb(url, async (c) => (await c.query<R>(sql, params)).rows)
}

/** Drops database `name` with its open sessions (WITH FORCE); absent is fine. */
export async function dropDatabase(name: string): Promise<void> {
  await query(PG_ADMIN_URL, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
}

/** A database name for the supervisor to create; dropped in teardown. */
export function databaseFor(t: Teardown): { name: string; url: string } {
  const name = uniqueName('tumbler_test')
  t.teardown(() => dropDatabase(name))
  return { name, url: `${PG_BASE}/${name}` }
}

/** Sum of next_offset over the topic's partitions as stored by tumbler (0 while the database or table is not there). */
export async function committedRecords(url: string, topic: string): Promise<number> {
  try {
    const rows = await query<{ n: string | null }>(url, 'SELECT sum(next_offset)::text AS n FROM tumbler_progress WHERE topic = $1', [
      topic,
    ])
    return Number(rows[0]?.n ?? 0)
  } catch {
    return 0 // database or table not there yet
  }
}
