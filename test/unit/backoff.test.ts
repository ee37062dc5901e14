// The one retry delay (src/backoff.ts): doubling from the first delay, capped, jittered within [d/2, d].
import t from 'tap'
import { backoffMs } from '../../src/backoff.js'

const policy = { initialMs: 1000, maxMs: 30_000 }

t.test('doubles from the first delay up to the cap; the top of the jitter range is the undrawn delay', async (t) => {
  const top = [1, 2, 3, 4, 5, 6, 7, 50, 10_000].map((a) => backoffMs(a, policy, () => 1))
  t.same(top, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000, 30_000])
})

t.test('equal jitter: never below half the delay, never above it or the cap', async (t) => {
  t.same([1, 3, 9].map((a) => backoffMs(a, policy, () => 0)), [500, 2000, 15_000], 'a draw of 0 is half the delay')
  for (let i = 0; i < 1000; i++) {
    const attempt = 1 + (i % 12)
    const d = backoffMs(attempt, policy)
    const undrawn = Math.min(policy.maxMs, policy.initialMs * 2 ** (attempt - 1))
    if (d < undrawn / 2 || d > undrawn) t.fail(`attempt ${attempt}: ${d} outside [${undrawn / 2}, ${undrawn}]`)
  }
  t.pass('1000 draws within bounds')
})

t.test('attempt 0 or below counts as the first', async (t) => {
  t.equal(backoffMs(0, policy, () => 1), 1000)
  t.equal(backoffMs(-3, policy, () => 1), 1000)
})
