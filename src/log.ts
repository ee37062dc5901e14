// JSON lines on stderr, one object per event, so logs can be grepped and shipped as they are.
const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const
export type Level = keyof typeof levels

let threshold: number = levels.info
let base: Record<string, unknown> = {}

export function configureLog(level: string, fields: Record<string, unknown> = {}): void {
  threshold = levels[level as Level] ?? levels.info
  base = fields
}

function write(level: Level, msg: string, fields?: Record<string, unknown>): void {
  if (levels[level] < threshold) return
  const line = { time: new Date().toISOString(), level, msg, ...base, ...fields }
  process.stderr.write(JSON.stringify(line, errorReplacer) + '\n')
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, code: (value as { code?: unknown }).code }
  if (typeof value === 'bigint') return value.toString()
  return value
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write('debug', msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write('info', msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write('warn', msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write('error', msg, fields),
}

/** A connection string fit for a log line: the password never leaves the process. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '(unparseable url)'
  }
}
