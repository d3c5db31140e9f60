/** Local domains: mail for these is delivered here; everything else is relayed (when allowed). */
import {domainOf, normalizeDomain} from '../address.js'
import {generateDkimKeys} from '../dkim/keys.js'
import {MailboxError} from '../errors.js'
import {putDkimKeysInTxn, removeDomainDkimKeysInTxn} from '../store/dkim-keys.js'
import type {DomainRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {deleteUserRecords} from './users.js'

export interface DomainView extends DomainRecord {
  users: number
  aliases: number
}

/** Adds a local domain with its DKIM keys (made before the transaction: RSA takes a while). */
export function addDomain(store: Store, input: string): DomainRecord {
  const name = normalizeDomain(input)
  if (store.domains.get(name)) throw new MailboxError('exists', `domain ${name} already exists`)
  const createdAt = Date.now()
  const keys = generateDkimKeys(name, createdAt)
  return store.transact(() => {
    if (store.domains.get(name)) throw new MailboxError('exists', `domain ${name} already exists`)
    const record = {name, createdAt}
    store.domains.putSync(name, record)
    removeDomainDkimKeysInTxn(store, name) // a removed domain's keys are gone already; be sure
    putDkimKeysInTxn(store, keys)
    return record
  })
}

export function isLocalDomain(store: Store, domain: string): boolean {
  return store.domains.get(domain) !== undefined
}

export function requireDomain(store: Store, domain: string): void {
  if (!isLocalDomain(store, domain)) throw new MailboxError('not-found', `unknown domain ${domain} (add it first: mailbox domain add ${domain})`)
}

const inDomain = (domain: string) => (address: string) => domainOf(address) === domain

export function listDomains(store: Store): DomainView[] {
  const users = [...store.users.getKeys()]
  const aliases = [...store.aliases.getKeys()]
  return [...store.domains.getRange().map(({value}) => value)].map((d) => ({
    ...d,
    users: users.filter(inDomain(d.name)).length,
    aliases: aliases.filter(inDomain(d.name)).length,
  }))
}

export function removeDomain(store: Store, input: string, options: {force?: boolean} = {}): {users: string[]; aliases: string[]} {
  const name = normalizeDomain(input)
  return store.transact(() => {
    if (!store.domains.get(name)) throw new MailboxError('not-found', `no domain ${name}`)
    const users = [...store.users.getKeys()].filter(inDomain(name))
    const aliases = [...store.aliases.getKeys()].filter(inDomain(name))
    if ((users.length || aliases.length) && !options.force) {
      throw new MailboxError('conflict', `domain ${name} still has ${users.length} user(s) and ${aliases.length} alias(es); use --force to remove them too`)
    }
    for (const user of users) deleteUserRecords(store, user)
    for (const alias of aliases) store.aliases.removeSync(alias)
    store.domains.removeSync(name)
    removeDomainDkimKeysInTxn(store, name)
    return {users, aliases}
  })
}
