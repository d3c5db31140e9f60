/**
 * The "where from" of a login, as the throttle and the familiar-address memory count it.
 *
 * IPv4: the exact address (a /24 is often shared by unrelated customers or a carrier NAT, so
 * grouping would let one noisy neighbour punish, or vouch for, another). IPv4-mapped IPv6
 * (`::ffff:192.0.2.1`, what a dual-stack listener reports) is the IPv4 address.
 *
 * IPv6: the /64 prefix. One subscriber or host holds a whole /64 (RFC 6177 assignments, SLAAC),
 * so counting exact addresses would let an attacker rotate through 2^64 of them for free, and
 * privacy addresses (RFC 8981) change a legitimate user's exact address every day.
 */
import {isIPv4, isIPv6} from 'node:net'

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

export function networkOf(remoteAddress: string): string {
  const address = remoteAddress.split('%')[0]!.toLowerCase() // drop an IPv6 zone id (fe80::1%eth0)
  const mapped = MAPPED_V4.exec(address)
  if (mapped && isIPv4(mapped[1]!)) return mapped[1]!
  if (!isIPv6(address)) return address // IPv4, or whatever a front-end passed (kept as is)
  return prefix64(address)
}

/** the first four 16-bit groups of an IPv6 address, canonical (no leading zeros), as `a:b:c:d::/64` */
function prefix64(address: string): string {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined]
  const groups = (part: string | undefined) => (part ? part.split(':') : [])
  // an embedded IPv4 tail (::ffff:1.2.3.4, 64:ff9b::1.2.3.4) fills two groups, always after the /64
  const width = (g: string[]) => g.reduce((n, x) => n + (x.includes('.') ? 2 : 1), 0)
  const h = groups(head)
  const t = groups(tail)
  const all = tail === undefined ? h : [...h, ...Array<string>(8 - width(h) - width(t)).fill('0'), ...t]
  return all.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':') + '::/64'
}
