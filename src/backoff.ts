// The one retry delay of the project: every loop that waits for a service to come back
// (Postgres at start, partition claims, the writer's commits, the Kafka consumer) takes its
// delay from here, so they all grow the same way and none of them spins.

/** How a retry loop waits: the first delay, doubled on each try up to a cap (ms). */
export interface BackoffPolicy {
  initialMs: number
  maxMs: number
}

/**
 * The delay (ms) before try `attempt + 1`, after `attempt` (1, 2, ...) failures in a row:
 * `initialMs · 2^(attempt − 1)`, capped at `maxMs`, then "equal jitter" (a uniform draw in
 * [d/2, d]; AWS Architecture Blog, "Exponential Backoff and Jitter", 2015) so that processes
 * that lost a service together do not come back to it in step. Never more than `maxMs`.
 */
export function backoffMs(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, 30) // 2^30 · initialMs is past any cap
  const capped = Math.min(policy.maxMs, policy.initialMs * 2 ** exponent)
  return Math.round(capped / 2 + (capped / 2) * random())
}
