/**
 * DNS for inbound mail authentication: the `resolver` function mailauth calls for SPF, DKIM keys,
 * DMARC and ARC records, asking the server's DNS servers (`dnsServers`, `--dns-server`).
 *
 * Two bounds keep a slow or dead DNS server from stalling a session:
 *  - every message gets one time budget for all its lookups (`lookupsFor(budgetMs)`); a lookup
 *    still unanswered when it runs out fails with ETIMEOUT, which mailauth reports as temperror;
 *  - answers (and "no such name" / "no data") are cached, bounded in count and age, and
 *    concurrent lookups of one name share one query. Timeouts and server failures are not cached.
 */
import type {Resolver} from 'node:dns/promises'
import {dnsResolver, withTimeout} from '../dns-resolver.js'

export interface DnsCacheLimits {
  /** answers kept at most; the oldest goes first */
  dnsCacheEntries: number
  /** how long an answer is kept */
  dnsCacheTtlMs: number
}

/** what mailauth's `resolver` option is called with and returns (as dns.promises.resolve) */
export type ResolveFn = (name: string, rrtype: string) => Promise<unknown>

type Answer = {value: unknown} | {error: NodeJS.ErrnoException}

/** names that do not exist, or have no records of the type: an answer, so worth keeping */
const NEGATIVE = new Set(['ENOTFOUND', 'ENODATA'])

export class DnsCache {
  private resolver: Resolver
  private readonly answers = new Map<string, {answer: Answer; expires: number}>()
  private readonly inFlight = new Map<string, Promise<Answer>>()

  /** `limits` is read at each lookup, so a reload that changes it applies at once */
  constructor(
    servers: string[],
    private readonly limits: DnsCacheLimits,
    private readonly queryTimeoutMs: () => number,
  ) {
    this.resolver = this.newResolver(servers)
  }

  /** new DNS servers (a reload); what was cached from the old ones is dropped */
  setServers(servers: string[]): void {
    this.resolver = this.newResolver(servers)
    this.answers.clear()
  }

  get size(): number {
    return this.answers.size
  }

  private newResolver(servers: string[]): Resolver {
    // one retry inside the budget: a single lost UDP datagram should not cost a temperror
    return dnsResolver(servers, Math.max(100, Math.floor(this.queryTimeoutMs() / 2)))
  }

  /** A resolver for one message: all its lookups together end within `budgetMs`. */
  lookupsFor(budgetMs: number): ResolveFn {
    const deadline = Date.now() + budgetMs
    return async (name, rrtype) => {
      const left = deadline - Date.now()
      if (left <= 0) throw timeoutError(name, rrtype)
      const answer = await withTimeout(this.lookup(name, rrtype), left, () => ({error: timeoutError(name, rrtype)}))
      if ('error' in answer) throw answer.error
      return answer.value
    }
  }

  private lookup(name: string, rrtype: string): Promise<Answer> {
    const key = `${rrtype} ${name.toLowerCase()}`
    const cached = this.answers.get(key)
    if (cached && cached.expires > Date.now()) return Promise.resolve(cached.answer)
    if (cached) this.answers.delete(key)
    const running = this.inFlight.get(key)
    if (running) return running
    const query = this.resolver.resolve(name, rrtype).then(
      (value): Answer => ({value}),
      (error: NodeJS.ErrnoException): Answer => ({error}),
    )
    this.inFlight.set(key, query)
    void query.then((answer) => {
      this.inFlight.delete(key)
      if ('value' in answer || NEGATIVE.has(answer.error.code ?? '')) this.remember(key, answer)
    })
    return query
  }

  private remember(key: string, answer: Answer): void {
    const {dnsCacheEntries, dnsCacheTtlMs} = this.limits
    if (dnsCacheEntries <= 0 || dnsCacheTtlMs <= 0) return
    this.answers.delete(key)
    this.answers.set(key, {answer, expires: Date.now() + dnsCacheTtlMs})
    // a Map iterates in insertion order: the first keys are the oldest
    for (const oldest of this.answers.keys()) {
      if (this.answers.size <= dnsCacheEntries) break
      this.answers.delete(oldest)
    }
  }
}

function timeoutError(name: string, rrtype: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`DNS lookup of ${rrtype} ${name} ran out of time`), {code: 'ETIMEOUT'})
}
