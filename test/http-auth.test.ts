// UI_TOKEN guards the page, the API and the WebSocket (health and metrics stay open);
// the API is rate-limited per client.
import t from 'tap'
import { waitFor } from '../test-support/wait.js'
import { buildApp, upgrade } from '../test-support/http-app.js'

const TOKEN = 'correct-horse-battery-staple'

t.test('UI_TOKEN: 401 without it; Bearer, ?token= and the cookie it sets all work', async (t) => {
  const { app } = await buildApp(t, { env: { UI_TOKEN: TOKEN } })
  for (const url of ['/', '/api/summary', '/api/windows']) {
    t.equal((await app.inject({ url })).statusCode, 401, `${url} without a token`)
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 401, `${url} with a wrong token`)
  }
  t.equal((await app.inject({ url: '/api/summary', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200, 'Bearer')
  t.equal(
    (await app.inject({ url: '/api/summary', headers: { authorization: `bearer  ${TOKEN}` } })).statusCode,
    200,
    'the scheme is case-insensitive (RFC 9110 §11.1)',
  )
  for (const url of ['/healthz', '/metrics']) t.equal((await app.inject({ url })).statusCode, 200, `${url} stays open`)
  const page = await app.inject({ url: `/?token=${TOKEN}` })
  t.equal(page.statusCode, 200, 'the page with ?token=')
  const cookie = String(page.headers['set-cookie'])
  t.match(cookie, /^tumbler_token=correct-horse-battery-staple;/, 'sets the token cookie')
  t.same(cookie.split('; ').slice(1).sort(), ['HttpOnly', 'Path=/', 'SameSite=Strict'], 'HttpOnly, SameSite=Strict, for the whole site')
  t.notOk(
    (await app.inject({ url: '/api/windows', headers: { authorization: `Bearer ${TOKEN}` } })).headers['set-cookie'],
    'only ?token= sets the cookie',
  )
  const withCookie = await app.inject({ url: '/api/windows', headers: { cookie: `theme=dark; ${cookie.split(';')[0]!}` } })
  t.equal(withCookie.statusCode, 200, 'the cookie opens the API, among other cookies')

  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`
  t.equal((await upgrade(t, url)).status, 401, 'the WebSocket without a token is refused')
  const opened = await upgrade(t, url, { cookie: cookie.split(';')[0]! })
  t.equal(opened.status, 101, 'with the cookie the WebSocket opens')
  await waitFor(() => opened.messages.length > 0, 'the first message')
  t.equal(opened.messages[0]!.type, 'snapshot', 'and sends its snapshot')
})

t.test('UI_TOKEN: a malformed cookie is a 401, not a 500', async (t) => {
  const { app } = await buildApp(t, { env: { UI_TOKEN: TOKEN } })
  // Bad percent-encoding (decodeURIComponent throws on the first two), no value, junk around it.
  for (const cookie of ['tumbler_token=%E0%A4%A', 'tumbler_token=%', 'tumbler_token', '=;;tumbler_token==%ZZ', `tumbler_token="${TOKEN}`]) {
    const res = await app.inject({ url: '/api/windows', headers: { cookie } })
    t.equal(res.statusCode, 401, `Cookie: ${cookie}`)
    t.equal(res.json().error, 'unauthorized')
  }
  t.equal(
    (await app.inject({ url: '/api/windows', headers: { cookie: 'tumbler_token=%E0%A4%A', authorization: `Bearer ${TOKEN}` } })).statusCode,
    200,
    'a valid Bearer token beside it still works',
  )
  t.equal(
    (await app.inject({ url: '/api/windows', headers: { cookie: `other=%E0%A4%A; tumbler_token=${TOKEN}` } })).statusCode,
    200,
    'a malformed cookie of another name does not spoil a good token cookie',
  )
  await app.listen({ host: '127.0.0.1', port: 0 })
  const url = `ws://127.0.0.1:${(app.server.address() as { port: number }).port}/ws`
  t.equal((await upgrade(t, url, { cookie: 'tumbler_token=%E0%A4%A' })).status, 401, 'the WebSocket upgrade too')
})

t.test('UI_TOKEN: a token with ; = % and spaces survives the cookie round trip', async (t) => {
  const token = 'a b;c=d%e,f"g'
  const { app } = await buildApp(t, { env: { UI_TOKEN: token } })
  const page = await app.inject({ url: '/', query: { token } })
  t.equal(page.statusCode, 200)
  const pair = String(page.headers['set-cookie']).split(';')[0]!
  t.notMatch(pair.slice('tumbler_token='.length), /[ ;,"]/, 'the value is encoded')
  t.equal((await app.inject({ url: '/api/windows', headers: { cookie: pair } })).statusCode, 200, 'and decodes to the token')
})

t.test('without UI_TOKEN a malformed cookie is ignored', async (t) => {
  const { app } = await buildApp(t)
  t.equal((await app.inject({ url: '/api/windows', headers: { cookie: 'tumbler_token=%E0%A4%A' } })).statusCode, 200)
})

t.test('API_RATE_LIMIT: the API answers 429 past the limit, health does not', async (t) => {
  const { app } = await buildApp(t, { env: { API_RATE_LIMIT: '3' } })
  const codes: number[] = []
  for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: '/api/windows' })).statusCode)
  t.same(codes, [200, 200, 200, 429, 429], 'three pass, then 429')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'health is not limited')
})
