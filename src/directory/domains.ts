/** Local domains: mail for these is delivered here; everything else is relayed (when allowed). */
import {domainOf, normalizeDomain} from '../address.js'
import {generateDkimKeys} from '../dkim/keys.js'
import {MailboxError} from '../errors.js'
import {putDkimKeysInTxn, removeDomainDkimKeysInTxn} from '../store/dkim-keys.js'
import type {DkimKeyRecord, DomainRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {deleteUserRecords} from './users.js'

export interface DomainView extends DomainRecord {
  users: number
  aliases: number
}

/** A new domain: its record and DKIM keys, made before any transaction (RSA takes a while). */
export interface NewDomain {
  record: DomainRecord
  keys: DkimKeyRecord[]
}

export function newDomain(input: string): NewDomain {
  const name = normalizeDomain(input)
  const createdAt = Date.now()
  return {record: {name, createdAt}, keys: generateDkimKeys(name, createdAt)}
}

/** Writes a newDomain() inside `store.transact`; refuses a domain that exists. */
export function putNewDomainInTxn(store: Store, domain: NewDomain): DomainRecord {
  const {name} = domain.record
  if (store.domains.get(name)) throw new MailboxError('exists', `domain ${name} already exists`)
  store.domains.putSync(name, domain.record)
  removeDomainDkimKeysInTxn(store, name) // a removed domain's keys are gone already; be sure
  putDkimKeysInTxn(store, domain.keys)
  return domain.record
}

/** Adds a local domain with its DKIM keys. */
export function addDomain(store: Store, input: string): DomainRecord {
  const name = normalizeDomain(input)
  // checked before the key generation too, so a typo costs no RSA key
  if (store.domains.get(name)) throw new MailboxError('exists', `domain ${name} already exists`)
  const domain = newDomain(name)
  return store.transact(() => putNewDomainInTxn(store, domain))
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
