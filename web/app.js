// The live page: one WebSocket (/ws) whose first message is a snapshot and whose later
// messages are the rows each commit changed, plus KPIs. Reconnects by itself with
// backoff; while the feed is down it asks /api/summary, so the state shown stays true.
// Windows still open are marked provisional: their totals can still change; final ones never.
import { LineChart, renderBars } from './charts.js'
import { integer, localTime, money, moneyCents, toCents, utc } from './format.js'
import { Store } from './store.js'

const $ = (id) => document.getElementById(id)
const TABLE_ROWS = 60
const STALL_MS = 10_000 // the server sends stats every second: silence this long means a dead link

const STATES = {
  consuming: ['Consuming', 'ok'],
  paused: ['Paused: writer catching up', 'warn'],
  idle: ['Idle: no partitions assigned', 'warn'],
  starting: ['Starting', 'warn'],
  stopping: ['Stopping', 'warn'],
  postgres_unreachable: ['Postgres unreachable', 'bad'],
  kafka_unreachable: ['Kafka unreachable', 'bad'],
  failed: ['Failed', 'bad'],
}

const store = new Store()
const line = new LineChart($('line'))
const debug = { store, line, pushes: [], closed: [], messages: 0, snapshots: 0, connection: 'connecting', summary: null }
window.tumbler = debug // for the browser tests and the curious

let socket = null
let attempt = 0
let lastMessageAt = 0
let fresh = new Set()
let renderQueued = false

