/**
 * What the MX does with a message's authentication verdicts (./verify.ts), in this order:
 *  1. Spoofing of a local domain: mail from outside whose envelope sender or From address is in
 *     one of our domains must pass SPF or DKIM for that domain (or a subdomain of it): `none` and
 *     `neutral` do not pass, since our own users send through submission. Refused whatever any
 *     DMARC record says; deferred when a DNS failure left that undecided.
 *  2. More than one From address: refused. DMARC applies to one author domain (RFC 7489
 *     §6.6.1); a second address would otherwise switch it off for a domain with p=reject.
 *  3. DMARC pass: accept.
 *  4. A DNS failure (temperror in SPF, a DKIM signature or DMARC): deferred, or accepted with the
 *     temperror recorded (`onTempError: "accept"`).
 *  5. DMARC fail vouched for by ARC: a forwarder (a mailing list) that changed the message breaks
 *     the author's DKIM signature and SPF alignment. When the ARC chain passes, its newest seal is
 *     by a domain in `arcTrustedSealers`, and that sealer recorded `dmarc=pass` for this same
 *     From domain when the message reached it, the message is accepted (RFC 8617 §7.2.1, the
 *     local policy override of RFC 7489 §7.2). Nobody is trusted by default.
 *  6. DMARC fail: the domain's policy — reject refuses, quarantine delivers to Junk — for the
 *     `pct` per cent of failing mail the domain asks it for (RFC 7489 §6.6.4, sampled at
 *     random); the rest gets the next less strict policy (reject: Junk; quarantine: delivered).
 * In `monitor` mode the verdicts are only recorded: every message is accepted into the INBOX.
 */
export type Action = 'accept' | 'junk' | 'reject' | 'defer'

export interface InboundAuthConfig {
  /** enforce: refuse, defer and junk as below; monitor: only record; off: no checks at all */
  mode: 'enforce' | 'monitor' | 'off'
  /** a DNS failure: `defer` (451 4.7.x) or `accept` with temperror recorded */
  onTempError: 'defer' | 'accept'
  /** all the DNS lookups of one message together end within this */
  dnsBudgetMs: number
  /** DNS answers cached at most */
  dnsCacheEntries: number
  /** how long a DNS answer is cached */
  dnsCacheTtlMs: number
  /** DKIM signatures verified per message; those after are ignored */
  maxDkimSignatures: number
  /** threads that verify messages (and sign outgoing ones), off the event loop */
  verifierThreads: number
  /**
   * each thread's JavaScript heap (its old generation), MiB: a message built to make the verifier
   * allocate (millions of header fields) ends its thread, not the server; the message is deferred
   */
  threadMemoryMb: number
  /**
   * forwarders (mailing lists) whose ARC seals are trusted: a DMARC fail they vouch for (dmarc=pass
   * for the same From domain in their ARC-Authentication-Results) is accepted
   */
  arcTrustedSealers: string[]
}

export const DEFAULT_INBOUND_AUTH: InboundAuthConfig = {
  mode: 'enforce',
  onTempError: 'defer',
  dnsBudgetMs: 3000,
  dnsCacheEntries: 10_000,
  dnsCacheTtlMs: 5 * 60_000,
  maxDkimSignatures: 10,
  verifierThreads: 1,
  threadMemoryMb: 256,
  arcTrustedSealers: [],
}

export interface PolicyInput {
  spf: {result: string; domain: string}
  dkim: {result: string; domain?: string}[]
  dmarc: {result: string; domain?: string; policy?: string; pct?: number}
  /** the ARC chain; for one that passes, its newest sealer and what that sealer recorded of DMARC */
  arc?: ArcVerdict
  /** MAIL FROM, '' for the null sender */
  mailFrom: string
  headerFrom: string[]
}

export interface ArcVerdict {
  result: string
  /** the d= of the newest ARC-Seal */
  sealer?: string
  /** the newest set's ARC-Authentication-Results: its dmarc result and the From domain it was for */
  dmarc?: {result: string; from?: string}
}

export interface Decision {
  action: Action
  /** why, for the reply text and the log */
  reason: string
}

const domainOfAddress = (address: string): string => address.slice(address.lastIndexOf('@') + 1).toLowerCase().replace(/\.$/, '')
/** the domains a message speaks for: its MAIL FROM's and its From: addresses' */
export const claimedDomains = (verdict: Pick<PolicyInput, 'mailFrom' | 'headerFrom'>): Set<string> =>
  new Set([...(verdict.mailFrom ? [verdict.mailFrom] : []), ...verdict.headerFrom].map(domainOfAddress).filter((d) => d))
const within = (domain: string, of: string): boolean => domain === of || domain.endsWith('.' + of)

