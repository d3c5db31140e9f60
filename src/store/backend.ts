/**
 * The store as operations (see docs/store-interface.md): what the actors, commands and the
 * dashboard may ask of it, with no LMDB (or PostgreSQL) in sight. Each backend implements these.
 *
 * Contract of every write below: one call is one transaction; it resolves only after that
 * transaction committed durably, and rejects with a MailboxError having written nothing. Each
 * checks its own rules inside its transaction, so a concurrent writer (another process, another
 * node) cannot slip in between check and write; callers may check earlier too, to fail before
 * slow work (argon2id, RSA keys), which the store never does. Reads may be answered from memory:
 * the LMDB backend reads synchronously and returns a resolved promise.
 */
import type {FamiliarPolicy} from './familiar-addresses.js'
import type {AliasRecord, CaptureRuleRecord, DkimKeyRecord, DomainRecord, UserRecord} from './records.js'

/**
 * The directory as the pure rules (alias resolution, import checks) read it: synchronously. The
 * LMDB backend answers from live reads (inside its write transaction when a write checks); a
 * backend with round trips answers from a snapshot of the directory it holds.
 */
export interface DirectoryLookups {
  isLocalDomain(domain: string): boolean
  user(address: string): UserRecord | undefined
  /** an alias by its key: `user@domain`, or `@domain` for a catch-all */
  alias(key: string): AliasRecord | undefined
}

/** Where mail to an address goes. */
export interface Resolution {
  /** local users that receive the message */
  local: string[]
  /** addresses in other domains that it must be relayed to */
  remote: string[]
}

/** A new domain: its record and DKIM keys, made before any transaction (RSA takes a while). */
export interface NewDomain {
  record: DomainRecord
  keys: DkimKeyRecord[]
}

export interface NewUser {
  /** canonical (normalized) */
  address: string
  /** argon2id PHC string; '' for a user who cannot log in yet */
  passwordHash: string
  quota?: number
}

/** The fields a user update may change; a new hash makes the user's login sources strangers again. */
export type UserChange = Partial<Pick<UserRecord, 'passwordHash' | 'quota' | 'disabled'>>

/** A user as removed: the record and what their folders held. */
export interface RemovedUser {
  record: UserRecord
  usage: {messages: number; size: number; folders: number}
}

/** One user of a `user import`, checked and ready to write. */
export interface ImportedUser {
  address: string
  /** updated (true) or added */
  exists: boolean
  /** absent: added without a password, or (updated) the password kept */
  passwordHash?: string
  quota?: number
  disabled?: boolean
  /** aliases to create, each forwarding to this user alone */
  aliases: string[]
}

/** `mailbox init`'s directory, all in one transaction. */
export interface DirectoryInit {
  domain: string
  /** the domain to create when it is not there (called inside the transaction only then, perhaps again on a retry) */
  newDomain: () => NewDomain
  postmaster: string
  passwordHash: string
  /** role addresses to alias to the postmaster, unless one names a user or an alias already */
  aliases: string[]
}

export interface DirectoryInitResult {
  /** false: the domain was there, its DKIM keys kept */
  domainCreated: boolean
  /** false: postmaster was there and got the new password */
  postmasterCreated: boolean
  aliasesAdded: string[]
  /** role addresses that already named a user or an alias: left as they were */
  aliasesKept: string[]
}

/**
 * Domains, users and aliases. Addresses and names given to it are canonical (normalized); lists
 * come in key order (address, alias key, domain name).
 */
export interface DirectoryStore {
  /** a read view for checks made before a write (which checks again) */
  lookups(): Promise<DirectoryLookups>
  isLocalDomain(domain: string): Promise<boolean>
  domains(): Promise<DomainRecord[]>
  user(address: string): Promise<UserRecord | undefined>
  users(): Promise<UserRecord[]>
  alias(key: string): Promise<AliasRecord | undefined>
  aliases(): Promise<AliasRecord[]>
  /** final recipients of an address, or undefined when it names no one here; rejects on an alias loop */
  resolve(address: string): Promise<Resolution | undefined>
  counts(): Promise<{domains: number; users: number; aliases: number}>

