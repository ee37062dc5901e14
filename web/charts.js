// The two charts: sales per category over the last windows (uPlot, one series per
// category) and sales by category in the current window (HTML bars, so long category
// names wrap and every amount is text). Plotted values are floats for pixel positions
// only; every figure a reader sees comes from the exact decimal strings. Windows still open
// (provisional) are left out of uPlot's lines and drawn over them, dashed with hollow points.
import uPlot from '/vendor/uPlot.esm.js'
import { centsToDecimal, integer, localTime, money, moneyCents, moneyCompact, utc } from './format.js'

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#393b79', '#7f7f7f']
/** Categories drawn as their own series; the rest are summed into "Other". */
export const MAX_SERIES = 10
const OTHER = 'Other categories'

export class LineChart {
  constructor(el) {
    this.el = el
    this.plot = null
    this.categories = []
    /** exact[seriesIndex][pointIndex] = decimal string (or null) shown in legend and tooltip */
    this.exact = []
    this.xs = []
    /** Index of the first provisional window in xs (xs.length: none); what the last draw showed. */
    this.provisionalFrom = 0
    this.provisionalDrawn = 0
    this.yMax = 0
    this.tooltip = document.createElement('div')
    this.tooltip.className = 'tooltip'
    this.tooltip.hidden = true
    new ResizeObserver(() => this.plot?.setSize(this.size())).observe(el)
  }

  size() {
    const width = Math.max(280, this.el.clientWidth)
    return { width, height: width < 600 ? 240 : 320 }
  }

  /** Rebuilds the data from the store; recreates the plot when the set of series changed. */
  update(store) {
    const ranked = store.categoriesByTotal()
    // The largest categories get a series, in name order, so a change in ranking alone does
    // not rebuild the chart or repaint every line in another colour.
    const shown = ranked.slice(0, MAX_SERIES).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    const rest = ranked.slice(MAX_SERIES)
    const categories = rest.length ? [...shown, OTHER] : shown
    const starts = store.windowStarts()
    this.xs = starts
    this.exact = categories.map((c) =>
      starts.map((w) => {
        if (c !== OTHER) return store.get(w, c)?.totalSales ?? null
        let cents = 0n
        let any = false
        for (const o of rest) {
          const r = store.get(w, o)
          if (r) {
            cents += r.cents
            any = true
          }
        }
        return any ? centsToDecimal(cents) : null
      }),
    )
    // Final windows come first: the low watermark only moves forward, past the oldest open ones.
    this.provisionalFrom = starts.findIndex((w) => !store.isFinal(w))
    if (this.provisionalFrom === -1) this.provisionalFrom = starts.length
    this.yMax = Math.max(0, ...this.exact.flatMap((col) => col.map((v) => (v === null ? 0 : Number(v)))))
    const data = [
      starts.map((ms) => ms / 1000),
      ...this.exact.map((col) => col.map((v, i) => (v === null || i >= this.provisionalFrom ? null : Number(v)))),
    ]
    if (!this.plot || categories.join('\u0000') !== this.categories.join('\u0000')) this.create(categories, data)
    else this.plot.setData(data)
  }

  create(categories, data) {
    this.plot?.destroy()
    this.categories = categories
    // Away from the cursor the legend shows the latest window.
    const at = (idx) => idx ?? this.xs.length - 1
    const exactValue = (_u, _v, sidx, idx) => {
      const v = this.exact[sidx - 1]?.[at(idx)]
      return v == null ? '—' : money(v)
    }
    const opts = {
      ...this.size(),
      class: 'line-chart',
      cursor: { points: { size: 7 }, focus: { prox: 16 } },
      focus: { alpha: 0.35 },
      legend: { live: true },
      // Sales from zero, so a small dip does not look like a crash.
      // The provisional points are not in uPlot's data: the range covers them too.
      scales: { x: { time: true }, y: { range: () => [0, this.yMax > 0 ? this.yMax * 1.08 : 1] } },
      axes: [{ space: 70 }, { size: 70, values: (_u, ticks) => ticks.map((v) => moneyCompact(v)) }],
      series: [
        { label: 'Window', value: (_u, _v, _s, idx) => (this.xs.length ? localTime(this.xs[at(idx)]) : '—') },
        ...categories.map((c, i) => ({
          label: c,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          points: { show: data[0].length < 30 },
          spanGaps: false,
          value: exactValue,
        })),
      ],
      hooks: { setCursor: [(u) => this.showTooltip(u)], draw: [(u) => this.drawProvisional(u)] },
    }
    this.plot = new uPlot(opts, data, this.el)
    this.plot.over.appendChild(this.tooltip)
  }

