/**
 * `user import`: many users (and the aliases that forward to them) added in one transaction.
 *
 * All or nothing, in three steps:
 *  1. check every line against the file and the store (address, local domain, no duplicate in
 *     the file, not an existing user unless `update`, not an alias, password or argon2id hash,
 *     quota, message limit, aliases free) and collect every problem: any problem refuses the
 *     whole file;
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
import {parseSize} from '../size.js'
import type {DirectoryLookups, MailboxStore} from '../store/backend.js'
import type {AliasRecord} from '../store/records.js'
import {fieldName, type LineProblem, type ParsedUserFile, type UserEntry, type UserField} from './user-file.js'
import {parseMessageLimit} from './users.js'

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
  maxMessages?: number
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

export async function importUsers(store: MailboxStore, file: ParsedUserFile, what: string, options: ImportOptions = {}): Promise<ImportSummary> {
  const update = options.update ?? false
  // cheap checks first, so that a bad file costs no hashing; the file's own problems and the
  // lines' are reported together
  const checked = plan(await store.directory.lookups(), file, update)
  const problems = sorted([...file.problems, ...checked.problems])
  if (problems.length) throw new ImportRefused(problems, what)
  if (checked.users.length === 0) throw new MailboxError('invalid', `no users in ${what}`)

  const toHash = checked.users.filter((u) => u.password !== undefined)
  const hashes = await hashPasswords(
    toHash.map((u) => u.password!),
    (done) => options.onHashed?.(done, toHash.length),
  )
  const hashOf = new Map(toHash.map((u, i) => [u.line, hashes[i]!]))

  let planned: PlannedUser[] = []
  const written = await store.directory.importUsers((lookups) => {
    // again under the write lock: the store may have changed while we hashed
    const again = plan(lookups, file, update)
    if (again.problems.length) throw new ImportRefused(sorted(again.problems), what)
    planned = again.users
    return again.users.map(({line, address, exists, passwordHash, quota, maxMessages, disabled, aliases}) => ({address, exists, passwordHash: hashOf.get(line) ?? passwordHash, quota, maxMessages, disabled, aliases}))
  })
  return {
    format: file.format,
    users: written.length,
    added: written.filter((u) => !u.exists).length,
    updated: written.filter((u) => u.exists).length,
    aliases: written.reduce((n, u) => n + u.aliases.length, 0),
    hashed: toHash.length,
    hashesGiven: planned.filter((u) => u.passwordHash).length,
    withoutPassword: written.filter((u) => !u.exists && u.passwordHash === undefined).map((u) => u.address),
  }
}

const sorted = (problems: LineProblem[]) => [...problems].sort((a, b) => a.line - b.line)

/** Checks every entry against the others and the directory; reads only. */
function plan(directory: DirectoryLookups, file: ParsedUserFile, update: boolean): {users: PlannedUser[]; problems: LineProblem[]} {
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
      else if (!directory.isLocalDomain(domainOf(address))) report('address', `unknown domain ${domainOf(address)} (add it first: mailbox domain add ${domainOf(address)})`)
      else if (directory.alias(address)) report('address', `${address} is an alias; remove the alias first`)
      else if (directory.user(address)) {
        exists = true
        if (!update) report('address', `user ${address} already exists (--update changes existing users)`)
      }
    }

    if (entry.password !== undefined && entry.passwordHash !== undefined) report('password', `give a password or a ${fieldName(file.format, 'passwordHash')}, not both`)
    else if (entry.password !== undefined) attempt('password', () => checkPasswordShape(entry.password!))
    else if (entry.passwordHash !== undefined) attempt('passwordHash', () => checkArgon2idHash(entry.passwordHash!))

    const quota = entry.quota === undefined ? undefined : attempt('quota', () => quotaOf(entry.quota!))
    const maxMessages = entry.maxMessages === undefined ? undefined : attempt('maxMessages', () => parseMessageLimit(entry.maxMessages!))

    const aliases: string[] = []
    for (const input of entry.aliases) {
      const alias = attempt('aliases', () => normalizeAliasKey(input))
      if (!alias) continue
      const first = claim(alias, entry.line)
      const existing = directory.alias(alias)
      if (first !== undefined) report('aliases', first === entry.line ? `${alias} is named twice on this line` : `${alias} is also on line ${first}`)
      else if (!directory.isLocalDomain(domainOf(alias))) report('aliases', `${alias}: unknown domain ${domainOf(alias)}`)
      else if (directory.user(alias)) report('aliases', `${alias} is a user; an alias cannot shadow it`)
      else if (existing && !(update && address && forwardsOnlyTo(existing, address))) report('aliases', `alias ${alias} already exists`)
      else if (!existing) aliases.push(alias)
    }

    if (address && problems.length === problemsBefore) {
      users.push({line: entry.line, address, exists, password: entry.password, passwordHash: entry.passwordHash, quota, maxMessages, disabled: entry.disabled, aliases})
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
