// Child processes the metrics tests run beside the supervisor: the producer and a real
// Prometheus (Debian package `prometheus`, installed by .ci/run), each killed in teardown.
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { ARTIFACTS, ROOT } from './paths.js'
import { freePort } from './ports.js'
import type { Teardown } from './teardown.js'
import { waitFor } from './wait.js'

function run(t: Teardown, command: string, args: string[], logName: string, env: Record<string, string> = {}): ChildProcess {
  mkdirSync(ARTIFACTS, { recursive: true })
  const out = createWriteStream(path.join(ARTIFACTS, `${logName}.log`), { flags: 'a' })
  const proc = spawn(command, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  proc.stdout!.pipe(out, { end: false })
  proc.stderr!.pipe(out, { end: false })
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()))
  proc.on('error', (err) => out.write(`spawn failed: ${err.message}\n`))
  t.teardown(async () => {
    if (proc.exitCode === null && proc.signalCode === null && proc.pid !== undefined) {
      proc.kill('SIGKILL')
      await exited
    }
  })
  return proc
}

/** `node dist/producer.js --rate N` into an existing topic, until teardown. */
export function startProducer(t: Teardown, topic: string, rate: number, logName: string): ChildProcess {
  return run(t, process.execPath, ['dist/producer.js', '--rate', String(rate), '--kafka-topic', topic], logName)
}

export interface Prometheus {
  port: number
  /** An instant query; throws on an API error. */
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>
  get(apiPath: string): Promise<any>
}

/**
 * Starts our own prometheus binary (never a system service): its own config, storage in a
 * temp directory, a free port, scraping `targets` every second under job "tumbler".
 */
export async function startPrometheus(t: Teardown, targets: string[], ruleFiles: string[], logName: string): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tumbler-prom-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const port = await freePort()
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'rule_files:',
    ...ruleFiles.map((f) => `  - ${JSON.stringify(f)}`),
    'scrape_configs:',
    '  - job_name: tumbler',
    '    static_configs:',
    `      - targets: ${JSON.stringify(targets)}`,
    '',
  ].join('\n')
  writeFileSync(path.join(dir, 'prometheus.yml'), config)
  const proc = run(
    t,
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    logName,
  )
  const base = `http://127.0.0.1:${port}`
  await waitFor(
    async () => {
      if (proc.exitCode !== null) throw new Error(`prometheus exited with ${proc.exitCode}; see test-artifacts/${logName}.log`)
      return (await fetch(`${base}/-/ready`)).ok
    },
    'prometheus ready',
    30_000,
  )
  const get = async (apiPath: string) => {
    const body = (await (await fetch(`${base}${apiPath}`)).json()) as { status: string; data: any; error?: string }
    if (body.status !== 'success') throw new Error(`prometheus ${apiPath}: ${body.error}`)
    return body.data
  }
  return {
    port,
    get,
    query: async (promql) => (await get(`/api/v1/query?query=${encodeURIComponent(promql)}`)).result,
  }
}