  /** Each series from its last final point through the provisional ones: dashed, hollow points. */
  drawProvisional(u) {
    this.provisionalDrawn = 0
    const from = this.provisionalFrom
    if (from >= this.xs.length) return
    const { ctx } = u
    const px = uPlot.pxRatio
    ctx.save()
    ctx.beginPath()
    ctx.rect(u.bbox.left, u.bbox.top, u.bbox.width, u.bbox.height)
    ctx.clip()
    ctx.lineWidth = 2 * px
    this.categories.forEach((_c, i) => {
      if (!u.series[i + 1].show) return
      const col = this.exact[i]
      const at = (k) => [u.valToPos(this.xs[k] / 1000, 'x', true), u.valToPos(Number(col[k]), 'y', true)]
      ctx.strokeStyle = PALETTE[i % PALETTE.length]
      ctx.setLineDash([5 * px, 4 * px])
      ctx.beginPath()
      let drawing = false
      for (let k = Math.max(0, from - 1); k < this.xs.length; k++) {
        if (col[k] == null) {
          drawing = false
          continue
        }
        const [x, y] = at(k)
        if (drawing) ctx.lineTo(x, y)
        else ctx.moveTo(x, y)
        drawing = true
      }
      ctx.stroke()
      ctx.setLineDash([])
      ctx.fillStyle = '#fff'
      for (let k = from; k < this.xs.length; k++) {
        if (col[k] == null) continue
        const [x, y] = at(k)
        ctx.beginPath()
        ctx.arc(x, y, 3.5 * px, 0, 2 * Math.PI)
        ctx.fill()
        ctx.stroke()
        this.provisionalDrawn++
      }
    })
    ctx.restore()
  }

  /** A tooltip at the cursor with the window and every category's exact amount. */
  showTooltip(u) {
    const idx = u.cursor.idx
    if (idx == null || u.cursor.left < 0) {
      this.tooltip.hidden = true
      return
    }
    const ms = this.xs[idx]
    this.tooltip.replaceChildren()
    const head = document.createElement('div')
    head.className = 'tooltip-head'
    head.textContent = `${localTime(ms)} (${utc(ms)})${idx >= this.provisionalFrom ? ', provisional' : ''}`
    this.tooltip.append(head)
    this.categories.forEach((c, i) => {
      const v = this.exact[i][idx]
      if (v == null) return
      const line = document.createElement('div')
      const swatch = document.createElement('i')
      swatch.style.background = PALETTE[i % PALETTE.length]
      line.append(swatch, `${c}: ${money(v)}`)
      this.tooltip.append(line)
    })
    this.tooltip.hidden = false
    const overWidth = u.over.clientWidth
    const left = u.cursor.left + 12
    this.tooltip.style.left = `${Math.min(left, Math.max(0, overWidth - this.tooltip.offsetWidth))}px`
    this.tooltip.style.top = `${Math.max(0, u.cursor.top - this.tooltip.offsetHeight - 8)}px`
  }
}

/** Bars for the rows of one window (largest first); shows at most `max`. */
export function renderBars(list, rows, max = 20) {
  const top = rows[0]?.cents ?? 0n
  const items = rows.slice(0, max).map((r) => {
    const li = document.createElement('li')
    li.dataset.category = r.category
    li.dataset.total = r.totalSales
    const name = document.createElement('span')
    name.className = 'name'
    name.textContent = r.category
    const bar = document.createElement('span')
    bar.className = 'bar'
    const fill = document.createElement('i')
    // A ratio of two exact integers; only the pixel width is approximate.
    fill.style.width = `${top > 0n ? Number((r.cents * 10_000n) / top) / 100 : 0}%`
    bar.append(fill)
    const amount = document.createElement('span')
    amount.className = 'amount'
    amount.textContent = money(r.totalSales)
    const count = document.createElement('span')
    count.className = 'count'
    count.textContent = `${integer(r.count)} tx`
    li.append(name, bar, amount, count)
    return li
  })
  if (rows.length > max) {
    const more = document.createElement('li')
    more.className = 'more'
    let cents = 0n
    for (const r of rows.slice(max)) cents += r.cents
    more.textContent = `${rows.length - max} more categories: ${moneyCents(cents)}`
    items.push(more)
  }
  list.replaceChildren(...items)
}
