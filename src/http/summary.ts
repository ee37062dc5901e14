import fp from 'fastify-plugin'
import type { Health, NotReadyState } from '../health.js'
import { Cached, orNullAfter } from './cached.js'
import type { HttpDeps, PartitionView } from './deps.js'

// The KPIs that GET /api/summary returns and the WebSocket pushes: window totals from
// Postgres (sums done by Postgres on numeric, sent as text), the rate and state from the
// pipeline, lag from Kafka's high watermarks against tumbler_progress. One shared,
// briefly cached computation, so many viewers cost Postgres one query a second.

/** What the page shows: not ready (why), or ready and consuming, paused for flow control, or owning no partitions. */
export type PipelineState = NotReadyState | 'consuming' | 'paused' | 'idle'

export interface Summary {
  generatedAt: string
  windowSeconds: number
  /** The window with the largest start in category_sales, all categories together (usually still open: provisional). */
  latestWindow: { start: string; end: string; totalSales: string; transactionCount: string; categories: number } | null
  /**
   * The topic's low watermark (docs/contract.md "Window semantics"): windows ending at or before it
   * are final. Null until every partition has a watermark.
   */
  lowWatermark: string | null
  /** The final window with the largest start: its totals never change again. closedAt: when it became final. */
  latestFinalWindow: {
    start: string
    end: string
    totalSales: string
    transactionCount: string
    categories: number
    closedAt: string
  } | null
  /** The last `windows` windows up to and including the latest one (what the page's line chart shows). */
  range: { windows: number; from: string; to: string; totalSales: string; transactionCount: string; windowsWithData: number } | null
  /** Records consumed per second by this process, over the last few seconds. */
  eventsPerSecond: number
  /** Records in Kafka not yet committed to Postgres, all partitions of the topic; null when unknown. */
  consumerLag: string | null
  rejected: { total: string; late: string; byReason: Record<string, string> } | null
  pipeline: { state: PipelineState; reason: string | null; partitions: number; pausedPartitions: number[] }
  push: { clients: number; drops: number }
  database: { ok: boolean; error: string | null }
}

export const DEFAULT_RANGE_WINDOWS = 100
const SUMMARY_TTL_MS = 1_000
// Counting rejected_events and asking Kafka for offsets cost more than the window sums.
const REJECTED_TTL_MS = 5_000
const LAG_TTL_MS = 2_000
const RATE_SAMPLE_MS = 1_000
const RATE_SAMPLES = 6
/** Longest the summary waits for Kafka's offsets (ms); after it the lag is reported unknown (null). */
const LAG_WAIT_MS = 1000

/**
 * The page's one word for the pipeline, from the readiness value (never its wording) and the
 * owned partitions: a not-ready state as it is; when ready, `paused` if any partition is
 * paused for flow control, else `consuming`, or `idle` when it owns no partition. Pure.
 */
export function pipelineState(health: Health, parts: readonly PartitionView[]): Summary['pipeline'] {
  const pausedPartitions = parts.filter((p) => p.paused).map((p) => p.partition)
  const state: PipelineState =
    health.state !== 'ready' ? health.state : pausedPartitions.length ? 'paused' : parts.length ? 'consuming' : 'idle'
  return { state, reason: health.reason, partitions: parts.length, pausedPartitions }
}

interface Totals {
  latestWindow: Summary['latestWindow']
  range: Summary['range']
}

type Finality = Pick<Summary, 'lowWatermark' | 'latestFinalWindow'>

/** The summary's one shared computation (see the top of this file); close() stops its rate sampler. */
export class SummaryService {
  /** Updated by the WebSocket hub. */
  readonly push = { clients: 0, drops: 0 }
  private readonly windowMs: number
  private readonly samples: { at: number; consumed: number }[] = []
  private readonly sampler: NodeJS.Timeout
  private readonly defaultTotals: Cached<Totals>
  private readonly rejected: Cached<Summary['rejected']>
  private readonly lag: Cached<string | null>
  private readonly finality: Cached<Finality>

