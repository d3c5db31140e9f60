/**
 * Where mail for a domain goes: a per-domain route (`--route example.net=127.0.0.1:2626`), else
 * the smarthost (`--relay-host`), else the domain's MX hosts in preference order (RFC 5321 §5.1),
 * falling back to the domain itself (its A/AAAA) when it has no MX. A null MX (RFC 7505: a single
 * "." record) means the domain accepts no mail: a permanent failure.
 *
 * Each next hop also carries its TLS level, after Postfix's `smtp_tls_security_level`: `may`
 * (STARTTLS when offered, any certificate: MX-to-MX mail) for hops without credentials, `verify`
 * (TLS required, certificate chain and host name verified before AUTH: Postfix's `secure`) for
 * hops with credentials, unless `insecure` is set (a lab).
 */
import type {Resolver} from 'node:dns/promises'
import {isIP} from 'node:net'
import {normalizeDomain} from '../address.js'
import {dnsResolver} from '../dns-resolver.js'
import {MailboxError} from '../errors.js'

export interface Hop {
  host: string
  port: number
  /** for a smarthost that wants AUTH */
  auth?: {user: string; pass: string}
}

export type TlsLevel = 'may' | 'verify'

export interface NextHop extends Hop {
  tls: TlsLevel
  /** an MX host of the domain (or the domain itself, as implicit MX): where MTA-STS applies, not to a route or the smarthost */
  mx?: boolean
  /** the domain's MTA-STS policy applies to this hop (see ../mta-sts/outcome.ts) */
  sts?: {domain: string; mode: 'enforce' | 'testing'}
}

export interface RouteConfig {
  routes: Record<string, string>
  /** the smarthost, credentials included (see relay.ts) */
  relay?: Hop
  /** hops with credentials may go without verified TLS */
  insecure?: boolean
  /** DNS servers to ask (ip or ip:port); empty: the system's */
  dnsServers: string[]
}

export class PermanentRouteError extends MailboxError {}

/** A hop's TLS level: credentials go only over verified TLS, unless the operator said `insecure`. */
export const tlsLevelOf = (hop: Hop, insecure = false): TlsLevel => (hop.auth && !insecure ? 'verify' : 'may')

/** `spec` ([user:pass@]host:port) with the credentials cut off, for messages and logs */
export const withoutCredentials = (spec: string): string => spec.slice(spec.lastIndexOf('@') + 1)

export function parseHostPort(spec: string, defaultPort = 25): Hop {
  const trimmed = spec.trim()
  const rest = withoutCredentials(trimmed)
  let auth: Hop['auth']
  const at = trimmed.lastIndexOf('@')
  if (at > 0) {
    const cred = trimmed.slice(0, at)
    const colon = cred.indexOf(':')
    auth = {user: decodeURIComponent(cred.slice(0, colon === -1 ? undefined : colon)), pass: colon === -1 ? '' : decodeURIComponent(cred.slice(colon + 1))}
  }
  const m = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(rest)
  // `rest` and not `spec` in messages: they go to logs and stderr, the credentials must not
  if (!m || !m[1]) throw new MailboxError('invalid', `invalid host:port ${JSON.stringify(rest)}`)
  // checked here, at start, so a typo ("127.0.0.1:2626x") is not a surprise at the first delivery
  if (!isHostName(m[1])) throw new MailboxError('invalid', `invalid host in ${JSON.stringify(rest)}`)
  const port = m[2] ? Number(m[2]) : defaultPort
  if (!(port > 0 && port < 65536)) throw new MailboxError('invalid', `invalid port in ${JSON.stringify(rest)}`)
  return {host: m[1], port, ...(auth ? {auth} : {})}
}

/**
 * `--route DOMAIN=[USER:PASS@]HOST:PORT` flags, checked when given so a bad domain, host or port
 * stops serve at start; the message names the route (its password left out).
 */
export function parseRouteSpecs(specs: string[]): Record<string, string> {
  return Object.fromEntries(
    specs.map((spec) => {
      const eq = spec.indexOf('=')
      const hop = spec.slice(eq + 1)
      const shown = JSON.stringify(eq < 0 ? withoutCredentials(spec) : `${spec.slice(0, eq)}=${withoutCredentials(hop)}`)
      if (eq <= 0 || !hop) throw new MailboxError('invalid', `invalid --route ${shown}: use DOMAIN=HOST:PORT`)
      try {
        parseHostPort(hop) // checks host and port; the route keeps its spec, credentials included
        return [normalizeDomain(spec.slice(0, eq)), hop]
      } catch (err) {
        throw err instanceof MailboxError ? new MailboxError('invalid', `invalid --route ${shown}: ${err.message}`) : err
      }
    }),
  )
}

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i

/** An IP address, or a DNS name (letters, digits, `-`, `_` labels; a trailing dot allowed). */
export function isHostName(host: string): boolean {
  if (isIP(host)) return true
  const name = host.replace(/\.$/, '')
  return name.length > 0 && name.length <= 253 && name.split('.').every((label) => HOST_LABEL.test(label))
}

export class Router {
  private readonly resolver: Resolver

  constructor(private readonly config: RouteConfig) {
    this.resolver = dnsResolver(config.dnsServers, 5000)
  }

  /** The hosts to try for a domain, best first. */
  async hops(domain: string): Promise<NextHop[]> {
    const route = this.config.routes[domain]
    if (route) return [this.withTls(parseHostPort(route))]
    if (this.config.relay) return [this.withTls(this.config.relay)]
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
    if (mx.length === 0) return [{host: domain, port: 25, tls: 'may', mx: true}] // implicit MX: the domain's own address
    return mx.sort((a, b) => a.priority - b.priority).map((r) => ({host: r.exchange, port: 25, tls: 'may', mx: true}))
  }

  private withTls(hop: Hop): NextHop {
    return {...hop, tls: tlsLevelOf(hop, this.config.insecure)}
  }

  /** Resolves a host name to addresses with the same resolver, so tests can point it at a loopback DNS. */
  addresses(host: string): Promise<string[]> {
    return hostAddresses(this.resolver, host)
  }
}

/** A host's IPv4 then IPv6 addresses by `resolver` (an address literal is its own); none: `unavailable`. */
export async function hostAddresses(resolver: Resolver, host: string): Promise<string[]> {
  if (/^[\d.]+$/.test(host) || host.includes(':')) return [host]
  const found: string[] = []
  for (const lookup of [() => resolver.resolve4(host), () => resolver.resolve6(host)]) {
    try {
      found.push(...(await lookup()))
    } catch {
      // no record of that family
    }
  }
  if (!found.length) throw new MailboxError('unavailable', `no address for ${host}`)
  return found
}
