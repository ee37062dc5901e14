// How values of Postgres' INT8 (bigint) columns reach JavaScript, for every thread that talks
// to Postgres (the main thread's pool and the writer's connection). Importing this module sets
// it up; it is idempotent.
import pg from 'pg'

// node-postgres' default parser turns bigint into a JS number, which is exact only to 2^53 − 1.
// Kafka offsets (tumbler_progress.next_offset), epochs and counts (category_sales.transaction_count)
// are bigint and may pass that, so they stay decimal strings; numeric (money) is a string by
// default already. Millisecond timestamps, which fit a number, are converted where read (msOf).
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

/** A bigint millisecond column as read (decimal string or null) → ms since the epoch, or null. */
export const msOf = (text: string | null): number | null => (text === null ? null : Number(text))

/** Ms since the epoch (or null) as the decimal string a bigint column holds and is compared with. */
export const msText = (ms: number | null): string | null => (ms === null ? null : String(ms))
