// The writer upserts a few rows with one INSERT over unnest() and many rows through COPY
// (workers/commit-sql.ts, COPY_ROWS): both paths must add exactly.
import t from 'tap'
import { createTopic, produce } from '../test-support/broker.js'
import { databaseFor, query } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitCaughtUp } from '../test-support/verify.js'

t.test('a commit with thousands of distinct (window, category) rows goes through COPY and adds exactly', async (t) => {
  const topic = await createTopic(t, 1)
  const db = databaseFor(t)
  const t0 = Date.UTC(2026, 10, 25, 10, 0, 0)
  // 3 records for each of 2,000 categories, in one window: one flush, one commit of 2,000 rows.
  const records = Array.from({ length: 6000 }, (_, i) => ({
    partition: 0,
    timestampMs: t0 + 1000,
    value: JSON.stringify({
      product_category: `cat-${i % 2000}\ttab\\slash`,
      amount: (i % 3) + 0.01,
      timestamp: new Date(t0 + (i % 50) * 1000).toISOString(),
    }),
  }))
  await produce(topic, records)
  await startSupervisor(t, { KAFKA_TOPIC: topic, KAFKA_GROUP_ID: topic, DATABASE_URL: db.url, FLUSH_MS: '5000' }, `upsert-${topic}`)
  await waitCaughtUp(db.url, topic, records.length)
  const rows = await query<{ n: string; sum: string; counts: string }>(
    db.url,
    'SELECT count(*)::text AS n, sum(total_sales)::text AS sum, sum(transaction_count)::text AS counts FROM category_sales',
  )
  t.equal(rows[0]!.n, '2000', 'one row per category')
  t.equal(rows[0]!.counts, '6000', 'every record counted once')
  t.equal(rows[0]!.sum, '6060.00', '2000 × (0.01 + 1.01 + 2.01), exactly')
  const odd = await query<{ category: string; total_sales: string }>(
    db.url,
    "SELECT category, total_sales::text FROM category_sales WHERE category = 'cat-7' || chr(9) || 'tab\\slash'",
  )
  t.same(odd, [{ category: 'cat-7\ttab\\slash', total_sales: '3.03' }], 'tabs and backslashes survive COPY text escaping')
})