  /** adds a domain with its DKIM keys; `exists` if it is there */
  addDomain(domain: NewDomain): Promise<DomainRecord>
  /** removes a domain, its DKIM keys and (with force; else `conflict`) its users with their mail, and its aliases */
  removeDomain(name: string, options?: {force?: boolean}): Promise<{users: string[]; aliases: string[]}>
  /** adds a user with the default folders; the domain must be local and the address free */
  addUser(user: NewUser): Promise<UserRecord>
  updateUser(address: string, change: UserChange): Promise<UserRecord>
  /** removes a user, their folders and mail, and their place in alias targets; `conflict` if they have mail, unless force */
  removeUser(address: string, options?: {force?: boolean}): Promise<RemovedUser>
  /** adds an alias; refuses a loop, a target that names no one, a user's address */
  addAlias(alias: string, targets: string[]): Promise<AliasRecord>
  /** removes an alias and drops it from other aliases' targets */
  removeAlias(alias: string): Promise<AliasRecord>
  /**
   * `user import`, all or nothing: `plan` checks the file against the directory as it is inside
   * the transaction and returns the users to write (or throws, and nothing is written). It only
   * reads: a backend that retries a transaction (a serialization failure) calls it again.
   */
  importUsers(plan: (lookups: DirectoryLookups) => ImportedUser[]): Promise<ImportedUser[]>
  initialize(init: DirectoryInit): Promise<DirectoryInitResult>
}

/** DKIM signing keys of the local domains. */
export interface DkimStore {
  /** every key of a domain, active and retired, oldest first */
  keys(domain: string): Promise<DkimKeyRecord[]>
  /** the keys that sign a domain's outgoing mail */
  activeKeys(domain: string): Promise<DkimKeyRecord[]>
  /** `fresh` become the active keys of a local domain; the active ones are retired (returned) in the same commit */
  rotate(domain: string, fresh: DkimKeyRecord[], at: number): Promise<DkimKeyRecord[]>
  /** removes a retired key; an active one is refused (`conflict`) */
  remove(domain: string, selector: string): Promise<DkimKeyRecord>
}

/**
 * The auth records a login reads and writes: each user's familiar addresses (see
 * ./familiar-addresses.ts). Users and networks are as the auth actor keys them (canonical
 * address; `networkOf` of the source). Times are the caller's clock, epoch ms.
 */
export interface AuthStore {
  /** when `user` last logged in from `network`, if within `maxAgeMs` of `now`: asked on every login */
  lastLoginFrom(user: string, network: string, now: number, maxAgeMs: number): Promise<number | undefined>
  /**
   * Records a success (resolves after the commit), unless the stored one is recent enough to
   * stand for it (`worthRecording`); drops the user's expired records and those past
   * `policy.maxPerUser` (the least recent) in the same commit.
   */
  rememberLogin(user: string, network: string, now: number, policy: FamiliarPolicy): Promise<void>
  /** forgets every familiar address of a user (the directory does this itself when it removes a user or changes a password) */
  forgetLogins(user: string): Promise<void>
}

/** A capture rule to add: the store gives it its id and creation time. */
export interface NewCaptureRule {
  /** recipient pattern: case-insensitive substring or /regex/flags (../pattern.ts) */
  to: string
  /** the SMTP reply, 4xx or 5xx, one line */
  reply: string
  /** default 'rcpt' */
  stage?: 'rcpt' | 'data'
  /** fires this many times, then is removed; absent: always */
  remaining?: number
}

/**
 * Capture mode's fault-injection rules (../capture/rules.ts has their checks and matching). Lists
 * come oldest first; `takeFault` is on the path of every RCPT and DATA in capture mode.
 */
export interface CaptureStore {
  rules(): Promise<CaptureRuleRecord[]>
  /** checks the rule (`invalid`: pattern, reply, count) and adds it */
  addRule(rule: NewCaptureRule): Promise<CaptureRuleRecord>
  /** `not-found` when there is no such rule */
  removeRule(id: string): Promise<CaptureRuleRecord>
  /** removes every rule; how many there were */
  clearRules(): Promise<number>
  /**
   * The first rule (oldest first) of `stage` matching any of `recipients`, as it was before this
   * firing. A counted rule is consumed in the same transaction (its `remaining` drops, the last
   * firing removes it), so a rule with remaining N fires exactly N times, whoever asks.
   */
  takeFault(stage: 'rcpt' | 'data', recipients: string[]): Promise<CaptureRuleRecord | undefined>
}
