/**
 * How each kind of record found in DNS is judged against the one `domain dns` prints. The
 * comparison is by meaning, not by text: spacing, tag order, another report address or an
 * MTA-STS id of the admin's own are ok; what weakens the domain's protection without breaking it
 * (SPF `~all`, DMARC `quarantine`, a preferred foreign MX) is a warning; what lets forgeries
 * through or breaks delivery or verification (no -all, DMARC `none`, another DKIM key, the MX
 * pointing elsewhere) is `different`.
 */
import {BlockList, isIP} from 'node:net'
import {isSpfRecord, parseSpf, spfResult, type SpfSender} from './spf.js'

export type Verdict = {status: 'ok' | 'warning' | 'missing' | 'different'; note?: string}

const ok = (note?: string): Verdict => ({status: 'ok', ...(note ? {note} : {})})
const warning = (note: string): Verdict => ({status: 'warning', note})
const different = (note: string): Verdict => ({status: 'different', note})
const missing = (note?: string): Verdict => ({status: 'missing', ...(note ? {note} : {})})

const bare = (name: string) => name.toLowerCase().replace(/\.$/, '')

/** `k=v; k=v` tag lists (DKIM, DMARC, MTA-STS, TLS-RPT): names as written, values trimmed */
export function parseTags(text: string): Map<string, string> {
  const tags = new Map<string, string>()
  for (const part of text.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) tags.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return tags
}

/**
 * The one record of `found` that starts with `v=VERSION`, or the verdict when there is none or
 * more than one (`several`: what receivers then do).
 */
function theRecord(found: string[], version: string, several: string): string | Verdict {
  const records = found.filter((text) => new RegExp(`^v\\s*=\\s*${version}\\s*(;|$)`).test(text.trim()))
  if (!records.length) return missing()
  if (records.length > 1) return different(`${records.length} ${several}`)
  return records[0]!
}

export function compareMx(found: {priority: number; exchange: string}[], hostname: string): Verdict {
  if (!found.length) return missing()
  if (found.length === 1 && (found[0]!.exchange === '' || found[0]!.exchange === '.')) return different('a null MX (RFC 7505): the domain accepts no mail')
  const ours = found.filter((mx) => bare(mx.exchange) === hostname)
  if (!ours.length) return different(`mail for the domain goes to ${found.map((mx) => bare(mx.exchange)).join(', ')}, not ${hostname}`)
  const best = Math.min(...ours.map((mx) => mx.priority))
  const before = found.filter((mx) => bare(mx.exchange) !== hostname && mx.priority <= best)
  if (before.length) return warning(`${before.map((mx) => bare(mx.exchange)).join(', ')} is tried before or with ${hostname}`)
  return ok()
}

function sameAddress(a: string, b: string): boolean {
  const family = isIP(a) === 4 ? 'ipv4' : 'ipv6'
  if (isIP(a) !== isIP(b)) return false
  const list = new BlockList()
  list.addAddress(a, family)
  return list.check(b, family)
}

/** `expected` empty: the addresses were not given, any address of the host will do */
export function compareAddresses(found: string[], expected: string[]): Verdict {
  if (!expected.length) return found.length ? ok('addresses not given (--ip): any address is accepted') : missing('the host name has no A or AAAA record')
  if (!found.length) return missing()
  const absent = expected.filter((ip) => !found.some((f) => sameAddress(ip, f)))
  const extra = found.filter((f) => !expected.some((ip) => sameAddress(ip, f)))
  if (absent.length || extra.length) {
    return different([absent.length ? `${absent.join(', ')} not published` : '', extra.length ? `${extra.join(', ')} is not this server's` : ''].filter(Boolean).join('; '))
  }
  return ok()
}

export function compareSpf(found: string[], sender: SpfSender, expected: string): Verdict {
  const records = found.filter(isSpfRecord)
  if (!records.length) return missing()
  if (records.length > 1) return different(`${records.length} SPF records: receivers treat that as a permanent error (RFC 7208 §4.5)`)
  const spf = parseSpf(records[0]!)
  const {qualifier, uncertain} = spfResult(spf, sender)
  const who = sender.addresses.length ? `${sender.hostname} (${sender.addresses.join(', ')})` : sender.hostname
  if (qualifier !== '+') {
    if (uncertain) return warning(`whether it lets ${who} send depends on ${uncertain}, which this check does not follow; expected ${expected}`)
    return different(`does not let ${who} send; expected ${expected}`)
  }
  const all = spf.mechanisms.filter((m) => m.name === 'all').at(-1)
  if (!all) {
    if (spf.redirect) return warning(`ends in redirect=${spf.redirect}: its policy for other senders is not checked here`)
    return different('no -all: mail from any other host is "neutral", which lets forgeries through')
  }
  if (all.qualifier === '-') return ok()
  if (all.qualifier === '~') return warning('~all (softfail): DMARC p=reject still rejects forgeries, but receivers without DMARC only mark them; -all is suggested')
  return different(`${all.text}: mail from any other host is not refused; expected -all`)
}

