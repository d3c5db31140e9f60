/**
 * The directory (domains, users, aliases) and DKIM keys on LMDB: the `DirectoryStore` and
 * `DkimStore` of ./backend.ts over the `domains`, `users`, `aliases` and `dkimKeys` databases.
 *
 * Reads are synchronous LMDB reads handed back as resolved promises (the RCPT and login paths pay
 * one microtask, no I/O). Each write is one `store.transact` (LMDB's single writer lock across
 * processes, fsynced before it returns): the rules of ../directory/rules.ts run inside it over
 * live reads, so a refused change writes nothing. These writes come from CLI commands, `init` and
 * the dashboard, never from a server's hot path, which is why the synchronous commit is fine here.
 *
 * A user's folders and mail live in the mail databases: a new user's folders are made, and a
 * removed user's mail released, by ./lmdb-folders.ts inside the same transaction.
 */
import {domainOf} from '../address.js'
import {checkNewAlias, checkNewUser, requireLocalDomain, resolveRecipient} from '../directory/rules.js'
import {MailboxError} from '../errors.js'
import {usageOfFolders} from '../mailstore/folder-rules.js'
import type {DirectoryLookups, DirectoryStore, DkimStore, ImportedUser, NewDomain, NewUser, UserChange} from './backend.js'
import {activeDkimKeys, dkimKeysOf, putDkimKeysInTxn, removeDkimKeyInTxn, removeDomainDkimKeysInTxn, retireDkimKeysInTxn} from './dkim-keys.js'
import {forgetLoginsInTxn} from './lmdb-auth.js'
import {removeUserSieveInTxn} from './lmdb-sieve.js'
import {createDefaultFolders, listFolders, removeAllFolders} from './lmdb-folders.js'
import type {AliasRecord, DomainRecord, UserRecord} from './records.js'
import type {Store} from './store.js'
import {withLimits} from './user-limits.js'

/** live reads: inside a write transaction they see its own writes and hold the lock */
export function lmdbLookups(store: Store): DirectoryLookups {
  return {
    // whether the key is there, without decoding the record (asked several times per message)
    isLocalDomain: (domain) => store.domains.doesExist(domain),
    user: (address) => store.users.get(address),
    alias: (key) => store.aliases.get(key),
  }
}

const inDomain = (domain: string) => (address: string) => domainOf(address) === domain

/** a directory or DKIM write: one synchronous transaction, then the `directory` change */
function directoryWrite<T>(store: Store, fn: () => T): T {
  const result = store.transact(fn)
  store.changeEmitter.emit({kind: 'directory'})
  return result
}

