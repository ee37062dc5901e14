// Free TCP ports for servers a test starts (the supervisor's HTTP, a private Postgres or broker).
import net from 'node:net'

/** A port on 127.0.0.1 that was free a moment ago (the OS picked it; it is closed again before returning). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo
      srv.close(() => resolve(port))
    })
    srv.on('error', reject)
  })
}
