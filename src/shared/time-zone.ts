// The zone a `timestamp` without its own zone is read in (TIMESTAMP_DEFAULT_ZONE): a fixed
// offset or an IANA region. Shared by the supervisor (validates the setting at start) and the
// window actors (read timestamps with it); pure, imports nothing.

/** A zone that turns a local wall-clock time into an instant. */
export interface Zone {
  /** The canonical name: `UTC`, `+05:30`, `Europe/Paris`. */
  readonly name: string
  /**
   * The instant (Unix ms) of local wall-clock time `localMs` (the local fields counted as if
   * they were UTC). In a region's DST gap the time is moved forward by the gap's length; in an
   * overlap the earlier offset (the one before the transition) is used. This is java.time's
   * `ZonedDateTime.of` rule, which Spark's string-to-timestamp cast applies.
   */
  instantOf(localMs: number): number
}

/** `Z`, `±HH`, `±HH:MM` or `±HHMM` (docs/contract.md "Input": the zone forms of a `timestamp`). */
export const OFFSET_FORM = /^(?:Z|([+-])(\d{2})(?::?(\d{2}))?)$/

/** java.time's ZoneOffset range, which Spark inherits: an offset past ±18:00 is not a zone. */
export const MAX_OFFSET_MINUTES = 18 * 60

/**
 * Minutes east of UTC for an offset text of OFFSET_FORM, or null if the text is not one or is
 * past ±18:00 or has a minute field above 59.
 */
export function offsetMinutes(text: string): number | null {
  const m = OFFSET_FORM.exec(text)
  if (!m) return null
  if (!m[1]) return 0
  const hours = Number(m[2])
  const minutes = m[3] ? Number(m[3]) : 0
  const total = hours * 60 + minutes
  if (minutes > 59 || total > MAX_OFFSET_MINUTES) return null
  return m[1] === '-' ? -total : total
}

function fixedZone(minutes: number): Zone {
  const offsetMs = minutes * 60_000
  const abs = Math.abs(minutes)
  const name =
    minutes === 0
      ? 'UTC'
      : `${minutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
  return { name, instantOf: (localMs) => localMs - offsetMs }
}

export const UTC: Zone = fixedZone(0)

const DAY_MS = 86_400_000

/** Reads a region's offsets through Intl (the ICU time zone data Node ships). */
class RegionZone implements Zone {
  private readonly format: Intl.DateTimeFormat
  /** The last local second resolved and its offset: a stream's timestamps repeat their second. */
  private lastSecond = NaN
  private lastOffsetMs = 0

  constructor(readonly name: string) {
    this.format = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' })
  }

  /** The offset in ms at an instant; ICU gives it to the second ("GMT+00:09:21" for Paris' LMT). */
  offsetAt(instantMs: number): number {
    const text = this.format.formatToParts(instantMs).find((p) => p.type === 'timeZoneName')!.value
    const m = /^GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(text)
    if (!m) throw new Error(`unexpected offset "${text}" from Intl for ${this.name}`)
    if (!m[1]) return 0
    const ms = ((Number(m[2]) * 60 + Number(m[3])) * 60 + Number(m[4] ?? 0)) * 1000
    return m[1] === '-' ? -ms : ms
  }

  instantOf(localMs: number): number {
    // Transitions fall on whole seconds, so every time within one local second has one offset.
    const second = Math.floor(localMs / 1000)
    if (second !== this.lastSecond) {
      this.lastOffsetMs = this.offsetFor(second * 1000)
      this.lastSecond = second
    }
    return localMs - this.lastOffsetMs
  }

  /**
   * The offset a local time gets (java.time's rule, see Zone.instantOf): the offsets in force a
   * day before and a day after are the candidates (no zone has two transitions within two days).
   */
  private offsetFor(localMs: number): number {
    const before = this.offsetAt(localMs - DAY_MS)
    const after = this.offsetAt(localMs + DAY_MS)
    // Overlap: both are valid and `before` (the larger offset) gives the earlier instant.
    if (this.offsetAt(localMs - before) === before) return before
    if (this.offsetAt(localMs - after) === after) return after
    // Gap: read with the offset before the transition, i.e. moved forward by the gap.
    return before
  }
}

/**
 * A zone from its setting: an offset of OFFSET_FORM (`UTC` too) or an IANA name Intl knows
 * (`Europe/Paris`, `America/New_York`, `Etc/UTC`). Throws an Error saying what is accepted.
 */
export function parseZone(text: string): Zone {
  const minutes = offsetMinutes(text)
  if (minutes !== null) return fixedZone(minutes)
  if (text === 'UTC') return UTC
  const notAZone = new Error(
    `"${text}" is neither an IANA time zone (e.g. Europe/Paris) nor a fixed offset (Z, ±HH, ±HH:MM, ±HHMM up to ±18:00)`,
  )
  let name: string
  try {
    name = new Intl.DateTimeFormat('en-US', { timeZone: text }).resolvedOptions().timeZone
  } catch {
    throw notAZone
  }
  // Intl takes offsets itself on newer Node ("+19:00"): anything not matched above must be a region.
  if (!/^[A-Za-z]/.test(name)) throw notAZone
  return name === 'UTC' || name === 'Etc/UTC' ? UTC : new RegionZone(name)
}
