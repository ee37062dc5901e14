import websocket from '@fastify/websocket'
import { metrics } from '../metrics/registry.js'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { WebSocket } from 'ws'
import type { HttpDeps } from './server.js'
import { DEFAULT_RANGE_WINDOWS, type Summary, type SummaryService } from './summary.js'
import { log } from '../shared/log.js'
import type { CommitResult, CommittedRow } from '../shared/protocol.js'

// GET /ws: the page's live feed. Every commit's rows are merged into one map and pushed
// at most ten times a second, to every client, as one shared JSON string. Rows carry
// absolute totals whose transactionCount only grows, so a client keeps the row with the
// larger count: neither a repeat nor a late arrival moves it back. A client first gets a
// snapshot; pushes made while its snapshot query runs are held for it and sent right
// after. A client whose socket buffer is over the bound is skipped (drops counted) and,
// once drained, gets a fresh snapshot instead of the backlog. The pipeline's 'commit'
// listener only touches a Map, so no client can slow the pipeline down. Windows that a
// commit made final go out as `windows_closed` right after that push's `update`; a client
// still waiting for its snapshot learns the low watermark from the snapshot's summary and
// from the `stats` each second.

export const PUSH_INTERVAL_MS = 100
/** Bytes queued in a client's socket above which pushes to it are dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024
/** A stalled client is resynchronised once its queue is below this. */
const RESUME_BUFFERED_BYTES = 64 * 1024
const STATS_INTERVAL_MS = 1_000
const PING_INTERVAL_MS = 30_000
const SNAPSHOT_RETRY_MS = 2_000
/** A snapshot carries at most this many rows (100 windows × 100 categories). */
export const SNAPSHOT_MAX_ROWS = 10_000

/** A (window, category) row as the feed sends it; amounts and counts are decimal strings. */
export interface WireRow {
  windowStart: string
  category: string
  totalSales: string
  transactionCount: string
  updatedAt: string
  /** Set once the window is final (snapshot rows only: a row an update carries changed, so it was open). */
  closedAt?: string | null
}

export type ServerMessage =
  | {
      type: 'snapshot'
      windowMs: number
      windows: number
      rows: WireRow[]
      truncated: boolean
      summary: Summary | null
      seq: number
      sentAtMs: number
    }
  /** seq numbers the pushes (commits > 0): a client that sees a gap missed one. commits 0: rows held back during its snapshot. */
  | { type: 'update'; rows: WireRow[]; commits: number; committedAtMs: number; lastCommittedAtMs: number; seq: number; sentAtMs: number }
  /** Windows whose rows became final, ascending; every window ending at or before lowWatermark is final. */
  | {
      type: 'windows_closed'
      windows: { windowStart: string; windowEnd: string }[]
      lowWatermark: string
      closedAtMs: number
      sentAtMs: number
    }
  | { type: 'stats'; summary: Summary; sentAtMs: number }

interface Client {
  socket: WebSocket
  state: 'snapshotting' | 'live' | 'stale'
  /** Rows committed while this client's snapshot was being read. */
  pending: Map<string, WireRow> | null
  drops: number
  alive: boolean
}

const rowKey = (windowStartMs: number, category: string) => `${windowStartMs}\u0000${category}`

const wire = (r: CommittedRow, committedAtMs: number): WireRow => ({
  windowStart: new Date(r.windowStartMs).toISOString(),
  category: r.category,
  totalSales: r.totalSales,
  transactionCount: r.transactionCount,
  updatedAt: new Date(committedAtMs).toISOString(),
})

export class PushHub {
  private readonly clients = new Set<Client>()
  /** The last totals of each row committed since the last push; turned into WireRows once per push. */
  private changed = new Map<string, { row: CommittedRow; atMs: number }>()
  /** Windows closed since the last push (starts, ms), the low watermark and when they were committed. */
  private finalized: { starts: number[]; lowWatermarkMs: number; atMs: number } | null = null
  private commits = 0
  private firstCommitMs = 0
  private lastCommitMs = 0
  private lastPushAt = 0
  private seq = 0
  private pushTimer: NodeJS.Timeout | null = null
  private statsTimer: NodeJS.Timeout | null = null
  private readonly ticker: NodeJS.Timeout
  private readonly pinger: NodeJS.Timeout
  private waiting: Client[] = []
  private snapshotting = false
  private retryTimer: NodeJS.Timeout | null = null
  private closed = false
  private readonly windowMs: number

