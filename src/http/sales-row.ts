import type pg from 'pg'
import type { CommittedRow } from '../shared/protocol.js'

// One category_sales row as every HTTP answer carries it (GET /api/windows, the /ws snapshot
// and update messages), and the one mapping from Postgres to it. Amounts and counts leave
// Postgres as text (numeric::text, bigint::text) and stay strings: a client never sees a float.

/** A (window, category) row of category_sales; instants are ISO 8601 UTC, amounts and counts decimal strings. */
export interface SalesRow {
  windowStart: string
  windowEnd: string
  category: string
  /** numeric(18,2) as Postgres prints it, e.g. "1234.50". */
  totalSales: string
  transactionCount: string
  updatedAt: string
  /**
   * When the row became final (docs/contract.md "Window semantics": it never changes after); null
   * while its window is open. Always null in a /ws `update`: a window its commit closed is
   * announced by the `windows_closed` that follows it.
   */
  closedAt: string | null
}

/** The JSON schema of SalesRow, for Fastify's response serializer. */
export const salesRowSchema = {
  type: 'object',
  properties: {
    windowStart: { type: 'string' },
    windowEnd: { type: 'string' },
    category: { type: 'string' },
    totalSales: { type: 'string' },
    transactionCount: { type: 'string' },
    updatedAt: { type: 'string' },
    closedAt: { type: ['string', 'null'] },
  },
  required: ['windowStart', 'windowEnd', 'category', 'totalSales', 'transactionCount', 'updatedAt', 'closedAt'],
} as const

/** The select list that reads a category_sales row as salesRow() takes it. */
export const SALES_COLUMNS =
  'window_start, window_end, category, total_sales::text AS total_sales, transaction_count::text AS transaction_count, updated_at, closed_at'

/** A category_sales row as pg returns SALES_COLUMNS (timestamptz as Date). */
export interface SalesDbRow {
  window_start: Date
  window_end: Date
  category: string
  total_sales: string
  transaction_count: string
  updated_at: Date
  closed_at: Date | null
}

/** The one DB → JSON mapping of a category_sales row. */
export function salesRow(r: SalesDbRow): SalesRow {
  return {
    windowStart: r.window_start.toISOString(),
    windowEnd: r.window_end.toISOString(),
    category: r.category,
    totalSales: r.total_sales,
    transactionCount: r.transaction_count,
    updatedAt: r.updated_at.toISOString(),
    closedAt: r.closed_at?.toISOString() ?? null,
  }
}

/**
 * A row's new totals as the writer reported them (CommitResult.rows), as a SalesRow: updated
 * when the commit was made, open (a row a commit changes was open until that commit).
 */
export function committedSalesRow(r: CommittedRow, committedAtMs: number, windowMs: number): SalesRow {
  return {
    windowStart: new Date(r.windowStartMs).toISOString(),
    windowEnd: new Date(r.windowStartMs + windowMs).toISOString(),
    category: r.category,
    totalSales: r.totalSales,
    transactionCount: r.transactionCount,
    updatedAt: new Date(committedAtMs).toISOString(),
    closedAt: null,
  }
}

/**
 * The rows of the `windows` newest windows (by window_start, up to the largest in the table),
 * newest first, then category; at most `limit` + 1 rows, so the caller can tell it cut them.
 */
export async function recentSalesRows(db: pg.Pool, windowMs: number, windows: number, limit: number): Promise<SalesRow[]> {
  const { rows } = await db.query<SalesDbRow>(
    `SELECT ${SALES_COLUMNS}
       FROM category_sales
      WHERE window_start > (SELECT max(window_start) FROM category_sales) - $1::bigint * interval '1 millisecond'
      ORDER BY window_start DESC, category
      LIMIT $2`,
    [windows * windowMs, limit + 1],
  )
  return rows.map(salesRow)
}
