// Route tests for the API, the page's files and the WebSocket feed, with inject/injectWS
// against a real Postgres database (see helpers/http-app.ts).
import t from 'tap'
import type { WebSocket } from 'ws'
import { MAX_PAGE } from '../src/http/api.js'
import { PUSH_INTERVAL_MS, type ServerMessage } from '../src/http/ws-messages.js'
import { buildApp, commitOf, seedSales, upgrade } from '../test-support/http-app.js'
import { waitFor } from '../test-support/wait.js'
import { parseMetrics, value } from '../test-support/prom-text.js'

const W = 60 // window seconds
const minute = (i: number) => new Date(Date.UTC(2026, 0, 1, 12, i)).toISOString()

// 5 windows × 3 categories, with amounts a float could not hold (> 2^53 cents).
const SEED: [string, string, string, number][] = []
for (let i = 0; i < 5; i++) for (const c of ['Books', 'Café', 'Toys']) SEED.push([minute(i), c, `${i + 1}${c.length}.0${i}`, i + c.length])
SEED.push([minute(4), 'Huge', '9999999999999999.99', 1])

t.test('GET /api/windows: newest first, exact amounts, bounded pages with a cursor', async (t) => {
  const { app, pool } = await buildApp(t)
  await seedSales(pool, W, SEED)

  const first = await app.inject('/api/windows')
  t.equal(first.statusCode, 200)
  const body = first.json()
  t.equal(body.rows.length, SEED.length, 'default page holds all 16 rows')
  t.same(
    body.rows.slice(0, 4).map((r: { windowStart: string; category: string }) => [r.windowStart, r.category]),
    [
      [minute(4), 'Books'],
      [minute(4), 'Café'],
      [minute(4), 'Huge'],
      [minute(4), 'Toys'],
    ],
    'newest window first, then category',
  )
  const huge = body.rows.find((r: { category: string }) => r.category === 'Huge')
  t.same(
    huge,
    {
      windowStart: minute(4),
      windowEnd: minute(5),
      category: 'Huge',
      totalSales: '9999999999999999.99',
      transactionCount: '1',
      updatedAt: huge.updatedAt,
      closedAt: null,
    },
    'numeric(18,2) as a string, to the cent; open',
  )
  t.match(first.body, /"totalSales":"55\.04"/, 'amounts are JSON strings, never numbers')
  t.equal(body.nextCursor, null, 'no next page')

  // Page through 3 at a time: every row once, in order.
  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const res: { statusCode: number; json(): any } = await app.inject({
      url: '/api/windows',
      query: { limit: '3', ...(cursor ? { cursor } : {}) },
    })
    t.equal(res.statusCode, 200)
    const page: { rows: { windowStart: string; category: string }[]; nextCursor: string | null } = res.json()
    t.ok(page.rows.length <= 3, 'page size is bounded by limit')
    seen.push(...page.rows.map((r) => `${r.windowStart} ${r.category}`))
    cursor = page.nextCursor
    pages++
  } while (cursor && pages < 20)
  t.equal(pages, 6, '16 rows in pages of 3')
  t.same(
    seen,
    body.rows.map((r: { windowStart: string; category: string }) => `${r.windowStart} ${r.category}`),
    'the pages join up to the full list',
  )

  const ranged = (await app.inject({ url: '/api/windows', query: { from: minute(1), to: minute(3), category: 'Café' } })).json()
  t.same(
    ranged.rows.map((r: { windowStart: string; totalSales: string }) => [r.windowStart, r.totalSales]),
    [
      [minute(2), '34.02'],
      [minute(1), '24.01'],
    ],
    'from inclusive, to exclusive, one category',
  )
  t.equal((await app.inject({ url: '/api/windows', query: { limit: String(MAX_PAGE) } })).statusCode, 200, `limit=${MAX_PAGE} is allowed`)
})

