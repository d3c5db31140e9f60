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
import {addAlias} from '../directory/aliases.js'
import {isLocalDomain, newDomain, putNewDomainInTxn} from '../directory/domains.js'
import {putNewUserInTxn, setPasswordHash} from '../directory/users.js'
import {dmarcReportAddress, tlsReportAddress} from '../dns-records/records.js'
import {MailboxError} from '../errors.js'
import type {Store} from '../store/store.js'

export const postmasterOf = (domain: string) => `postmaster@${domain}`

/** the addresses init aliases to postmaster */
export const roleAliases = (domain: string): string[] => [`abuse@${domain}`, `hostmaster@${domain}`, dmarcReportAddress(domain), tlsReportAddress(domain)]

export interface DirectorySetup {
  domain: string
  postmaster: string
  /** false: the domain was there (init --force), its DKIM keys kept */
  domainCreated: boolean
  /** false: postmaster was there and got the new password */
  postmasterCreated: boolean
  aliasesAdded: string[]
  /** role addresses that already named a user or an alias: left as they were */
  aliasesKept: string[]
}

/** the domains a store holds: init refuses a store in use unless --force */
export const storeDomains = (store: Store): string[] => [...store.domains.getKeys()]

export async function setUpDirectory(store: Store, domainInput: string, password: string): Promise<DirectorySetup> {
  const domain = normalizeDomain(domainInput)
  const postmaster = postmasterOf(domain)
  // the slow parts (RSA key, argon2id) before the write transaction
  const fresh = isLocalDomain(store, domain) ? undefined : newDomain(domain)
  const passwordHash = await hashPassword(password)
  return store.transact(() => {
    const domainCreated = !isLocalDomain(store, domain)
    if (domainCreated) putNewDomainInTxn(store, fresh ?? newDomain(domain))
    if (store.aliases.get(postmaster)) throw new MailboxError('conflict', `${postmaster} is an alias here: remove it (mailbox alias remove ${postmaster}) so init can make the postmaster user`)
    const postmasterCreated = !store.users.get(postmaster)
    if (postmasterCreated) putNewUserInTxn(store, {address: postmaster, passwordHash})
    else setPasswordHash(store, postmaster, passwordHash)
    const aliasesAdded: string[] = []
    const aliasesKept: string[] = []
    for (const alias of roleAliases(domain)) {
      if (store.users.get(alias) || store.aliases.get(alias)) aliasesKept.push(alias)
      else aliasesAdded.push(addAlias(store, alias, [postmaster]).alias)
    }
    return {domain, postmaster, domainCreated, postmasterCreated, aliasesAdded, aliasesKept}
  })
}
