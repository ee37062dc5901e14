// The page during a Kafka outage, in Debian's Chromium: with the broker stopped, the state
// shows red "Kafka unreachable" (it once showed amber "Starting", because the page's state
// was guessed from the reason's words); with the broker back, it returns to "Consuming".
// The broker is the test's own (test-support/outage.ts): the shared one is never stopped.
import type { Page } from 'playwright-core'
import t from 'tap'
import { launch } from '../test-support/browser.js'
import { createTopic } from '../test-support/broker.js'
import { privateBroker } from '../test-support/outage.js'
import { databaseFor } from '../test-support/postgres.js'
import { startSupervisor } from '../test-support/supervisor-process.js'
import { waitFor } from '../test-support/wait.js'

// page.evaluate() callbacks run in the browser; this name exists there, not in Node's types.
declare const document: any
declare const getComputedStyle: any

/** The page's colour variable `name` (web/style.css, a #rrggbb value) as computed styles print it. */
const cssColour = async (page: Page, name: string): Promise<string> => {
  const hex: string = await page.evaluate((n: string) => getComputedStyle(document.documentElement).getPropertyValue(n).trim(), name)
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))
  return `rgb(${r}, ${g}, ${b})`
}

interface StateShown {
  state: string
  tone: string
  text: string
  title: string
  /** Its computed background colour, rgb(r, g, b). */
  background: string
}

/** What the page's state element shows: data-state, data-tone (its colour), its words and tooltip. */
const stateShown = (page: Page): Promise<StateShown> =>
  page.evaluate(() => {
    const el = document.getElementById('state')
    return {
      state: el.dataset.state ?? '',
      tone: el.dataset.tone ?? '',
      text: el.textContent ?? '',
      title: el.title ?? '',
      background: getComputedStyle(el).backgroundColor,
    }
  })

t.test('broker stopped: the page shows red "Kafka unreachable"; broker back: "Consuming" again', async (t) => {
  const broker = await privateBroker(t)
  const topic = await createTopic(t, 2, broker.kafka)
  const db = databaseFor(t)
  const sup = await startSupervisor(
    t,
    {
      KAFKA_BROKERS: broker.brokers,
      KAFKA_TOPIC: topic,
      KAFKA_GROUP_ID: topic,
      DATABASE_URL: db.url,
      FLUSH_MS: '100',
      KAFKA_SESSION_TIMEOUT_MS: '6000',
    },
    `ui-kafka-outage-${topic}`,
  )
  await sup.waitReady()

  const context = await launch(t)
  const page = context.pages()[0] ?? (await context.newPage())
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.goto(`http://127.0.0.1:${sup.port}/`)
  const consuming = await waitFor(async () => {
    const s = await stateShown(page)
    return s.state === 'consuming' ? s : null
  }, 'the page to show the pipeline consuming')
  t.same([consuming.text, consuming.tone], ['Consuming', 'ok'], 'before the outage: "Consuming", green')
  t.equal(consuming.background, await cssColour(page, '--ok'), 'in the green of --ok')

  await broker.stop()
  const away = await waitFor(
    async () => {
      const s = await stateShown(page)
      return s.state === 'kafka_unreachable' ? s : null
    },
    'the page to show Kafka unreachable',
    90_000,
  )
  t.equal(away.text, 'Kafka unreachable', 'broker stopped: the state reads "Kafka unreachable"')
  t.equal(away.tone, 'bad', 'in red (data-tone="bad")')
  t.equal(away.background, await cssColour(page, '--bad'), `its background is the page's red (--bad, ${away.background})`)
  t.match(away.title, /kafka/i, 'the reason is in the tooltip')
  const readyz = await sup.readyz()
  t.same([readyz.status, readyz.body.state], [503, 'kafka_unreachable'], '/readyz agrees with the page')
  t.equal(sup.proc.exitCode, null, 'the supervisor runs on through the outage')

  await broker.start()
  const back = await waitFor(
    async () => {
      const s = await stateShown(page)
      return s.state === 'consuming' ? s : null
    },
    'the page to show the pipeline consuming again',
    180_000,
  )
  t.same([back.text, back.tone], ['Consuming', 'ok'], 'broker back: "Consuming", green again')
  t.same(pageErrors, [], 'no uncaught errors in the page')
})