  constructor(
    private readonly deps: HttpDeps,
    private readonly summary: SummaryService,
  ) {
    this.windowMs = deps.config.windowSeconds * 1000
    deps.pipeline.on('commit', this.onCommit)
    deps.pipeline.on('paused', this.onPaused)
    this.ticker = setInterval(() => this.sendStats(), STATS_INTERVAL_MS)
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS)
    this.ticker.unref()
    this.pinger.unref()
  }

  private readonly onCommit = (result: CommitResult): void => {
    if (this.closed) return
    if (result.closedWindows.length && result.lowWatermarkMs !== null) {
      this.finalized = {
        starts: [...(this.finalized?.starts ?? []), ...result.closedWindows],
        lowWatermarkMs: result.lowWatermarkMs,
        atMs: result.committedAtMs,
      }
      this.pushTimer ??= setTimeout(() => this.push(), Math.max(0, this.lastPushAt + PUSH_INTERVAL_MS - Date.now()))
    }
    if (result.rows.length === 0) return
    for (const row of result.rows) this.changed.set(rowKey(row.windowStartMs, row.category), { row, atMs: result.committedAtMs })
    if (this.commits === 0) this.firstCommitMs = result.committedAtMs
    this.lastCommitMs = result.committedAtMs
    this.commits++
    if (!this.pushTimer) this.pushTimer = setTimeout(() => this.push(), Math.max(0, this.lastPushAt + PUSH_INTERVAL_MS - Date.now()))
  }

  private readonly onPaused = (): void => {
    // A state change is news: show it within a push interval, not at the next stats tick.
    this.statsTimer ??= setTimeout(() => {
      this.statsTimer = null
      this.sendStats()
    }, PUSH_INTERVAL_MS)
  }

  /** Clients connected now (a closing one counts until its socket has closed). */
  get size(): number {
    return this.clients.size
  }

  add(socket: WebSocket): void {
    const client: Client = { socket, state: 'snapshotting', pending: null, drops: 0, alive: true }
    this.clients.add(client)
    this.summary.push.clients = this.clients.size
    metrics.wsClients.set(this.clients.size)
    socket.on('pong', () => (client.alive = true))
    socket.on('close', () => {
      this.clients.delete(client)
      this.summary.push.clients = this.clients.size
      metrics.wsClients.set(this.clients.size)
    })
    socket.on('error', (err) => log.debug('websocket client error', { error: err }))
    this.requestSnapshot(client)
  }

  private push(): void {
    const now = Date.now()
    // Timers run off the event loop's cached clock and can fire a little early by Date.now().
    const wait = this.lastPushAt + PUSH_INTERVAL_MS - now
    if (wait > 0) {
      this.pushTimer = setTimeout(() => this.push(), wait)
      return
    }
    this.pushTimer = null
    this.lastPushAt = now
    if (this.changed.size) this.pushUpdate(now)
    // After the update: a row the same commit changed and closed arrives before its closing.
    const finalized = this.finalized
    this.finalized = null
    if (finalized) {
      const windows = finalized.starts.map((ms) => ({
        windowStart: new Date(ms).toISOString(),
        windowEnd: new Date(ms + this.windowMs).toISOString(),
      }))
      const data = JSON.stringify({
        type: 'windows_closed',
        windows,
        lowWatermark: new Date(finalized.lowWatermarkMs).toISOString(),
        closedAtMs: finalized.atMs,
        sentAtMs: now,
      } satisfies ServerMessage)
      for (const c of this.clients) if (c.state !== 'snapshotting') this.send(c, data)
    }
  }

  private pushUpdate(now: number): void {
    const changed = this.changed
    this.changed = new Map()
    const keys = [...changed.keys()]
    const rows = [...changed.values()].map((c) => wire(c.row, c.atMs))
    const message: ServerMessage = {
      type: 'update',
      rows,
      commits: this.commits,
      committedAtMs: this.firstCommitMs,
      lastCommittedAtMs: this.lastCommitMs,
      seq: ++this.seq,
      sentAtMs: now,
    }
    this.commits = 0
    let data: string | null = null
    for (const c of this.clients) {
      if (c.state === 'snapshotting') {
        keys.forEach((k, i) => c.pending!.set(k, rows[i]!))
        continue
      }
      this.send(c, (data ??= JSON.stringify(message)))
    }
  }

  /** Sends unless the client's queue is over the bound; a stalled client is resynchronised once drained. */
  private send(c: Client, data: string): void {
    if (c.socket.readyState !== c.socket.OPEN) return
    if (c.state === 'stale' || c.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      if (c.state !== 'stale')
        log.info('websocket client stalled; dropping pushes until it drains', { bufferedBytes: c.socket.bufferedAmount })
      c.state = 'stale'
      c.drops++
      this.summary.push.drops++
      metrics.wsDroppedPushes.inc()
      if (c.socket.bufferedAmount < RESUME_BUFFERED_BYTES) this.requestSnapshot(c)
      return
    }
    c.socket.send(data)
  }

  private sendStats(): void {
    if (this.clients.size === 0 || this.closed) return
    for (const c of this.clients) if (c.state === 'stale' && c.socket.bufferedAmount < RESUME_BUFFERED_BYTES) this.requestSnapshot(c)
    this.summary.get().then(
      (summary) => {
        const data = JSON.stringify({ type: 'stats', summary, sentAtMs: Date.now() } satisfies ServerMessage)
        for (const c of this.clients) if (c.state !== 'snapshotting') this.send(c, data)
      },
      (err: Error) => log.warn('summary for push failed', { error: err }),
    )
  }

  private requestSnapshot(c: Client): void {
    c.state = 'snapshotting'
    c.pending = new Map()
    this.waiting.push(c)
    void this.runSnapshots()
  }

  /**
   * Snapshots for every waiting client. A query is shared only by clients that were
   * waiting before it started: their pending maps hold everything committed since.
   */
  private async runSnapshots(): Promise<void> {
    if (this.snapshotting || this.retryTimer) return
    this.snapshotting = true
    try {
      while (this.waiting.length && !this.closed) {
        const batch = this.waiting.splice(0)
        let snapshot: Awaited<ReturnType<PushHub['snapshot']>>
        try {
          snapshot = await this.snapshot()
        } catch (err) {
          log.warn('websocket snapshot failed; retrying', { error: err as Error, clients: batch.length, retryMs: SNAPSHOT_RETRY_MS })
          this.waiting.unshift(...batch)
          this.retryTimer = setTimeout(() => {
            this.retryTimer = null
            void this.runSnapshots()
          }, SNAPSHOT_RETRY_MS)
          // The page still learns why it has no data.
          this.summary.get().then(
            (summary) => {
              const data = JSON.stringify({ type: 'stats', summary, sentAtMs: Date.now() } satisfies ServerMessage)
              for (const c of batch) if (c.socket.readyState === c.socket.OPEN) c.socket.send(data)
            },
            () => {},
          )
          return
        }
        const data = JSON.stringify({ ...snapshot, seq: this.seq })
        for (const c of batch) {
          if (c.socket.readyState !== c.socket.OPEN) continue
          c.socket.send(data)
          c.state = 'live'
          const pending = [...c.pending!.values()]
          c.pending = null
          if (pending.length) {
            const now = Date.now()
            c.socket.send(
              JSON.stringify({
                type: 'update',
                rows: pending,
                commits: 0,
                committedAtMs: now,
                lastCommittedAtMs: now,
                seq: this.seq,
                sentAtMs: now,
              } satisfies ServerMessage),
            )
          }
        }
      }
    } finally {
      this.snapshotting = false
    }
  }

  private async snapshot(): Promise<Omit<Extract<ServerMessage, { type: 'snapshot' }>, 'seq'>> {
    const [{ rows }, summary] = await Promise.all([
      this.deps.db.query<{
        window_start: Date
        category: string
        total_sales: string
        transaction_count: string
        updated_at: Date
        closed_at: Date | null
      }>(
        `SELECT window_start, category, total_sales::text AS total_sales, transaction_count::text AS transaction_count, updated_at, closed_at
           FROM category_sales
          WHERE window_start > (SELECT max(window_start) FROM category_sales) - $1::bigint * interval '1 millisecond'
          ORDER BY window_start DESC, category
          LIMIT $2`,
        [DEFAULT_RANGE_WINDOWS * this.windowMs, SNAPSHOT_MAX_ROWS + 1],
      ),
      this.summary.get().catch(() => null),
    ])
    return {
      type: 'snapshot',
      windowMs: this.windowMs,
      windows: DEFAULT_RANGE_WINDOWS,
      rows: rows.slice(0, SNAPSHOT_MAX_ROWS).map((r) => ({
        windowStart: r.window_start.toISOString(),
        category: r.category,
        totalSales: r.total_sales,
        transactionCount: r.transaction_count,
        updatedAt: r.updated_at.toISOString(),
        closedAt: r.closed_at?.toISOString() ?? null,
      })),
      truncated: rows.length > SNAPSHOT_MAX_ROWS,
      summary,
      sentAtMs: Date.now(),
    }
  }

  /** ws does not notice a peer that vanished without closing; a missed pong ends it. */
  private ping(): void {
    for (const c of this.clients) {
      if (!c.alive) {
        c.socket.terminate()
        continue
      }
      c.alive = false
      c.socket.ping()
    }
  }

  /** Says goodbye to every client (1001: going away), so pages reconnect to the next server. */
  goingAway(): void {
    this.closed = true
    for (const c of this.clients) c.socket.close(1001, 'server shutting down')
  }

  close(): void {
    this.closed = true
    this.deps.pipeline.off('commit', this.onCommit)
    this.deps.pipeline.off('paused', this.onPaused)
    for (const t of [this.pushTimer, this.statsTimer, this.retryTimer]) if (t) clearTimeout(t)
    clearInterval(this.ticker)
    clearInterval(this.pinger)
    // A client that did not answer the close handshake is cut off.
    for (const c of this.clients) c.socket.terminate()
    this.clients.clear()
  }
}

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
