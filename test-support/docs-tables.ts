// The spelling tables of docs/rejections.md, read as test tables, so the documentation and the
// code cannot drift: unit tests check every row against workers/, and the hostile test sends
// every row through the broker and Postgres.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { ROOT } from './paths.js'

const DOC = path.join(ROOT, 'docs/rejections.md')

/** The cells of the table between `<!-- name -->` and `<!-- /name -->`, header and rule left out, code spans unwrapped. */
function table(name: string): string[][] {
  const text = readFileSync(DOC, 'utf8')
  const start = text.indexOf(`<!-- ${name} -->`)
  const end = text.indexOf(`<!-- /${name} -->`)
  if (start < 0 || end < start) throw new Error(`docs/rejections.md has no ${name}`)
  const rows = text
    .slice(start, end)
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
  return rows.map((line) =>
    line
      .split('|')
      .slice(1, -1)
      .map((cell) => cell.trim().replace(/^`(.*)`$/, '$1')),
  )
}

export interface TimestampRow {
  /** The `timestamp` value as JSON text. */
  json: string
  /** TIMESTAMP_DEFAULT_ZONE it is read with. */
  zone: string
  /** The instant counted (ISO, UTC), or null: invalid_timestamp. */
  instant: string | null
  why: string
}

export function timestampTable(): TimestampRow[] {
  return table('timestamp-table').map(([json, zone, instant, why]) => ({
    json: json!,
    zone: zone!,
    instant: instant === 'refused' ? null : instant!,
    why: why!,
  }))
}

export interface AmountRow {
  /** The `amount` value as JSON text. */
  json: string
  /** Cents counted, or null: invalid_amount. */
  cents: number | null
  why: string
}

export function amountTable(): AmountRow[] {
  return table('amount-table').map(([json, cents, why]) => ({ json: json!, cents: cents === 'refused' ? null : Number(cents), why: why! }))
}
