import type { RejectReason } from '../src/shared/protocol.js'

// What a field check answers when a record cannot count, and the helpers its detail uses.

export interface Invalid {
  reason: RejectReason
  detail: string
}

export function typeOf(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`
}

/**
 * A detail may quote the record (JSON.parse's message does): Postgres text cannot hold NUL,
 * so it is spelled out, and a cut through a surrogate pair is made well-formed.
 */
export function clip(s: string, n = 200): string {
  const short = s.length > n ? s.slice(0, n) + '…' : s
  return short.replaceAll('\u0000', '\\u0000').toWellFormed()
}
