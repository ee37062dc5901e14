import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { HttpDeps } from './server.js'
import { DEFAULT_RANGE_WINDOWS } from './summary.js'

// GET /api/windows and GET /api/summary. Amounts and counts leave Postgres as text
// (numeric::text, bigint::text) and stay strings in the JSON: a client never sees a float.

export const MAX_PAGE = 1000
const DEFAULT_PAGE = 100

const windowsQuery = {
  type: 'object',
  properties: {
    from: { type: 'string', format: 'date-time', description: 'windows starting at or after this instant (RFC 3339)' },
    to: { type: 'string', format: 'date-time', description: 'windows starting before this instant (RFC 3339)' },
    category: { type: 'string', minLength: 1, maxLength: 50 },
    final: { type: 'boolean', description: 'true: only final windows (closedAt set); false: only windows still open' },
    limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_PAGE },
    cursor: { type: 'string', minLength: 1, maxLength: 400, description: 'nextCursor of the previous page' },
  },
  additionalProperties: false,
} as const

const summaryQuery = {
  type: 'object',
  properties: { windows: { type: 'integer', minimum: 1, maximum: MAX_PAGE, default: DEFAULT_RANGE_WINDOWS } },
  additionalProperties: false,
} as const

const rowSchema = {
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

export interface WindowRow {
  windowStart: string
  windowEnd: string
  category: string
  /** numeric(18,2) as Postgres prints it, e.g. "1234.50". */
  totalSales: string
  transactionCount: string
  updatedAt: string
  /** When the row became final (CONTRACT "Window semantics": it never changes after); null while its window is open. */
  closedAt: string | null
}

interface WindowsQuery {
  from?: string
  to?: string
  category?: string
  final?: boolean
  limit: number
  cursor?: string
}

/** Fastify's ajv removes unknown parameters silently; a typo like ?catgory= deserves a 400. */
function rejectUnknown(allowed: readonly string[]) {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const unknown = Object.keys(req.query as object).filter((k) => !allowed.includes(k))
    if (unknown.length)
      return badRequest(reply, `unknown query parameter ${unknown.map((k) => `'${k}'`).join(', ')}; allowed: ${allowed.join(', ')}`)
    return undefined
  }
}

function badRequest(reply: FastifyReply, message: string) {
  return reply.code(400).send({ statusCode: 400, code: 'TUMBLER_BAD_QUERY', error: 'Bad Request', message })
}

interface Cursor {
  windowStart: string
  category: string
}

const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.windowStart, c.category])).toString('base64url')

function decodeCursor(raw: string): Cursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string' || Number.isNaN(Date.parse(v[0])))
      return null
    return { windowStart: v[0], category: v[1] }
  } catch {
    return null
  }
}

export async function apiPlugin(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.get<{ Querystring: WindowsQuery }>(
    '/api/windows',
    {
      schema: {
        querystring: windowsQuery,
        response: {
          200: { type: 'object', properties: { rows: { type: 'array', items: rowSchema }, nextCursor: { type: ['string', 'null'] } } },
        },
      },
      preValidation: rejectUnknown(Object.keys(windowsQuery.properties)),
    },
    async (req, reply) => {
      const q = req.query
      // What Postgres would refuse is a bad request, not a database outage: a NUL in text, an instant outside years 0001-9999.
      if (q.category?.includes('\u0000')) return badRequest(reply, 'category must not contain NUL')
      for (const [name, v] of [
        ['from', q.from],
        ['to', q.to],
      ] as const) {
        const year = v === undefined ? 2000 : new Date(v).getUTCFullYear()
        if (!(year >= 1 && year <= 9999)) return badRequest(reply, `${name} must be an instant in the years 0001-9999`)
      }
      if (q.from && q.to && Date.parse(q.from) >= Date.parse(q.to)) return badRequest(reply, 'from must be before to')
      const cursor = q.cursor === undefined ? null : decodeCursor(q.cursor)
      if (q.cursor !== undefined && !cursor) return badRequest(reply, 'cursor is not one this API returned (use nextCursor as it is)')

      const where: string[] = []
      const params: unknown[] = []
      const param = (v: unknown) => `$${params.push(v)}`
      if (q.from) where.push(`window_start >= ${param(q.from)}::timestamptz`)
      if (q.to) where.push(`window_start < ${param(q.to)}::timestamptz`)
      if (q.category) where.push(`category = ${param(q.category)}`)
      if (q.final !== undefined) where.push(q.final ? 'closed_at IS NOT NULL' : 'closed_at IS NULL')
      // Keyset paging in the order of the result: newest window first, then category.
      if (cursor)
        where.push(
          `(window_start < ${param(cursor.windowStart)}::timestamptz OR (window_start = $${params.length}::timestamptz AND category > ${param(cursor.category)}))`,
        )
      const sql = `SELECT window_start, window_end, category, total_sales::text AS total_sales, transaction_count::text AS transaction_count, updated_at, closed_at
                     FROM category_sales ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                    ORDER BY window_start DESC, category ASC
                    LIMIT ${param(q.limit + 1)}`
      let rows
      try {
        rows = (
          await deps.db.query<{
            window_start: Date
            window_end: Date
            category: string
            total_sales: string
            transaction_count: string
            updated_at: Date
            closed_at: Date | null
          }>(sql, params)
        ).rows
      } catch (err) {
        return reply.code(503).send({
          statusCode: 503,
          code: 'TUMBLER_DB_UNAVAILABLE',
          error: 'Service Unavailable',
          message: `Postgres query failed: ${(err as Error).message}`,
        })
      }
      const page = rows.slice(0, q.limit).map((r): WindowRow => ({
        windowStart: r.window_start.toISOString(),
        windowEnd: r.window_end.toISOString(),
        category: r.category,
        totalSales: r.total_sales,
        transactionCount: r.transaction_count,
        updatedAt: r.updated_at.toISOString(),
        closedAt: r.closed_at?.toISOString() ?? null,
      }))
      const last = page[page.length - 1]
      return { rows: page, nextCursor: rows.length > q.limit && last ? encodeCursor(last) : null }
    },
  )

  app.get<{ Querystring: { windows: number } }>(
    '/api/summary',
    { schema: { querystring: summaryQuery }, preValidation: rejectUnknown(Object.keys(summaryQuery.properties)) },
    async (req) => app.summary.get(req.query.windows),
  )
}
