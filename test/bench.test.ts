// The benchmark's quick mode: its JSON has every figure and its totals matched the ground
// truth. Timings are printed, never asserted.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import t from 'tap'

t.test('npm run bench -- --quick', async (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tumbler-bench-'))
  const r = spawnSync(process.execPath, ['dist/bench/run.js', '--quick', '--results-dir', dir], { encoding: 'utf8', timeout: 300_000 })
  t.equal(r.status, 0, 'exits 0')
  const result = JSON.parse(r.stdout)
  t.equal(result.totalsMatched, true, 'every scenario matched its ground truth')
  t.match(result, {
    quick: true,
    machine: { cores: Number, node: String, kafka: /^4\./ },
    catchUp: { events: 100_000, eventsPerSecond: Number, peakRssMb: Number, rebalances: Number, totalsMatched: true },
    ceilings: {
      kafkajs: { eventsPerSecond: Number },
      broker: { eventsPerSecond: Number },
      pipelineToKafkajs: Number,
      pipelineToBroker: Number,
    },
    live: { freshnessMs: { p50: Number, p99: Number, max: Number }, totalsMatched: true },
  })
  t.ok(result.ceilings.broker.eventsPerSecond > 0, 'ConsumerPerformance ran and was parsed')
  const appended = readFileSync(path.join(dir, 'results.jsonl'), 'utf8').trim().split('\n')
  t.equal(appended.length, 1, 'the run is appended to results.jsonl')
  t.comment(r.stderr.split('tumbler bench')[1] ?? '')
})