function setConnection(state, text) {
  debug.connection = state
  const el = $('connection')
  el.dataset.state = state
  el.textContent = text
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`)
  socket = ws
  setConnection('connecting', attempt ? `Reconnecting (attempt ${attempt + 1})…` : 'Connecting…')
  ws.onopen = () => setConnection('open', 'Connected; waiting for the snapshot…')
  ws.onmessage = (e) => {
    lastMessageAt = Date.now()
    onMessage(JSON.parse(e.data), lastMessageAt)
  }
  ws.onclose = () => {
    if (socket !== ws) return
    socket = null
    retry()
  }
}

function retry() {
  // 0.5 s doubling to 10 s, with jitter so a restarted server is not hit by every page at once.
  const delay = Math.round(Math.min(10_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2))
  attempt++
  setConnection('down', `Disconnected; retrying in ${(delay / 1000).toFixed(1)} s`)
  setTimeout(async () => {
    try {
      const res = await fetch('/api/summary', { cache: 'no-store' })
      if (res.ok) showSummary(await res.json())
    } catch {
      showServerDown()
    }
    connect()
  }, delay)
}

setInterval(() => {
  if (socket && socket.readyState === WebSocket.OPEN && Date.now() - lastMessageAt > STALL_MS) socket.close()
}, 2_000)

function onMessage(msg, receivedAtMs) {
  debug.messages++
  if (msg.type === 'snapshot') {
    debug.snapshots++
    attempt = 0
    setConnection('live', 'Live')
    fresh = store.reset(msg)
    $('truncated').hidden = !msg.truncated
    if (msg.summary) showSummary(msg.summary)
  } else if (msg.type === 'update') {
    for (const k of store.apply(msg.rows)) fresh.add(k)
    // commits 0: rows held back during a snapshot, not a commit's push.
    if (msg.commits > 0) {
      debug.pushes.push({
        committedAtMs: msg.committedAtMs,
        lastCommittedAtMs: msg.lastCommittedAtMs,
        sentAtMs: msg.sentAtMs,
        receivedAtMs,
        commits: msg.commits,
        rows: msg.rows.length,
      })
      if (debug.pushes.length > 5000) debug.pushes.splice(0, 1000)
    }
  } else if (msg.type === 'windows_closed') {
    store.setLowWatermark(msg.lowWatermark)
    debug.closed.push(...msg.windows.map((w) => w.windowStart))
    if (debug.closed.length > 5000) debug.closed.splice(0, 1000)
  } else if (msg.type === 'stats') {
    showSummary(msg.summary)
    return
  }
  queueRender()
}

function queueRender() {
  if (renderQueued) return
  renderQueued = true
  requestAnimationFrame(() => {
    renderQueued = false
    render()
  })
}

function render() {
  const latest = store.latestMs
  const latestRows = store.windowRows(latest)
  const inLatest = store.totals((r) => r.windowStartMs === latest)
  const inRange = store.totals()
  setKpi('kpi-latest-sales', latest === null ? '—' : moneyCents(inLatest.cents), inLatest.cents)
  $('kpi-latest-count').textContent = latest === null ? 'no windows yet' : `${integer(inLatest.count)} transactions`
  setTime($('kpi-latest-start'), latest, latest === null ? '' : `window from ${localTime(latest)}`)
  setFinality($('latest-tag'), latest !== null && store.isFinal(latest))
  renderFinalKpi()
  setKpi('kpi-range-sales', moneyCents(inRange.cents), inRange.cents)
  $('kpi-range-count').textContent = `${integer(inRange.count)} transactions in ${store.windowStarts().length} windows`
  $('range-title').textContent = `Last ${store.windows} windows of ${store.windowMs / 1000} s`
  setTime($('bars-window'), latest, latest === null ? 'no data yet' : localTime(latest))
  setFinality($('bars-tag'), latest !== null && store.isFinal(latest))
  renderBars($('bars'), latestRows)
  line.update(store)
  renderTable()
  fresh = new Set()
}

/** A tag that says whether the figures next to it can still change. */
function setFinality(el, final) {
  el.dataset.final = String(final)
  el.textContent = final ? 'final' : 'provisional'
  el.title = final ? 'this window is final: its totals never change again' : 'this window is still open: its totals can still change'
}

/** The newest final window: from the rows held, else (all held windows open) from the summary. */
function renderFinalKpi() {
  const ms = store.latestFinalMs()
  const fromSummary = ms === null ? debug.summary?.latestFinalWindow : null
  const cents = ms !== null ? store.totals((r) => r.windowStartMs === ms).cents : fromSummary ? toCents(fromSummary.totalSales) : null
  const count = ms !== null ? store.totals((r) => r.windowStartMs === ms).count : fromSummary ? BigInt(fromSummary.transactionCount) : null
  const start = ms ?? (fromSummary ? Date.parse(fromSummary.start) : null)
  setKpi('kpi-final-sales', cents === null ? '—' : moneyCents(cents), cents ?? 0n)
  $('kpi-final-sales').dataset.window = start === null ? '' : new Date(start).toISOString()
  $('kpi-final-count').textContent = count === null ? 'no final window yet' : `${integer(count)} transactions`
  setTime($('kpi-final-start'), start, start === null ? '' : `window from ${localTime(start)}`)
}

function setKpi(id, text, cents) {
  const el = $(id)
  el.textContent = text
  el.dataset.cents = cents.toString()
}

function setTime(el, ms, text) {
  el.textContent = text
  if (ms === null) el.removeAttribute('title')
  else el.title = utc(ms)
}

function renderTable() {
  const rows = store.newest(TABLE_ROWS).map((r) => {
    const tr = document.createElement('tr')
    const k = `${r.windowStartMs}\u0000${r.category}`
    if (fresh.has(k)) tr.classList.add('fresh')
    tr.dataset.window = new Date(r.windowStartMs).toISOString()
    tr.dataset.category = r.category
    tr.dataset.total = r.totalSales
    tr.dataset.count = r.count.toString()
    const final = store.isFinal(r.windowStartMs)
    tr.dataset.final = String(final)
    if (!final) tr.classList.add('provisional')
    tr.title = final ? 'final' : 'provisional: the window is still open'
    const cells = [
      [localTime(r.windowStartMs), utc(r.windowStartMs)],
      [r.category, null],
      [money(r.totalSales), null],
      [integer(r.count), null],
      [localTime(r.updatedAtMs), utc(r.updatedAtMs)],
    ]
    for (const [text, title] of cells) {
      const td = document.createElement('td')
      td.textContent = text
      if (title) td.title = title
      tr.append(td)
    }
    return tr
  })
  $('table-body').replaceChildren(...rows)
}

function showSummary(s) {
  debug.summary = s
  if (store.setLowWatermark(s.lowWatermark ?? null)) queueRender()
  const [words, tone] = STATES[s.pipeline.state] ?? [s.pipeline.state, 'warn']
  const el = $('state')
  el.dataset.state = s.pipeline.state
  el.dataset.tone = tone
  el.textContent = words
  el.title =
    s.pipeline.reason ??
    (s.pipeline.pausedPartitions.length
      ? `paused partitions: ${s.pipeline.pausedPartitions.join(', ')}`
      : `${s.pipeline.partitions} partitions`)
  $('kpi-rate').textContent = `${integer(s.eventsPerSecond)}/s`
  $('kpi-lag').textContent = s.consumerLag === null ? 'consumer lag unknown' : `consumer lag ${integer(s.consumerLag)} records`
  $('kpi-late').textContent = s.rejected ? integer(s.rejected.late) : '—'
  $('kpi-rejected').textContent = s.rejected ? `late; ${integer(s.rejected.total)} rejected in all` : 'rejected: unknown'
  $('kpi-rejected').title = s.rejected
    ? Object.entries(s.rejected.byReason)
        .map(([r, n]) => `${r}: ${n}`)
        .join('\n')
    : ''
  $('push-stats').textContent =
    `${s.push.clients} viewer${s.push.clients === 1 ? '' : 's'}, ${integer(s.push.drops)} pushes dropped to slow viewers; push delay ${pushDelayText()}`
  if (s.range) $('kpi-range-sales').title = `server total: ${money(s.range.totalSales)}`
}

function showServerDown() {
  const el = $('state')
  el.dataset.state = 'unreachable'
  el.dataset.tone = 'bad'
  el.textContent = 'Server unreachable'
  el.title = 'the supervisor does not answer HTTP'
}

function pushDelayText() {
  const d = debug.pushes
    .slice(-500)
    .map((p) => p.receivedAtMs - p.committedAtMs)
    .sort((a, b) => a - b)
  if (!d.length) return 'n/a'
  const q = (p) => d[Math.min(d.length - 1, Math.floor(p * d.length))]
  return `p50 ${q(0.5)} ms, p99 ${q(0.99)} ms`
}

connect()
