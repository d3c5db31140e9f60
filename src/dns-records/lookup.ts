/**
 * DNS lookups for `domain check`, each one bounded in time: the resolver retries within the
 * limit, and a deadline cuts off whatever it has not answered by then (a server that never
 * answers, or a UDP reply lost twice), so a check never hangs. "No such name" and "no records of
 * that type" are answers (an empty list); a timeout or a refusal is a failure with its code.
 */
import type {Resolver} from 'node:dns/promises'
import type {SrvRecord} from 'node:dns'
import {dnsResolver, withTimeout} from '../dns-resolver.js'
import {MailboxError} from '../errors.js'

export type Lookup<T> = {ok: true; values: T[]} | {ok: false; code: string}

/** the codes that mean the server did not answer at all (as opposed to answering with a failure) */
export const NO_ANSWER_CODES: ReadonlySet<string> = new Set(['ETIMEOUT', 'ECONNREFUSED'])

export const DEFAULT_LOOKUP_TIMEOUT_MS = 5000
export const LOOKUP_TIMEOUT_RANGE_MS = {min: 100, max: 60_000}

/** a lookup time limit as given (`--timeout`), refused outside LOOKUP_TIMEOUT_RANGE_MS */
export function lookupTimeout(ms: number): number {
  const {min, max} = LOOKUP_TIMEOUT_RANGE_MS
  if (ms < min || ms > max) throw new MailboxError('invalid', `a lookup time limit must be between ${min}ms and ${max / 1000}s`)
  return ms
}

export class DnsLookup {
  private readonly resolver: Resolver

  /** `servers`: ip or ip:port ([ipv6]:port); empty: the system's */
  constructor(
    readonly servers: string[],
    readonly timeoutMs = DEFAULT_LOOKUP_TIMEOUT_MS,
  ) {
    // c-ares doubles the wait on its retry: t + 2t fits the limit
    this.resolver = dnsResolver(servers, Math.max(50, Math.floor(timeoutMs / 3)))
  }

  /** the servers asked, for messages */
  describe(): string {
    return (this.servers.length ? this.servers : this.resolver.getServers()).join(', ') || 'the system resolver'
  }

  mx = (name: string) => this.run(() => this.resolver.resolveMx(name))
  a = (name: string) => this.run(() => this.resolver.resolve4(name))
  aaaa = (name: string) => this.run(() => this.resolver.resolve6(name))
  cname = (name: string) => this.run(() => this.resolver.resolveCname(name))
  srv = (name: string) => this.run<SrvRecord>(() => this.resolver.resolveSrv(name))
  /** each record's character-strings joined into one text */
  txt = async (name: string): Promise<Lookup<string>> => {
    const found = await this.run(() => this.resolver.resolveTxt(name))
    return found.ok ? {ok: true, values: found.values.map((parts) => parts.join(''))} : found
  }

  /** ends the lookups still running (after a deadline), so the process can exit */
  close(): void {
    this.resolver.cancel()
  }

  private run<T>(query: () => Promise<T[]>): Promise<Lookup<T>> {
    const answer = query().then(
      (values): Lookup<T> => ({ok: true, values}),
      (err: NodeJS.ErrnoException): Lookup<T> => {
        const code = err.code ?? 'EUNKNOWN'
        return code === 'ENODATA' || code === 'ENOTFOUND' ? {ok: true, values: []} : {ok: false, code}
      },
    )
    return withTimeout(answer, this.timeoutMs, (): Lookup<T> => ({ok: false, code: 'ETIMEOUT'}))
  }
}
