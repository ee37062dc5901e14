import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'

// GET / and the page's files: web/ from the repo and uPlot from its npm package, read
// once at start and served from memory. Nothing comes from a CDN, so the page works
// with no internet.

// dist/src/http/ui.js when built, src/http/ui.ts under tsx: web/ sits at the package root either way.
const HERE = path.dirname(fileURLToPath(import.meta.url))
export const WEB_DIR = path.resolve(HERE, HERE.split(path.sep).includes('dist') ? '../../../web' : '../../web')
const UPLOT_DIR = path.join(path.dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist')

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
}

// Same-origin only; 'self' covers the page's own ws:// in current browsers.
const CSP =
  "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

interface Asset {
  body: Buffer
  type: string
  etag: string
}

async function load(file: string): Promise<Asset> {
  const body = await readFile(file)
  return {
    body,
    type: TYPES[path.extname(file)] ?? 'application/octet-stream',
    etag: `"${createHash('sha1').update(body).digest('base64url')}"`,
  }
}

export async function uiPlugin(app: FastifyInstance): Promise<void> {
  const assets = new Map<string, Asset>()
  for (const name of await readdir(WEB_DIR)) if (TYPES[path.extname(name)]) assets.set(`/${name}`, await load(path.join(WEB_DIR, name)))
  for (const name of ['uPlot.esm.js', 'uPlot.min.css']) assets.set(`/vendor/${name}`, await load(path.join(UPLOT_DIR, name)))
  const index = assets.get('/index.html')
  if (index) assets.set('/', index)

  for (const [url, asset] of assets) {
    app.get(url, async (req, reply) => {
      reply
        .header('content-type', asset.type)
        .header('etag', asset.etag)
        .header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff')
      if (asset.type.startsWith('text/html')) reply.header('content-security-policy', CSP).header('referrer-policy', 'no-referrer')
      if (req.headers['if-none-match'] === asset.etag) return reply.code(304).send()
      return reply.send(asset.body)
    })
  }
}
