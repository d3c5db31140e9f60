/** Local domains: mail for these is delivered here; everything else is relayed (when allowed). */
import {domainOf, normalizeDomain} from '../address.js'
import {generateDkimKeys} from '../dkim/keys.js'
import {MailboxError} from '../errors.js'
import type {NewDomain} from '../store/backend.js'
import type {DomainRecord} from '../store/records.js'
import type {MailboxStore} from '../store/backend.js'
import {requireLocalDomain} from './rules.js'

export type {NewDomain} from '../store/backend.js'

export interface DomainView extends DomainRecord {
  users: number
  aliases: number
}

/** A new domain with its DKIM keys, made outside any transaction (RSA takes a while). */
export function newDomain(input: string): NewDomain {
  const name = normalizeDomain(input)
  const createdAt = Date.now()
  return {record: {name, createdAt}, keys: generateDkimKeys(name, createdAt)}
}

/** Adds a local domain with its DKIM keys. */
export async function addDomain(store: MailboxStore, input: string): Promise<DomainRecord> {
  const name = normalizeDomain(input)
  // checked before the key generation too, so a typo costs no RSA key
  if (await store.directory.isLocalDomain(name)) throw new MailboxError('exists', `domain ${name} already exists`)
  return store.directory.addDomain(newDomain(name))
}

export const isLocalDomain = (store: MailboxStore, domain: string): Promise<boolean> => store.directory.isLocalDomain(domain)

export async function requireDomain(store: MailboxStore, domain: string): Promise<void> {
  requireLocalDomain(await store.directory.lookups(), domain)
}

const inDomain = (domain: string) => (address: string) => domainOf(address) === domain

export async function listDomains(store: MailboxStore): Promise<DomainView[]> {
  const {directory} = store
  const [domains, users, aliases] = await Promise.all([directory.domains(), directory.users(), directory.aliases()])
  const userAddresses = users.map((u) => u.address)
  const aliasKeys = aliases.map((a) => a.alias)
  return domains.map((d) => ({...d, users: userAddresses.filter(inDomain(d.name)).length, aliases: aliasKeys.filter(inDomain(d.name)).length}))
}

export async function removeDomain(store: MailboxStore, input: string, options: {force?: boolean} = {}): Promise<{users: string[]; aliases: string[]}> {
  return store.directory.removeDomain(normalizeDomain(input), options)
}
