// Money and time for the page. Amounts arrive as decimal strings ("1234.50") and are
// summed as BigInt cents, never as floats; Intl formats the decimal string itself, so the
// figure shown is the figure stored.

// The seed's amounts carry no currency; dollars as the seed's dashboards showed them.
const CURRENCY = 'USD'
const moneyFormat = new Intl.NumberFormat(undefined, { style: 'currency', currency: CURRENCY })
const integerFormat = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 })
const compactFormat = new Intl.NumberFormat(undefined, {
  style: 'currency',
  currency: CURRENCY,
  notation: 'compact',
  maximumFractionDigits: 1,
})
const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' })
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
})

/** "1234.5" | "1234.50" | "-0.07" → 123450n | -7n */
export function toCents(decimal) {
  const m = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(decimal).trim())
  if (!m) throw new Error(`not a decimal amount: ${decimal}`)
  const cents = BigInt(m[2]) * 100n + BigInt((m[3] ?? '').padEnd(2, '0'))
  return m[1] ? -cents : cents
}

/** 123450n → "1234.50" */
export function centsToDecimal(cents) {
  const sign = cents < 0n ? '-' : ''
  const abs = cents < 0n ? -cents : cents
  return `${sign}${abs / 100n}.${String(abs % 100n).padStart(2, '0')}`
}

/** Formats a decimal string exactly (Intl treats a string as an exact decimal). */
export const money = (decimal) => moneyFormat.format(decimal)
export const moneyCents = (cents) => moneyFormat.format(centsToDecimal(cents))
/** For chart axes only, where a rounded figure is what is wanted. */
export const moneyCompact = (n) => compactFormat.format(n)
export const integer = (v) => integerFormat.format(typeof v === 'bigint' ? v.toString() : v)

/** Local time, with the date when it is not today. */
export function localTime(ms) {
  const d = new Date(ms)
  return d.toDateString() === new Date().toDateString() ? timeFormat.format(d) : dateTimeFormat.format(d)
}

/** What the title attribute shows on hover: the same instant in UTC. */
export const utc = (ms) =>
  `${new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.000Z$/, '')
    .replace(/Z$/, '')} UTC`
