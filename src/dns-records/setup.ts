/** What the records of a domain are built from: the store (the domain, its DKIM keys) and the configuration. */
import {isIP} from 'node:net'
import {normalizeDomain} from '../address.js'
import type {ServeConfig} from '../config.js'
import {requireDomain} from '../directory/domains.js'
import {MailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'
import {dmarcReportAddress, tlsReportAddress, type RecordSetup} from './records.js'

export async function recordSetup(store: MailboxStore, config: Pick<ServeConfig, 'hostname' | 'publicAddresses' | 'ports' | 'mtaSts'>, input: string): Promise<RecordSetup> {
  const domain = normalizeDomain(input)
  await requireDomain(store, domain)
  const reportAddresses = [dmarcReportAddress(domain), tlsReportAddress(domain)]
  const named = await Promise.all(reportAddresses.map((address) => namesSomeone(store, address)))
  return {
    domain,
    hostname: publicHostname(config.hostname, domain),
    addresses: config.publicAddresses,
    dkimKeys: await store.dkim.keys(domain),
    unknownReportAddresses: reportAddresses.filter((_, i) => !named[i]),
    offers: {submissions: config.ports.smtps !== 0, submission: config.ports.submission !== 0, imaps: config.ports.imaps !== 0, pop3s: config.ports.pop3s !== 0},
    mtaSts: config.mtaSts,
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
async function namesSomeone(store: MailboxStore, address: string): Promise<boolean> {
  try {
    return (await store.directory.resolve(address)) !== undefined
  } catch {
    return false // an alias loop (refused when aliases are added): mail to it bounces
  }
}