export function lmdbDirectory(store: Store): DirectoryStore {
  const live = lmdbLookups(store)
  const inTxn = async <T>(fn: () => T): Promise<T> => directoryWrite(store, fn)

  const putNewDomain = ({record, keys}: NewDomain): DomainRecord => {
    if (store.domains.get(record.name)) throw new MailboxError('exists', `domain ${record.name} already exists`)
    store.domains.putSync(record.name, record)
    removeDomainDkimKeysInTxn(store, record.name) // a removed domain's keys are gone already; be sure
    putDkimKeysInTxn(store, keys)
    return record
  }

  const putNewUser = (user: NewUser): UserRecord => {
    checkNewUser(live, user.address)
    const now = Date.now()
    const record = withLimits<UserRecord>({address: user.address, passwordHash: user.passwordHash, quota: user.quota ?? 0, maxMessages: user.maxMessages, disabled: false, createdAt: now, updatedAt: now})
    store.users.putSync(record.address, record)
    createDefaultFolders(store, record.address)
    return record
  }

  const requireUser = (address: string): UserRecord => {
    const user = store.users.get(address)
    if (!user) throw new MailboxError('not-found', `no user ${address}`)
    return user
  }

  const updateUser = (address: string, change: UserChange): UserRecord => {
    const old = requireUser(address)
    const record = withLimits({...old, ...change, updatedAt: Date.now()})
    store.users.putSync(address, record)
    // whoever logged in with the old password gets no standing from it: its addresses are strangers again
    if (change.passwordHash !== undefined && change.passwordHash !== old.passwordHash) forgetLoginsInTxn(store, address)
    return record
  }

  /** a user, their folders and mail, their familiar addresses, Sieve scripts and vacation replies, and their place in alias targets */
  const deleteUser = (address: string): void => {
    removeAllFolders(store, address)
    store.users.removeSync(address)
    forgetLoginsInTxn(store, address)
    removeUserSieveInTxn(store, address)
    dropAliasTarget(store, address)
  }

  const putAlias = (alias: string, targets: string[]): AliasRecord => {
    const record: AliasRecord = {alias, targets, createdAt: Date.now()}
    checkNewAlias(live, record)
    store.aliases.putSync(alias, record)
    return record
  }

  return {
    lookups: async () => live,
    isLocalDomain: async (domain) => live.isLocalDomain(domain),
    domains: async () => [...store.domains.getRange().map(({value}) => value)],
    user: async (address) => store.users.get(address),
    users: async () => [...store.users.getRange().map(({value}) => value)],
    alias: async (key) => store.aliases.get(key),
    aliases: async () => [...store.aliases.getRange().map(({value}) => value)],
    resolve: async (address) => resolveRecipient(live, address),
    counts: async () => ({domains: store.domains.getKeysCount(), users: store.users.getKeysCount(), aliases: store.aliases.getKeysCount()}),

    addDomain: (domain) => inTxn(() => putNewDomain(domain)),
    removeDomain: (name, options = {}) =>
      inTxn(() => {
        if (!store.domains.get(name)) throw new MailboxError('not-found', `no domain ${name}`)
        const users = [...store.users.getKeys()].filter(inDomain(name))
        const aliases = [...store.aliases.getKeys()].filter(inDomain(name))
        if ((users.length || aliases.length) && !options.force) {
          throw new MailboxError('conflict', `domain ${name} still has ${users.length} user(s) and ${aliases.length} alias(es); use --force to remove them too`)
        }
        for (const user of users) deleteUser(user)
        for (const alias of aliases) store.aliases.removeSync(alias)
        store.domains.removeSync(name)
        removeDomainDkimKeysInTxn(store, name)
        return {users, aliases}
      }),
    addUser: (user) => inTxn(() => putNewUser(user)),
    updateUser: (address, change) => inTxn(() => updateUser(address, change)),
    removeUser: (address, options = {}) =>
      inTxn(() => {
        const record = requireUser(address)
        const usage = usageOfFolders(listFolders(store, address))
        if (usage.messages > 0 && !options.force) {
          throw new MailboxError('conflict', `user ${address} has ${usage.messages} message(s); use --force to delete them too`)
        }
        deleteUser(address)
        return {record, usage}
      }),
    addAlias: (alias, targets) => inTxn(() => putAlias(alias, targets)),
    removeAlias: (alias) =>
      inTxn(() => {
        const record = store.aliases.get(alias)
        if (!record) throw new MailboxError('not-found', `no alias ${alias}`)
        store.aliases.removeSync(alias)
        dropAliasTarget(store, alias)
        return record
      }),
    importUsers: (plan) => inTxn(() => writeImport(store, plan(live))),
    initialize: (init) =>
      inTxn(() => {
        const domainCreated = !live.isLocalDomain(init.domain)
        if (domainCreated) putNewDomain(init.newDomain())
        const {postmaster, passwordHash} = init
        if (store.aliases.get(postmaster)) throw new MailboxError('conflict', `${postmaster} is an alias here: remove it (mailbox alias remove ${postmaster}) so init can make the postmaster user`)
        const postmasterCreated = !store.users.get(postmaster)
        if (postmasterCreated) putNewUser({address: postmaster, passwordHash})
        else updateUser(postmaster, {passwordHash})
        const aliasesAdded: string[] = []
        const aliasesKept: string[] = []
        for (const alias of init.aliases) {
          if (store.users.get(alias) || store.aliases.get(alias)) aliasesKept.push(alias)
          else aliasesAdded.push(putAlias(alias, [postmaster]).alias)
        }
        return {domainCreated, postmasterCreated, aliasesAdded, aliasesKept}
      }),
  }
}

