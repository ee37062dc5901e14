import { log } from './shared/log.js'

// One option parser for every program: environment variables with CLI flags of the
// same meaning, validated once at start; a bad option exits 2 with one line naming it.

export class UsageError extends Error {}

export interface Option<T> {
  /** Environment variable; omitted for flag-only options. */
  env?: string
  flag: string
  help: string
  default: T
  parse: (raw: string) => T
}

export type Options = Record<string, Option<unknown>>
export type Values<O extends Options> = { [K in keyof O]: O[K]['default'] }

export const int =
  (min: number, max = Number.MAX_SAFE_INTEGER) =>
  (raw: string): number => {
    if (!/^-?\d+$/.test(raw.trim())) throw new UsageError(`expected an integer, got "${raw}"`)
    const n = Number(raw)
    if (n < min || n > max) throw new UsageError(`expected ${min}..${max}, got ${n}`)
    return n
  }

export const text = (raw: string): string => {
  if (raw.trim() === '') throw new UsageError('must not be empty')
  return raw.trim()
}

export const list = (raw: string): string[] => {
  const items = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (items.length === 0) throw new UsageError('must list at least one item')
  return items
}

export const bool = (raw: string): boolean => {
  if (['true', '1', 'yes'].includes(raw.trim().toLowerCase())) return true
  if (['false', '0', 'no'].includes(raw.trim().toLowerCase())) return false
  throw new UsageError(`expected true or false, got "${raw}"`)
}

export const oneOf =
  <T extends string>(values: readonly T[]) =>
  (raw: string): T => {
    if (!values.includes(raw.trim() as T)) throw new UsageError(`expected one of ${values.join(', ')}, got "${raw}"`)
    return raw.trim() as T
  }

export function usage(program: string, summary: string, options: Options): string {
  const lines = [`usage: ${program} [options]`, '', summary, '', 'options (environment variable in brackets):']
  for (const o of Object.values(options)) {
    const env = o.env ? ` [${o.env}]` : ''
    lines.push(`  --${o.flag}${env}`, `      ${o.help} (default: ${String(o.default)})`)
  }
  lines.push('  --help', '      print this help')
  return lines.join('\n')
}

/** Parses env then argv (argv wins). Throws UsageError naming the option. Returns null for --help. */
export function parseOptions<O extends Options>(options: O, argv: string[], env: NodeJS.ProcessEnv): Values<O> | null {
  if (argv.includes('--help') || argv.includes('-h')) return null
  const byFlag = new Map(Object.entries(options).map(([k, o]) => [o.flag, k]))
  const values: Record<string, unknown> = {}
  for (const [key, o] of Object.entries(options)) {
    const raw = o.env ? env[o.env] : undefined
    values[key] = raw === undefined || raw === '' ? o.default : parseNamed(o, `${o.env}`, raw)
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const m = /^--([a-z0-9-]+)(?:=(.*))?$/.exec(arg)
    const key = m ? byFlag.get(m[1]!) : undefined
    if (!m || key === undefined) throw new UsageError(`unknown option ${arg}`)
    let raw = m[2]
    if (raw === undefined && typeof options[key]!.default === 'boolean') raw = 'true' // a bare switch
    if (raw === undefined) {
      raw = argv[++i]
      if (raw === undefined) throw new UsageError(`option --${m[1]} needs a value`)
    }
    values[key] = parseNamed(options[key]!, `--${m[1]}`, raw)
  }
  return values as Values<O>
}

function parseNamed(o: Option<unknown>, name: string, raw: string): unknown {
  try {
    return o.parse(raw)
  } catch (err) {
    throw new UsageError(`invalid ${name}: ${(err as Error).message}`)
  }
}

/** Runs a program's main with the exit conventions of the contract. */
export function runMain<O extends Options>(program: string, summary: string, options: O, main: (values: Values<O>) => Promise<void>): void {
  let values: Values<O> | null
  try {
    values = parseOptions(options, process.argv.slice(2), process.env)
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`${program}: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  if (values === null) {
    process.stdout.write(usage(program, summary, options) + '\n')
    process.exit(0)
  }
  main(values).catch((err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`${program}: ${err.message}\n`)
      process.exit(2)
    }
    log.error('fatal', { program, error: err })
    process.exit(1)
  })
}
