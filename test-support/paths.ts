// Where the checkout is, for the test and bench support modules: tests run them from source
// (test-support/), the benchmarks from the build (dist/test-support/), so the root is found
// by walking up to package.json rather than by a fixed number of "..".
import { existsSync } from 'node:fs'
import path from 'node:path'

function checkoutRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

/** The checkout's root directory (holds package.json, dist/, test-artifacts/). */
export const ROOT = checkoutRoot(import.meta.dirname)

/** Where tests and chaos runs write their logs and screenshots. */
export const ARTIFACTS = path.join(ROOT, 'test-artifacts')
