import websocket from '@fastify/websocket'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { metrics } from '../metrics/registry.js'
import type { HttpDeps } from './deps.js'
import { PushHub } from './push-hub.js'

// GET /ws: the page's live feed (messages: ./ws-messages.ts; clients and fan-out: ./push-hub.ts).

/** Not encapsulated (fastify-plugin): @fastify/websocket's injectWS belongs on the app, for tests. */
export const wsPlugin = fp<HttpDeps>(
  async (app: FastifyInstance, deps: HttpDeps): Promise<void> => {
    const hub = new PushHub(deps, app.summary)
    // Before @fastify/websocket's own preClose (a bare close()): pages see 1001 and reconnect.
    app.addHook('preClose', async () => hub.goingAway())
    app.addHook('onClose', async () => hub.close())
    // The page sends nothing; a big frame from a client is not one of ours.
    await app.register(websocket, { options: { maxPayload: 4096 } })
    const max = deps.config.wsMaxClients
    app.get(
      '/ws',
      {
        websocket: true,
        // Past WS_MAX_CLIENTS the upgrade is refused before it completes: the client sees an HTTP
        // 503 (and retries later), not a socket that opens and closes. Nothing between this hook
        // and hub.add() waits on I/O, so two upgrades cannot both take the last place.
        preValidation: async (_req, reply) => {
          if (hub.size < max) return
          metrics.wsRejected.inc()
          return reply
            .code(503)
            .header('retry-after', '30')
            .send({
              error: 'too_many_clients',
              message: `this server already feeds ${max} WebSocket clients (WS_MAX_CLIENTS); try again later`,
            })
        },
      },
      (socket) => hub.add(socket),
    )
  },
  { name: 'tumbler-ws', fastify: '5.x', dependencies: ['tumbler-summary'] },
)
