/**
 * Where mail for a domain goes: a per-domain route (`--route example.net=127.0.0.1:2626`), else
 * the smarthost (`--relay-host`), else the domain's MX hosts in preference order (RFC 5321 §5.1),
 * falling back to the domain itself (its A/AAAA) when it has no MX. A null MX (RFC 7505: a single
 * "." record) means the domain accepts no mail: a permanent failure.
 */
import {Resolver} from 'node:dns/promises'
import {MailboxError} from '../errors.js'

export interface Hop {
  host: string
  port: number
  /** for a smarthost that wants AUTH */
  auth?: {user: string; pass: string}
}

export interface RouteConfig {
  routes: Record<string, string>
  /** [user:pass@]host:port */
  relayHost?: string
  /** DNS servers to ask (ip or ip:port); empty: the system's */
  dnsServers: string[]
}

export class PermanentRouteError extends MailboxError {}

export function parseHostPort(spec: string, defaultPort = 25): Hop {
  let rest = spec.trim()
  let auth: Hop['auth']
  const at = rest.lastIndexOf('@')
  if (at > 0) {
    const cred = rest.slice(0, at)
    rest = rest.slice(at + 1)
    const colon = cred.indexOf(':')
    auth = {user: decodeURIComponent(cred.slice(0, colon === -1 ? undefined : colon)), pass: colon === -1 ? '' : decodeURIComponent(cred.slice(colon + 1))}
  }
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(rest)
  if (!m || !m[1]) throw new MailboxError('invalid', `invalid host:port ${JSON.stringify(spec)}`)
  const port = m[2] ? Number(m[2]) : defaultPort
  if (!(port > 0 && port < 65536)) throw new MailboxError('invalid', `invalid port in ${JSON.stringify(spec)}`)
  return {host: m[1], port, ...(auth ? {auth} : {})}
}

export class Router {
  private readonly resolver = new Resolver({timeout: 5000, tries: 2})

  constructor(private readonly config: RouteConfig) {
    if (config.dnsServers.length) this.resolver.setServers(config.dnsServers)
  }

  /** The hosts to try for a domain, best first. */
  async hops(domain: string): Promise<Hop[]> {
    const route = this.config.routes[domain]
    if (route) return [parseHostPort(route)]
    if (this.config.relayHost) return [parseHostPort(this.config.relayHost, 587)]
    let mx: {exchange: string; priority: number}[] = []
    try {
      mx = await this.resolver.resolveMx(domain)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code === 'ENOTFOUND') throw new PermanentRouteError('not-found', `domain ${domain} does not exist`)
      if (code !== 'ENODATA') throw new MailboxError('unavailable', `MX lookup for ${domain} failed: ${code}`)
    }
    if (mx.length === 1 && (mx[0]!.exchange === '' || mx[0]!.exchange === '.')) {
      throw new PermanentRouteError('not-found', `domain ${domain} accepts no mail (null MX)`)
    }
    if (mx.length === 0) return [{host: domain, port: 25}] // implicit MX: the domain's own address
    return mx.sort((a, b) => a.priority - b.priority).map((r) => ({host: r.exchange, port: 25}))
  }

  /** Resolves a host name to addresses with the same resolver, so tests can point it at a loopback DNS. */
  async addresses(host: string): Promise<string[]> {
    if (/^[\d.]+$/.test(host) || host.includes(':')) return [host]
    const found: string[] = []
    for (const lookup of [() => this.resolver.resolve4(host), () => this.resolver.resolve6(host)]) {
      try {
        found.push(...(await lookup()))
      } catch {
        // no record of that family
      }
    }
    if (!found.length) throw new MailboxError('unavailable', `no address for ${host}`)
    return found
  }
}
