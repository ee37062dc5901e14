// The one retry loop of tumbler: exponential backoff with jitter, a cap, and a classifier
// that says whether an error is worth another try. Imports nothing, so both the main thread
// and the worker threads load it.

export interface Backoff {
  /** Delay before the second attempt (ms); it doubles with every further attempt. */
  baseMs: number
  /** Largest delay (ms), before jitter. */
  maxMs: number
}

export interface RetryOptions extends Backoff {
  /** False ends the loop and rethrows the error (a deterministic failure). Default: every error is retried. */
  retryable?: (err: unknown) => boolean
  /** Called after a failed attempt that will be retried, before the wait (log, count, roll back). */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void | Promise<void>
}

/**
 * The wait after failed attempt `attempt` (1-based), in ms: `min(maxMs, baseMs * 2^(attempt-1))`,
 * of which a random half is dropped ("equal jitter", AWS Architecture Blog, "Exponential
 * Backoff And Jitter", 2015), so that retries of many clients after one outage spread out
 * instead of arriving together, while each still waits at least half the step.
 */
export function backoffMs(attempt: number, b: Backoff, random: () => number = Math.random): number {
  const step = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(Math.max(0, attempt - 1), 30))
  return Math.round(step / 2 + (random() * step) / 2)
}

/**
 * Runs `fn(attempt)` (attempt counts from 1) until it resolves, waiting `backoffMs` between
 * attempts. Resolves with fn's value and the number of attempts it took. Rejects with fn's
 * error as soon as `retryable` says no; never gives up on a retryable error (the caller's
 * fn ends the loop itself by resolving, e.g. when the work is no longer wanted).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<{ value: T; attempts: number }> {
  for (let attempt = 1; ; attempt++) {
    try {
      return { value: await fn(attempt), attempts: attempt }
    } catch (err) {
      if (opts.retryable && !opts.retryable(err)) throw err
      const delayMs = backoffMs(attempt, opts)
      await opts.onRetry?.(err, attempt, delayMs)
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
}
