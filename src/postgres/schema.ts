import { readdir, readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import pg from 'pg'
import { log } from '../shared/log.js'
import '../shared/pg-types.js'
import { retry } from '../shared/retry.js'

// Main-thread Postgres: the database itself and migrations. Partition claims live with the
// fence they pair with (src/shared/progress.ts) and are re-exported here for their callers.
// The writer thread has its own connection for commits.

export { claimPartition, type Claim } from '../shared/progress.js'

// dist/src/postgres/schema.js when built, src/postgres/schema.ts under tsx: sql/ sits at the package root either way.
const HERE = path.dirname(fileURLToPath(import.meta.url))
const SQL_DIR = path.resolve(HERE, HERE.split(path.sep).includes('dist') ? '../../../sql' : '../../sql')

/** Errors of a Postgres that is not there yet (not running, starting, restarting): worth waiting for. */
// A host name that does not resolve yet (a container starting, a DNS blip) is waited for too, with a warning each try.
const UNAVAILABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  '57P03' /* cannot_connect_now */,
])

/**
 * Creates the database named in the URL if it is missing and we are allowed to. A Postgres that
 * does not answer yet is waited for (started before it, or during its restart), with a warning
 * on each try; anything else (a wrong password, an unknown host) fails at once.
 */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const probe = async (): Promise<boolean> => {
    const client = new pg.Client({ connectionString: databaseUrl })
    try {
      await client.connect()
      return true
    } catch (err) {
      if ((err as { code?: string }).code === '3D000') return false // invalid_catalog_name: create it below
      throw err
    } finally {
      await client.end().catch(() => {})
    }
  }
  const { value: exists } = await retry(probe, {
    baseMs: 250,
    maxMs: 5000,
    retryable: (err) => UNAVAILABLE.has((err as { code?: string }).code ?? ''),
    onRetry: (err, attempt, backoffMs) => log.warn('waiting for Postgres', { attempt, backoffMs, error: err as Error }),
  })
  if (exists) return
  const url = new URL(databaseUrl)
  const name = decodeURIComponent(url.pathname.slice(1))
  url.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: url.toString() })
  await admin.connect()
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`)
    log.info('created database', { database: name })
  } catch (err) {
    // Another supervisor created it first: 42P04 (duplicate_database) if its CREATE had
    // committed, 23505 (unique_violation on pg_database) if both ran at the same moment.
    const code = (err as { code?: string }).code
    if (code !== '42P04' && code !== '23505') throw err
  } finally {
    await admin.end()
  }
}

/** Applies sql/NNN_*.sql files not yet recorded, each once, in order. */
export async function migrate(pool: pg.Pool, sqlDir = SQL_DIR): Promise<string[]> {
  const files = (await readdir(sqlDir)).filter((f) => /^\d+_.*\.sql$/.test(f)).sort()
  const client = await pool.connect()
  const applied: string[] = []
  try {
    await client.query('BEGIN')
    await client.query("SELECT pg_advisory_xact_lock(hashtext('tumbler_migrations'))")
    await client.query(
      'CREATE TABLE IF NOT EXISTS tumbler_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    )
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM tumbler_migrations')).rows.map((r) => r.version))
    for (const file of files) {
      const version = parseInt(file, 10)
      if (done.has(version)) continue
      await client.query(await readFile(path.join(sqlDir, file), 'utf8'))
      await client.query('INSERT INTO tumbler_migrations (version, name) VALUES ($1, $2)', [version, file])
      applied.push(file)
    }
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {})
    throw err
  } finally {
    client.release()
  }
  if (applied.length) log.info('applied migrations', { applied })
  return applied
}
