import type { Metric, Registry } from 'prom-client'

// A label-less Prometheus histogram that takes "this value, n times": freshness arrives as
// "n records appended in this 10 ms step", and prom-client's observe() one record at a time
// would cost the main thread about 150 ns a record.

export interface WeightedHistogramConfig {
  name: string
  help: string
  /** Upper bounds, ascending; +Inf is implied. */
  buckets: readonly number[]
  registers: Registry[]
}

export class WeightedHistogram {
  readonly name: string
  readonly help: string
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  private readonly bounds: readonly number[]
  private counts: number[]
  private count = 0
  private sum = 0

  constructor(config: WeightedHistogramConfig) {
    this.name = config.name
    this.help = config.help
    this.bounds = config.buckets
    this.counts = this.bounds.map(() => 0)
    // prom-client's registry only needs name, get() and reset(); its types list its own classes.
    for (const r of config.registers) r.registerMetric(this as unknown as Metric)
  }

  observeMany(value: number, times: number): void {
    if (!(times > 0) || !Number.isFinite(value)) return
    let i = 0
    while (i < this.bounds.length && value > this.bounds[i]!) i++
    if (i < this.bounds.length) this.counts[i]! += times
    this.count += times
    this.sum += value * times
  }

  reset(): void {
    this.counts = this.bounds.map(() => 0)
    this.count = 0
    this.sum = 0
  }

  async get(): Promise<{
    name: string
    help: string
    type: string
    aggregator: string
    values: { labels: Record<string, string | number>; value: number; metricName: string }[]
  }> {
    let cumulative = 0
    const values = this.bounds.map((le, i) => ({
      labels: { le } as Record<string, string | number>,
      value: (cumulative += this.counts[i]!),
      metricName: `${this.name}_bucket`,
    }))
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: `${this.name}_bucket` })
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` })
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` })
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }
}
