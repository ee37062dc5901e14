// The short form of the chaos run (bench/chaos.ts; `npm run chaos -- --minutes 10` is
// the long one): 40 s of random kill -9 of supervisors and worker-thread crashes while a
// producer runs, then Postgres must hold exactly what was produced.
import { spawn } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import type { ChaosResult } from '../bench/chaos.js'
import { ARTIFACTS } from '../test-support/paths.js'

const ROOT = path.resolve(import.meta.dirname, '..')

t.test('chaos, short form: 3 supervisors, random kill -9 and thread kills under load; the invariant holds', async (t) => {
  const args = ['dist/bench/chaos.js', '--seconds', '40', '--rate', '3000', '--mean-gap-ms', '2500', '--log-dir', ARTIFACTS]
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  t.comment(err.trim().split('\n').at(-1) ?? '')
  t.equal(code, 0, 'the chaos run exits 0 (invariant held)')
  const r = JSON.parse(out) as ChaosResult
  t.same(r.diffs, [], 'category_sales and rejected_events equal what was produced, to the cent')
  t.ok(r.ok, `${r.events} events, ${r.malformed} malformed`)
  t.ok(r.processKills >= 1, `at least one supervisor was killed with -9 (${r.processKills})`)
  t.ok(r.threadKills >= 1, `at least one worker thread was killed (${r.threadKills})`)
  t.equal(r.threadRestarts, r.threadKills, 'every killed thread was replaced')
  t.same(r.unexpectedExits, [], 'no supervisor exited by itself')
  t.same(
    r.finalExitCodes,
    r.finalExitCodes.map(() => 0),
    'every supervisor exits 0 on the final SIGTERM',
  )
})