  constructor(private readonly deps: HttpDeps) {
    this.windowMs = deps.config.windowSeconds * 1000
    this.sampler = setInterval(() => this.sample(), RATE_SAMPLE_MS)
    this.sampler.unref()
    this.sample()
    this.defaultTotals = new Cached(SUMMARY_TTL_MS, () => this.loadTotals(DEFAULT_RANGE_WINDOWS))
    this.rejected = new Cached(REJECTED_TTL_MS, () => this.loadRejected())
    this.lag = new Cached(LAG_TTL_MS, () => this.loadLag())
    this.finality = new Cached(SUMMARY_TTL_MS, () => this.loadFinality())
  }

  private sample(): void {
    this.samples.push({ at: Date.now(), consumed: this.deps.pipeline.stats.consumed })
    if (this.samples.length > RATE_SAMPLES) this.samples.shift()
  }

  eventsPerSecond(): number {
    const first = this.samples[0]
    const last = { at: Date.now(), consumed: this.deps.pipeline.stats.consumed }
    if (!first || last.at - first.at < 500) return 0
    return Math.round(((last.consumed - first.consumed) * 1000) / (last.at - first.at))
  }

  /**
   * The summary over the last `windows` windows. What Postgres and Kafka answer is cached
   * briefly (the default range's totals for a second); state, rate and viewers are read fresh.
   */
  async get(windows = DEFAULT_RANGE_WINDOWS): Promise<Summary> {
    let database: Summary['database'] = { ok: true, error: null }
    const failed = (err: Error) => {
      database = { ok: false, error: err.message }
      return null
    }
    const [totals, rejected, consumerLag, finality] = await Promise.all([
      (windows === DEFAULT_RANGE_WINDOWS ? this.defaultTotals.get() : this.loadTotals(windows)).catch(failed),
      this.rejected.get().catch(failed),
      // Kafka away: its client retries for a long time; the summary does not wait for it (lag unknown).
      orNullAfter(this.lag.get(), LAG_WAIT_MS).catch(() => null),
      this.finality.get().catch(failed),
    ])
    const pipeline = pipelineState(this.deps.health.now(), this.deps.pipeline.partitions())
    // Our own failed query is evidence too, even before the supervisor's probe notices.
    if (!database.ok && pipeline.state !== 'stopping') pipeline.state = 'postgres_unreachable'
    return {
      generatedAt: new Date().toISOString(),
      windowSeconds: this.deps.config.windowSeconds,
      latestWindow: totals?.latestWindow ?? null,
      lowWatermark: finality?.lowWatermark ?? null,
      latestFinalWindow: finality?.latestFinalWindow ?? null,
      range: totals?.range ?? null,
      eventsPerSecond: this.eventsPerSecond(),
      consumerLag,
      rejected,
      pipeline,
      push: { ...this.push },
      database,
    }
  }

  private async loadTotals(windows: number): Promise<Totals> {
    // max(window_start) is one step down the primary key; the range is an index range scan.
    const { rows } = await this.deps.db.query<{
      latest: Date | null
      latest_sales: string
      latest_count: string
      latest_categories: number
      range_sales: string
      range_count: string
      range_windows: number
    }>(
      `WITH latest AS (SELECT max(window_start) AS ws FROM category_sales)
       SELECT latest.ws AS latest,
              coalesce(sum(c.total_sales) FILTER (WHERE c.window_start = latest.ws), 0)::text AS latest_sales,
              coalesce(sum(c.transaction_count) FILTER (WHERE c.window_start = latest.ws), 0)::text AS latest_count,
              count(*) FILTER (WHERE c.window_start = latest.ws)::int AS latest_categories,
              coalesce(sum(c.total_sales), 0)::text AS range_sales,
              coalesce(sum(c.transaction_count), 0)::text AS range_count,
              count(DISTINCT c.window_start)::int AS range_windows
         FROM latest
         LEFT JOIN category_sales c
           ON c.window_start > latest.ws - $1::bigint * interval '1 millisecond' AND c.window_start <= latest.ws
        GROUP BY latest.ws`,
      [windows * this.windowMs],
    )
    const r = rows[0]
    if (!r?.latest) return { latestWindow: null, range: null }
    const start = r.latest.getTime()
    return {
      latestWindow: {
        start: new Date(start).toISOString(),
        end: new Date(start + this.windowMs).toISOString(),
        totalSales: r.latest_sales,
        transactionCount: r.latest_count,
        categories: r.latest_categories,
      },
      range: {
        windows,
        from: new Date(start - (windows - 1) * this.windowMs).toISOString(),
        to: new Date(start + this.windowMs).toISOString(),
        totalSales: r.range_sales,
        transactionCount: r.range_count,
        windowsWithData: r.range_windows,
      },
    }
  }

