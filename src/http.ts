import Fastify, { type FastifyInstance } from 'fastify'

// The HTTP side of the supervisor: health and readiness for now (UI, API, WebSocket and
// metrics are added as plugins by their own issues).

export interface Health {
  /** Why the supervisor is not ready, or null when it is consuming and Postgres answers. */
  notReadyReason(): string | null
  /** What /readyz shows besides the verdict. */
  details(): unknown
}

export async function createHttp(health: Health): Promise<FastifyInstance> {
  const app = Fastify({ logger: false })
  app.get('/healthz', async () => ({ status: 'ok' }))
  app.get('/readyz', async (_req, reply) => {
    const reason = health.notReadyReason()
    return reply.code(reason ? 503 : 200).send({ ready: reason === null, reason, ...((health.details() as object) ?? {}) })
  })
  return app
}
