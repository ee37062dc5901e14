import { performance } from 'node:perf_hooks'
import fp from 'fastify-plugin'
import { metrics, registry } from '../metrics/registry.js'

// GET /metrics (Prometheus text format, every thread's metrics: workers report to the main
// thread's registry) and the duration of every HTTP request. Wrapped by fastify-plugin so the
// onResponse hook sees the routes of the sibling plugins too.

export const metricsPlugin = fp(
  async (app) => {
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the raw URL: a label value per path would be unbounded.
      const route = request.routeOptions.url ?? 'unmatched'
      metrics.httpDuration.observe({ method: request.method, route, code: reply.statusCode }, reply.elapsedTime / 1000)
    })

    app.get('/metrics', async (_request, reply) => {
      // Every collect() is synchronous, so this span is main-thread time, not waiting.
      const started = performance.now()
      const body = await registry.metrics()
      metrics.metricsRender.observe((performance.now() - started) / 1000)
      return reply.type(registry.contentType).send(body)
    })
  },
  { name: 'tumbler-metrics', fastify: '5.x' },
)
