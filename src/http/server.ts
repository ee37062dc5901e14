import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify'
import type pg from 'pg'
import type { SupervisorConfig } from '../config.js'
import type { Pipeline } from '../pipeline/coordinator.js'
import rateLimit from '@fastify/rate-limit'
import { apiPlugin } from './api.js'
import { authPlugin } from './auth.js'
import { metricsPlugin } from './metrics-route.js'
import { summaryPlugin } from './summary.js'
import { uiPlugin } from './ui.js'
import { wsPlugin } from './ws.js'
import { childLogger } from '../shared/log.js'

// The HTTP side of the supervisor. Each concern is a Fastify plugin registered here
// with the same dependencies: health (below), and the API, WebSocket, UI and metrics
// plugins of their own files.

/**
 * Why the supervisor is not ready: `state` is what the page and /api/summary switch on,
 * `reason` the words for a human (the error, how long, what comes next).
 */
export interface NotReady {
  state: 'starting' | 'postgres_unreachable' | 'kafka_unreachable' | 'stopping' | 'failed'
  reason: string
}

export interface Health {
  /** Why the supervisor is not ready, or null when it is consuming and Postgres answers. */
  notReady(): NotReady | null
  /** What /readyz shows besides the verdict. */
  details(): Record<string, unknown>
}

export interface HttpDeps {
  config: SupervisorConfig
  /** Main-thread pool (reads for the API; the writer has its own connection). */
  db: pg.Pool
  /** Emits 'commit' (CommitResult) after every Postgres commit and 'paused' (partition, paused). */
  pipeline: Pipeline
  health: Health
  /** The topic's Kafka log start and end offsets per partition (decimal strings), for the consumer lag KPI. */
  kafkaOffsets?: () => Promise<{ partition: number; low: string; high: string }[]>
}

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

export async function createHttp(deps: HttpDeps): Promise<FastifyInstance> {
  // Fastify's own logger: errors and warnings only (a 5xx, a plugin's warning); no line per request.
  const logger: FastifyBaseLogger = childLogger('warn', { serializers: { req: requestForLog } })
  const app = Fastify({ loggerInstance: logger })
  await app.register(metricsPlugin)
  await app.register(authPlugin, { token: deps.config.uiToken })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const notReady = deps.health.notReady()
    return reply
      .code(notReady ? 503 : 200)
      .send({ ready: notReady === null, state: notReady?.state ?? 'ready', reason: notReady?.reason ?? null, ...deps.health.details() })
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
