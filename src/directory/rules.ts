/**
 * The directory's rules, as pure functions of a synchronous view of it (DirectoryLookups): what a
 * new user or alias must satisfy, and recipient resolution. Every store backend runs them inside
 * its write transactions, and callers run them early to fail before slow work; so there is one
 * implementation of each rule whatever the engine.
 *
 * Resolution order for an address: user, then alias, then the domain's catch-all (`@domain`),
 * which catches every address of the domain that matches no user and no alias. Aliases that would
 * make resolution loop are refused when added.
 */
import {domainOf} from '../address.js'
import {MailboxError} from '../errors.js'
import type {DirectoryLookups, Resolution} from '../store/backend.js'
import type {AliasRecord} from '../store/records.js'

const MAX_DEPTH = 16

export function requireLocalDomain(lookups: DirectoryLookups, domain: string): void {
  if (!lookups.isLocalDomain(domain)) throw new MailboxError('not-found', `unknown domain ${domain} (add it first: mailbox domain add ${domain})`)
}

/** Throws unless the (canonical) address could be added as a new user. */
export function checkNewUser(lookups: DirectoryLookups, address: string): void {
  requireLocalDomain(lookups, domainOf(address))
  if (lookups.user(address)) throw new MailboxError('exists', `user ${address} already exists`)
  if (lookups.alias(address)) throw new MailboxError('exists', `${address} is an alias; remove the alias first`)
}

/** Throws unless `record` could be added: a free key in a local domain, targets that resolve without a loop. */
export function checkNewAlias(lookups: DirectoryLookups, record: AliasRecord): void {
  const {alias, targets} = record
  requireLocalDomain(lookups, domainOf(alias))
  if (lookups.alias(alias)) throw new MailboxError('exists', `alias ${alias} already exists`)
  if (lookups.user(alias)) throw new MailboxError('exists', `${alias} is a user; an alias cannot shadow it`)
  // Resolve through the new alias as if it were in place: a loop or a dangling local target fails here.
  const withIt: DirectoryLookups = {...lookups, alias: (k) => (k === alias ? record : lookups.alias(k))}
  for (const target of targets) {
    if (!resolveWith(withIt, target, true)) throw new MailboxError('not-found', `alias target ${target} does not exist`)
  }
}

/** Final recipients of an address, or undefined when it names no one here (a remote address resolves to itself). */
export const resolveRecipient = (lookups: DirectoryLookups, address: string): Resolution | undefined => resolveWith(lookups, address, false)

/**
 * Walks aliases depth-first. `path` holds the addresses and catch-alls already passed through, so
 * meeting one again is a loop. With `strict`, a target that names no one is an error (used when
 * adding an alias); otherwise it is skipped (a stale target must not bounce the other recipients).
 */
function resolveWith(lookups: DirectoryLookups, address: string, strict: boolean): Resolution | undefined {
  const local = new Set<string>()
  const remote = new Set<string>()
  const walk = (addr: string, path: string[]): boolean => {
    if (path.includes(addr) || path.length > MAX_DEPTH) throw new MailboxError('conflict', `alias loop: ${[...path, addr].join(' -> ')}`)
    const domain = domainOf(addr)
    if (!lookups.isLocalDomain(domain)) return remote.add(addr), true
    if (lookups.user(addr)) return local.add(addr), true
    const exact = lookups.alias(addr)
    const catchAll = exact ? undefined : lookups.alias('@' + domain)
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
