// Reads the Prometheus text format well enough for assertions, and runs promtool on it.
import { spawnSync } from 'node:child_process'

export interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!m) throw new Error(`unparseable metrics line: ${line}`)
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!
    out.push({ name: m[1]!, labels, value: m[3] === 'Nan' || m[3] === 'NaN' ? NaN : Number(m[3]) })
  }
  return out
}

/** The one sample of `name` whose labels include `labels`; undefined if none. */
export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
}

/** `# TYPE` of every metric family. */
export function types(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]))
}

export async function scrape(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
  return res.text()
}

/** `promtool check metrics` on a scrape: exit status and what it complained about. */
export function promtoolCheckMetrics(text: string): { status: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
  if (r.error) throw new Error(`promtool not runnable (apt-get install prometheus): ${r.error.message}`)
  return { status: r.status, out: `${r.stdout}${r.stderr}` }
}
