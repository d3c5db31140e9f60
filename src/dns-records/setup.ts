/** What the records of a domain are built from: the store (the domain, its DKIM keys) and the configuration. */
import {isIP} from 'node:net'
import {normalizeDomain} from '../address.js'
import type {ServeConfig} from '../config.js'
import {requireDomain} from '../directory/domains.js'
import {MailboxError} from '../errors.js'
import {dkimKeysOf} from '../store/dkim-keys.js'
import type {Store} from '../store/store.js'
import type {RecordSetup} from './records.js'

export function recordSetup(store: Store, config: Pick<ServeConfig, 'hostname' | 'publicAddresses' | 'ports'>, input: string): RecordSetup {
  const domain = normalizeDomain(input)
  requireDomain(store, domain)
  return {
    domain,
    hostname: publicHostname(config.hostname, domain),
    addresses: config.publicAddresses,
    dkimKeys: dkimKeysOf(store, domain),
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
