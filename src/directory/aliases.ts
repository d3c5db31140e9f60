/**
 * Aliases and catch-alls, and recipient resolution (the rules are in ./rules.ts).
 *
 * An alias `sales@example.com` forwards to one or more targets (local users, other aliases, or
 * remote addresses); `@example.com` catches every address of the domain that matches no user and
 * no alias. Adding an alias that would make resolution loop is refused.
 */
import {normalizeAddress, normalizeAliasKey} from '../address.js'
import {MailboxError} from '../errors.js'
import type {Resolution} from '../store/backend.js'
import type {AliasRecord} from '../store/records.js'
import type {MailboxStore} from '../store/backend.js'

export type {Resolution} from '../store/backend.js'

/**
 * Resolves an address to its final recipients, or undefined when it names no one here
 * (an unknown address in a local domain). A remote address resolves to itself.
 */
export const resolveRecipient = (store: MailboxStore, address: string): Promise<Resolution | undefined> => store.directory.resolve(address)

export async function addAlias(store: MailboxStore, aliasInput: string, targetInputs: string[]): Promise<AliasRecord> {
  const alias = normalizeAliasKey(aliasInput)
  if (targetInputs.length === 0) throw new MailboxError('invalid', 'an alias needs at least one target')
  const targets = [...new Set(targetInputs.map(normalizeAddress))]
  return store.directory.addAlias(alias, targets)
}

export const listAliases = (store: MailboxStore): Promise<AliasRecord[]> => store.directory.aliases()

export const removeAlias = async (store: MailboxStore, aliasInput: string): Promise<AliasRecord> => store.directory.removeAlias(normalizeAliasKey(aliasInput))
