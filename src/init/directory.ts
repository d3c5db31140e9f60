/**
 * What `mailbox init` makes in the store, in one transaction (all or nothing, also when the
 * process dies midway): the domain with its DKIM keys, the `postmaster@` user, and the role
 * addresses aliased to it. RFC 2142 asks for postmaster (SMTP) and abuse; hostmaster is the
 * DNS contact (the records printed are this host's), and the DMARC and TLS-RPT report addresses
 * that `domain dns` publishes must take mail or reports would bounce. webmaster is not made:
 * mailbox serves no web site.
 */
import {normalizeDomain} from '../address.js'
import {hashPassword} from '../auth/password.js'
import {newDomain} from '../directory/domains.js'
import {dmarcReportAddress, tlsReportAddress} from '../dns-records/records.js'
import type {DirectoryInitResult} from '../store/backend.js'
import type {MailboxStore} from '../store/backend.js'

export const postmasterOf = (domain: string) => `postmaster@${domain}`

/** the addresses init aliases to postmaster */
export const roleAliases = (domain: string): string[] => [`abuse@${domain}`, `hostmaster@${domain}`, dmarcReportAddress(domain), tlsReportAddress(domain)]

export interface DirectorySetup extends DirectoryInitResult {
  domain: string
  postmaster: string
}

/** the domains a store holds: init refuses a store in use unless --force */
export const storeDomains = async (store: MailboxStore): Promise<string[]> => (await store.directory.domains()).map((d) => d.name)

export async function setUpDirectory(store: MailboxStore, domainInput: string, password: string): Promise<DirectorySetup> {
  const domain = normalizeDomain(domainInput)
  const postmaster = postmasterOf(domain)
  // the slow parts (RSA key, argon2id) before the write transaction
  const fresh = (await store.directory.isLocalDomain(domain)) ? undefined : newDomain(domain)
  const passwordHash = await hashPassword(password)
  const made = await store.directory.initialize({domain, newDomain: () => fresh ?? newDomain(domain), postmaster, passwordHash, aliases: roleAliases(domain)})
  return {domain, postmaster, ...made}
}
