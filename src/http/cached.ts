// Small async helpers of the summary: a value cached briefly with one load at a time, and a
// promise given up on after a while.

/** A value loaded by `load` and kept `ttlMs`; concurrent callers of get() share one load, and a failed load is not kept. */
export class Cached<T> {
  private value: { at: number; v: T } | null = null
  private inflight: Promise<T> | null = null
  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    if (this.value && Date.now() - this.value.at < this.ttlMs) return Promise.resolve(this.value.v)
    // One load at a time: concurrent callers share it.
    this.inflight ??= this.load()
      .then((v) => {
        this.value = { at: Date.now(), v }
        return v
      })
      .finally(() => (this.inflight = null))
    return this.inflight
  }
}

/** `p`'s value, or null if it has not settled within `ms` (p goes on; its result is dropped). */
export function orNullAfter<T>(p: Promise<T>, ms: number): Promise<T | null> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
