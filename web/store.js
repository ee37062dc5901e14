// The page's copy of category_sales for the last N windows, fed by the WebSocket:
// a snapshot replaces it, an update upserts rows. Each row carries its absolute totals and
// a row's transaction count only grows, so the larger count wins: a row held back during
// a snapshot cannot move a newer one back. The window slides as newer windows arrive.
// A window is final once its end is at or before the topic's low watermark (CONTRACT
// "Window semantics"): the snapshot's summary, `windows_closed` and `stats` tell it, and it
// never moves back.
import { toCents } from './format.js'

const key = (windowStartMs, category) => `${windowStartMs}\u0000${category}`

export class Store {
  constructor() {
    this.windowMs = 60_000
    this.windows = 100
    /** key → { windowStartMs, category, totalSales, cents, count, updatedAtMs } */
    this.rows = new Map()
    this.latestMs = null
    this.truncated = false
    /** The topic's low watermark (ms), null until known. */
    this.lowWatermarkMs = null
  }

  reset(snapshot) {
    this.windowMs = snapshot.windowMs
    this.windows = snapshot.windows
    this.truncated = snapshot.truncated
    this.rows.clear()
    this.latestMs = null
    this.setLowWatermark(snapshot.summary?.lowWatermark ?? null)
    return this.apply(snapshot.rows)
  }

  /** An ISO low watermark (or null); a lower one than known changes nothing. Returns whether it moved. */
  setLowWatermark(iso) {
    const ms = iso === null ? null : Date.parse(iso)
    if (ms === null || (this.lowWatermarkMs !== null && ms <= this.lowWatermarkMs)) return false
    this.lowWatermarkMs = ms
    return true
  }

  /** Whether the window starting at this time is final: its totals never change again. */
  isFinal(windowStartMs) {
    return this.lowWatermarkMs !== null && windowStartMs + this.windowMs <= this.lowWatermarkMs
  }

  /** The newest final window held, or null. */
  latestFinalMs() {
    let latest = null
    for (const r of this.rows.values())
      if (this.isFinal(r.windowStartMs) && (latest === null || r.windowStartMs > latest)) latest = r.windowStartMs
    return latest
  }

  /** Upserts rows; returns the keys that changed. */
  apply(rows) {
    const changed = new Set()
    for (const r of rows) {
      const windowStartMs = Date.parse(r.windowStart)
      if (this.latestMs !== null && windowStartMs <= this.latestMs - this.windows * this.windowMs) continue
      const k = key(windowStartMs, r.category)
      const count = BigInt(r.transactionCount)
      const held = this.rows.get(k)
      if (held && held.count > count) continue
      this.rows.set(k, {
        windowStartMs,
        category: r.category,
        totalSales: r.totalSales,
        cents: toCents(r.totalSales),
        count,
        updatedAtMs: Date.parse(r.updatedAt),
      })
      changed.add(k)
      if (this.latestMs === null || windowStartMs > this.latestMs) this.latestMs = windowStartMs
    }
    this.prune()
    return changed
  }

  /** Drops windows that slid out of the range. */
  prune() {
    if (this.latestMs === null) return
    const oldest = this.latestMs - (this.windows - 1) * this.windowMs
    for (const [k, r] of this.rows) if (r.windowStartMs < oldest) this.rows.delete(k)
  }

  /** Rows of one window, largest total first. */
  windowRows(windowStartMs = this.latestMs) {
    return [...this.rows.values()]
      .filter((r) => r.windowStartMs === windowStartMs)
      .sort((a, b) => (b.cents > a.cents ? 1 : b.cents < a.cents ? -1 : a.category.localeCompare(b.category)))
  }

  /** Newest window first, then category. */
  newest(limit) {
    return [...this.rows.values()]
      .sort((a, b) => b.windowStartMs - a.windowStartMs || (a.category < b.category ? -1 : a.category > b.category ? 1 : 0))
      .slice(0, limit)
  }

  /** Exact totals over rows passing `filter`. */
  totals(filter = () => true) {
    let cents = 0n
    let count = 0n
    for (const r of this.rows.values()) {
      if (!filter(r)) continue
      cents += r.cents
      count += r.count
    }
    return { cents, count }
  }

  /** Window starts present, oldest first. */
  windowStarts() {
    return [...new Set([...this.rows.values()].map((r) => r.windowStartMs))].sort((a, b) => a - b)
  }

  /** Categories by total over the whole range, largest first. */
  categoriesByTotal() {
    const sums = new Map()
    for (const r of this.rows.values()) sums.set(r.category, (sums.get(r.category) ?? 0n) + r.cents)
    return [...sums.entries()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : a[0].localeCompare(b[0]))).map(([c]) => c)
  }

  get(windowStartMs, category) {
    return this.rows.get(key(windowStartMs, category))
  }
}
