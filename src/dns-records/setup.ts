/** What the records of a domain are built from: the store (the domain, its DKIM keys) and the configuration. */
import {isIP} from 'node:net'
import {normalizeDomain} from '../address.js'
import type {ServeConfig} from '../config.js'
import {resolveRecipient} from '../directory/aliases.js'
import {requireDomain} from '../directory/domains.js'
import {MailboxError} from '../errors.js'
import {dkimKeysOf} from '../store/dkim-keys.js'
import type {Store} from '../store/store.js'
import {dmarcReportAddress, tlsReportAddress, type RecordSetup} from './records.js'

export function recordSetup(store: Store, config: Pick<ServeConfig, 'hostname' | 'publicAddresses' | 'ports'>, input: string): RecordSetup {
  const domain = normalizeDomain(input)
  requireDomain(store, domain)
  return {
    domain,
    hostname: publicHostname(config.hostname, domain),
    addresses: config.publicAddresses,
    dkimKeys: dkimKeysOf(store, domain),
    unknownReportAddresses: [dmarcReportAddress(domain), tlsReportAddress(domain)].filter((address) => !namesSomeone(store, address)),
    offers: {submissions: config.ports.smtps !== 0, submission: config.ports.submission !== 0, imaps: config.ports.imaps !== 0, pop3s: config.ports.pop3s !== 0},
  }
}

/** The host name as DNS records name it: fully qualified (an MX cannot point at "devbox" or an address). */
export function publicHostname(hostname: string, domain: string): string {
  const name = hostname.trim().toLowerCase().replace(/\.$/, '')
  if (isIP(name) || !name.includes('.')) {
    throw new MailboxError('invalid', `the host name ${JSON.stringify(hostname)} is not a fully qualified domain name: give --hostname (or "hostname" in the config file), e.g. mail.${domain}`)
  }
  return normalizeDomain(name)
}

/** whether mail to `address` would be accepted here (a user, an alias, a catch-all) */
function namesSomeone(store: Store, address: string): boolean {
  try {
    return resolveRecipient(store, address) !== undefined
  } catch {
    return false // an alias loop (refused when aliases are added): mail to it bounces
  }
}
