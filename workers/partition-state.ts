import { createHash } from 'node:crypto'
import { APPEND_TIME_STEP_MS, RejectReason, type PartitionFlush, type RejectedRecord, type WindowDelta } from '../src/shared/protocol.js'
import type { WindowRules } from '../src/shared/worker-data.js'
export type { WindowRules } from '../src/shared/worker-data.js'
import type { RecordIn } from '../src/shared/batch-codec.js'
import { UTC, type Zone } from '../src/shared/time-zone.js'
import { isInvalid, parseValue } from './record.js'

// One partition's share of a window actor: its watermark and the deltas since the last
// flush. Totals live in Postgres (added to, in the transaction that moves the offset), so
// a window needs no memory here once its delta is flushed: closed windows leave memory
// at the next flush.

/** Start of the tumbling window holding t, aligned to the Unix epoch (also before 1970). */
export function windowStart(eventMs: number, windowMs: number): number {
  return Math.floor(eventMs / windowMs) * windowMs
}

/**
 * A partition's watermark (docs/contract.md "Window semantics"): the largest event time seen in it
 * minus the lateness, or the value an idle advance raised it to, whichever is later; null
 * while it has neither.
 */
export function watermark(maxEventMs: number | null, idleWatermarkMs: number | null, latenessMs: number): number | null {
  const fromEvents = maxEventMs === null ? null : maxEventMs - latenessMs
  if (fromEvents === null) return idleWatermarkMs
  return idleWatermarkMs === null || fromEvents > idleWatermarkMs ? fromEvents : idleWatermarkMs
}

/** A record is late when its partition's watermark is at or past the end of the record's window. */
export function isLate(eventMs: number, watermarkMs: number | null, windowMs: number): boolean {
  if (watermarkMs === null) return false
  return windowStart(eventMs, windowMs) + windowMs <= watermarkMs
}

/** The timestamptz range Postgres stores (4714-11-24 BC) and JS Date's upper end (it is below Postgres'). */
const MIN_STORABLE_MS = -210_866_803_200_000
const MAX_STORABLE_MS = 8_640_000_000_000_000

/** ISO text for a time that may be beyond JS Date's range (toISOString would throw). */
function isoTime(ms: number): string {
  return Math.abs(ms) <= MAX_STORABLE_MS ? new Date(ms).toISOString() : `${ms} ms`
}

interface Accumulator {
  cents: number
  count: number
}

export class PartitionState {
  private fromOffset: number
  private nextOffset: number
  private records = 0
  private minAppendMs = Infinity
  /** Kafka append time rounded down to APPEND_TIME_STEP_MS → records, for the freshness histogram. */
  private appendTimes = new Map<number, number>()
  /** windowStartMs → category → accumulator */
  private deltas = new Map<number, Map<string, Accumulator>>()
  private rejected: RejectedRecord[] = []
  /** watermark(maxEventMs, idleWatermarkMs, lateness), kept up to date. */
  private watermarkMs: number | null

  constructor(
    readonly partition: number,
    readonly epoch: string,
    nextOffset: number,
    private maxEventMs: number | null,
    private idleWatermarkMs: number | null,
    private readonly rules: WindowRules,
    /** TIMESTAMP_DEFAULT_ZONE: the zone of a `timestamp` written without one. */
    private readonly zone: Zone = UTC,
    /** Bytes of a rejected value kept (REJECTED_PAYLOAD_MAX_BYTES); its length and SHA-256 always are. Default: all. */
    private readonly payloadMaxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.fromOffset = nextOffset
    this.nextOffset = nextOffset
    this.watermarkMs = watermark(maxEventMs, idleWatermarkMs, rules.latenessMs)
  }

  /**
   * Takes an idle advance the writer committed from `fromOffset` on (AdvanceTask). Refused
   * (false) once a record at or past that offset was read: it was judged against the old
   * watermark, so the fence refuses this state's next flush and the partition is claimed
   * again. A watermark never moves back.
   */
  advance(fromOffset: number, idleWatermarkMs: number): boolean {
    if (this.nextOffset !== fromOffset || this.records !== 0) return false
    if (this.idleWatermarkMs === null || idleWatermarkMs > this.idleWatermarkMs) this.idleWatermarkMs = idleWatermarkMs
    this.watermarkMs = watermark(this.maxEventMs, this.idleWatermarkMs, this.rules.latenessMs)
    return true
  }

