import { timingSafeEqual } from 'node:crypto'
import cookie from '@fastify/cookie'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

// Optional bearer token (UI_TOKEN) for the page, the API and the WebSocket. Health and
// metrics stay open for probes and Prometheus. A browser opens `/?token=…` once: the token
// is then kept in an HttpOnly, SameSite=Strict cookie that the page's fetches and its
// WebSocket upgrade carry by themselves. Cookies are parsed and set by @fastify/cookie;
// a value that does not URL-decode stays as sent, so it simply does not match (401).

const OPEN = new Set(['/healthz', '/readyz', '/metrics'])
export const TOKEN_COOKIE = 'tumbler_token'

function same(a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** The token a request presents: `Authorization: Bearer`, then `?token=`, then the cookie; null if none. */
export function presentedToken(req: FastifyRequest): string | null {
  const auth = req.headers.authorization
  // The scheme is case-insensitive (RFC 9110 §11.1).
  const bearer = auth && /^bearer\s+(.+)$/i.exec(auth)
  if (bearer) return bearer[1]!.trim()
  const query = (req.query as Record<string, unknown> | undefined)?.token
  if (typeof query === 'string') return query
  return req.cookies[TOKEN_COOKIE] ?? null
}

export const authPlugin = fp<{ token: string }>(async (app: FastifyInstance, { token }) => {
  if (!token) return
  // Registered first: its onRequest hook parses the Cookie header before ours reads it.
  await app.register(cookie)
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    if (OPEN.has(req.url.split('?')[0]!)) return
    const given = presentedToken(req)
    if (given === null || !same(given, token)) {
      if (req.headers.upgrade) {
        // A refused WebSocket upgrade: answer on the raw socket and end it, or it lingers
        // (and holds up the server's close).
        reply.hijack()
        req.raw.socket.end('HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer\r\nConnection: close\r\nContent-Length: 0\r\n\r\n')
        return
      }
      return reply.code(401).header('www-authenticate', 'Bearer').send({
        error: 'unauthorized',
        message: 'a valid UI_TOKEN is required (Authorization: Bearer, ?token= or the cookie set by /?token=)',
      })
    }
    if ((req.query as Record<string, unknown> | undefined)?.token !== undefined) {
      reply.setCookie(TOKEN_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/' })
    }
  })
})