/** whether a failing message is one of the `pct` per cent its domain's policy applies to */
export type Sample = (pct: number) => boolean
const atRandom: Sample = (pct) => Math.random() * 100 < pct

export function decide(
  verdict: PolicyInput,
  isLocalDomain: (domain: string) => boolean,
  config: Pick<InboundAuthConfig, 'mode' | 'onTempError'> & Partial<Pick<InboundAuthConfig, 'arcTrustedSealers'>>,
  sample: Sample = atRandom,
): Decision {
  const decision = enforced(verdict, isLocalDomain, config.onTempError, config.arcTrustedSealers ?? [], sample)
  if (config.mode !== 'enforce' && decision.action !== 'accept') return {action: 'accept', reason: `monitor only: would ${decision.action} (${decision.reason})`}
  return decision
}

function enforced(
  verdict: PolicyInput,
  isLocalDomain: (domain: string) => boolean,
  onTempError: InboundAuthConfig['onTempError'],
  trustedSealers: string[],
  sample: Sample,
): Decision {
  const {spf, dkim, dmarc} = verdict
  const claimed = [...claimedDomains(verdict)].filter(isLocalDomain)
  for (const domain of claimed) {
    const spfPass = spf.result === 'pass' && within(spf.domain.toLowerCase(), domain)
    const dkimPass = dkim.some((d) => d.result === 'pass' && d.domain && within(d.domain, domain))
    if (spfPass || dkimPass) continue
    // a DNS failure may hide a pass: ask again later rather than refuse our own domain's mail
    const undecided = spf.result === 'temperror' || dkim.some((d) => d.result === 'temperror' && d.domain && within(d.domain, domain))
    if (undecided) return {action: 'defer', reason: `cannot verify the local domain ${domain} now`}
    return {action: 'reject', reason: `${domain} is a local domain; its mail from outside must pass SPF or DKIM`}
  }
  if (verdict.headerFrom.length > 1) return {action: 'reject', reason: 'more than one From address; DMARC cannot be applied'}
  if (dmarc.result === 'pass') return {action: 'accept', reason: 'dmarc pass'}
  const temporary = [spf.result, dmarc.result, ...dkim.map((d) => d.result)].includes('temperror')
  if (temporary) return onTempError === 'defer' ? {action: 'defer', reason: 'DNS lookups failed'} : {action: 'accept', reason: 'temperror recorded'}
  if (dmarc.result !== 'fail') return {action: 'accept', reason: `dmarc ${dmarc.result}`}
  const voucher = arcVoucher(verdict, trustedSealers)
  if (voucher) return {action: 'accept', reason: `dmarc fail overridden: the ARC chain passes and ${voucher}, a trusted sealer, recorded dmarc=pass`}
  const {policy, note} = appliedPolicy(dmarc.policy, dmarc.pct, sample)
  if (policy === 'reject') return {action: 'reject', reason: `DMARC policy of the From domain is reject${note}`}
  if (policy === 'quarantine') return {action: 'junk', reason: `DMARC policy of the From domain is quarantine${note}`}
  return {action: 'accept', reason: `dmarc fail, policy none${note}`}
}

/** the trusted sealer that vouches for this message's DMARC fail, if one does */
function arcVoucher(verdict: PolicyInput, trustedSealers: string[]): string | undefined {
  const {arc, dmarc, headerFrom} = verdict
  if (arc?.result !== 'pass' || !arc.sealer || arc.dmarc?.result !== 'pass') return undefined
  const sealer = arc.sealer.toLowerCase()
  if (!trustedSealers.some((trusted) => trusted.toLowerCase() === sealer)) return undefined
  // the sealer's pass must be for the author domain this message claims now
  const from = (dmarc.domain ?? (headerFrom[0] ? domainOfAddress(headerFrom[0]) : '')).toLowerCase()
  return from && arc.dmarc.from?.toLowerCase() === from ? sealer : undefined
}

/** the policy of `pct` < 100 for a message outside the sample: the next less strict one (RFC 7489 §6.6.4) */
const LESS_STRICT: Record<string, string> = {reject: 'quarantine', quarantine: 'none'}

function appliedPolicy(policy: string | undefined, pct: number | undefined, sample: Sample): {policy: string | undefined; note: string} {
  if (pct === undefined || pct >= 100 || !policy || !LESS_STRICT[policy]) return {policy, note: ''}
  if (sample(pct)) return {policy, note: ` (pct=${pct}, sampled)`}
  return {policy: LESS_STRICT[policy], note: ` (pct=${pct}: not sampled, so ${LESS_STRICT[policy]} instead of ${policy})`}
}