  /** Counts or rejects one record. Records below the next offset were already counted and are skipped. */
  add(r: RecordIn): void {
    const { offset, timestampMs: kafkaTimestampMs } = r
    if (offset < this.nextOffset) return
    this.nextOffset = offset + 1
    this.records++
    if (kafkaTimestampMs < this.minAppendMs) this.minAppendMs = kafkaTimestampMs
    const step = kafkaTimestampMs - (kafkaTimestampMs % APPEND_TIME_STEP_MS)
    this.appendTimes.set(step, (this.appendTimes.get(step) ?? 0) + 1)
    const parsed = parseValue(r, this.zone)
    if (isInvalid(parsed)) return this.reject(r, parsed.reason, parsed.detail)
    const { eventMs } = parsed
    if (eventMs - kafkaTimestampMs > this.rules.futureMs) {
      return this.reject(
        r,
        RejectReason.FUTURE,
        `event time ${new Date(eventMs).toISOString()} is more than ${this.rules.futureMs / 1000}s after the Kafka timestamp ${isoTime(kafkaTimestampMs)}`,
      )
    }
    if (isLate(eventMs, this.watermarkMs, this.rules.windowMs)) {
      return this.reject(
        r,
        RejectReason.LATE,
        `window ${new Date(windowStart(eventMs, this.rules.windowMs)).toISOString()} closed: watermark ${new Date(this.watermarkMs!).toISOString()}`,
      )
    }
    if (this.maxEventMs === null || eventMs > this.maxEventMs) {
      this.maxEventMs = eventMs
      if (this.watermarkMs === null || eventMs - this.rules.latenessMs > this.watermarkMs)
        this.watermarkMs = eventMs - this.rules.latenessMs
    }
    const start = windowStart(eventMs, this.rules.windowMs)
    let byCategory = this.deltas.get(start)
    if (!byCategory) this.deltas.set(start, (byCategory = new Map()))
    const acc = byCategory.get(parsed.category)
    if (acc) {
      acc.cents += parsed.cents
      acc.count++
    } else {
      byCategory.set(parsed.category, { cents: parsed.cents, count: 1 })
    }
  }

  private reject(r: RecordIn, reason: RejectReason, detail: string): void {
    const kafkaTimestampMs = r.timestampMs
    // Kafka takes any int64 as a producer's timestamp (-9e15 included); Postgres would refuse
    // it in kafka_timestamp and stall every commit, so it is stored clamped and named in detail.
    const storable = Math.min(Math.max(kafkaTimestampMs, MIN_STORABLE_MS), MAX_STORABLE_MS)
    if (storable !== kafkaTimestampMs)
      detail += ` (Kafka timestamp ${kafkaTimestampMs} ms is outside what Postgres stores; kafka_timestamp holds ${isoTime(storable)})`
    // Hashed here, where the bytes already are (rejects are rare); only the first
    // payloadMaxBytes are copied (the batch buffer should not live until the flush), so a
    // stream of 1 MB garbage costs neither memory on the way nor disk in Postgres.
    const value = r.value()
    this.rejected.push({
      offset: String(r.offset),
      reason,
      detail,
      payload: value && new Uint8Array(value.subarray(0, this.payloadMaxBytes)),
      payloadBytes: value && value.byteLength,
      payloadSha256: value && new Uint8Array(createHash('sha256').update(value).digest()),
      kafkaTimestampMs: storable,
    })
  }

  /**
   * The offsets before `offset` hold nothing to count (transaction markers, aborted
   * transactions: KAFKA_FETCH=actors, workers/fetch-share.ts): the next flush covers them, so
   * Postgres moves past them even when no record follows.
   */
  skipTo(offset: number): void {
    if (offset > this.nextOffset) this.nextOffset = offset
  }

  get pending(): number {
    return this.records
  }

  /** Everything since the last flush, or null if the position did not move; resets the deltas. */
  flush(): PartitionFlush | null {
    if (this.records === 0 && this.nextOffset === this.fromOffset) return null
    const deltas: WindowDelta[] = []
    for (const [windowStartMs, byCategory] of this.deltas) {
      for (const [category, acc] of byCategory) deltas.push({ windowStartMs, category, cents: acc.cents, count: acc.count })
    }
    const flush: PartitionFlush = {
      partition: this.partition,
      epoch: this.epoch,
      fromOffset: String(this.fromOffset),
      nextOffset: String(this.nextOffset),
      maxEventMs: this.maxEventMs,
      idleWatermarkMs: this.idleWatermarkMs,
      records: this.records,
      minAppendMs: this.minAppendMs,
      appendTimes: [...this.appendTimes],
      deltas,
      rejected: this.rejected,
    }
    this.fromOffset = this.nextOffset
    this.records = 0
    this.minAppendMs = Infinity
    this.appendTimes = new Map()
    this.deltas = new Map()
    this.rejected = []
    return flush
  }
}