t.test('GET /api/windows: a bad query is a 400 that says what is wrong', async (t) => {
  const { app } = await buildApp(t)
  const cases: [Record<string, string>, RegExp][] = [
    [{ limit: String(MAX_PAGE + 1) }, /limit must be <= 1000/],
    [{ limit: '0' }, /limit must be >= 1/],
    [{ limit: 'ten' }, /limit must be integer/],
    [{ from: 'yesterday' }, /from must match format "date-time"/],
    [{ to: '2026-01-01' }, /to must match format "date-time"/],
    [{ from: minute(3), to: minute(1) }, /from must be before to/],
    [{ category: 'x'.repeat(51) }, /category must NOT have more than 50 characters/],
    [{ category: '' }, /category must NOT have fewer than 1 characters/],
    [{ cursor: 'bm90IGEgY3Vyc29y' }, /cursor is not one this API returned/],
    // Forged cursors Postgres would refuse (a NUL in the category, year +275760): a bad request, not a database outage.
    [{ cursor: Buffer.from(JSON.stringify(['2026-01-01', '\u0000'])).toString('base64url') }, /cursor is not one this API returned/],
    [
      { cursor: Buffer.from(JSON.stringify(['+275760-09-13T00:00:00.000Z', 'x'])).toString('base64url') },
      /cursor is not one this API returned/,
    ],
    [{ catgory: 'Books' }, /unknown query parameter 'catgory'/],
    [{ final: 'yes' }, /final must be boolean/],
    // What Postgres would refuse (not a database outage, so not a 503).
    [{ category: 'a\u0000b' }, /category must not contain NUL/],
    [{ from: '0000-01-01T00:00:00Z' }, /from must be an instant in the years 0001-9999/],
    [{ to: '9999-12-31T23:59:59-05:00' }, /to must be an instant in the years 0001-9999/],
  ]
  for (const [query, message] of cases) {
    const res = await app.inject({ url: '/api/windows', query })
    t.equal(res.statusCode, 400, `${JSON.stringify(query)} → 400`)
    t.match(res.json().message, message, `${JSON.stringify(query)} → ${message}`)
  }
  t.equal(
    (await app.inject({ url: '/api/windows', query: { category: '€'.repeat(50) } })).statusCode,
    200,
    '50 characters of 3 bytes each is a valid category',
  )
  t.equal((await app.inject({ url: '/api/summary', query: { windows: '0' } })).statusCode, 400, 'summary validates too')
  t.equal((await app.inject({ url: '/api/summary', query: { window: '5' } })).statusCode, 400, 'summary rejects unknown parameters')
})

