import type { WebSocket } from 'ws'
import { metrics } from '../metrics/registry.js'
import { log } from '../shared/log.js'
import type { CommitResult } from '../shared/protocol.js'
import type { HttpDeps } from './deps.js'
import { PushBatch, rowKey } from './push-batch.js'
import { recentSalesRows, type SalesRow } from './sales-row.js'
import { DEFAULT_RANGE_WINDOWS, type SummaryService } from './summary.js'
import {
  MAX_BUFFERED_BYTES,
  PUSH_INTERVAL_MS,
  RESUME_BUFFERED_BYTES,
  SNAPSHOT_MAX_ROWS,
  type ServerMessage,
  type SnapshotMessage,
} from './ws-messages.js'

// The live feed's clients and fan-out. Every commit's rows are merged into one batch
// (./push-batch.ts) and pushed at most every PUSH_INTERVAL_MS, to every client, as one shared
// JSON string. Rows carry absolute totals whose transactionCount only grows, so a client
// keeps the row with the larger count: neither a repeat nor a late arrival moves it back. A
// client first gets a snapshot; pushes made while its snapshot query runs are held for it
// and sent right after. A client whose socket buffer is over the bound is skipped (drops
// counted) and, once drained, gets a fresh snapshot instead of the backlog. No client can
// slow the pipeline down: its 'commit' listener only touches a Map. Windows that a commit
// made final go out as `windows_closed` right after that push's `update`; a client still
// waiting for its snapshot learns the low watermark from the snapshot's summary and from
// the `stats` each second.

const STATS_INTERVAL_MS = 1_000
const PING_INTERVAL_MS = 30_000
const SNAPSHOT_RETRY_MS = 2_000

interface Client {
  socket: WebSocket
  state: 'snapshotting' | 'live' | 'stale'
  /** Rows committed while this client's snapshot was being read. */
  pending: Map<string, SalesRow> | null
  drops: number
  alive: boolean
}

const isOpen = (c: Client) => c.socket.readyState === c.socket.OPEN

/** The WebSocket clients of GET /ws and what is pushed to them; the push counters go to the summary. */
export class PushHub {
  private readonly clients = new Set<Client>()
  private readonly batch: PushBatch
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
    this.batch = new PushBatch(this.windowMs)
    deps.pipeline.on('commit', this.onCommit)
    deps.pipeline.on('paused', this.onPaused)
    this.ticker = setInterval(() => this.sendStats(), STATS_INTERVAL_MS)
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS)
    this.ticker.unref()
    this.pinger.unref()
  }

  private readonly onCommit = (result: CommitResult): void => {
    if (this.closed || !this.batch.add(result)) return
    this.pushTimer ??= setTimeout(() => this.push(), Math.max(0, this.lastPushAt + PUSH_INTERVAL_MS - Date.now()))
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

  /** Takes a client whose upgrade completed: it gets a snapshot first, then the pushes. */
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
    const update = this.batch.takeUpdate(() => ++this.seq, now)
    if (update) {
      let data: string | null = null
      for (const c of this.clients) {
        if (c.state === 'snapshotting') for (const row of update.rows) c.pending!.set(rowKey(row), row)
        else this.send(c, (data ??= JSON.stringify(update)))
      }
    }
    // After the update: a row the same commit changed and closed arrives before its closing.
    const closed = this.batch.takeClosed(now)
    if (closed) this.broadcast(closed)
  }

  /** One message to every client past its snapshot, serialised once. */
  private broadcast(message: ServerMessage): void {
    const data = JSON.stringify(message)
    for (const c of this.clients) if (c.state !== 'snapshotting') this.send(c, data)
  }

  /** Sends unless the client's queue is over the bound; a stalled client is resynchronised once drained. */
  private send(c: Client, data: string): void {
    if (!isOpen(c)) return
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
      (summary) => this.broadcast({ type: 'stats', summary, sentAtMs: Date.now() }),
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
        let snapshot: SnapshotMessage
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
              for (const c of batch) if (isOpen(c)) c.socket.send(data)
            },
            () => {},
          )
          return
        }
        const data = JSON.stringify(snapshot)
        for (const c of batch) if (isOpen(c)) this.goLive(c, data)
      }
    } finally {
      this.snapshotting = false
    }
  }

  /** Sends the snapshot, then the rows held back while it was read (as an update of 0 commits). */
  private goLive(c: Client, snapshot: string): void {
    c.socket.send(snapshot)
    c.state = 'live'
    const pending = [...c.pending!.values()]
    c.pending = null
    if (!pending.length) return
    const now = Date.now()
    const held: ServerMessage = {
      type: 'update',
      rows: pending,
      commits: 0,
      committedAtMs: now,
      lastCommittedAtMs: now,
      seq: this.seq,
      sentAtMs: now,
    }
    c.socket.send(JSON.stringify(held))
  }

  private async snapshot(): Promise<SnapshotMessage> {
    const [rows, summary] = await Promise.all([
      recentSalesRows(this.deps.db, this.windowMs, DEFAULT_RANGE_WINDOWS, SNAPSHOT_MAX_ROWS),
      this.summary.get().catch(() => null),
    ])
    return {
      type: 'snapshot',
      windowMs: this.windowMs,
      windows: DEFAULT_RANGE_WINDOWS,
      rows: rows.slice(0, SNAPSHOT_MAX_ROWS),
      truncated: rows.length > SNAPSHOT_MAX_ROWS,
      summary,
      seq: this.seq,
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

  /** Stops listening to the pipeline and every timer, and cuts off every client. */
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
