/**
 * The names this server needs certificates for: its host name (SMTP, IMAP, POP3, ManageSieve,
 * HTTPS), and for each local domain D `mta-sts.D` (the MTA-STS policy host, RFC 8461 §3.2) and
 * `autoconfig.D` (Thunderbird's autoconfig host). One certificate per name, as mox's autocert
 * does: a domain added later orders only its own names, and one name the CA refuses (its DNS not
 * pointing here yet) holds none of the others up.
 */
import {isIP} from 'node:net'
import {normalizeDomain} from '../address.js'

export const DOMAIN_PREFIXES = ['mta-sts', 'autoconfig'] as const

/** lower-case A-labels, the host name first, each once; names a public CA cannot issue for (an address, one label) are left out */
export function certificateNames(hostname: string, domains: readonly string[]): string[] {
  const names = new Set<string>()
  const add = (name: string) => {
    const normal = publicName(name)
    if (normal) names.add(normal)
  }
  add(hostname)
  for (const domain of domains) for (const prefix of DOMAIN_PREFIXES) add(`${prefix}.${domain}`)
  return [...names]
}

function publicName(name: string): string | undefined {
  if (isIP(name)) return undefined
  try {
    const normal = normalizeDomain(name)
    return normal.includes('.') ? normal : undefined
  } catch {
    return undefined
  }
}
