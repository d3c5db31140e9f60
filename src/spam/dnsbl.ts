/**
 * DNS block and allow lists (RFC 5782): the client's address, reversed (IPv4 octets, IPv6
 * nibbles), looked up as an A record under each zone. An answer in 127.0.0.0/8 means listed; its
 * address is a return code the admin may map to a reason (zen: 127.0.0.2 SBL, 127.0.0.4 XBL …).
 * Anything else is the zone telling us about itself, not about the client, and counts as no
 * listing: addresses outside 127.0.0.0/8, and the error codes lists use inside it (Spamhaus
 * answers 127.255.255.x to queries through public resolvers or over its limits, DNSWL 127.0.0.255):
 * counting those would refuse every message while the zone refuses us.
 *
 * A lookup that fails (timeout, SERVFAIL) counts as no listing too: a dead list must not stop mail.
 */
import {isIP} from 'node:net'
import type {ResolveFn} from '../mail-auth/dns.js'
import type {DnsListZone} from './config.js'

export interface ListResult {
  zone: string
  weight: number
  /** the test names it adds to the score (empty: not listed) */
  tests: string[]
  /** the lookup failed (fail open): why, for the log */
  failed?: string
}

/** `1.2.3.4` → `4.3.2.1`; `2001:db8::1` → its 32 nibbles reversed; undefined for anything else */
export function reversedAddress(address: string): string | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  const ip = mapped ? mapped[1]! : address
  const family = isIP(ip)
  if (family === 4) return ip.split('.').reverse().join('.')
  if (family !== 6) return undefined
  return expandIpv6(ip).split('').reverse().join('.')
}

/** the 32 hex digits of an IPv6 address (an embedded IPv4 tail included) */
function expandIpv6(ip: string): string {
  let text = ip.toLowerCase().replace(/%.*$/, '')
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    text = text.slice(0, v4.index) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16)
  }
  const [head, tail] = text.split('::') as [string, string | undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t]
  return groups.map((g) => g.padStart(4, '0')).join('')
}

/** the name to look up for `address` in `zone` */
export function listQueryName(address: string, zone: string): string | undefined {
  const reversed = reversedAddress(address)
  return reversed === undefined ? undefined : `${reversed}.${zone.replace(/\.$/, '')}`
}

/** answers that are a zone's own errors, not listings */
const isZoneError = (answer: string): boolean => !answer.startsWith('127.') || answer.startsWith('127.255.255.') || answer === '127.0.0.255'

/** `zen.spamhaus.org` → `ZEN`; a test name part is upper case letters, digits and `_` */
const testPart = (text: string): string =>
  text
    .toUpperCase()
    .replace(/[^A-Z0-9]+/g, '_')
    .replace(/^_|_$/g, '')

/**
 * The test names a list's answer adds: `DNSBL_ZEN_SBL` for a mapped code, `DNSBL_ZEN` for an
 * unmapped one (once); none when the answer holds only the zone's errors.
 */
export function listTests(kind: 'DNSBL' | 'DNSWL', zone: DnsListZone, answers: readonly string[]): string[] {
  const base = `${kind}_${testPart(zone.zone.split('.')[0] ?? zone.zone) || 'ZONE'}`
  const tests = new Set<string>()
  for (const answer of answers) {
    if (isZoneError(answer)) continue
    const reason = zone.codes?.[answer]
    tests.add(reason && testPart(reason) ? `${base}_${testPart(reason)}` : base)
  }
  return [...tests]
}

/** Looks `address` up in `zone`; never rejects. */
export async function lookupList(kind: 'DNSBL' | 'DNSWL', zone: DnsListZone, address: string, resolve: ResolveFn): Promise<ListResult> {
  const result = {zone: zone.zone, weight: zone.weight}
  const name = listQueryName(address, zone.zone)
  if (!name) return {...result, tests: []}
  try {
    return {...result, tests: listTests(kind, zone, (await resolve(name, 'A')) as string[])}
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    // NXDOMAIN (or no A record): not listed, the usual answer
    if (code === 'ENOTFOUND' || code === 'ENODATA') return {...result, tests: []}
    return {...result, tests: [], failed: code ?? (err as Error).message}
  }
}
