/**
 * DNS with bounds, shared by MX routing, inbound mail authentication and `domain check`: a
 * c-ares resolver asking the configured servers (`dnsServers`, `--dns-server`), and a deadline
 * for whatever it has not answered in time (a server that never answers must not hang anyone).
 */
import {Resolver} from 'node:dns/promises'

/**
 * A resolver for `servers` (ip or ip:port, [ipv6]:port; empty: the system's) that tries each
 * query `tries` times, waiting `attemptMs` for the first answer (c-ares doubles it on a retry).
 */
export function dnsResolver(servers: readonly string[], attemptMs: number, tries = 2): Resolver {
  const resolver = new Resolver({timeout: attemptMs, tries})
  if (servers.length) resolver.setServers(servers)
  return resolver
}

/** `promise`, or `late()` once `ms` have passed without it settling */
export function withTimeout<T>(promise: Promise<T>, ms: number, late: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => resolve(late()), ms)
  })
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer))
}
