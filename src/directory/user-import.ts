/**
 * `user import`: many users (and the aliases that forward to them) added in one transaction.
 *
 * All or nothing, in three steps:
 *  1. check every line against the file and the store (address, local domain, no duplicate in
 *     the file, not an existing user unless `update`, not an alias, password or argon2id hash,
 *     quota, aliases free) and collect every problem: any problem refuses the whole file;
 *  2. hash the given passwords, in parallel (see hashPasswords): the long part, outside any lock;
 *  3. one write transaction checks everything again (another process may have added a user
 *     meanwhile) and writes every user, their default folders and their aliases, or nothing:
 *     LMDB commits the whole transaction or none of it, also when the process dies midway.
 *
 * A line without password and hash adds a user who cannot log in until `user passwd` (what
 * `user export` without hashes gives back); with `update`, it keeps the existing password.
 * Import never removes anything: with `update`, the fields a line gives replace the stored
 * ones, and its aliases are added to those the user already has.
 */
import {domainOf, normalizeAddress, normalizeAliasKey} from '../address.js'
import {checkArgon2idHash, checkPasswordShape, hashPasswords} from '../auth/password.js'
import {isMailboxError, MailboxError} from '../errors.js'
import {createDefaultFolders} from '../mailstore/folders.js'
import {parseSize} from '../size.js'
import {forgetLogins} from '../store/familiar-addresses.js'
import type {AliasRecord, UserRecord} from '../store/records.js'
import type {Store} from '../store/store.js'
import {isLocalDomain} from './domains.js'
import {fieldName, type LineProblem, type ParsedUserFile, type UserEntry, type UserField} from './user-file.js'

export interface ImportOptions {
  /** change users that exist already instead of refusing the line */
  update?: boolean
  /** called as passwords are hashed: `done` of `total` */
  onHashed?: (done: number, total: number) => void
}

export interface ImportSummary {
  format: ParsedUserFile['format']
  /** lines read (= users in the file) */
  users: number
  added: number
  updated: number
  /** aliases created */
  aliases: number
  /** passwords hashed here */
  hashed: number
  /** argon2id hashes taken as given */
  hashesGiven: number
  /** users added without any password (they cannot log in until `user passwd`) */
  withoutPassword: string[]
}

/** One checked line: canonical addresses, values ready to store. */
interface PlannedUser {
  line: number
  address: string
  exists: boolean
  password?: string
  passwordHash?: string
  quota?: number
  disabled?: boolean
  /** aliases to create (those already forwarding to this user alone are left out) */
  aliases: string[]
}

/** The refusal of a file with bad lines: one line of text per problem, then the verdict. */
export class ImportRefused extends MailboxError {
  constructor(
    readonly problems: LineProblem[],
    what: string,
  ) {
    const lines = problems.map((p) => `line ${p.line}: ${p.field ? `${p.field}: ` : ''}${p.message}`)
    const bad = new Set(problems.map((p) => p.line)).size
    super('invalid', [...lines, `${bad} bad line(s) in ${what}: nothing was imported`].join('\n'))
  }
}

export async function importUsers(store: Store, file: ParsedUserFile, what: string, options: ImportOptions = {}): Promise<ImportSummary> {
  // cheap checks first, so that a bad file costs no hashing; the file's own problems and the
  // lines' are reported together
  const checked = plan(store, file, options.update ?? false)
  const problems = sorted([...file.problems, ...checked.problems])
  if (problems.length) throw new ImportRefused(problems, what)
  if (checked.users.length === 0) throw new MailboxError('invalid', `no users in ${what}`)

  const toHash = checked.users.filter((u) => u.password !== undefined)
  const hashes = await hashPasswords(
    toHash.map((u) => u.password!),
    (done) => options.onHashed?.(done, toHash.length),
  )
  const hashOf = new Map(toHash.map((u, i) => [u.line, hashes[i]!]))

  return store.transact(() => {
    // again under the write lock: the store may have changed while we hashed
    const again = plan(store, file, options.update ?? false)
    if (again.problems.length) throw new ImportRefused(sorted(again.problems), what)
    const now = Date.now()
    const summary: ImportSummary = {format: file.format, users: again.users.length, added: 0, updated: 0, aliases: 0, hashed: toHash.length, hashesGiven: 0, withoutPassword: []}
    for (const user of again.users) {
      const passwordHash = hashOf.get(user.line) ?? user.passwordHash
      if (user.passwordHash) summary.hashesGiven++
      if (user.exists) {
        const old = store.users.get(user.address)!
        const change: Partial<UserRecord> = {
          ...(passwordHash !== undefined ? {passwordHash} : {}),
          ...(user.quota !== undefined ? {quota: user.quota} : {}),
          ...(user.disabled !== undefined ? {disabled: user.disabled} : {}),
        }
        store.users.putSync(user.address, {...old, ...change, updatedAt: now})
        // as `user passwd`: a new password takes away the standing the old one earned
        if (passwordHash !== undefined && passwordHash !== old.passwordHash) forgetLogins(store, user.address)
        summary.updated++
      } else {
        const record: UserRecord = {address: user.address, passwordHash: passwordHash ?? '', quota: user.quota ?? 0, disabled: user.disabled ?? false, createdAt: now, updatedAt: now}
        store.users.putSync(user.address, record)
        createDefaultFolders(store, user.address)
        if (passwordHash === undefined) summary.withoutPassword.push(user.address)
        summary.added++
      }
      for (const alias of user.aliases) {
        const record: AliasRecord = {alias, targets: [user.address], createdAt: now}
        store.aliases.putSync(alias, record)
        summary.aliases++
      }
    }
    return summary
  })
}

