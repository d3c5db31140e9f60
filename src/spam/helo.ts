/**
 * HELO/EHLO sanity (RFC 5321 §4.1.1.1: the argument is the client's primary host name, or an
 * address literal when it has none). What a real MTA says is a fully qualified name that resolves;
 * spamware says whatever is cheap: a bare word, somebody else's address, `localhost`, or the name
 * of the server it is talking to.
 *
 * "From outside" means the client is not this host (its address is not the one it reached us
 * on): local scripts saying `localhost` are not spam.
 */
import {isIP} from 'node:net'
import type {ResolveFn} from '../mail-auth/dns.js'
import type {HeloWeights} from './config.js'

export type HeloTest = 'HELO_NO_DOT' | 'HELO_IP_MISMATCH' | 'HELO_OURS' | 'HELO_NOT_RESOLVING'

/** which weight each test takes */
export const HELO_WEIGHT: Record<HeloTest, keyof HeloWeights> = {
  HELO_NO_DOT: 'noDot',
  HELO_IP_MISMATCH: 'ipMismatch',
  HELO_OURS: 'ours',
  HELO_NOT_RESOLVING: 'notResolving',
}

export interface HeloContext {
  remoteAddress: string
  localAddress: string
  /** our host name */
  hostname: string
}

/** `::ffff:1.2.3.4` → `1.2.3.4`, lower case */
export const plainAddress = (address: string): string => address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '').toLowerCase()

/** the address a HELO argument names: `[1.2.3.4]`, `[IPv6:…]`, or a bare address; undefined for a name */
export function heloAddress(helo: string): string | undefined {
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(helo)
  const candidate = literal ? literal[1]! : helo
  return isIP(candidate) ? plainAddress(candidate) : undefined
}

/** the findings that need no DNS, in a fixed order */
export function heloFindings(helo: string, context: HeloContext): HeloTest[] {
  const name = helo.trim().toLowerCase().replace(/\.$/, '')
  const client = plainAddress(context.remoteAddress)
  const outside = client !== plainAddress(context.localAddress)
  const address = heloAddress(name)
  const found: HeloTest[] = []
  if (address !== undefined) {
    if (address !== client) found.push('HELO_IP_MISMATCH')
    return found
  }
  if (outside && (name === 'localhost' || name === 'localhost.localdomain' || name === context.hostname.toLowerCase().replace(/\.$/, ''))) found.push('HELO_OURS')
  else if (!name.includes('.')) found.push('HELO_NO_DOT')
  return found
}

/** whether the name should be looked up: one with dots that is not an address, not ours */
export function heloNeedsLookup(helo: string, findings: readonly HeloTest[]): boolean {
  return findings.length === 0 && heloAddress(helo) === undefined && helo.includes('.')
}

/**
 * HELO_NOT_RESOLVING when the name has neither an A nor an AAAA record; a lookup that fails
 * (timeout, SERVFAIL) counts as resolving. Never rejects.
 */
export async function heloResolves(helo: string, resolve: ResolveFn): Promise<{tests: HeloTest[]; failed?: string}> {
  const name = helo.trim().replace(/\.$/, '')
  const ask = (type: string) =>
    resolve(name, type).then(
      (answers) => ((answers as unknown[]).length > 0 ? 'yes' : 'no'),
      (err: NodeJS.ErrnoException) => (err.code === 'ENOTFOUND' || err.code === 'ENODATA' ? 'no' : (err.code ?? 'error')),
    )
  const [a, aaaa] = await Promise.all([ask('A'), ask('AAAA')])
  if (a === 'yes' || aaaa === 'yes') return {tests: []}
  if (a === 'no' && aaaa === 'no') return {tests: ['HELO_NOT_RESOLVING']}
  return {tests: [], failed: a === 'no' ? aaaa : a}
}
