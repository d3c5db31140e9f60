/**
 * The DNS records a local domain needs, built from what the server knows: its host name, its
 * public addresses (when given), the domain's DKIM keys and which client services listen. One
 * list serves both `mailbox domain dns` (printed as zone-file lines, zone.ts) and `mailbox domain
 * check` (looked up and compared, check.ts), so the two cannot disagree.
 *
 * Choices (README "DNS records"):
 * - SPF `v=spf1 [ip4:… ip6:…] mx -all`: the MX host is the only sender; with the addresses known
 *   they are listed too, so receivers need no further lookups. The host name gets its own SPF
 *   (`v=spf1 a -all`) for the HELO identity, which receivers check on bounces (null sender).
 * - DMARC `p=reject` with aggregate reports to dmarc-reports@DOMAIN, TLS-RPT to tls-reports@DOMAIN.
 * - MTA-STS: the policy `serve` answers at https://mta-sts.DOMAIN/ (config `mtaSts`, `testing`
 *   by default: `enforce` needs a CA-signed certificate on the host, which the self-signed default
 *   is not). Its id is derived from that same text, so it changes with it.
 * - RFC 6186/8314 SRV: submission over implicit TLS (465) first, STARTTLS submission (587) next,
 *   IMAPS (993) before POP3S (995); `_imap._tcp` and `_pop3._tcp` say "." (not offered), so
 *   autoconfiguring clients pick implicit TLS. Every client that knows `_imap` knows `_imaps` (both
 *   RFC 6186), while `_submissions` is only RFC 8314: so 587 stays published for older clients.
 *   The ports are the standard ones (a public host listens there or forwards them); a listener
 *   that is off (port 0) is published as ".".
 * - Client autoconfiguration (src/autoconfig/): `autoconfig.DOMAIN` a CNAME to the host, where
 *   Thunderbird fetches its document (over HTTP, or HTTPS with the certificate ACME gets for that
 *   name); Autodiscover by the SRV record `_autodiscover._tcp` pointing at the host on 443 rather
 *   than an `autodiscover.DOMAIN` CNAME: clients then ask https://HOST/, whose certificate is the
 *   host's own, where `autodiscover.DOMAIN` would need a certificate for that name too.
 */
import {createHash} from 'node:crypto'
import {isIP, isIPv4} from 'node:net'
import {dkimDnsRecord} from '../dkim/keys.js'
import {servedPolicy, type MtaStsConfig} from '../mta-sts/config.js'
import type {DkimKeyRecord} from '../store/records.js'

export type RecordType = 'MX' | 'A' | 'AAAA' | 'TXT' | 'SRV' | 'CNAME'

/** what a record is for; check.ts compares each kind in its own way */
export type RecordKind = 'mx' | 'address' | 'spf' | 'dkim' | 'dmarc' | 'mta-sts' | 'mta-sts-host' | 'tls-rpt' | 'srv' | 'autoconfig-host'

export interface DnsRecord {
  /** owner name, lower case, without the trailing dot */
  name: string
  type: RecordType
  ttl: number
  /**
   * the data as in a zone file but unquoted: MX `10 host.`, SRV `0 1 587 host.`, CNAME `host.`,
   * A/AAAA the address, TXT the whole text (zone.ts splits it into 255-byte strings)
   */
  value: string
  kind: RecordKind
  purpose: string
  /** false: recommended; `domain check` reports it but does not fail for it */
  required: boolean
  /** said as a comment above the record */
  note?: string
}

export interface RecordSetup {
  /** the local domain, an A-label */
  domain: string
  /** the server's host name: a fully qualified name, lower case, no trailing dot */
  hostname: string
  /** the host's public IPv4/IPv6 addresses; empty: not known (no A/AAAA printed, SPF by mx) */
  addresses: string[]
  /** the domain's DKIM keys, active and retired */
  dkimKeys: DkimKeyRecord[]
  /** the suggested report addresses that name no user or alias here (reports to them would be refused) */
  unknownReportAddresses: string[]
  /** which client listeners are on (a port of 0 is off) */
  offers: {submissions: boolean; submission: boolean; imaps: boolean; pop3s: boolean}
  /** the MTA-STS policy `serve` answers (its mode, mx and max_age) */
  mtaSts: Pick<MtaStsConfig, 'mode' | 'mx' | 'maxAge'>
}

/** an address an A/AAAA record can hold: IPv4 or IPv6, without a zone id (`fe80::1%eth0` means something only on this host) */
export const isPublishableAddress = (ip: string): boolean => isIP(ip) !== 0 && !ip.includes('%')

export const DEFAULT_TTL = 3600
export const dmarcReportAddress = (domain: string) => `dmarc-reports@${domain}`
export const tlsReportAddress = (domain: string) => `tls-reports@${domain}`

/** `v=spf1 ip4:… ip6:… <self> -all`: `self` is `mx` for the domain, `a` for the host name */
export function spfValue(self: 'mx' | 'a', addresses: string[]): string {
  return ['v=spf1', ...addresses.map((ip) => (isIPv4(ip) ? `ip4:${ip}` : `ip6:${ip}`)), self, '-all'].join(' ')
}

export const dmarcValue = (domain: string) => `v=DMARC1; p=reject; rua=mailto:${dmarcReportAddress(domain)}`
export const tlsRptValue = (domain: string) => `v=TLSRPTv1; rua=mailto:${tlsReportAddress(domain)}`

