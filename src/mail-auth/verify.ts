/**
 * Inbound verification of one message with mailauth: SPF for the MAIL FROM domain (the HELO
 * name's when the sender is null), every DKIM signature, DMARC with alignment, and the ARC chain.
 * BIMI is not looked at. Returns the verdicts and the one Authentication-Results field (RFC 8601)
 * that records them under our authserv-id; what to do about them is ./policy.ts's business.
 */
import {authenticate} from 'mailauth'
import type {ResolveFn} from './dns.js'
import type {ArcVerdict} from './policy.js'
import {resultsHeader} from './results-header.js'

export interface VerifyInput {
  /** the message as the client sent it (our trace fields not yet added) */
  message: Buffer
  remoteAddress: string
  helo: string
  /** MAIL FROM, '' for the null sender */
  mailFrom: string
  /** our host name: the authserv-id */
  hostname: string
  resolver: ResolveFn
}

export interface DkimVerdict {
  result: string
  /** the signing domain (d=) */
  domain?: string
  selector?: string
}

export interface Verdict {
  spf: {result: string; domain: string}
  dkim: DkimVerdict[]
  /** `pct`: the share of failing mail the domain wants its policy applied to (RFC 7489 §6.3) */
  dmarc: {result: string; domain?: string; policy?: string; pct?: number}
  arc: ArcVerdict
  /** the From header's addresses */
  headerFrom: string[]
  /** `Authentication-Results: …` with its CRLF */
  header: string
}

export async function verifyMessage(input: VerifyInput): Promise<Verdict> {
  const {message, remoteAddress, helo, mailFrom, hostname, resolver} = input
  const result = await authenticate(message, {
    ip: remoteAddress,
    helo: helo || undefined,
    // SPF checks the HELO identity for the null sender (mailauth: postmaster@HELO)
    sender: mailFrom || '',
    mta: hostname,
    resolver: resolver as never,
    disableBimi: true,
  })
  const dkim: DkimVerdict[] = (result.dkim.results ?? []).map((r) => ({
    result: r.status.result,
    ...(r.signingDomain ? {domain: r.signingDomain.toLowerCase()} : {}),
    ...(r.selector ? {selector: r.selector} : {}),
  }))
  const spf = result.spf ? {result: result.spf.status.result, domain: result.spf.domain} : {result: 'none', domain: ''}
  const dmarc = result.dmarc
    ? {
        result: result.dmarc.status.result,
        domain: result.dmarc.domain,
        ...(result.dmarc.policy ? {policy: result.dmarc.policy} : {}),
        ...(typeof result.dmarc.pct === 'number' ? {pct: result.dmarc.pct} : {}),
      }
    : {result: 'none'}
  const arc = arcVerdict(result.arc as unknown as MailauthArc | false)
  const rows = [
    ...(result.dkim.results ?? []).map((r) => r.info),
    result.spf ? result.spf.info : 'spf=none',
    result.arc && result.arc.info ? result.arc.info : 'arc=none',
    result.dmarc ? result.dmarc.info : 'dmarc=none (not a single From address)',
  ]
  return {spf, dkim, dmarc, arc, headerFrom: result.dkim.headerFrom ?? [], header: resultsHeader(hostname, rows)}
}

interface MailauthArc {
  status: {result: string}
  i?: number
  authenticationResults?: {dmarc?: {result?: string; header?: {from?: string}}}
  /** not enumerable: the ARC sets, oldest first */
  chain?: {i: number; 'arc-seal'?: {parsed?: {d?: {value?: string}}}}[]
}

/** the chain's result; for a chain that passes, the newest sealer and the DMARC result it recorded */
function arcVerdict(arc: MailauthArc | false | undefined): ArcVerdict {
  if (!arc) return {result: 'none'}
  const verdict: ArcVerdict = {result: arc.status.result}
  if (verdict.result !== 'pass') return verdict
  const sealer = arc.chain?.find((set) => set.i === arc.i)?.['arc-seal']?.parsed?.d?.value
  if (sealer) verdict.sealer = sealer.toLowerCase()
  const dmarc = arc.authenticationResults?.dmarc
  if (dmarc?.result) verdict.dmarc = {result: dmarc.result, ...(dmarc.header?.from ? {from: dmarc.header.from.toLowerCase()} : {})}
  return verdict
}
