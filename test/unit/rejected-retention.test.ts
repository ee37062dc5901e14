// Unit tests for the planning half of src/postgres/rejected-retention.ts (which daily partitions of
// rejected_events a pass creates and drops); test/rejected-retention.test.ts runs the passes.
import t from 'tap'
import { AHEAD_DAYS, dayOfPartition, dayPartitionName, planRetention } from '../../src/postgres/rejected-retention.js'

const DAY = 86_400_000
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`)
const names = (...isos: string[]) => isos.map((iso) => dayPartitionName(day(iso)))

t.test('partition names: rejected_events_pYYYYMMDD, UTC', async (t) => {
  t.equal(dayPartitionName(day('2026-11-30')), 'rejected_events_p20261130')
  t.equal(dayPartitionName(day('2026-11-30') + DAY - 1), 'rejected_events_p20261130', 'the last millisecond of the day')
  t.equal(dayOfPartition('rejected_events_p20261130'), day('2026-11-30'))
  t.equal(dayOfPartition('rejected_events_p20260230'), null, 'a day that does not exist')
  t.equal(dayOfPartition('rejected_events_default'), null)
  t.equal(dayOfPartition('rejected_events_p2026113'), null)
  t.equal(dayOfPartition('other_p20261130'), null)
})

t.test('a fresh table: the days from the cutoff to AHEAD_DAYS after today are created, nothing dropped', async (t) => {
  const now = Date.parse('2026-11-30T05:42:00Z')
  const plan = planRetention(['rejected_events_default'], now, 30)
  t.equal(plan.cutoffMs, now - 30 * DAY)
  t.equal(plan.create.length, 31 + AHEAD_DAYS, '2026-10-31 (holds the cutoff) to 2026-12-03')
  t.equal(plan.create[0], day('2026-10-31'), 'the day that holds now - 30 days is kept whole')
  t.equal(plan.create.at(-1), day('2026-12-03'))
  t.same(plan.drop, [])
})

t.test('steady state: one day to create, one to drop; foreign tables untouched', async (t) => {
  const now = Date.parse('2026-11-30T05:42:00Z')
  const existing = [
    ...names('2026-10-29', '2026-10-30'),
    ...Array.from({ length: 33 }, (_, i) => dayPartitionName(day('2026-10-31') + i * DAY)),
    'rejected_events_default',
    'rejected_events_manual',
  ]
  const plan = planRetention(existing, now, 30)
  t.same(plan.create, [day('2026-12-03')])
  t.same(plan.drop, names('2026-10-29', '2026-10-30'), 'every day wholly before the cutoff, oldest first')
})

t.test('the day holding the cutoff stays until the cutoff passes its end', async (t) => {
  const existing = names('2026-10-31')
  t.same(planRetention(existing, Date.parse('2026-11-30T23:59:59.999Z'), 30).drop, [], 'cutoff 2026-10-31T23:59:59.999')
  t.same(planRetention(existing, Date.parse('2026-12-01T00:00:00Z'), 30).drop, existing, 'cutoff at its end: dropped')
})

t.test('old partitions far back (a migration from years of rows) are all dropped', async (t) => {
  const plan = planRetention(names('2020-02-29', '2025-12-31', '2026-11-01'), Date.parse('2026-11-30T12:00:00Z'), 1)
  t.same(plan.drop, names('2020-02-29', '2025-12-31', '2026-11-01'))
  t.same(plan.create, [day('2026-11-29'), day('2026-11-30'), day('2026-12-01'), day('2026-12-02'), day('2026-12-03')])
})

t.test('retention 0 runs no pass: planning refuses it', async (t) => {
  t.throws(() => planRetention([], Date.now(), 0), RangeError)
})
