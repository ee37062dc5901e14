// Unit tests of the retry helper (src/shared/retry.ts) and of the Postgres error classifier
// (src/shared/pg-errors.ts) that decides which commits are retried. No Postgres.
import t from 'tap'
import { pgErrorKind, sqlState } from '../../src/shared/pg-errors.js'
import { backoffMs, retry } from '../../src/shared/retry.js'

t.test('backoffMs: doubles from baseMs up to maxMs, each wait between half and all of its step', async (t) => {
  const b = { baseMs: 100, maxMs: 5000 }
  const steps = [100, 200, 400, 800, 1600, 3200, 5000, 5000]
  steps.forEach((step, i) => {
    t.equal(
      backoffMs(i + 1, b, () => 0),
      step / 2,
      `attempt ${i + 1}: at least ${step / 2} ms`,
    )
    t.equal(
      backoffMs(i + 1, b, () => 0.999999),
      step,
      `attempt ${i + 1}: at most ${step} ms`,
    )
  })
  t.equal(
    backoffMs(10_000, b, () => 1),
    5000,
    'no overflow after many attempts',
  )
  const waits = new Set(Array.from({ length: 50 }, () => backoffMs(5, b)))
  t.ok(waits.size > 10, `jittered: ${waits.size} distinct waits in 50 draws`)
})

t.test('retry: retries until fn resolves, and says how many attempts it took', async (t) => {
  const seen: [number, number][] = []
  const r = await retry(
    async (attempt) => {
      if (attempt < 3) throw new Error(`no ${attempt}`)
      return 'done'
    },
    { baseMs: 1, maxMs: 2, onRetry: (_err, attempt, delayMs) => void seen.push([attempt, delayMs]) },
  )
  t.same(r, { value: 'done', attempts: 3 })
  t.same(
    seen.map(([a]) => a),
    [1, 2],
    'onRetry after each failed attempt that is retried',
  )
  t.ok(
    seen.every(([, d]) => d >= 0 && d <= 2),
    'waits within the cap',
  )
})

t.test('retry: an error the classifier refuses ends the loop at once', async (t) => {
  let calls = 0
  let retried = 0
  const fatal = Object.assign(new Error('numeric field overflow'), { code: '22003', severity: 'ERROR' })
  await t.rejects(
    retry(
      async () => {
        calls++
        throw fatal
      },
      { baseMs: 1, maxMs: 1, retryable: (err) => pgErrorKind(err) === 'transient', onRetry: () => void retried++ },
    ),
    fatal,
  )
  t.equal(calls, 1, 'tried once')
  t.equal(retried, 0, 'never retried')
})

t.test('pgErrorKind: SQLSTATE classes 22 and 23 are deterministic, the rest is retried', async (t) => {
  const pgError = (code: string) => Object.assign(new Error(code), { code, severity: 'ERROR' })
  const table: [string, unknown, 'transient' | 'deterministic'][] = [
    ['22003 numeric_value_out_of_range', pgError('22003'), 'deterministic'],
    ['22P02 invalid_text_representation', pgError('22P02'), 'deterministic'],
    ['22023 invalid_parameter_value (RAISE … USING ERRCODE)', pgError('22023'), 'deterministic'],
    ['23514 check_violation', pgError('23514'), 'deterministic'],
    ['23505 unique_violation', pgError('23505'), 'deterministic'],
    ['08006 connection_failure', pgError('08006'), 'transient'],
    ['40001 serialization_failure', pgError('40001'), 'transient'],
    ['40P01 deadlock_detected', pgError('40P01'), 'transient'],
    ['55P03 lock_not_available', pgError('55P03'), 'transient'],
    ['57P01 admin_shutdown', pgError('57P01'), 'transient'],
    ['57014 query_canceled (statement timeout)', pgError('57014'), 'transient'],
    ['53300 too_many_connections', pgError('53300'), 'transient'],
    ['42501 insufficient_privilege (an operator fixes it, whatever the data)', pgError('42501'), 'transient'],
    ['ECONNRESET (no SQLSTATE)', Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'transient'],
    ['EPIPE: a Node code of 5 letters, not a SQLSTATE', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }), 'transient'],
    ['Connection terminated unexpectedly (pg, no code)', new Error('Connection terminated unexpectedly'), 'transient'],
    ['not an Error', 'boom', 'transient'],
  ]
  for (const [what, err, kind] of table) t.equal(pgErrorKind(err), kind, what)
  t.equal(sqlState(pgError('23514')), '23514')
  t.equal(sqlState(Object.assign(new Error('x'), { code: 'EPIPE' })), null, 'a Node error code is not a SQLSTATE')
  t.equal(sqlState(null), null)
})
