/**
 * Greylisting (RFC 6647): mail from an unknown (client network, sender, recipient) triplet is
 * refused for a while with a temporary reply at RCPT; a real MTA retries and passes, spamware
 * that fires once does not. This is the policy: who is greylisted at all, how a client's network
 * and the addresses are named, and the config. The triplets and their rules are the store's
 * (../store/greylist-rules.ts); ./greylist-actor.ts answers the SMTP front-end.
 *
 * Not greylisted: authenticated sessions (submission), capture mode (the actor does not run),
 * clients in `allowNetworks` or on the spam checks' DNS allow lists (`spam.dnswl`), the null
 * sender from a network that passed before. The network is the IPv4 /24 or IPv6 /64 of the
 * client: a large sender retries from another address of its pool (RFC 6647 §4.1 recommends
 * keying on the network for that reason), and a /64 is one host or subscriber.
 */
import {BlockList, isIP, isIPv4} from 'node:net'
import {networkOf} from '../auth/network.js'
import {MailboxError} from '../errors.js'
import type {GreylistPolicy} from '../store/greylist-rules.js'

/** config key `spam.greylist` */
export interface GreylistConfig extends GreylistPolicy {
  enabled: boolean
  /** CIDR blocks (or single addresses) never greylisted: partners, backup MX, known senders' pools */
  allowNetworks: string[]
}

export const DEFAULT_GREYLIST: GreylistConfig = {
  enabled: false,
  delayMs: 5 * 60_000,
  retryWindowMs: 4 * 3600_000,
  passTtlMs: 36 * 24 * 3600_000,
  maxEntries: 200_000,
  allowNetworks: [],
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i

/** the network greylisting keys a client by: `a.b.c.0/24` for IPv4 (mapped IPv6 too), `a:b:c:d::/64` for IPv6 */
export function greylistNetwork(remoteAddress: string): string {
  const address = MAPPED_V4.exec(remoteAddress)?.[1] ?? remoteAddress
  if (isIPv4(address)) return address.replace(/\.\d+$/, '.0/24')
  return networkOf(address)
}

/** a CIDR block or address as config gives it: `[address, prefix, family]`, or a MailboxError naming what is wrong */
export function parseCidr(value: string): [string, number, 'ipv4' | 'ipv6'] {
  const [address = '', prefix, ...rest] = value.trim().split('/')
  const version = isIP(address)
  const bits = version === 4 ? 32 : 128
  const length = prefix === undefined ? bits : Number(prefix)
  if (!version || rest.length || (prefix !== undefined && !/^\d{1,3}$/.test(prefix)) || !Number.isInteger(length) || length < 0 || length > bits) {
    throw new MailboxError('invalid', 'must be an IPv4 or IPv6 address, optionally with /PREFIX')
  }
  return [address, length, version === 4 ? 'ipv4' : 'ipv6']
}

/** `allowNetworks` as a matcher; IPv4-mapped IPv6 clients match IPv4 blocks */
export function allowList(cidrs: readonly string[]): (remoteAddress: string) => boolean {
  const list = new BlockList()
  for (const cidr of cidrs) list.addSubnet(...parseCidr(cidr))
  return (remoteAddress) => {
    const address = MAPPED_V4.exec(remoteAddress)?.[1] ?? remoteAddress
    const family = isIP(address)
    return family !== 0 && list.check(address, family === 4 ? 'ipv4' : 'ipv6')
  }
}

/** whole seconds a client is told to wait: at least 1 (a reply saying 0 would invite a retry storm) */
export const retrySeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))
