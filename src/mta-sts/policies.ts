/**
 * Which MTA-STS policy applies to mail for a remote domain (RFC 8461 §3, §5), decided on the main
 * thread next to the store before each attempt the queue hands to the sender thread:
 *
 * - the `_mta-sts.DOMAIN` TXT record (the configured resolver) names the policy's id; none (or an
 *   unusable one): the cached policy while it lives, else no policy;
 * - a cached policy (store.mtaSts: every process and node shares it) is used while it lives
 *   (fetched + max_age) and the id is the same; a new id, or none cached, fetches the policy
 *   (./fetch.ts) and parses it strictly (./policy.ts); a fetch or parse that fails keeps a
 *   live cached policy in force (§5: an attacker who blocks the fetch must not lift it), else
 *   the failure is said (for the TLS report) and mail goes as without a policy;
 * - a decision is remembered in memory for RECHECK_MS, so a burst of mail for one domain costs
 *   one TXT lookup, and concurrent attempts for a domain share one lookup and one fetch;
 * - expired policies are purged from the store hourly (a domain mail went to once is not kept).
 */
import type {Resolver} from 'node:dns/promises'
import type {SecureContext} from 'node:tls'
import {hostAddresses} from '../delivery/route.js'
import {dnsResolver} from '../dns-resolver.js'
import type {Actor} from '../bus.js'
import type {Logger} from '../log.js'
import {RepeatingTask} from '../repeating-task.js'
import type {MtaStsStore} from '../store/backend.js'
import type {MtaStsConfig} from './config.js'
import {PolicyFetchError, fetchPolicy} from './fetch.js'
import type {StsDecision} from './outcome.js'
import {StsPolicyError, parseStsPolicy, parseStsRecord} from './policy.js'

/** how long a domain's decision is reused before its TXT record is asked again */
export const RECHECK_MS = 60_000
/** domains whose decision is remembered (the oldest is forgotten first) */
const REMEMBERED = 10_000
const DNS_ATTEMPT_MS = 5000
const PURGE_INTERVAL_MS = 3600_000

export interface StsPoliciesOptions {
  /** read at each decision: a reload applies to the next */
  config: () => Pick<MtaStsConfig, 'outbound' | 'policyPort' | 'fetchTimeoutMs' | 'maxPolicyBytes'>
  dnsServers: () => readonly string[]
  /** Node's CAs plus mtaSts.caFile (absent: Node's) */
  trust: () => SecureContext | undefined
}

export class StsPolicies implements Actor {
  readonly name = 'mta-sts'
  private readonly purges: RepeatingTask
  private readonly remembered = new Map<string, {at: number; decision: StsDecision | undefined}>()
  private readonly deciding = new Map<string, Promise<StsDecision | undefined>>()
  private resolver?: {servers: string; resolver: Resolver}

  constructor(
    private readonly store: MtaStsStore,
    private readonly log: Logger,
    private readonly options: StsPoliciesOptions,
  ) {
    this.purges = new RepeatingTask(
      async () => {
        const removed = await this.store.purge(Date.now())
        if (removed) this.log.info({removed}, 'expired MTA-STS policies removed')
      },
      () => PURGE_INTERVAL_MS,
      (err) => this.log.error({err}, 'MTA-STS policy purge failed'),
    )
  }

  async start(): Promise<void> {
    this.purges.start()
  }

  async stop(): Promise<void> {
    await this.purges.stop()
  }

  /** the policy for mail to `domain` (a lower-case A-label); undefined: none (or mtaSts.outbound off), deliver as before */
  decide(domain: string, now = Date.now()): Promise<StsDecision | undefined> {
    if (!this.options.config().outbound) return Promise.resolve(undefined)
    const kept = this.remembered.get(domain)
    if (kept && now - kept.at < RECHECK_MS) return Promise.resolve(kept.decision)
    const running = this.deciding.get(domain)
    if (running) return running
    const decision = this.lookUp(domain, now)
      .then((d) => {
        this.remember(domain, now, d)
        return d
      })
      .finally(() => this.deciding.delete(domain))
    this.deciding.set(domain, decision)
    return decision
  }

  private remember(domain: string, at: number, decision: StsDecision | undefined): void {
    this.remembered.delete(domain)
    if (this.remembered.size >= REMEMBERED) this.remembered.delete(this.remembered.keys().next().value!)
    this.remembered.set(domain, {at, decision})
  }

  private async lookUp(domain: string, now: number): Promise<StsDecision | undefined> {
    const cached = await this.store.get(domain)
    const live = cached && cached.expiresAt > now ? cached : undefined
    const fromCache = live && this.cachedDecision(domain, live.text)
    const id = await this.recordId(domain)
    if (id === undefined || (fromCache && live.id === id)) return fromCache
    const config = this.options.config()
    try {
      const resolver = this.dns()
      const [address] = await hostAddresses(resolver, `mta-sts.${domain}`).catch((err: Error) => {
        throw new PolicyFetchError(`mta-sts.${domain}: ${err.message}`, 'sts-policy-fetch-error')
      })
      const trust = this.options.trust()
      const text = await fetchPolicy(domain, {address: address!, port: config.policyPort, timeoutMs: config.fetchTimeoutMs, maxBytes: config.maxPolicyBytes, ...(trust ? {trust} : {})})
      const policy = parseStsPolicy(text)
      await this.store.put({domain, id, text, fetchedAt: now, expiresAt: now + policy.maxAge * 1000}).catch((err: unknown) => this.log.warn({err, domain}, 'MTA-STS policy could not be cached'))
      this.log.info({domain, id, mode: policy.mode, mx: policy.mx, maxAge: policy.maxAge}, 'MTA-STS policy fetched')
      return {domain, policy: {mode: policy.mode, mx: policy.mx, text}}
    } catch (err) {
      if (!(err instanceof PolicyFetchError || err instanceof StsPolicyError)) throw err
      const failure = err instanceof PolicyFetchError ? {type: err.failure, detail: err.message} : {type: 'sts-policy-invalid' as const, detail: `mta-sts.${domain}: ${err.message}`}
      this.log.warn({domain, id, failure, usingCached: Boolean(fromCache)}, 'MTA-STS policy could not be fetched')
      // §5: a live cached policy stays in force when the new one cannot be had
      return fromCache ?? {domain, failure}
    }
  }

  /** a kept text that no longer parses (written by a newer or older version) is as none */
  private cachedDecision(domain: string, text: string): StsDecision | undefined {
    try {
      const policy = parseStsPolicy(text)
      return {domain, policy: {mode: policy.mode, mx: policy.mx, text}}
    } catch {
      return undefined
    }
  }

  /** the `_mta-sts` id; undefined: no usable record (none, several, malformed) or DNS trouble */
  private async recordId(domain: string): Promise<string | undefined> {
    try {
      const records = await this.dns().resolveTxt(`_mta-sts.${domain}`)
      return parseStsRecord(records.map((parts) => parts.join('')))
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ENODATA' && code !== 'ENOTFOUND') this.log.debug({domain, code}, 'MTA-STS record lookup failed')
      return undefined
    }
  }

  private dns(): Resolver {
    const servers = this.options.dnsServers()
    const key = servers.join(',')
    if (this.resolver?.servers !== key) this.resolver = {servers: key, resolver: dnsResolver(servers, DNS_ATTEMPT_MS)}
    return this.resolver.resolver
  }
}
