/**
 * Aliases and catch-alls, and recipient resolution.
 *
 * An alias `sales@example.com` forwards to one or more targets (local users, other aliases, or
 * remote addresses); `@example.com` catches every address of the domain that matches no user and
 * no alias. Resolution order for an address: user, then alias, then the domain's catch-all.
 * Adding an alias that would make resolution loop is refused.
 */
import {domainOf, normalizeAddress, normalizeAliasKey} from '../address.js'
import {MailboxError} from '../errors.js'
import type {AliasRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {isLocalDomain, requireDomain} from './domains.js'

const MAX_DEPTH = 16

export interface Resolution {
  /** local users that receive the message */
  local: string[]
  /** addresses in other domains that it must be relayed to */
  remote: string[]
}

type AliasLookup = (key: string) => AliasRecord | undefined

/**
 * Resolves an address to its final recipients, or undefined when it names no one here
 * (an unknown address in a local domain). A remote address resolves to itself.
 */
export function resolveRecipient(store: Store, address: string): Resolution | undefined {
  return resolveWith(store, (k) => store.aliases.get(k), address, false)
}

/**
 * Walks aliases depth-first. `path` holds the addresses and catch-alls already passed through, so
 * meeting one again is a loop. With `strict`, a target that names no one is an error (used when
 * adding an alias); otherwise it is skipped (a stale target must not bounce the other recipients).
 */
function resolveWith(store: Store, lookup: AliasLookup, address: string, strict: boolean): Resolution | undefined {
  const local = new Set<string>()
  const remote = new Set<string>()
  const walk = (addr: string, path: string[]): boolean => {
    if (path.includes(addr) || path.length > MAX_DEPTH) throw new MailboxError('conflict', `alias loop: ${[...path, addr].join(' -> ')}`)
    const domain = domainOf(addr)
    if (!isLocalDomain(store, domain)) return remote.add(addr), true
    if (store.users.get(addr)) return local.add(addr), true
    const exact = lookup(addr)
    const catchAll = exact ? undefined : lookup('@' + domain)
    const alias = exact ?? catchAll
    if (!alias) {
      if (strict && path.length > 0) throw new MailboxError('not-found', `alias target ${addr} does not exist`)
      return false
    }
    if (catchAll && path.includes(catchAll.alias)) throw new MailboxError('conflict', `alias loop: ${[...path, addr, catchAll.alias].join(' -> ')}`)
    const via = catchAll ? [...path, addr, catchAll.alias] : [...path, addr]
    for (const target of alias.targets) walk(target, via)
    return true
  }
  return walk(address, []) ? {local: [...local], remote: [...remote]} : undefined
}

export function addAlias(store: Store, aliasInput: string, targetInputs: string[]): AliasRecord {
  const alias = normalizeAliasKey(aliasInput)
  if (targetInputs.length === 0) throw new MailboxError('invalid', 'an alias needs at least one target')
  const targets = [...new Set(targetInputs.map(normalizeAddress))]
  return store.transact(() => {
    requireDomain(store, domainOf(alias))
    if (store.aliases.get(alias)) throw new MailboxError('exists', `alias ${alias} already exists`)
    if (store.users.get(alias)) throw new MailboxError('exists', `${alias} is a user; an alias cannot shadow it`)
    const record: AliasRecord = {alias, targets, createdAt: Date.now()}
    // Resolve through the new alias as if it were in place: a loop or a dangling local target fails here.
    const lookup: AliasLookup = (k) => (k === alias ? record : store.aliases.get(k))
    for (const target of targets) {
      if (!resolveWith(store, lookup, target, true)) throw new MailboxError('not-found', `alias target ${target} does not exist`)
    }
    store.aliases.putSync(alias, record)
    return record
  })
}

export function listAliases(store: Store): AliasRecord[] {
  return [...store.aliases.getRange().map(({value}) => value)]
}

export function removeAlias(store: Store, aliasInput: string): AliasRecord {
  const alias = normalizeAliasKey(aliasInput)
  return store.transact(() => {
    const record = store.aliases.get(alias)
    if (!record) throw new MailboxError('not-found', `no alias ${alias}`)
    store.aliases.removeSync(alias)
    dropAliasTarget(store, alias)
    return record
  })
}

/**
 * Removes a deleted address (user or alias) from every alias's targets; an alias left with no
 * targets goes too, and so on up. Otherwise a catch-all pointing at it would resolve back to
 * itself: an alias loop for every unknown address of the domain. Inside `store.transact`.
 */
export function dropAliasTarget(store: Store, address: string): void {
  const gone = [address]
  while (gone.length) {
    const name = gone.pop()!
    for (const {key, value} of [...store.aliases.getRange()]) {
      if (!value.targets.includes(name)) continue
      const targets = value.targets.filter((t) => t !== name)
      if (targets.length) {
        store.aliases.putSync(key, {...value, targets})
      } else {
        store.aliases.removeSync(key)
        gone.push(key)
      }
    }
  }
}