/** the `id=` of the `_mta-sts` record: 1-32 letters and digits, changing whenever the policy does */
export const mtaStsId = (policy: string) => createHash('sha256').update(policy).digest('hex').slice(0, 20)

/** every record to publish for `setup.domain`, in the order a zone file shows them */
export function domainRecords(setup: RecordSetup): DnsRecord[] {
  const {domain, hostname, addresses} = setup
  const host = `${hostname}.`
  const record = (name: string, type: RecordType, value: string, kind: RecordKind, purpose: string, more: Partial<DnsRecord> = {}): DnsRecord => ({
    name,
    type,
    ttl: DEFAULT_TTL,
    value,
    kind,
    purpose,
    required: true,
    ...more,
  })
  const policy = servedPolicy(setup.mtaSts, hostname)
  // RFC 6186 §4: target "." says the service is decidedly not available
  const notOffered = (service: string, purpose: string) => record(`_${service}._tcp.${domain}`, 'SRV', '0 0 0 .', 'srv', purpose, {required: false})
  const srv = (service: string, port: number, priority: number, offered: boolean, purpose: string) =>
    offered ? record(`_${service}._tcp.${domain}`, 'SRV', `${priority} 1 ${port} ${host}`, 'srv', purpose) : notOffered(service, `${purpose}: not offered (listener off)`)
  return [
    record(domain, 'MX', `10 ${host}`, 'mx', 'mail exchanger: mail for the domain goes to the host'),
    ...addresses.map((ip) => record(hostname, isIPv4(ip) ? 'A' : 'AAAA', ip, 'address', "the host's address")),
    record(domain, 'TXT', spfValue('mx', addresses), 'spf', 'SPF: only the MX host sends mail from the domain'),
    // a host name equal to the domain is covered by the domain's own SPF record
    ...(hostname === domain ? [] : [record(hostname, 'TXT', spfValue('a', addresses), 'spf', 'SPF for the host name: the HELO identity of bounces')]),
    ...setup.dkimKeys.map((key) => {
      const dkim = dkimDnsRecord(key)
      const algorithm = key.algorithm === 'ed25519' ? 'Ed25519' : 'RSA'
      return key.state === 'active'
        ? record(dkim.name, 'TXT', dkim.value, 'dkim', `DKIM: ${algorithm} key, selector ${key.selector}`)
        : record(dkim.name, 'TXT', dkim.value, 'dkim', `DKIM: retired ${algorithm} key, selector ${key.selector}`, {
            required: false,
            note: `retired: signs nothing, published so mail it signed still verifies; remove it with mailbox dkim remove ${domain} ${key.selector}`,
          })
    }),
    record(`_dmarc.${domain}`, 'TXT', dmarcValue(domain), 'dmarc', 'DMARC: receivers reject mail that fails SPF and DKIM alignment', {
      ...(setup.unknownReportAddresses.length
        ? {note: `${setup.unknownReportAddresses.join(' and ')} (DMARC and TLS reports) name no user or alias yet: reports would be refused; e.g. mailbox alias add ${setup.unknownReportAddresses[0]} postmaster@${domain}`}
        : {}),
    }),
    record(`_mta-sts.${domain}`, 'TXT', `v=STSv1; id=${mtaStsId(policy)}`, 'mta-sts', 'MTA-STS: senders must use TLS to the MX', {
      required: false,
      note: [
        `mailbox serve answers this policy at https://mta-sts.${domain}/.well-known/mta-sts.txt (its HTTPS port; config mtaSts):`,
        ...policy.trimEnd().split('\r\n').map((line) => `  ${line}`),
        'mode "enforce" needs a CA-signed certificate for mta-sts.' + domain + ' and the MX host; the id follows the policy',
      ].join('\n'),
    }),
    record(`mta-sts.${domain}`, 'CNAME', host, 'mta-sts-host', 'MTA-STS: the web host serving the policy', {
      required: false,
      note: 'or point it at whatever web server serves the policy',
    }),
    record(`_smtp._tls.${domain}`, 'TXT', tlsRptValue(domain), 'tls-rpt', 'TLS-RPT: where senders report TLS failures', {required: false}),
    srv('submissions', 465, 0, setup.offers.submissions, 'client autoconfiguration (RFC 8314): submission over TLS'),
    srv('submission', 587, 5, setup.offers.submission, 'client autoconfiguration (RFC 6186): submission with STARTTLS'),
    srv('imaps', 993, 0, setup.offers.imaps, 'client autoconfiguration (RFC 6186): IMAP over TLS'),
    notOffered('imap', 'client autoconfiguration (RFC 6186): IMAP with STARTTLS not advertised, clients take IMAPS'),
    srv('pop3s', 995, 10, setup.offers.pop3s, 'client autoconfiguration (RFC 6186): POP3 over TLS, after IMAP'),
    notOffered('pop3', 'client autoconfiguration (RFC 6186): POP3 with STLS not advertised, clients take POP3S'),
    record(`autoconfig.${domain}`, 'CNAME', host, 'autoconfig-host', "client autoconfiguration: Thunderbird's settings document, served by mailbox", {required: false}),
    record(`_autodiscover._tcp.${domain}`, 'SRV', `0 1 443 ${host}`, 'srv', `client autoconfiguration: Outlook and Thunderbird ask https://${hostname}/autodiscover/autodiscover.xml (HTTPS on 443)`, {
      required: false,
    }),
  ]
}
