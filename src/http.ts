import Fastify, { type FastifyInstance } from 'fastify'
import type pg from 'pg'
import type { SupervisorConfig } from './config.js'
import type { Pipeline } from './pipeline.js'

// The HTTP side of the supervisor. Each concern is a Fastify plugin registered here
// with the same dependencies: health (below), and the API, WebSocket, UI and metrics
// plugins of their own files.

export interface Health {
  /** Why the supervisor is not ready, or null when it is consuming and Postgres answers. */
  notReadyReason(): string | null
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
}

export async function createHttp(deps: HttpDeps): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const reason = deps.health.notReadyReason()
    return reply.code(reason ? 503 : 200).send({ ready: reason === null, reason, ...deps.health.details() })
  })
  return app
}