t.test('GET /api/summary: totals from Postgres, rejected counts, lag, pipeline state', async (t) => {
  const { app, pool, config, health } = await buildApp(t, {
    kafkaOffsets: async () => [
      { partition: 0, low: '0', high: '100' },
      { partition: 1, low: '50', high: '60' },
    ],
  })
  await seedSales(pool, W, SEED)
  await pool.query(
    `INSERT INTO rejected_events (topic, partition, "offset", reason, detail, payload, kafka_timestamp)
     VALUES ($1, 0, 1, 'late', '', NULL, now()), ($1, 0, 2, 'late', '', NULL, now()), ($1, 0, 3, 'invalid_json', '', NULL, now()),
            ('another-topic', 0, 1, 'late', '', NULL, now())`,
    [config.kafkaTopic],
  )
  await pool.query(`INSERT INTO tumbler_progress (topic, partition, next_offset, epoch, owner) VALUES ($1, 0, 40, 1, 'x')`, [
    config.kafkaTopic,
  ])

  const s = (await app.inject({ url: '/api/summary', query: { windows: '2' } })).json()
  t.same(
    s.latestWindow,
    { start: minute(4), end: minute(5), totalSales: '10000000000000163.11', transactionCount: '26', categories: 4 },
    'latest window summed by Postgres, exact',
  )
  // Windows 3 and 4: Books 45.03+55.04, Café 44.03+54.04, Toys 44.03+54.04, Huge.
  t.same(
    s.range,
    { windows: 2, from: minute(3), to: minute(5), totalSales: '10000000000000296.20', transactionCount: '48', windowsWithData: 2 },
    'range totals over the last 2 windows',
  )
  t.same(s.rejected, { total: '3', late: '2', byReason: { invalid_json: '1', late: '2' } }, 'rejected counts of this topic by reason')
  t.equal(s.consumerLag, '70', 'lag: 100 - 40 on partition 0, 60 - 50 on the never-claimed partition 1')
  t.equal(s.windowSeconds, W)

  health.value = { state: 'postgres_unreachable', reason: 'postgres unreachable: connect ECONNREFUSED' }
  t.equal((await app.inject({ url: '/api/summary', query: { windows: '3' } })).json().pipeline.state, 'postgres_unreachable')
  health.value = { state: 'kafka_unreachable', reason: 'kafka unreachable: no heartbeat accepted for 12 s' }
  t.equal(
    (await app.inject({ url: '/api/summary', query: { windows: '3' } })).json().pipeline.state,
    'kafka_unreachable',
    'the state travels as a type, whatever the words',
  )
  const readyz = await app.inject('/readyz')
  t.same(
    [readyz.statusCode, readyz.json().state, readyz.json().reason],
    [503, 'kafka_unreachable', 'kafka unreachable: no heartbeat accepted for 12 s'],
    '/readyz: 503 with the state and the reason',
  )
  health.value = { state: 'starting', reason: 'not yet in the consumer group' }
  t.equal((await app.inject({ url: '/api/summary', query: { windows: '3' } })).json().pipeline.state, 'starting')
  health.value = {
    state: 'failed',
    reason:
      'partitions failed: Postgres refuses their commit, they stopped until the supervisor restarts (partition 2 at offset 7: SQLSTATE 23514 …)',
  }
  t.equal(
    (await app.inject({ url: '/api/summary', query: { windows: '3' } })).json().pipeline.state,
    'failed',
    'a failed partition shows as Failed',
  )
  health.value = { state: 'stopping', reason: 'shutting down' }
  t.equal(
    (await app.inject({ url: '/api/summary', query: { windows: '3' } })).json().pipeline.reason,
    'shutting down',
    'the reason is passed on',
  )
})