const sorted = (problems: LineProblem[]) => [...problems].sort((a, b) => a.line - b.line)

/** Checks every entry against the others and the store; reads only. */
function plan(store: Store, file: ParsedUserFile, update: boolean): {users: PlannedUser[]; problems: LineProblem[]} {
  const problems: LineProblem[] = []
  const users: PlannedUser[] = []
  /** canonical address → line of every user and alias the file names: a name may appear once */
  const named = new Map<string, number>()
  const claim = (name: string, line: number): number | undefined => {
    const first = named.get(name)
    if (first === undefined) named.set(name, line)
    return first
  }

  for (const entry of file.entries) {
    const problemsBefore = problems.length
    const report = (field: UserField | undefined, message: string) =>
      problems.push({line: entry.line, ...(field ? {field: fieldName(file.format, field)} : {}), message})
    const attempt = <T>(field: UserField, fn: () => T): T | undefined => {
      try {
        return fn()
      } catch (err) {
        if (!isMailboxError(err)) throw err
        report(field, err.message)
        return undefined
      }
    }

    const address = entry.address ? attempt('address', () => normalizeAddress(entry.address)) : (report('address', 'missing'), undefined)
    let exists = false
    if (address) {
      const first = claim(address, entry.line)
      if (first !== undefined) report('address', `${address} is also on line ${first}`)
      else if (!isLocalDomain(store, domainOf(address))) report('address', `unknown domain ${domainOf(address)} (add it first: mailbox domain add ${domainOf(address)})`)
      else if (store.aliases.get(address)) report('address', `${address} is an alias; remove the alias first`)
      else if (store.users.get(address)) {
        exists = true
        if (!update) report('address', `user ${address} already exists (--update changes existing users)`)
      }
    }

    if (entry.password !== undefined && entry.passwordHash !== undefined) report('password', `give a password or a ${fieldName(file.format, 'passwordHash')}, not both`)
    else if (entry.password !== undefined) attempt('password', () => checkPasswordShape(entry.password!))
    else if (entry.passwordHash !== undefined) attempt('passwordHash', () => checkArgon2idHash(entry.passwordHash!))

    const quota = entry.quota === undefined ? undefined : attempt('quota', () => quotaOf(entry.quota!))

    const aliases: string[] = []
    for (const input of entry.aliases) {
      const alias = attempt('aliases', () => normalizeAliasKey(input))
      if (!alias) continue
      const first = claim(alias, entry.line)
      const existing = store.aliases.get(alias)
      if (first !== undefined) report('aliases', first === entry.line ? `${alias} is named twice on this line` : `${alias} is also on line ${first}`)
      else if (!isLocalDomain(store, domainOf(alias))) report('aliases', `${alias}: unknown domain ${domainOf(alias)}`)
      else if (store.users.get(alias)) report('aliases', `${alias} is a user; an alias cannot shadow it`)
      else if (existing && !(update && address && forwardsOnlyTo(existing, address))) report('aliases', `alias ${alias} already exists`)
      else if (!existing) aliases.push(alias)
    }

    if (address && problems.length === problemsBefore) {
      users.push({line: entry.line, address, exists, password: entry.password, passwordHash: entry.passwordHash, quota, disabled: entry.disabled, aliases})
    }
  }
  return {users, problems}
}

const forwardsOnlyTo = (alias: AliasRecord, address: string) => alias.targets.length === 1 && alias.targets[0] === address

function quotaOf(value: number | string): number {
  if (typeof value === 'string') return parseSize(value)
  if (!Number.isSafeInteger(value) || value < 0) throw new MailboxError('invalid', `invalid size: ${value} (a whole number of bytes, 0 for unlimited)`)
  return value
}
