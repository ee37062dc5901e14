import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { HttpDeps } from './deps.js'
import { SALES_COLUMNS, salesRow, salesRowSchema, type SalesDbRow } from './sales-row.js'
import { DEFAULT_RANGE_WINDOWS } from './summary.js'

// GET /api/windows (category_sales rows as ./sales-row.ts maps them, keyset paging) and
// GET /api/summary (./summary.ts).

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

/** An instant Postgres' timestamptz takes (years 0001-9999); what it would refuse is a bad request, not a database outage. */
const inPostgresYears = (iso: string): boolean => {
  const year = new Date(iso).getUTCFullYear()
  return year >= 1 && year <= 9999
}

/** The cursor's [window start, category], or null if it is not one this API could have returned (also checked as from/to and category are). */
function decodeCursor(raw: string): Cursor | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'string' || typeof v[1] !== 'string') return null
    if (!inPostgresYears(v[0]) || v[1].includes('\u0000')) return null
    return { windowStart: v[0], category: v[1] }
  } catch {
    return null
  }
}

/** GET /api/windows and GET /api/summary; registered inside the rate-limited scope. */
export async function apiPlugin(app: FastifyInstance, deps: HttpDeps): Promise<void> {
  app.get<{ Querystring: WindowsQuery }>(
    '/api/windows',
    {
      schema: {
        querystring: windowsQuery,
        response: {
          200: { type: 'object', properties: { rows: { type: 'array', items: salesRowSchema }, nextCursor: { type: ['string', 'null'] } } },
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
        if (v !== undefined && !inPostgresYears(v)) return badRequest(reply, `${name} must be an instant in the years 0001-9999`)
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
      const sql = `SELECT ${SALES_COLUMNS}
                     FROM category_sales ${where.length ? 'WHERE ' + where.join(' AND ') : ''}
                    ORDER BY window_start DESC, category ASC
                    LIMIT ${param(q.limit + 1)}`
      let rows
      try {
        rows = (await deps.db.query<SalesDbRow>(sql, params)).rows
      } catch (err) {
        return reply.code(503).send({
          statusCode: 503,
          code: 'TUMBLER_DB_UNAVAILABLE',
          error: 'Service Unavailable',
          message: `Postgres query failed: ${(err as Error).message}`,
        })
      }
      const page = rows.slice(0, q.limit).map(salesRow)
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
