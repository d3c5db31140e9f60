/**
 * The `spam` config section: the built-in spam checks on the MX (./dnsbl.ts, ./helo.ts), their
 * weights, and the thresholds of the decision (./score.ts). Reloadable (SIGHUP): the actor reads
 * the section as it goes, so new connections and messages take the new values.
 *
 * The defaults are chosen so that ordinary mail (and a test suite's mail: HELO names that do not
 * resolve, SPF `none` or `fail`, a DMARC `none` policy) stays below `junkScore`: with no DNS
 * block list configured, only HELO, unknown-recipient and authentication findings count, and all
 * of them together weigh less than 5. A block list is what makes mail junk or refused, and the
 * admin adds it (zones are third-party services with their own terms of use).
 */
import {DEFAULT_GREYLIST, type GreylistConfig} from './greylist.js'

export interface DnsListZone {
  /** the zone the reversed address is looked up in: `zen.spamhaus.org` */
  zone: string
  /** added to the score when the client is listed (negative for an allow list) */
  weight: number
  /** DNSBL only: return codes to reasons, `{"127.0.0.2": "SBL"}`; other 127.0.0.x answers count with no reason */
  codes?: Record<string, string>
}

export interface HeloWeights {
  /** the HELO name has no dot (and is not an address literal) */
  noDot: number
  /** the HELO name is an IP address, bracketed or not, other than the client's */
  ipMismatch: number
  /** `localhost`, or our own host name, from a client that is not this host */
  ours: number
  /** a name with dots that has no A or AAAA record (a DNS failure counts as resolving) */
  notResolving: number
}

export interface AuthWeights {
  spfFail: number
  spfSoftfail: number
  /** any DKIM signature failed (a broken or forged signature; no signature is not a failure) */
  dkimFail: number
  /** DMARC failed and its policy let the message through (reject and quarantine are mail-auth's) */
  dmarcFail: number
}

export interface SpamConfig {
  /** enforce: reject and junk by the score; monitor: score, log, add headers, deliver; off: nothing */
  mode: 'off' | 'monitor' | 'enforce'
  dnsbl: DnsListZone[]
  dnswl: DnsListZone[]
  heloChecks: HeloWeights
  authChecks: AuthWeights
  /** added per recipient the connection named that does not exist */
  unknownRecipientWeight: number
  /** unknown recipients tolerated per connection; the next one gets 421 and the connection is closed */
  maxUnknownRecipients: number
  /** from this score on the message goes to Junk */
  junkScore: number
  /** from this score on the message is refused at the end of DATA (550 5.7.1) */
  rejectScore: number
  /** X-Spam-Score and X-Spam-Status on top of every scored message */
  addHeaders: boolean
  /** all the block-list lookups of one connection (and its HELO name's) end within this */
  dnsBudgetMs: number
  dnsCacheEntries: number
  dnsCacheTtlMs: number
  /** greylisting at RCPT (./greylist.ts) */
  greylist: GreylistConfig
  // h20-rspamd adds `rspamd` (with `url`: asked instead of the thresholds)
  rspamd?: {url?: string}
}

export const DEFAULT_SPAM: SpamConfig = {
  mode: 'enforce',
  dnsbl: [],
  dnswl: [],
  heloChecks: {noDot: 0.5, ipMismatch: 1, ours: 2.5, notResolving: 0.5},
  authChecks: {spfFail: 1, spfSoftfail: 0.5, dkimFail: 1, dmarcFail: 1.5},
  unknownRecipientWeight: 0.5,
  maxUnknownRecipients: 20,
  junkScore: 5,
  rejectScore: 10,
  addHeaders: true,
  dnsBudgetMs: 2000,
  dnsCacheEntries: 10_000,
  dnsCacheTtlMs: 5 * 60_000,
  greylist: DEFAULT_GREYLIST,
}
