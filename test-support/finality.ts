// Window finality as a test sees it in Postgres: the schema prepared before any supervisor
// starts (so nothing can close before the watch is in place), a trigger that records every
// change to a closed category_sales row (the contract says there is none), and the rules
// the closed set must follow.
import pg from 'pg'
import type { Test } from 'tap'
import { ensureDatabase, migrate } from '../src/postgres/schema.js'
import { query } from './postgres.js'
import { waitFor } from './wait.js'

type Assert = Pick<Test, 'equal' | 'same' | 'ok'>

/**
 * Creates the database and applies the migrations as a supervisor would at start, then
 * installs an AFTER trigger that copies every UPDATE or DELETE of a row whose closed_at was
 * already set into closed_row_changes. Observes only: the pipeline runs as it would without it.
 */
export async function watchClosedRows(url: string): Promise<void> {
  await ensureDatabase(url)
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  try {
    await migrate(pool)
    await pool.query(`
      CREATE TABLE closed_row_changes (at timestamptz NOT NULL DEFAULT clock_timestamp(), op text NOT NULL, old_row text NOT NULL, new_row text);
      CREATE FUNCTION record_closed_row_change() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO closed_row_changes (op, old_row, new_row) VALUES (TG_OP, OLD::text, CASE WHEN TG_OP = 'UPDATE' THEN NEW::text END);
        RETURN NULL;
      END $$;
      CREATE TRIGGER closed_row_changes AFTER UPDATE OR DELETE ON category_sales
        FOR EACH ROW WHEN (OLD.closed_at IS NOT NULL) EXECUTE FUNCTION record_closed_row_change();`)
  } finally {
    await pool.end()
  }
}

/** Every change the trigger of watchClosedRows saw, as text (empty when the contract held). */
export async function closedRowChanges(url: string): Promise<string[]> {
  const rows = await query<{ op: string; old_row: string; new_row: string | null }>(
    url,
    'SELECT op, old_row, new_row FROM closed_row_changes ORDER BY at',
  )
  return rows.map((r) => `${r.op} ${r.old_row} -> ${r.new_row}`)
}

export interface FinalityState {
  /** tumbler_topics.low_watermark_ms, null before the first closing. */
  lowWatermarkMs: number | null
  /** Largest max_event_ms over the topic's partitions. */
  maxEventMs: number | null
  closedRows: number
  openRows: number
}

export async function finalityState(url: string, topic: string): Promise<FinalityState> {
  const [r] = await query<{ low: string | null; max: string | null; closed: string; open: string }>(
    url,
    `SELECT (SELECT low_watermark_ms FROM tumbler_topics WHERE topic = $1)::text AS low,
            (SELECT max(max_event_ms) FROM tumbler_progress WHERE topic = $1)::text AS max,
            (SELECT count(*) FROM category_sales WHERE closed_at IS NOT NULL)::text AS closed,
            (SELECT count(*) FROM category_sales WHERE closed_at IS NULL)::text AS open`,
    [topic],
  )
  return {
    lowWatermarkMs: r!.low === null ? null : Number(r!.low),
    maxEventMs: r!.max === null ? null : Number(r!.max),
    closedRows: Number(r!.closed),
    openRows: Number(r!.open),
  }
}

/**
 * Once the stream is over and every partition is idle, every partition's watermark rises to
 * the highest one (the idle advance), so the low watermark becomes the largest event time
 * seen minus the lateness. Waits for that, then checks the closed set follows it exactly.
 */
export async function assertQuietTopicFinal(
  t: Assert,
  url: string,
  topic: string,
  latenessMs: number,
  timeoutMs = 60_000,
): Promise<FinalityState> {
  const s = await waitFor(
    async () => {
      const s = await finalityState(url, topic)
      return s.maxEventMs !== null && s.lowWatermarkMs === s.maxEventMs - latenessMs ? s : null
    },
    'the low watermark to reach the largest event time minus the lateness (all partitions idle)',
    timeoutMs,
    200,
  )
  t.ok(s.closedRows > 0, `${s.closedRows} rows final, ${s.openRows} open`)
  const wrong = await query<{ w: Date; category: string; closed: boolean }>(
    url,
    `SELECT window_start AS w, category, closed_at IS NOT NULL AS closed FROM category_sales
      WHERE (closed_at IS NOT NULL) <> (window_end <= 'epoch'::timestamptz + $1::bigint * interval '1 millisecond') LIMIT 10`,
    [s.lowWatermarkMs],
  )
  t.same(
    wrong.map((r) => `${r.w.toISOString()} ${r.category} closed=${r.closed}`),
    [],
    'a row is closed exactly when its window ends at or before the low watermark',
  )
  const [late] = await query<{ n: string }>(url, 'SELECT count(*)::text AS n FROM category_sales WHERE closed_at < updated_at')
  t.equal(late!.n, '0', 'no row was updated after it was closed')
  return s
}