  /** The committed low watermark (tumbler_topics) and the newest closed window: a backward scan of the primary key past the few open rows. */
  private async loadFinality(): Promise<Finality> {
    const { rows } = await this.deps.db.query<{
      low: string | null
      ws: Date | null
      sales: string | null
      count: string | null
      categories: number | null
      closed_at: Date | null
    }>(
      `WITH f AS (SELECT window_start AS ws FROM category_sales WHERE closed_at IS NOT NULL ORDER BY window_start DESC LIMIT 1)
       SELECT (SELECT low_watermark_ms FROM tumbler_topics WHERE topic = $1)::text AS low, f.ws,
              sum(c.total_sales)::text AS sales, sum(c.transaction_count)::text AS count, count(c.*)::int AS categories, max(c.closed_at) AS closed_at
         FROM (SELECT 1) AS one LEFT JOIN f ON true LEFT JOIN category_sales c ON c.window_start = f.ws
        GROUP BY f.ws`,
      [this.deps.config.kafkaTopic],
    )
    const r = rows[0]
    const low = r?.low == null ? null : new Date(Number(r.low)).toISOString()
    if (!r?.ws) return { lowWatermark: low, latestFinalWindow: null }
    const start = r.ws.getTime()
    return {
      lowWatermark: low,
      latestFinalWindow: {
        start: new Date(start).toISOString(),
        end: new Date(start + this.windowMs).toISOString(),
        totalSales: r.sales!,
        transactionCount: r.count!,
        categories: r.categories!,
        closedAt: r.closed_at!.toISOString(),
      },
    }
  }

  private async loadRejected(): Promise<Summary['rejected']> {
    const { rows } = await this.deps.db.query<{ reason: string; n: string }>(
      'SELECT reason, count(*)::text AS n FROM rejected_events WHERE topic = $1 GROUP BY reason ORDER BY reason',
      [this.deps.config.kafkaTopic],
    )
    const byReason = Object.fromEntries(rows.map((r) => [r.reason, r.n]))
    const total = rows.reduce((a, r) => a + BigInt(r.n), 0n)
    return { total: total.toString(), late: byReason.late ?? '0', byReason }
  }

  private async loadLag(): Promise<string | null> {
    if (!this.deps.kafkaOffsets) return null
    const [offsets, progress] = await Promise.all([
      this.deps.kafkaOffsets(),
      this.deps.db.query<{ partition: number; next_offset: string }>(
        'SELECT partition, next_offset FROM tumbler_progress WHERE topic = $1',
        [this.deps.config.kafkaTopic],
      ),
    ])
    const next = new Map(progress.rows.map((r) => [r.partition, BigInt(r.next_offset)]))
    let lag = 0n
    for (const o of offsets) {
      const high = BigInt(o.high)
      const low = BigInt(o.low)
      // A partition never claimed starts at the log start; retention may have moved past a stored offset.
      const from = (next.get(o.partition) ?? low) > low ? next.get(o.partition)! : low
      if (high > from) lag += high - from
    }
    return lag.toString()
  }

  close(): void {
    clearInterval(this.sampler)
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    summary: SummaryService
  }
}

/** Decorates the app with `summary`, shared by the API and WebSocket plugins. */
export const summaryPlugin = fp<HttpDeps>(
  async (app, deps) => {
    const service = new SummaryService(deps)
    app.decorate('summary', service)
    app.addHook('onClose', async () => service.close())
  },
  { name: 'tumbler-summary', fastify: '5.x' },
)
