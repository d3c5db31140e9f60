/**
 * Just enough SPF (RFC 7208) to tell whether a published record authorizes this server, without
 * following further lookups: the record's terms are read left to right as a receiver would, and
 * `mx`, `a` and `ip4`/`ip6` are matched against what the server knows (the domain's MX is the
 * host; the host's addresses when given). A term that would need a lookup this check does not make
 * (`include:`, `exists:`, `a:other.host`) makes the answer uncertain rather than wrong.
 */
import {BlockList, isIP} from 'node:net'

export type Qualifier = '+' | '-' | '~' | '?'

export interface SpfMechanism {
  qualifier: Qualifier
  /** lower case: all, include, a, mx, ptr, ip4, ip6, exists */
  name: string
  /** the part after `:`, without a /cidr */
  target?: string
  prefix?: number
  text: string
}

export interface SpfRecord {
  mechanisms: SpfMechanism[]
  redirect?: string
}

const SPF_VERSION = /^v=spf1(?:\s|$)/i

export const isSpfRecord = (text: string) => SPF_VERSION.test(text.trim())

/** Reads an SPF record's terms; unknown modifiers are ignored, as receivers do. */
export function parseSpf(text: string): SpfRecord {
  const record: SpfRecord = {mechanisms: []}
  for (const term of text.trim().split(/\s+/).slice(1)) {
    const modifier = /^([a-z][\w.-]*)=(.*)$/i.exec(term)
    if (modifier) {
      if (modifier[1]!.toLowerCase() === 'redirect') record.redirect = modifier[2]!.toLowerCase().replace(/\.$/, '')
      continue
    }
    const m = /^([+\-~?]?)([a-z0-9]+)(?::([^/]*))?(?:\/(\d+))?(?:\/\/\d+)?$/i.exec(term)
    // ip6:2001:db8::/32 — the address has colons of its own: everything after the first one
    const ip6 = /^([+\-~?]?)ip6:([^/]+)(?:\/(\d+))?$/i.exec(term)
    if (ip6) {
      record.mechanisms.push({qualifier: (ip6[1] || '+') as Qualifier, name: 'ip6', target: ip6[2]!, ...(ip6[3] ? {prefix: Number(ip6[3])} : {}), text: term})
    } else if (m) {
      record.mechanisms.push({
        qualifier: (m[1] || '+') as Qualifier,
        name: m[2]!.toLowerCase(),
        ...(m[3] !== undefined ? {target: m[3].toLowerCase().replace(/\.$/, '')} : {}),
        ...(m[4] ? {prefix: Number(m[4])} : {}),
        text: term,
      })
    } else {
      record.mechanisms.push({qualifier: '?', name: 'unknown', text: term})
    }
  }
  return record
}

export interface SpfSender {
  /** the name the record is published at (its mechanisms' default target) */
  owner: string
  /** the local domain, whose MX is the host */
  domain: string
  hostname: string
  /** the host's addresses, when known */
  addresses: string[]
}

/**
 * What a receiver would answer for mail from `sender`'s host under this record: per address of
 * the host (or for the host as a name, when its addresses are not known), the qualifier of the
 * first mechanism that matches (`?` when none does, RFC 7208 §4.7); `+` only when every address
 * gets it. `uncertain` names the first term before the decision that needs a lookup this check
 * does not make.
 */
export function spfResult(record: SpfRecord, sender: SpfSender): {qualifier: Qualifier; uncertain?: string} {
  const results = (sender.addresses.length ? sender.addresses : [undefined]).map((ip) => resultFor(record, sender, ip))
  return results.find((r) => r.qualifier !== '+') ?? results[0]!
}

function resultFor(record: SpfRecord, sender: SpfSender, ip: string | undefined): {qualifier: Qualifier; uncertain?: string} {
  let uncertain: string | undefined
  for (const mech of record.mechanisms) {
    const matched = matches(mech, sender, ip)
    if (matched === 'unknown') {
      uncertain ??= mech.text
      continue
    }
    if (matched) return {qualifier: mech.qualifier, ...(uncertain ? {uncertain} : {})}
  }
  if (record.redirect) uncertain ??= `redirect=${record.redirect}`
  return {qualifier: '?', ...(uncertain ? {uncertain} : {})}
}

function matches(mech: SpfMechanism, sender: SpfSender, ip: string | undefined): boolean | 'unknown' {
  const target = mech.target ?? sender.owner
  switch (mech.name) {
    case 'all':
      return true
    case 'ip4':
    case 'ip6':
      return ip === undefined ? 'unknown' : inNetwork(ip, mech)
    case 'mx':
      // the domain's MX is the host; another name's MX is not known here
      return target === sender.domain ? true : 'unknown'
    case 'a':
      return target === sender.hostname ? true : 'unknown'
    default:
      // include, exists, ptr and anything unknown would need lookups
      return 'unknown'
  }
}

function inNetwork(ip: string, mech: SpfMechanism): boolean {
  const family = mech.name === 'ip4' ? 'ipv4' : 'ipv6'
  // an ip4: term never matches an IPv6 address and the other way round
  if (isIP(ip) !== (family === 'ipv4' ? 4 : 6) || !mech.target || isIP(mech.target) !== isIP(ip)) return false
  const list = new BlockList()
  try {
    list.addSubnet(mech.target, mech.prefix ?? (family === 'ipv4' ? 32 : 128), family)
  } catch {
    return false // a prefix out of range: the term is broken, so it matches nothing
  }
  return list.check(ip, family)
}
