// The live page end to end in Debian's Chromium: the real supervisor, the real producer at
// 2000 events/s, a real broker and Postgres. The page must show what Postgres holds, draw
// both charts, survive a supervisor restart on the same port, and keep receiving while
// another viewer has stalled.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync } from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import type { Page } from 'playwright-core'
import t, { type Test } from 'tap'
import { launch } from '../test-support/browser.js'
import { createTopic, topicRecords } from '../test-support/broker.js'
import { ARTIFACTS } from '../test-support/paths.js'
import { committedRecords, databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'

// page.evaluate() callbacks run in the browser; these names exist there, not in Node's types.
declare const document: any
declare const window: any

const ROOT = path.resolve(import.meta.dirname, '..')
const WINDOW_SECONDS = 2
const W = WINDOW_SECONDS * 1000

function startProducer(t: Test, topic: string): { proc: ChildProcess; stop(): Promise<number | null> } {
  const proc = spawn(process.execPath, ['dist/producer.js', '--rate', '2000', '--kafka-topic', topic], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  proc.stderr!.pipe(createWriteStream(path.join(ARTIFACTS, `ui-producer-${topic}.log`)))
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)))
  t.teardown(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL')
  })
  return {
    proc,
    stop: async () => {
      proc.kill('SIGTERM')
      return exited
    },
  }
}

interface PageState {
  connection: string
  snapshots: number
  pushes: number
  latestMs: number | null
  bars: [string, string][]
  barWidths: number[]
  latestCents: string
  rangeCents: string
  table: [string, string, string, string][]
  state: string
  series: number
  points: number
}

const pageState = (page: Page): Promise<PageState> =>
  page.evaluate(() => {
    const tb = window.tumbler
    const plot = tb.line.plot
    return {
      connection: tb.connection,
      snapshots: tb.snapshots,
      pushes: tb.pushes.length,
      latestMs: tb.store.latestMs,
      bars: [...document.querySelectorAll('#bars li[data-category]')].map((li: any) => [li.dataset.category, li.dataset.total]),
      barWidths: [...document.querySelectorAll('#bars li[data-category] .bar i')].map((i: any) => i.getBoundingClientRect().width),
      latestCents: document.getElementById('kpi-latest-sales').dataset.cents,
      rangeCents: document.getElementById('kpi-range-sales').dataset.cents,
      table: [...document.querySelectorAll('#table-body tr')].map((tr: any) => [
        tr.dataset.window,
        tr.dataset.category,
        tr.dataset.total,
        tr.dataset.count,
      ]),
      state: document.getElementById('state').dataset.state,
      series: plot ? plot.series.length - 1 : 0,
      points: plot ? plot.data[0].length : 0,
    }
  })

/** The page's rows of windows in [fromMs, toMs], as the store holds them. */
const pageRows = (page: Page, fromMs: number, toMs: number): Promise<string[]> =>
  page.evaluate(
    ([from, to]: number[]) =>
      [...window.tumbler.store.rows.values()]
        .filter((r: any) => r.windowStartMs >= from && r.windowStartMs <= to)
        .map((r: any) => `${new Date(r.windowStartMs).toISOString()} ${r.category} ${r.totalSales} ${r.count}`)
        .sort(),
    [fromMs, toMs],
  )

async function dbRows(url: string, fromMs: number, toMs: number): Promise<string[]> {
  const rows = await query<{ w: Date; category: string; total: string; count: string }>(
    url,
    `SELECT window_start AS w, category, total_sales::text AS total, transaction_count AS count FROM category_sales
      WHERE window_start BETWEEN to_timestamp($1 / 1000.0) AND to_timestamp($2 / 1000.0)`,
    [fromMs, toMs],
  )
  return rows.map((r) => `${r.w.toISOString()} ${r.category} ${r.total} ${r.count}`).sort()
}

/** What the page must show when it is in step with Postgres. */
async function dbView(url: string) {
  const [latest] = await query<{ ms: string | null }>(
    url,
    'SELECT (extract(epoch FROM max(window_start)) * 1000)::bigint::text AS ms FROM category_sales',
  )
  const latestMs = Number(latest!.ms)
  const bars = await query<{ category: string; total: string }>(
    url,
    'SELECT category, total_sales::text AS total FROM category_sales WHERE window_start = to_timestamp($1 / 1000.0) ORDER BY category',
    [latestMs],
  )
  const [sums] = await query<{ latest: string; range: string }>(
    url,
    `SELECT (sum(total_sales) FILTER (WHERE window_start = to_timestamp($1 / 1000.0)) * 100)::bigint::text AS latest,
            (sum(total_sales) * 100)::bigint::text AS range
       FROM category_sales WHERE window_start > to_timestamp(($1 - 100 * $2) / 1000.0)`,
    [latestMs, W],
  )
  const table = await query<{ w: Date; category: string; total: string; count: string }>(
    url,
    'SELECT window_start AS w, category, total_sales::text AS total, transaction_count AS count FROM category_sales ORDER BY window_start DESC, category LIMIT 60',
  )
  return {
    latestMs,
    bars: bars.map((b) => [b.category, b.total]),
    latestCents: sums!.latest,
    rangeCents: sums!.range,
    table: table.map((r) => [r.w.toISOString(), r.category, r.total, r.count]),
  }
}

