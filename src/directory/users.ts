/**
 * Users: an address in a local domain, an argon2id password hash, a quota and an enabled flag.
 * A new user gets the default folders (INBOX, Sent, Drafts, Trash, Junk, Archive).
 */
import {domainOf, normalizeAddress} from '../address.js'
import {hashPassword} from '../auth/password.js'
import {MailboxError} from '../errors.js'
import {createDefaultFolders, listFolders, removeAllFolders, usageByUser, usageOfFolders, type Usage} from '../mailstore/folders.js'
import {forgetLogins} from '../store/familiar-addresses.js'
import type {UserRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {dropAliasTarget} from './aliases.js'
import {requireDomain} from './domains.js'

/** What commands show of a user: never the hash. */
export interface UserView {
  address: string
  quota: number
  used: number
  messages: number
  folders: number
  disabled: boolean
  createdAt: number
  updatedAt: number
}

function view(store: Store, user: UserRecord, usage: Usage = usageOfFolders(listFolders(store, user.address))): UserView {
  return {
    address: user.address,
    quota: user.quota,
    used: usage.size,
    messages: usage.messages,
    folders: usage.folders,
    disabled: user.disabled,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  }
}

export function findUser(store: Store, address: string): UserRecord | undefined {
  return store.users.get(address)
}

function requireUser(store: Store, input: string): UserRecord {
  const address = normalizeAddress(input)
  const user = store.users.get(address)
  if (!user) throw new MailboxError('not-found', `no user ${address}`)
  return user
}

/** Throws unless `input` could be added as a new user now; returns its canonical address. */
export function checkNewUser(store: Store, input: string): string {
  const address = normalizeAddress(input)
  requireDomain(store, domainOf(address))
  if (store.users.get(address)) throw new MailboxError('exists', `user ${address} already exists`)
  if (store.aliases.get(address)) throw new MailboxError('exists', `${address} is an alias; remove the alias first`)
  return address
}

export async function addUser(store: Store, input: {address: string; password: string; quota?: number}): Promise<UserView> {
  // Check cheaply before spending ~170 ms on the hash, then again under the write lock.
  checkNewUser(store, input.address)
  const passwordHash = await hashPassword(input.password)
  return store.transact(() => view(store, putNewUserInTxn(store, {address: input.address, passwordHash, quota: input.quota})))
}

/** Adds a user with its default folders inside `store.transact`, checking it is new there. */
export function putNewUserInTxn(store: Store, input: {address: string; passwordHash: string; quota?: number}): UserRecord {
  const address = checkNewUser(store, input.address)
  const now = Date.now()
  const record: UserRecord = {address, passwordHash: input.passwordHash, quota: input.quota ?? 0, disabled: false, createdAt: now, updatedAt: now}
  store.users.putSync(address, record)
  createDefaultFolders(store, address)
  return record
}

export function showUser(store: Store, input: string): UserView {
  return view(store, requireUser(store, input))
}

export function listUsers(store: Store): UserView[] {
  const usage = usageByUser(store)
  return [...store.users.getRange().map(({value}) => view(store, value, usage.get(value.address) ?? {messages: 0, size: 0, folders: 0}))]
}

function update(store: Store, input: string, change: Partial<UserRecord>, also?: (address: string) => void): UserView {
  const address = normalizeAddress(input)
  return store.transact(() => {
    const user = requireUser(store, address)
    const record = {...user, ...change, updatedAt: Date.now()}
    store.users.putSync(address, record)
    also?.(address)
    return view(store, record)
  })
}

export async function setPassword(store: Store, input: string, password: string): Promise<UserView> {
  requireUser(store, input)
  return setPasswordHash(store, input, await hashPassword(password))
}

/** Replaces a user's password hash (nests in a caller's transaction). */
export function setPasswordHash(store: Store, input: string, passwordHash: string): UserView {
  // whoever logged in with the old password gets no standing from it: its addresses are strangers again
  return update(store, input, {passwordHash}, (address) => forgetLogins(store, address))
}

export const setDisabled = (store: Store, input: string, disabled: boolean) => update(store, input, {disabled})
export const setQuota = (store: Store, input: string, quota: number) => update(store, input, {quota})

/** Deletes a user, their folders and messages, and their place in alias targets; inside `store.transact`. */
export function deleteUserRecords(store: Store, address: string): void {
  removeAllFolders(store, address)
  store.users.removeSync(address)
  forgetLogins(store, address)
  dropAliasTarget(store, address)
}

export function removeUser(store: Store, input: string, options: {force?: boolean} = {}): UserView {
  const address = normalizeAddress(input)
  return store.transact(() => {
    const user = view(store, requireUser(store, address))
    if (user.messages > 0 && !options.force) {
      throw new MailboxError('conflict', `user ${address} has ${user.messages} message(s); use --force to delete them too`)
    }
    deleteUserRecords(store, address)
    return user
  })
}
