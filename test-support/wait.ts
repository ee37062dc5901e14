// Waiting for a condition: the only synchronisation tests and benchmarks use (never a blind sleep).

/**
 * Polls cond() every `everyMs` until it returns something truthy, and returns that. A throw
 * counts as "not yet" (the database may not exist yet); after `timeoutMs` it throws an Error
 * naming `what` and the last error seen.
 */
export async function waitFor<T>(cond: () => T | Promise<T>, what: string, timeoutMs = 60_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = await cond()
      if (v) return v as NonNullable<T>
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