t.test(
  'final windows: closedAt and ?final= on /api/windows, the low watermark and latest final window in the summary, windows_closed on /ws',
  async (t) => {
    const { app, pool, pipeline, config } = await buildApp(t)
    await seedSales(pool, W, SEED)
    // Windows 0..2 are final: as the writer leaves them, with the low watermark at their end.
    await pool.query(`UPDATE category_sales SET closed_at = '2026-01-01T12:10:00Z' WHERE window_end <= $1`, [minute(3)])
    await pool.query('INSERT INTO tumbler_topics (topic, low_watermark_ms) VALUES ($1, $2)', [config.kafkaTopic, Date.parse(minute(3))])

    const rows = async (final: string) =>
      (await app.inject({ url: '/api/windows', query: { final } })).json().rows as { windowStart: string; closedAt: string | null }[]
    const final = await rows('true')
    t.same([...new Set(final.map((r) => r.windowStart))], [minute(2), minute(1), minute(0)], 'final=true: the final windows only')
    t.ok(
      final.every((r) => r.closedAt === '2026-01-01T12:10:00.000Z'),
      'each with its closedAt',
    )
    const open = await rows('false')
    t.same([...new Set(open.map((r) => r.windowStart))], [minute(4), minute(3)], 'final=false: the open ones')
    t.ok(
      open.every((r) => r.closedAt === null),
      'closedAt null while open',
    )
    t.equal(final.length + open.length, SEED.length, 'together, every row')

    const s = (await app.inject('/api/summary')).json()
    t.equal(s.lowWatermark, minute(3), 'the committed low watermark')
    t.same(
      s.latestFinalWindow,
      {
        start: minute(2),
        end: minute(3),
        totalSales: '103.06',
        transactionCount: '19',
        categories: 3,
        closedAt: '2026-01-01T12:10:00.000Z',
      },
      'the newest final window, summed by Postgres',
    )
    t.equal(s.latestWindow.start, minute(4), 'next to the live one')

    const feed = await openFeed(app)
    const snap = await waitFor(() => feed.messages.find((m) => m.type === 'snapshot'), 'the snapshot')
    if (snap.type !== 'snapshot') throw new Error('not a snapshot')
    t.equal(snap.rows.filter((r) => r.closedAt).length, final.length, 'snapshot rows carry closedAt')
    t.equal(snap.summary?.lowWatermark, minute(3), 'and the low watermark')
    // A commit that changes a row of window 3 and closes it: the update first, then windows_closed.
    const w3 = Date.parse(minute(3))
    pipeline.emit('commit', {
      ...commitOf([{ windowStartMs: w3, category: 'Books', totalSales: '50.00', transactionCount: '10' }]),
      lowWatermarkMs: Date.parse(minute(4)),
      closedWindows: [w3],
    })
    const closed = await waitFor(() => feed.messages.find((m) => m.type === 'windows_closed'), 'windows_closed')
    if (closed.type !== 'windows_closed') throw new Error('not windows_closed')
    t.same(closed.windows, [{ windowStart: minute(3), windowEnd: minute(4) }], 'the windows the commit closed')
    t.equal(closed.lowWatermark, minute(4))
    const kinds = feed.messages.map((m) => m.type).filter((k) => k !== 'stats')
    t.same(kinds, ['snapshot', 'update', 'windows_closed'], 'after the update of the same commit')
  },
)

