// The shipped Prometheus files, checked by promtool (Debian package `prometheus`, installed by .ci/run).
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'

const DIR = path.resolve(import.meta.dirname, '../prometheus')

function promtool(...args: string[]): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd: DIR, encoding: 'utf8' })
  if (r.error) throw new Error(`promtool not runnable (apt-get install prometheus): ${r.error.message}`)
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}

t.test('promtool check rules: alerts.yml is valid', async (t) => {
  const r = promtool('check', 'rules', 'alerts.yml')
  t.equal(r.status, 0, 'promtool exits 0', { output: r.out })
  t.match(r.out, /SUCCESS: 8 rules found/)
})

t.test('promtool test rules: every alert fires in its test and its near miss does not', async (t) => {
  const r = promtool('test', 'rules', 'alerts.test.yml')
  t.equal(r.status, 0, 'promtool exits 0', { output: r.out })

  const alerts = [...readFileSync(path.join(DIR, 'alerts.yml'), 'utf8').matchAll(/^\s*- alert: (\w+)/gm)].map((m) => m[1])
  const tested = readFileSync(path.join(DIR, 'alerts.test.yml'), 'utf8')
  t.same(
    alerts.sort(),
    [
      'TumblerApiSlow',
      'TumblerConsumerLagHigh',
      'TumblerLowWatermarkStuck',
      'TumblerPartitionFailed',
      'TumblerPostgresPoolSaturated',
      'TumblerProcessingSlowerThanInput',
      'TumblerRejectionRateHigh',
      'TumblerSupervisorDown',
    ],
    'the seed thresholds plus "not scraped" and a stuck low watermark',
  )
  for (const a of alerts) {
    const cases = [...tested.matchAll(new RegExp(`alertname: ${a}\\n\\s*exp_alerts:(.*)`, 'g'))].map((m) => m[1]!.trim())
    t.ok(cases.includes('[]') && cases.includes(''), `${a}: a case where it stays silent and one where it fires`)
  }
})

t.test('promtool check config: prometheus.yml (docker-compose) loads the alerts', async (t) => {
  const r = promtool('check', 'config', 'prometheus.yml')
  t.equal(r.status, 0, 'promtool exits 0', { output: r.out })
  t.match(r.out, /1 rule files found/)
})