/** Writes checked import lines: updates keep what a line does not give; new users get the default folders. */
function writeImport(store: Store, users: ImportedUser[]): ImportedUser[] {
  const now = Date.now()
  for (const user of users) {
    if (user.exists) {
      const old = store.users.get(user.address)!
      const change: UserChange = {
        ...(user.passwordHash !== undefined ? {passwordHash: user.passwordHash} : {}),
        ...(user.quota !== undefined ? {quota: user.quota} : {}),
        ...(user.maxMessages !== undefined ? {maxMessages: user.maxMessages} : {}),
        ...(user.disabled !== undefined ? {disabled: user.disabled} : {}),
      }
      store.users.putSync(user.address, withLimits({...old, ...change, updatedAt: now}))
      // as `user passwd`: a new password takes away the standing the old one earned
      if (user.passwordHash !== undefined && user.passwordHash !== old.passwordHash) forgetLoginsInTxn(store, user.address)
    } else {
      const record = withLimits<UserRecord>({address: user.address, passwordHash: user.passwordHash ?? '', quota: user.quota ?? 0, maxMessages: user.maxMessages, disabled: user.disabled ?? false, createdAt: now, updatedAt: now})
      store.users.putSync(user.address, record)
      createDefaultFolders(store, user.address)
    }
    for (const alias of user.aliases) store.aliases.putSync(alias, {alias, targets: [user.address], createdAt: now} satisfies AliasRecord)
  }
  return users
}

/**
 * Removes a deleted address (user or alias) from every alias's targets; an alias left with no
 * targets goes too, and so on up. Otherwise a catch-all pointing at it would resolve back to
 * itself: an alias loop for every unknown address of the domain. Inside `store.transact`.
 */
function dropAliasTarget(store: Store, address: string): void {
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

export function lmdbDkim(store: Store): DkimStore {
  return {
    keys: async (domain) => dkimKeysOf(store, domain),
    activeKeys: async (domain) => activeDkimKeys(store, domain),
    rotate: async (domain, fresh, at) =>
      directoryWrite(store, () => {
        requireLocalDomain(lmdbLookups(store), domain)
        const retired = retireDkimKeysInTxn(store, domain, at)
        putDkimKeysInTxn(store, fresh)
        return retired
      }),
    remove: async (domain, selector) =>
      directoryWrite(store, () => {
        const key = dkimKeysOf(store, domain).find((k) => k.selector === selector)
        if (!key) throw new MailboxError('not-found', `no DKIM selector ${selector} for ${domain} (see mailbox dkim list ${domain})`)
        if (key.state === 'active') {
          throw new MailboxError('conflict', `DKIM selector ${selector} is active: it signs ${domain}'s mail; rotate first (mailbox dkim rotate ${domain}), then remove the retired selector`)
        }
        return removeDkimKeyInTxn(store, domain, selector)
      }),
  }
}

/**
 * For the mail operations' own transactions (./lmdb-messages.ts, ./lmdb-delivery.ts), which read
 * or make a user inside their commit: a user's record read inside a write transaction (APPEND's
 * and COPY's quota check).
 */
export const userInTxn = (store: Store, address: string): UserRecord | undefined => store.users.get(address)

/** Capture mode's user for an address that received mail, inside the delivery's transaction; false if it was there. */
export function putCaptureUserInTxn(store: Store, address: string): boolean {
  if (store.users.get(address)) return false
  const now = Date.now()
  store.users.putSync(address, {address, passwordHash: '', quota: 0, disabled: false, capture: true, createdAt: now, updatedAt: now})
  return true
}