t.test('GET / serves the page and its files from the repo and the uPlot package', async (t) => {
  const { app } = await buildApp(t)
  const page = await app.inject('/')
  t.equal(page.statusCode, 200)
  t.match(page.headers['content-type'], /text\/html/)
  t.match(page.headers['content-security-policy'], /default-src 'self'/, 'the page may load nothing from elsewhere')
  t.match(page.body, /<script type="module" src="\/app.js">/)
  t.notMatch(page.body, /https?:\/\//, 'no absolute URLs (no CDN)')
  for (const file of ['/app.js', '/charts.js', '/store.js', '/format.js', '/style.css', '/vendor/uPlot.esm.js', '/vendor/uPlot.min.css']) {
    const res = await app.inject(file)
    t.equal(res.statusCode, 200, `${file} is served`)
    t.ok(res.body.length > 100, `${file} has content`)
  }
  t.match((await app.inject('/app.js')).headers['content-type'], /text\/javascript/)
  const etag = String((await app.inject('/app.js')).headers.etag)
  const again = await app.inject({ url: '/app.js', headers: { 'if-none-match': etag } })
  t.equal(again.statusCode, 304, 'an unchanged file is not sent twice')
  t.equal((await app.inject('/../package.json')).statusCode, 404, 'nothing outside web/')
  t.equal((await app.inject('/helpers.ts')).statusCode, 404)
})

/** Fails instead of hanging when a promise does not settle in time (waitFor's deadline on its outcome). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined
  p.then(
    (value) => (outcome = { ok: true, value }),
    (error: unknown) => (outcome = { ok: false, error }),
  )
  const settled = await waitFor(() => outcome, what, ms, 5)
  if (!settled.ok) throw settled.error
  return settled.value
}

/** Opens /ws with injectWS and collects its messages from the first one on. */
async function openFeed(
  app: Awaited<ReturnType<typeof buildApp>>['app'],
): Promise<{ ws: WebSocket; messages: ServerMessage[]; closed: Promise<number> }> {
  const messages: ServerMessage[] = []
  let onClose: (code: number) => void = () => {}
  const closed = new Promise<number>((resolve) => (onClose = resolve))
  const ws = await within(
    app.injectWS(
      '/ws',
      {},
      {
        onInit: (ws) => {
          ws.on('message', (data) => messages.push(JSON.parse(String(data))))
          ws.on('close', (code) => onClose(code))
        },
      },
    ),
    10_000,
    'the WebSocket to open',
  )
  return { ws, messages, closed }
}

t.test('GET /ws: a snapshot first, then only the changed rows, coalesced', async (t) => {
  const { app, pool, pipeline } = await buildApp(t)
  await seedSales(pool, W, SEED)
  const feed = await openFeed(app)
  await waitFor(() => feed.messages.length >= 1, 'the snapshot')
  const snapshot = feed.messages[0]!
  if (snapshot.type !== 'snapshot') throw new Error(`first message is ${snapshot.type}`)
  t.equal(snapshot.windowMs, W * 1000)
  t.equal(snapshot.rows.length, SEED.length, 'every row of the last 100 windows')
  t.same(
    snapshot.rows[0],
    {
      windowStart: minute(4),
      windowEnd: minute(5),
      category: 'Books',
      totalSales: '55.04',
      transactionCount: '9',
      updatedAt: snapshot.rows[0]!.updatedAt,
      closedAt: null,
    },
    'newest first, amounts as strings',
  )
  const api = (await app.inject({ url: '/api/windows', query: { limit: '1' } })).json().rows[0]
  t.same(snapshot.rows[0], api, 'the same row, field for field, as /api/windows has it')
  t.equal(snapshot.summary?.latestWindow?.totalSales, '10000000000000163.11', 'with the KPIs, summed by Postgres')

  // 50 commits in one tick touch two rows: one push, with each row's last totals.
  const w4 = Date.parse(minute(4))
  const w5 = Date.parse(minute(5))
  for (let i = 1; i <= 50; i++)
    pipeline.emit(
      'commit',
      commitOf([
        { windowStartMs: w4, category: 'Books', totalSales: `${55 + i}.04`, transactionCount: String(9 + i) },
        ...(i === 25 ? [{ windowStartMs: w5, category: 'Toys', totalSales: '1.50', transactionCount: '1' }] : []),
      ]),
    )
  const update = await waitFor(() => feed.messages.find((m) => m.type === 'update'), 'an update')
  if (update.type !== 'update') throw new Error('not an update')
  t.equal(update.commits, 50, 'one push for 50 commits')
  t.same(
    update.rows.map((r) => [r.windowStart, r.category, r.totalSales, r.transactionCount]),
    [
      [minute(4), 'Books', '105.04', '59'],
      [minute(5), 'Toys', '1.50', '1'],
    ],
    'only the changed rows, at their latest totals',
  )
  t.same(
    update.rows[1],
    {
      windowStart: minute(5),
      windowEnd: minute(6),
      category: 'Toys',
      totalSales: '1.50',
      transactionCount: '1',
      updatedAt: update.rows[1]!.updatedAt,
      closedAt: null,
    },
    'an update row has the fields of a snapshot row, open',
  )
  const updatedMs = Date.parse(update.rows[1]!.updatedAt)
  t.ok(updatedMs >= update.committedAtMs && updatedMs <= update.lastCommittedAtMs, 'updated when its commit was made')

  // Commits spread over time: pushes stay at least PUSH_INTERVAL_MS apart.
  const before = feed.messages.length
  const spread = setInterval(
    () => pipeline.emit('commit', commitOf([{ windowStartMs: w5, category: 'Toys', totalSales: '2.00', transactionCount: '2' }])),
    5,
  )
  t.teardown(() => clearInterval(spread))
  await waitFor(() => feed.messages.slice(before).filter((m) => m.type === 'update').length >= 5, '5 more pushes')
  clearInterval(spread)
  const sent = feed.messages.filter((m) => m.type === 'update').map((m) => m.sentAtMs)
  const gaps = sent.slice(1).map((s, i) => s - sent[i]!)
  t.ok(Math.min(...gaps) >= PUSH_INTERVAL_MS, `pushes are at least ${PUSH_INTERVAL_MS} ms apart (smallest gap ${Math.min(...gaps)} ms)`)

  // A second viewer starts from a snapshot with the pushed rows in it.
  const second = await openFeed(app)
  const snap2 = await waitFor(() => second.messages.find((m) => m.type === 'snapshot'), 'second snapshot')
  t.equal(second.messages[0]!.type, 'snapshot', 'a new client gets a snapshot first')
  t.ok(
    snap2.type === 'snapshot' && snap2.rows.length === SEED.length,
    'the snapshot reads Postgres (the pushed rows were never written there)',
  )

  await waitFor(() => feed.messages.some((m) => m.type === 'stats'), 'a stats push')
  const stats = feed.messages.find((m) => m.type === 'stats')
  t.equal(stats?.type === 'stats' && stats.summary.push.clients, 2, 'stats count the viewers')

  const closing = app.close()
  t.equal(await within(feed.closed, 10_000, 'the close frame'), 1001, 'closing the server says "going away" (1001)')
  await closing
})

t.test('GET /ws: an empty database gives an empty snapshot; a pause pushes the state', async (t) => {
  const { app, pipeline, health } = await buildApp(t)
  const feed = await openFeed(app)
  const snap = await waitFor(() => feed.messages.find((m) => m.type === 'snapshot'), 'the snapshot')
  t.same(snap.type === 'snapshot' && snap.rows, [], 'no rows')
  t.equal(snap.type === 'snapshot' && snap.summary?.latestWindow, null, 'no latest window')
  t.equal(snap.type === 'snapshot' && snap.summary?.pipeline.state, 'idle', 'ready but owning no partitions: idle')
  health.value = { state: 'postgres_unreachable', reason: 'postgres unreachable: the test says so' }
  const n = feed.messages.length
  pipeline.emit('paused', 0, true)
  const stats = await waitFor(() => feed.messages.slice(n).find((m) => m.type === 'stats'), 'stats after a pause')
  t.equal(stats.type === 'stats' && stats.summary.pipeline.state, 'postgres_unreachable', 'the state reaches the page')
})

t.test('GET /ws: past WS_MAX_CLIENTS an upgrade gets 503 and is counted; a closed client frees its place', async (t) => {
  const { app } = await buildApp(t, { env: { WS_MAX_CLIENTS: '3' } })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`
  const scrape = async () => parseMetrics((await app.inject('/metrics')).body)
  const rejectedBefore = value(await scrape(), 'tumbler_ws_rejected_total') ?? 0

  const clients = [await upgrade(t, url), await upgrade(t, url), await upgrade(t, url)]
  t.same(
    clients.map((c) => c.status),
    [101, 101, 101],
    'three clients connect',
  )
  const refused = await upgrade(t, url)
  t.equal(refused.status, 503, 'the fourth upgrade is refused with 503')
  t.match(JSON.parse(refused.body), { error: 'too_many_clients', message: /WS_MAX_CLIENTS/ }, 'and told why')
  let s = await scrape()
  t.equal(value(s, 'tumbler_ws_rejected_total')! - rejectedBefore, 1, 'the refusal is counted')
  t.equal(value(s, 'tumbler_ws_clients'), 3, 'the refused client never counted as connected')

  clients[0]!.ws!.close()
  await waitFor(async () => value(await scrape(), 'tumbler_ws_clients') === 2, 'the server to see the close')
  const next = await upgrade(t, url)
  t.equal(next.status, 101, 'a closed client frees its place')
  await waitFor(() => next.messages.length > 0, 'the snapshot')
  t.equal(next.messages[0]!.type, 'snapshot')
  s = await scrape()
  t.equal(value(s, 'tumbler_ws_rejected_total')! - rejectedBefore, 1, 'nothing more refused')
})