const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!

t.test('the live page in Chromium: same totals as Postgres, both charts, survives a restart', async (t) => {
  mkdirSync(ARTIFACTS, { recursive: true })
  const topic = await createTopic(t, 4)
  const db = databaseFor(t)
  const env = {
    KAFKA_TOPIC: topic,
    KAFKA_GROUP_ID: topic,
    DATABASE_URL: db.url,
    WINDOW_SECONDS: String(WINDOW_SECONDS),
    LATENESS_SECONDS: '2',
  }
  const sup = await startSupervisor(t, env, `ui-${topic}`)
  await sup.waitReady()
  const producer = startProducer(t, topic)
  const origin = `http://127.0.0.1:${sup.port}`

  const context = await launch(t)
  const page = context.pages()[0] ?? (await context.newPage())
  const consoleErrors: string[] = []
  const pageErrors: string[] = []
  const foreign: string[] = []
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()))
  page.on('pageerror', (e) => pageErrors.push(e.message))
  page.on('request', (r) => !r.url().startsWith(origin) && !r.url().startsWith('data:') && foreign.push(r.url()))
  await page.goto(`${origin}/`)

  // Live: snapshot, pushes, six categories drawn over several windows.
  await waitFor(async () => {
    const s = await pageState(page)
    return s.connection === 'live' && s.pushes >= 20 && s.series === 6 && s.points >= 5 && s.bars.length === 6 && s.table.length >= 30
  }, 'the page to be live with data')
  const live = await pageState(page)
  t.equal(live.state, 'consuming', 'the pipeline state shows as consuming')
  t.equal(await page.locator('#state').textContent(), 'Consuming', 'in words')
  t.equal(await page.locator('#state').getAttribute('data-tone'), 'ok', 'and in colour')
  t.ok(
    live.barWidths.every((w) => w > 0),
    'every bar has a width',
  )

  // Windows that closed a few windows ago no longer change: the page must equal Postgres now.
  const stableTo = live.latestMs! - 3 * W
  const stableFrom = live.latestMs! - 99 * W
  const want = await dbRows(db.url, stableFrom, stableTo)
  t.ok(want.length >= 6, `${want.length} settled rows to compare`)
  await waitFor(
    async () => JSON.stringify(await pageRows(page, stableFrom, stableTo)) === JSON.stringify(want),
    'settled windows equal to Postgres',
    10_000,
  )
  t.same(
    await pageRows(page, stableFrom, stableTo),
    want,
    'with the producer running, settled windows on the page equal Postgres to the cent',
  )

  // Final and provisional (CONTRACT "Window semantics"): what Postgres closed shows as final;
  // the live window is provisional on the KPI card, in the table and as the chart's last point.
  const [committedLow] = await query<{ ms: string | null }>(
    db.url,
    'SELECT low_watermark_ms::text AS ms FROM tumbler_topics WHERE topic = $1',
    [topic],
  )
  t.ok(committedLow?.ms, 'windows become final while the producer runs')
  const lowMs = Number(committedLow!.ms)
  await waitFor(
    async () => (await page.evaluate(() => window.tumbler.store.lowWatermarkMs)) >= lowMs,
    'the page to know the low watermark',
    10_000,
  )
  const marks: { rows: [string, string, boolean][]; latestTag: string; finalWindow: string; finalCents: string; latestMs: number } =
    await page.evaluate(() => ({
      rows: [...document.querySelectorAll('#table-body tr')].map((tr: any) => [
        tr.dataset.window,
        tr.dataset.final,
        tr.classList.contains('provisional'),
      ]),
      latestTag: document.getElementById('latest-tag').textContent,
      finalWindow: document.getElementById('kpi-final-sales').dataset.window,
      finalCents: document.getElementById('kpi-final-sales').dataset.cents,
      latestMs: window.tumbler.store.latestMs,
    }))
  const closedBefore = marks.rows.filter(([w]) => Date.parse(w) + W <= lowMs)
  t.ok(
    closedBefore.length > 0 && closedBefore.every(([, final, provisional]) => final === 'true' && !provisional),
    `${closedBefore.length} table rows of windows ending by the committed low watermark show as final`,
  )
  const liveRows = marks.rows.filter(([w]) => Date.parse(w) === marks.latestMs)
  t.ok(
    liveRows.length > 0 && liveRows.every(([, final, provisional]) => final === 'false' && provisional),
    'the rows of the live window show as provisional (italic)',
  )
  t.equal(marks.latestTag, 'provisional', 'the live window’s KPI card says provisional')
  const [finalDb] = await query<{ cents: string; open: string }>(
    db.url,
    'SELECT (sum(total_sales) * 100)::bigint::text AS cents, count(*) FILTER (WHERE closed_at IS NULL)::text AS open FROM category_sales WHERE window_start = $1',
    [marks.finalWindow],
  )
  t.same(
    [marks.finalCents, finalDb!.open],
    [finalDb!.cents, '0'],
    `the latest final window card (${marks.finalWindow}) shows Postgres' final totals to the cent`,
  )
  const chart = await page.evaluate(() => {
    const l = window.tumbler.line
    const last = l.xs.length - 1
    return {
      provisionalFrom: l.provisionalFrom,
      points: l.xs.length,
      drawn: l.provisionalDrawn,
      solidLast: l.plot.data[1][last],
      exactLast: l.exact[0][last],
    }
  })
  t.ok(
    chart.provisionalFrom < chart.points && chart.provisionalFrom > 0,
    `the chart has final points and provisional ones from index ${chart.provisionalFrom} of ${chart.points}`,
  )
  t.ok(chart.drawn > 0, `${chart.drawn} provisional points drawn dashed and hollow`)
  t.ok(chart.solidLast === null && chart.exactLast !== null, 'the last point is left out of the solid line (and drawn as provisional)')

  // The line chart drew its first series (its colour is on the canvas), with a legend.
  const seriesPixels = await page.evaluate(() => {
    const { ctx } = window.tumbler.line.plot
    const px = ctx.getImageData(0, 0, ctx.canvas.width, ctx.canvas.height).data
    let n = 0
    for (let i = 0; i < px.length; i += 4) if (px[i] === 0x1f && px[i + 1] === 0x77 && px[i + 2] === 0xb4) n++
    return n
  })
  t.ok(seriesPixels > 50, `the first series is drawn (${seriesPixels} pixels of its colour)`)
  t.equal(await page.locator('#line .u-legend .u-series').count(), 7, 'a legend entry per category, plus the window')

  // A tooltip with the exact amount when hovering over the chart.
  const over = (await page.locator('#line .u-over').boundingBox())!
  await page.mouse.move(over.x + over.width * 0.5, over.y + over.height * 0.5)
  await waitFor(
    async () => (await page.locator('#line .tooltip').isVisible()) && (await page.locator('#line .tooltip div').count()) >= 2,
    'the tooltip',
  )
  t.match(await page.locator('#line .tooltip').textContent(), /\$[\d,]+\.\d\d/, 'the tooltip shows amounts to the cent')
  await page.mouse.move(0, 0)

  // Money and time formats: en-US dollars from the decimal string; local time, UTC on hover.
  // Read together: the latest window changes with every push.
  const [total, barText] = await page.evaluate(() => {
    const li = document.querySelector('#bars li[data-category]')
    return [li.dataset.total, li.querySelector('.amount').textContent]
  })
  t.equal(
    barText,
    new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(total as `${number}`),
    `bar amount ${total} formatted as money, exactly`,
  )
  const cell = page.locator('#table-body tr').first().locator('td').first()
  const rowWindow = (await page.locator('#table-body tr').first().getAttribute('data-window'))!
  t.equal(await cell.getAttribute('title'), `${rowWindow.slice(0, 10)} ${rowWindow.slice(11, 19)} UTC`, 'UTC on hover')
  const local = new Intl.DateTimeFormat('en-US', {
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZone: 'Asia/Kolkata',
  }).format(new Date(rowWindow))
  t.equal((await cell.textContent())!.replace(/\s/g, ' '), local.replace(/\s/g, ' '), "the viewer's time zone (Asia/Kolkata) in the cell")

  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-laptop.png'), fullPage: true })
  await page.setViewportSize({ width: 390, height: 844 })
  await waitFor(async () => (await page.evaluate(() => window.tumbler.line.plot.width)) <= 390, 'the chart to fit a phone')
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
  t.ok(overflow <= 0, `no sideways scrolling at phone width (overflow ${overflow} px)`)
  const table = await page.evaluate(() => {
    const wrap = document.querySelector('.table-wrap')
    return {
      scroll: wrap.scrollWidth - wrap.clientWidth,
      cut: [...document.querySelectorAll('thead th')]
        .filter((th: any) => th.getBoundingClientRect().right > wrap.getBoundingClientRect().right + 0.5)
        .map((th: any) => th.textContent),
    }
  })
  t.same(table, { scroll: 0, cut: [] }, 'at 390 px the table fits: every column, Count and Updated included, is on screen')
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-phone.png'), fullPage: true })
  await page.setViewportSize({ width: 1280, height: 900 })

  // A viewer that never reads: the page keeps receiving. Consumption rates and the push
  // delay (commit in the writer thread → message in the browser, same clock) for the report.
  type Push = { committedAtMs: number; lastCommittedAtMs: number; sentAtMs: number; receivedAtMs: number }
  const consumed = async () => Number((await sup.readyz()).body.stats.consumed)
  const phase = async (pushes: number) => {
    const [c0, t0, p0] = [await consumed(), Date.now(), (await pageState(page)).pushes]
    await waitFor(async () => (await pageState(page)).pushes >= p0 + pushes, `${pushes} more pushes at the page`)
    const rate = Math.round(((await consumed()) - c0) / ((Date.now() - t0) / 1000))
    const received: Push[] = await page.evaluate((from: number) => window.tumbler.pushes.slice(from), p0)
    const ms = (f: (p: Push) => number) => {
      const d = received.map(f).sort((a, b) => a - b)
      return `p50 ${quantile(d, 0.5)} ms, p99 ${quantile(d, 0.99)} ms`
    }
    return {
      rate,
      received,
      delay: `${ms((p) => p.receivedAtMs - p.committedAtMs)} over ${received.length} pushes (server part: commit → send ${ms((p) => p.sentAtMs - p.committedAtMs)}; send → browser ${ms((p) => p.receivedAtMs - p.sentAtMs)})`,
    }
  }
  const without = await phase(40)
  const stalled = net.connect(sup.port, '127.0.0.1')
  t.teardown(() => stalled.destroy())
  stalled.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  )
  stalled.pause() // never reads a byte, not even the 101
  await waitFor(
    async () => ((await (await fetch(`${origin}/api/summary`)).json()) as { push: { clients: number } }).push.clients === 2,
    'the stalled viewer to be connected',
  )
  const withStalled = await phase(40)
  t.pass('the page kept receiving pushes while another viewer stalled')
  t.comment(`events/s consumed with the producer at 2000/s: ${without.rate} without, ${withStalled.rate} with a stalled viewer`)
  t.comment(`push delay, commit → browser, oldest commit of each push: ${without.delay}`)
  t.comment(`push delay with a stalled viewer connected: ${withStalled.delay}`)
  stalled.destroy()
  const delay = [...without.received, ...withStalled.received].map((p) => p.receivedAtMs - p.committedAtMs)
  t.ok(delay.length >= 80 && delay.every((d) => d >= 0), 'every push carries its commit time')

  // Restart on the same port: the page reconnects by itself and shows new windows.
  const before = await pageState(page)
  t.equal(await sup.kill('SIGTERM'), 0, 'the supervisor drains and exits 0 with a browser connected')
  await waitFor(async () => (await pageState(page)).connection === 'down', 'the page to notice')
  const sup2 = await startSupervisor(t, { ...env, HTTP_PORT: String(sup.port) }, `ui-${topic}`)
  await waitFor(
    async () => {
      const s = await pageState(page)
      return s.connection === 'live' && s.snapshots > before.snapshots && s.latestMs! > before.latestMs! && s.pushes > before.pushes
    },
    'the page to reconnect and show new windows',
    120_000,
  )
  t.pass('reconnected after the restart, with newer windows')

  // Producer stopped and everything committed: the page equals Postgres exactly.
  t.equal(await producer.stop(), 0, 'producer stops cleanly')
  const produced = await topicRecords(topic)
  await waitFor(async () => (await committedRecords(db.url, topic)) >= produced, `all ${produced} records committed`, 120_000)
  const final = await dbView(db.url)
  const shown = () =>
    pageState(page).then((s) => ({
      latestMs: s.latestMs,
      bars: [...s.bars].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      latestCents: s.latestCents,
      rangeCents: s.rangeCents,
      table: s.table,
    }))
  await waitFor(async () => JSON.stringify(await shown()) === JSON.stringify(final), 'the page to equal Postgres', 15_000).catch(() => {})
  t.same(await shown(), final, 'latest window bars, KPIs and table equal Postgres to the cent')
  await page.screenshot({ path: path.join(ARTIFACTS, 'ui-after-restart.png'), fullPage: true })

  t.same(pageErrors, [], 'no uncaught errors in the page')
  t.same(foreign, [], 'nothing loaded from another origin')
  // While the server was down, Chromium logs failed connection attempts; anything else is a bug.
  t.same(
    consoleErrors.filter((m) => !/WebSocket connection to|ERR_CONNECTION_REFUSED|Failed to load resource/.test(m)),
    [],
    'no console errors (CSP violations included)',
  )
  t.equal(await sup2.kill('SIGTERM'), 0, 'clean exit')
})
