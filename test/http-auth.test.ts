// UI_TOKEN guards the page, the API and the WebSocket (health and metrics stay open);
// the API is rate-limited per client.
import t from 'tap'
import WebSocket from 'ws'
import { buildApp } from './helpers/http-app.js'

const TOKEN = 'correct-horse-battery-staple'

t.test('UI_TOKEN: 401 without it; Bearer, ?token= and the cookie it sets all work', async (t) => {
  const { app } = await buildApp(t, { env: { UI_TOKEN: TOKEN } })
  for (const url of ['/', '/api/summary', '/api/windows']) {
    t.equal((await app.inject({ url })).statusCode, 401, `${url} without a token`)
    t.equal((await app.inject({ url, headers: { authorization: 'Bearer wrong' } })).statusCode, 401, `${url} with a wrong token`)
  }
  t.equal((await app.inject({ url: '/api/summary', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200, 'Bearer')
  for (const url of ['/healthz', '/metrics']) t.equal((await app.inject({ url })).statusCode, 200, `${url} stays open`)
  const page = await app.inject({ url: `/?token=${TOKEN}` })
  t.equal(page.statusCode, 200, 'the page with ?token=')
  const cookie = String(page.headers['set-cookie'])
  t.match(cookie, /tumbler_token=.*HttpOnly; SameSite=Strict/, 'sets an HttpOnly cookie')
  const withCookie = await app.inject({ url: '/api/windows', headers: { cookie: cookie.split(';')[0]! } })
  t.equal(withCookie.statusCode, 200, 'the cookie opens the API')

  await app.listen({ host: '127.0.0.1', port: 0 })
  const port = (app.server.address() as { port: number }).port
  const refused = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`)
    ws.on('unexpected-response', (req, res) => {
      resolve(res.statusCode ?? 0)
      req.destroy()
    })
    ws.on('error', () => {})
    ws.on('open', () => resolve(101))
  })
  t.equal(refused, 401, 'the WebSocket without a token is refused')
  const first = await new Promise<string>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { cookie: cookie.split(';')[0]! } })
    ws.on('message', (data) => {
      resolve(JSON.parse(String(data)).type)
      ws.close()
    })
    ws.on('error', reject)
  })
  t.equal(first, 'snapshot', 'with the cookie the WebSocket opens and sends its snapshot')
})

t.test('API_RATE_LIMIT: the API answers 429 past the limit, health does not', async (t) => {
  const { app } = await buildApp(t, { env: { API_RATE_LIMIT: '3' } })
  const codes: number[] = []
  for (let i = 0; i < 5; i++) codes.push((await app.inject({ url: '/api/windows' })).statusCode)
  t.same(codes, [200, 200, 200, 429, 429], 'three pass, then 429')
  t.equal((await app.inject({ url: '/healthz' })).statusCode, 200, 'health is not limited')
})
