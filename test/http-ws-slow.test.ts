// A viewer that stops reading must not slow the pipeline or the other viewers: its pushes
// are dropped (and counted) once its socket buffer is full, and it gets a fresh snapshot,
// not the backlog, when it reads again. Real sockets over loopback, real Postgres.
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import t from 'tap'
import WebSocket from 'ws'
import type { ServerMessage } from '../src/http/ws-messages.js'
import { waitFor } from '../test-support/wait.js'
import { buildApp, commitOf } from '../test-support/http-app.js'

t.test('a stalled WebSocket client is skipped, counted, and resynchronised with a snapshot', async (t) => {
  const { app, pipeline } = await buildApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as net.AddressInfo).port
  const url = `ws://127.0.0.1:${port}/ws`

  const open = (ws: WebSocket, messages: ServerMessage[]) => {
    ws.on('message', (data) => messages.push(JSON.parse(String(data))))
    t.teardown(() => ws.terminate())
  }
  const fast: ServerMessage[] = []
  open(new WebSocket(url), fast)
  const slowMessages: ServerMessage[] = []
  let raw: net.Socket | null = null
  const slow = new WebSocket(url, { createConnection: () => (raw = net.connect(port, '127.0.0.1')) })
  open(slow, slowMessages)
  await waitFor(() => fast.length >= 1 && slowMessages.length >= 1, 'both snapshots')
  // From here on the slow client reads nothing: the kernel buffers fill, then ws's.
  raw!.pause()

  // Big commits (2000 rows of long category names, ~300 kB a push) at 40 commits a second.
  const windowStartMs = Date.UTC(2026, 0, 1)
  const categories = Array.from({ length: 2000 }, (_, i) => `category ${String(i).padStart(4, '0')} ${'x'.repeat(30)}`)
  let n = 0
  let emitMs = 0
  let maxEmitMs = 0
  const emitOne = () => {
    n++
    const started = performance.now()
    pipeline.emit(
      'commit',
      commitOf(categories.map((category) => ({ windowStartMs, category, totalSales: `${n}.00`, transactionCount: String(n) }))),
    )
    const took = performance.now() - started
    emitMs += took
    maxEmitMs = Math.max(maxEmitMs, took)
  }
  const timer = setInterval(emitOne, 25)
  t.teardown(() => clearInterval(timer))

  await waitFor(() => app.summary.push.drops > 0, 'pushes to the stalled client to be dropped', 120_000)
  const updates = () => fast.filter((m): m is Extract<ServerMessage, { type: 'update' }> => m.type === 'update' && m.commits > 0)
  const atFirstDrop = updates().length
  await waitFor(() => updates().length >= atFirstDrop + 10, 'the other client to receive 10 more pushes')
  const dropsWhileStalled = app.summary.push.drops
  t.ok(dropsWhileStalled > 0, `drops are counted (${dropsWhileStalled})`)
  clearInterval(timer)

  // The last commit reaches the reading client; it never missed a push (seq has no gap).
  emitOne()
  const last = `${n}.00`
  await waitFor(
    () =>
      updates()
        .at(-1)
        ?.rows.some((r) => r.totalSales === last),
    'the last commit at the reading client',
  )
  const seqs = updates().map((m) => m.seq)
  t.same(
    seqs.filter((s, i) => i > 0 && s !== seqs[i - 1]! + 1),
    [],
    `the reading client got every push, in order (${seqs.length} pushes)`,
  )
  t.comment(
    `commit listener: ${(emitMs / n).toFixed(2)} ms mean, ${maxEmitMs.toFixed(1)} ms max per 2000-row commit over ${n} commits, with one client stalled`,
  )

  // Reading again: a fresh snapshot with the latest totals, instead of the dropped backlog.
  const snapshotsBefore = slowMessages.filter((m) => m.type === 'snapshot').length
  raw!.resume()
  await waitFor(() => slowMessages.filter((m) => m.type === 'snapshot').length > snapshotsBefore, 'a resynchronising snapshot', 60_000)
  t.equal(snapshotsBefore, 1, 'the stalled client had only its first snapshot')
  t.ok(
    slowMessages.filter((m) => m.type === 'update' && m.commits > 0).length < updates().length,
    `the stalled client got fewer pushes (${slowMessages.filter((m) => m.type === 'update' && m.commits > 0).length}) than the reading one (${updates().length})`,
  )
  // The snapshot reads Postgres (these test commits are not there); what matters is that its seq
  // is the latest push, so the stalled client skipped the backlog instead of replaying it.
  const resync = slowMessages.findLast((m) => m.type === 'snapshot')
  t.equal(resync?.type === 'snapshot' && resync.seq, seqs.at(-1), 'the resynchronising snapshot is as of the latest push')
})
