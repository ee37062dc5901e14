// Unit tests for src/shared/log.ts: the line shape, per-thread bindings and levels, error stacks,
// redaction, process warnings, and whole lines when threads write at once into a pipe.
import { spawnSync } from 'node:child_process'
import path from 'node:path'
import t from 'tap'
import { jsonLines } from '../../test-support/json-lines.js'
import { childLogger, configureLog, redactUrl } from '../../src/shared/log.js'

const program = path.resolve(import.meta.dirname, '../../test-support/log-threads.ts')
const PAD = 20_000 // chars: five times a pipe's atomic write (PIPE_BUF, 4 KiB)

t.test('four threads logging at once into a pipe: every line whole JSON, with its thread', async (t) => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', program, String(PAD)], { encoding: 'utf8', maxBuffer: 64 << 20 })
  t.equal(run.status, 0, `the program ran: ${run.stderr.slice(-500)}`)
  t.equal(run.stdout, '', 'nothing on stdout')
  const { notJson, lines } = jsonLines(run.stderr)
  t.same(
    notJson.map((l) => l.slice(0, 200)),
    [],
    'every stderr line is one JSON object',
  )
  t.ok(
    lines.every(
      (l) => typeof l.msg === 'string' && ['debug', 'info', 'warn', 'error'].includes(l.level) && new Date(l.time).toISOString() === l.time,
    ),
    'msg, level by name and ISO time on every line',
  )
  t.ok(
    lines.every((l) => l.owner === 'test-owner'),
    'the bindings of configureLog on every line, worker threads included',
  )

  const threads = ['main', 'worker-0', 'worker-1', 'worker-2']
  for (const thread of threads) {
    const own = lines.filter((l) => l.thread === thread)
    t.equal(own.filter((l) => l.msg === 'long line' && l.pad.length === PAD).length, 100, `${thread}: all its long lines, whole`)
    t.ok(
      own.some((l) => l.msg === 'debug line'),
      `${thread}: the configured level (debug)`,
    )
    const err = own.find((l) => l.msg === 'with an error')
    t.equal(err?.error?.message, 'outer: inner', `${thread}: the error with its cause`)
    t.match(err?.error?.stack, /^Error: outer\n\s+at /, `${thread}: the error's stack`)
    t.equal(err?.password, '***', `${thread}: a password field redacted`)
    t.equal(err?.sasl?.password, '***', `${thread}: a nested password field redacted`)
    t.match(
      own.find((l) => l.msg === 'process warning')?.warning,
      { name: 'TestWarning', code: 'TEST_CODE', message: 'provoked', stack: /^TestWarning: provoked\n/ },
      `${thread}: its process warning as a warn line`,
    )
  }
  t.equal(new Set(lines.map((l) => l.thread)).size, threads.length, 'no other thread name')
  t.notOk(run.stderr.includes('never-logged'), 'no password anywhere')
})

t.test("a library's child logger (Fastify's): at least the level asked, never below the configured one", async (t) => {
  configureLog('debug')
  t.equal(childLogger('warn').level, 'warn')
  configureLog('error')
  t.equal(childLogger('warn').level, 'error')
  configureLog('no-such-level')
  t.equal(childLogger('debug').level, 'info', 'an unknown level is info')
})

t.test('redactUrl hides the password of a connection string', async (t) => {
  t.equal(redactUrl('postgresql://u:secret@h:5432/db'), 'postgresql://u:***@h:5432/db')
  t.equal(redactUrl('postgresql://h/db'), 'postgresql://h/db')
  t.equal(redactUrl('not a url'), '(unparseable url)')
})
