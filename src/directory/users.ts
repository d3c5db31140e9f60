/**
 * Users: an address in a local domain, an argon2id password hash, a quota (bytes), a message
 * limit and an enabled flag.
 * A new user gets the default folders (INBOX, Sent, Drafts, Trash, Junk, Archive).
 * Passwords are hashed here, before the store is asked: the store takes hashes only.
 */
import {normalizeAddress} from '../address.js'
import {hashPassword} from '../auth/password.js'
import {MailboxError} from '../errors.js'
import type {Usage} from '../mailstore/folder-rules.js'
import type {MailboxStore, UserChange} from '../store/backend.js'
import type {UserRecord} from '../store/records.js'
import {checkNewUser as checkNewUserIn} from './rules.js'

/** What commands show of a user: never the hash. */
export interface UserView {
  address: string
  quota: number
  /** messages all the user's folders may hold together; 0: unlimited */
  maxMessages: number
  used: number
  messages: number
  folders: number
  disabled: boolean
  createdAt: number
  updatedAt: number
}

/** with the usage of the user's folders (`mail.usage`, or `usage` when the caller has it) */
async function view(store: MailboxStore, user: UserRecord, usage?: Usage): Promise<UserView> {
  usage ??= await store.mail.usage(user.address)
  return {
    address: user.address,
    quota: user.quota,
    maxMessages: user.maxMessages ?? 0,
    used: usage.size,
    messages: usage.messages,
    folders: usage.folders,
    disabled: user.disabled,
    createdAt: user.createdAt,
    updatedAt: user.updatedAt,
  }
}

export const findUser = (store: MailboxStore, address: string): Promise<UserRecord | undefined> => store.directory.user(address)

async function requireUser(store: MailboxStore, input: string): Promise<UserRecord> {
  const address = normalizeAddress(input)
  const user = await store.directory.user(address)
  if (!user) throw new MailboxError('not-found', `no user ${address}`)
  return user
}

/** Throws unless `input` could be added as a new user now; returns its canonical address. */
export async function checkNewUser(store: MailboxStore, input: string): Promise<string> {
  const address = normalizeAddress(input)
  checkNewUserIn(await store.directory.lookups(), address)
  return address
}

export async function addUser(store: MailboxStore, input: {address: string; password: string; quota?: number; maxMessages?: number}): Promise<UserView> {
  // Check cheaply before spending ~170 ms on the hash; the store checks again under its write lock.
  const address = await checkNewUser(store, input.address)
  const passwordHash = await hashPassword(input.password)
  return view(store, await store.directory.addUser({address, passwordHash, quota: input.quota, maxMessages: input.maxMessages}))
}

export async function showUser(store: MailboxStore, input: string): Promise<UserView> {
  return view(store, await requireUser(store, input))
}

export async function listUsers(store: MailboxStore): Promise<UserView[]> {
  const users = await store.directory.users()
  const usage = await store.mail.usageByUser()
  return Promise.all(users.map((user) => view(store, user, usage.get(user.address) ?? {messages: 0, size: 0, folders: 0})))
}

async function update(store: MailboxStore, input: string, change: UserChange): Promise<UserView> {
  return view(store, await store.directory.updateUser(normalizeAddress(input), change))
}

export async function setPassword(store: MailboxStore, input: string, password: string): Promise<UserView> {
  await requireUser(store, input)
  return setPasswordHash(store, input, await hashPassword(password))
}

/** Replaces a user's password hash; whoever logged in with the old one gets no standing from it. */
export const setPasswordHash = (store: MailboxStore, input: string, passwordHash: string) => update(store, input, {passwordHash})
export const setDisabled = (store: MailboxStore, input: string, disabled: boolean) => update(store, input, {disabled})
export const setQuota = (store: MailboxStore, input: string, quota: number) => update(store, input, {quota})

/** A message limit as `user add --max-messages` and `user import` take it: a whole number, 0 (or unlimited) for none. */
export function parseMessageLimit(value: number | string): number {
  const count = typeof value === 'number' ? value : /^\s*(unlimited|none)\s*$/i.test(value) ? 0 : /^\s*\d+\s*$/.test(value) ? Number(value) : NaN
  if (!Number.isSafeInteger(count) || count < 0) throw new MailboxError('invalid', `invalid message limit: ${JSON.stringify(value)} (a whole number of messages, 0 for unlimited)`)
  return count
}

export async function removeUser(store: MailboxStore, input: string, options: {force?: boolean} = {}): Promise<UserView> {
  const {record, usage} = await store.directory.removeUser(normalizeAddress(input), options)
  return view(store, record, usage)
}