export function compareDkim(found: string[], expected: string): Verdict {
  const want = parseTags(expected)
  const keyOf = (tags: Map<string, string>) => (tags.get('p') ?? '').replace(/\s+/g, '')
  const algorithm = (tags: Map<string, string>) => (tags.get('k') ?? 'rsa').toLowerCase()
  const keys = found.map(parseTags).filter((tags) => tags.has('p'))
  if (!keys.length) return missing()
  const same = keys.filter((tags) => keyOf(tags) === keyOf(want) && algorithm(tags) === algorithm(want))
  if (!same.length) {
    const revoked = keys.some((tags) => keyOf(tags) === '')
    return different(revoked ? 'the key is revoked (empty p=)' : 'another key is published under this selector: signatures will not verify')
  }
  if (keys.length > 1) return warning(`${keys.length} keys under one selector: verifiers may take the other`)
  if (same[0]!.get('t')?.split(':').some((flag) => flag.trim() === 'y')) return warning('t=y: the key is in testing mode, verifiers may ignore failures')
  return ok()
}

export function compareDmarc(found: string[], suggestedRua: string): Verdict {
  const record = theRecord(found, 'DMARC1', 'DMARC records: receivers then apply none (RFC 7489 §6.6.3)')
  if (typeof record !== 'string') return record
  const tags = parseTags(record)
  const policy = tags.get('p')?.toLowerCase()
  const notes: string[] = []
  const rua = tags.get('rua')
  if (rua && !rua.toLowerCase().split(',').some((uri) => uri.trim() === suggestedRua.toLowerCase())) notes.push(`reports go to ${rua}`)
  if (policy === 'reject') {
    const pct = Number(tags.get('pct') ?? '100')
    const sp = tags.get('sp')?.toLowerCase()
    if (pct < 100) return warning(`pct=${tags.get('pct')}: only part of the failing mail is rejected`)
    if (sp && sp !== 'reject') return warning(`sp=${sp}: subdomains are not protected as the domain is`)
    if (!rua) return warning('no rua=: no aggregate reports will come')
    return ok(notes.join('; '))
  }
  if (policy === 'quarantine') return warning('p=quarantine: failing mail is junked, not rejected; p=reject is suggested')
  if (policy === 'none') return different('p=none: receivers take no action on forgeries (monitoring only)')
  return different(`no valid p= (found ${JSON.stringify(tags.get('p') ?? '')}): receivers ignore the record`)
}

export function compareMtaSts(found: string[], expected: string): Verdict {
  const record = theRecord(found, 'STSv1', 'MTA-STS records: senders then apply none (RFC 8461 §3.1)')
  if (typeof record !== 'string') return record
  const id = parseTags(record).get('id') ?? ''
  if (!/^[A-Za-z0-9]{1,32}$/.test(id)) return different(`id=${JSON.stringify(id)} is not 1-32 letters and digits`)
  const ours = parseTags(expected).get('id')
  return ok(id === ours ? undefined : `id ${id}, not the suggested ${ours}: fine when your policy is not the one printed; change the id with the policy`)
}

export function compareTlsRpt(found: string[], expected: string): Verdict {
  const record = theRecord(found, 'TLSRPTv1', 'TLS-RPT records: senders then send no reports (RFC 8460 §3)')
  if (typeof record !== 'string') return record
  const rua = parseTags(record).get('rua')
  if (!rua) return different('no rua=: reports have nowhere to go')
  const suggested = parseTags(expected).get('rua')
  return ok(rua === suggested ? undefined : `reports go to ${rua}`)
}

/** SRV `0 1 587 host.`, or `0 0 0 .` for a service not offered */
export function compareSrv(found: {priority: number; weight: number; port: number; name: string}[], expected: string): Verdict {
  const [, , port, target] = expected.split(' ')
  if (!found.length) return missing()
  const offered = found.filter((srv) => bare(srv.name) !== '' && bare(srv.name) !== '.')
  if (target === '.') return offered.length ? warning(`published at ${offered.map((s) => `${bare(s.name)}:${s.port}`).join(', ')}: clients may pick it`) : ok()
  if (!offered.length) return different('says the service is not offered (target ".")')
  if (offered.some((srv) => bare(srv.name) === bare(target!) && srv.port === Number(port))) return ok()
  return different(`points clients at ${offered.map((s) => `${bare(s.name)}:${s.port}`).join(', ')}, not ${bare(target!)}:${port}`)
}

/** mta-sts.DOMAIN, autoconfig.DOMAIN: a CNAME to the host as printed, or any web host the admin chose to serve `what` */
export function compareMtaStsHost(cnames: string[], addresses: string[], hostname: string, what = 'the policy'): Verdict {
  if (cnames.some((name) => bare(name) === hostname)) return ok()
  if (cnames.length) return ok(`points at ${cnames.map(bare).join(', ')}: make sure it serves ${what}`)
  if (addresses.length) return ok(`has its own address (${addresses.join(', ')}): make sure it serves ${what}`)
  return missing()
}

/** an ok DMARC or TLS-RPT record whose reports go to an address that names no one here is a warning */
export function withReportAddresses(verdict: Verdict, found: string[], unknown: string[]): Verdict {
  if (verdict.status !== 'ok') return verdict
  const lost = unknown.filter((address) => found.some((text) => text.toLowerCase().includes(`mailto:${address}`)))
  return lost.length ? warning(`${lost.join(', ')} names no user or alias here: reports to it would be refused`) : verdict
}
