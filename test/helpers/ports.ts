/**
 * A TCP port that was free a moment ago on 127.0.0.1 (shared by the tests and the benchmarks).
 *
 * Taken below the kernel's ephemeral range (ip_local_port_range, 32768-60999 by default) when
 * there is room: the local port of every outgoing connection on the machine comes from that
 * range, so a port handed out from it could be taken by one (another test's client, a storm of
 * them) before the server it is meant for listens — a CI run failed on that once ("address
 * already in use"). Below the range only another listener can take it, and listeners here take
 * ports from freePort() or ask for port 0 (the ephemeral range).
 */
import {readFileSync} from 'node:fs'
import {createServer} from 'node:net'

/** ports this process handed out: two servers started side by side must not both get the same one */
const given = new Set<number>()

const LOWEST = 10_000

/** [first, last] of the band below the ephemeral range, or undefined when there is too little room (then the kernel picks) */
function band(): [number, number] | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number)
    return low !== undefined && low - LOWEST >= 5000 ? [LOWEST, low - 1] : undefined
  } catch {
    return undefined // not Linux
  }
}
const BAND = band()

/** listens on `port` (0: the kernel picks) and closes again; the port, or undefined when it was taken */
function probe(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(undefined))
    srv.listen(port, '127.0.0.1', () => {
      const {port: bound} = srv.address() as {port: number}
      srv.close(() => resolve(bound))
    })
  })
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1000; tries++) {
    const port = await probe(BAND ? BAND[0] + Math.floor(Math.random() * (BAND[1] - BAND[0] + 1)) : 0)
    if (port === undefined || given.has(port)) continue
    given.add(port)
    return port
  }
  throw new Error('no free TCP port on 127.0.0.1')
}
