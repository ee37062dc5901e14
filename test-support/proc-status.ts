// A child process as Linux shows it in /proc: its memory and its TCP connections.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs'

/** Resident memory of a process now and at its peak (MB), from /proc; null once it is gone. */
export function memoryMb(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN)
    return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 }
  } catch {
    return null
  }
}

/** Local ports of a process's TCP connections to `remotePort` (from /proc), e.g. its Postgres sessions. */
export function tcpPortsOf(pid: number, remotePort: number): number[] {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m) inodes.add(m[1]!)
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = []
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/)
      if (f.length < 10 || !inodes.has(f[9]!)) continue
      const port = (addr: string) => parseInt(addr.split(':')[1]!, 16)
      if (port(f[2]!) === remotePort) ports.push(port(f[1]!))
    }
  }
  return ports
}
