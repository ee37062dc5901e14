// A headless Debian Chromium for the page's tests (playwright-core drives it; no browser is
// downloaded): a fresh profile per test, removed in teardown.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { chromium, type BrowserContext } from 'playwright-core'

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

interface Teardown {
  teardown(fn: () => unknown): void
}

/** A browser context at 1280×900, en-US, in Asia/Kolkata (not UTC, and not a whole hour off it: times on the page must be converted). */
export async function launch(t: Teardown): Promise<BrowserContext> {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'tumbler-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    locale: 'en-US',
    timezoneId: 'Asia/Kolkata',
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  return context
}
