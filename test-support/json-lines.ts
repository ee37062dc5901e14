// A process's stderr read as JSON lines (the supervisor's log format, src/shared/log.ts): the lines
// that are not one JSON object each, and the parsed ones.

/** Splits `text` into lines; `notJson` are those JSON.parse refuses, `lines` the parsed rest. */
export function jsonLines(text: string): { notJson: string[]; lines: Record<string, any>[] } {
  const notJson: string[] = []
  const lines: Record<string, any>[] = []
  for (const l of text.trimEnd().split('\n')) {
    try {
      lines.push(JSON.parse(l) as Record<string, any>)
    } catch {
      notJson.push(l)
    }
  }
  return { notJson, lines }
}
