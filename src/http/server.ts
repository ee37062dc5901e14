import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import rateLimit from '@fastify/rate-limit'
import { apiPlugin } from './api.js'
import { authPlugin } from './auth.js'
import { metricsPlugin } from './metrics-route.js'
import { summaryPlugin } from './summary.js'
import { uiPlugin } from './ui.js'
import { wsPlugin } from './ws.js'
import { childLogger } from '../shared/log.js'
import type { HttpDeps } from './deps.js'

// The HTTP side of the supervisor. Each concern is a Fastify plugin registered here
// with the same dependencies (./deps.ts): health (below), and the API, WebSocket, UI and
// metrics plugins of their own files.

/** Fastify's request in a log line, as Fastify's own serializer has it, with a `?token=` (UI_TOKEN) hidden. */
function requestForLog(req: FastifyRequest): Record<string, unknown> {
  return {
    method: req.method,
    url: req.url.replace(/([?&]token=)[^&#]*/g, '$1***'),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  }
}

/** The supervisor's Fastify app, every route registered and ready to listen; close() ends the WebSocket clients and timers. */
export async function createHttp(deps: HttpDeps): Promise<FastifyInstance> {
  // Fastify's own logger: errors and warnings only (a 5xx, a plugin's warning); no line per request.
  const logger: FastifyBaseLogger = childLogger('warn', { serializers: { req: requestForLog } })
  const app = Fastify({ loggerInstance: logger })
  await app.register(metricsPlugin)
  await app.register(authPlugin, { token: deps.config.uiToken })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const health = deps.health.now()
    const ready = health.state === 'ready'
    return reply.code(ready ? 200 : 503).send({ ready, state: health.state, reason: health.reason, ...deps.health.details() })
  })
  await app.register(summaryPlugin, deps)
  // Rate-limited in its own scope: the API only, not the page, the feed, health or metrics.
  await app.register(async (api) => {
    await api.register(rateLimit, { max: deps.config.apiRateLimit, timeWindow: '1 minute' })
    await api.register(apiPlugin, deps)
  })
  await app.register(wsPlugin, deps)
  await app.register(uiPlugin)
  return app
}
