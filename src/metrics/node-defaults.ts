import { collectDefaultMetrics, type Registry } from 'prom-client'

/**
 * Registers prom-client's default Node.js metrics (process, heap, GC, handles) on `registry`,
 * minus two sets: gauges named like counters (nodejs_active_*_total; promtool check metrics
 * rejects them, the nodejs_active_* by type remain), and the event-loop lag set
 * (nodejs_eventloop_lag_*), whose stddev alone costs 0.2 ms a scrape: the main thread's lag is
 * tumbler_thread_event_loop_lag_*{thread="main"}, like every other thread's.
 */
export function registerNodeDefaults(registry: Registry): void {
  collectDefaultMetrics({ register: registry })
  for (const m of registry.getMetricsAsArray()) {
    if (/^nodejs_active_\w+_total$|^nodejs_eventloop_lag_/.test(m.name)) registry.removeSingleMetric(m.name)
  }
}
