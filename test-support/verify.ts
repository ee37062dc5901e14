// Compares what tumbler stored with the dataset's ground truth, to the cent.
import type { Test } from 'tap'
import { centsText, type Truth } from './dataset.js'
import { committedRecords, query } from './postgres.js'
import { waitFor } from './wait.js'

type Assert = Pick<Test, 'equal' | 'same'>

export async function waitCaughtUp(url: string, topic: string, total: number, timeoutMs = 120_000): Promise<void> {
  await waitFor(async () => (await committedRecords(url, topic)) >= total, `all ${total} records committed`, timeoutMs, 200)
}

export async function assertMatchesTruth(t: Assert, url: string, topic: string, truth: Truth): Promise<void> {
  const rows = await query<{ w: string; category: string; total: string; count: string }>(
    url,
    `SELECT (extract(epoch FROM window_start) * 1000)::bigint AS w, category, total_sales::text AS total, transaction_count AS count,
            window_end - window_start = interval '60 seconds' AS width_ok
       FROM category_sales ORDER BY 1, 2`,
  )
  const got = new Map(rows.map((r) => [`${r.w}|${r.category}`, `${r.total} / ${r.count}`]))
  const want = new Map([...truth.sales].map(([k, v]) => [k, `${centsText(v.cents)} / ${v.count}`]))
  const diff = [...new Set([...got.keys(), ...want.keys()])].filter((k) => got.get(k) !== want.get(k)).slice(0, 10)
  t.same(
    diff.map((k) => `${k}: got ${got.get(k)}, want ${want.get(k)}`),
    [],
    'category_sales equals the ground truth, row by row, to the cent',
  )
  t.equal(rows.length, truth.sales.size, 'one row per (window, category)')
  const counted = rows.reduce((a, r) => a + Number(r.count), 0)
  t.equal(counted, truth.counted, 'counted records')

  const rejected = await query<{ partition: number; offset: string; reason: string; topic: string }>(
    url,
    'SELECT topic, partition, "offset", reason FROM rejected_events',
  )
  const gotRejected = new Map(rejected.map((r) => [`${r.partition}:${r.offset}`, r.reason]))
  const rdiff = [...new Set([...gotRejected.keys(), ...truth.rejected.keys()])]
    .filter((k) => gotRejected.get(k) !== truth.rejected.get(k))
    .slice(0, 10)
  t.same(
    rdiff.map((k) => `${k}: got ${gotRejected.get(k)}, want ${truth.rejected.get(k)}`),
    [],
    'rejected_events holds every bad or late record with its reason, once',
  )
  t.equal(rejected.length, truth.rejected.size, 'rejected count')
  t.equal(rejected.filter((r) => r.topic !== topic).length, 0, 'rejected rows name the topic')
  const [bad] = await query<{ n: string }>(
    url,
    `SELECT count(*)::text AS n FROM rejected_events
      WHERE (payload IS NULL) <> (payload_bytes IS NULL) OR (payload IS NULL) <> (payload_sha256 IS NULL)
         OR octet_length(payload) > payload_bytes OR (octet_length(payload) = payload_bytes AND sha256(payload) <> payload_sha256)`,
  )
  t.equal(bad?.n, '0', 'every rejected row: payload within payload_bytes, and payload_sha256 its hash when it is whole')
}
