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
import type {CertificateStore} from '../certs/types.js'
import type {Analysis} from '../mailstore/analyze.js'
import type {FlagMode} from '../mailstore/flags.js'
import type {Usage} from '../mailstore/folder-rules.js'
import type {FamiliarPolicy} from './familiar-addresses.js'
import type {GreylistPolicy, GreylistStats, GreylistTriplet, GreylistVerdict} from './greylist-rules.js'
import type {
  AliasRecord,
  BlobInfoRecord,
  CaptureRuleRecord,
  DeliveryAttemptRecord,
  DkimKeyRecord,
  DomainRecord,
  MailboxRecord,
  MessageRecord,
  QueueEntry,
  QueueRecipient,
  QueueState,
  SpecialUse,
  UserRecord,
} from './records.js'

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
  /** 0 or absent: unlimited */
  maxMessages?: number
}

/** The fields a user update may change; a new hash makes the user's login sources strangers again. */
export type UserChange = Partial<Pick<UserRecord, 'passwordHash' | 'quota' | 'maxMessages' | 'disabled'>>

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
  /** 0: unlimited */
  maxMessages?: number
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
  /**
   * The login throttle's failure counts when they are shared by several nodes (PostgreSQL), so
   * a guess on node A counts on node B. Absent (LMDB: one process serves a store): the throttle
   * keeps them in memory (../auth/throttle.ts), as fast as a Map.
   */
  readonly failures?: LoginFailureStore
}

/** The throttle's limits, as the shared counts need them (a key keeps at most its scope's limit). */
export interface FailureLimits {
  windowMs: number
  maxFailuresPerAddress: number
  maxFailuresPerUserAddress: number
  maxFailuresPerUser: number
}

/** The three counts a login attempt is judged by (see ../auth/throttle.ts). */
export interface FailureCounts {
  /** failures from the source (network), in the window */
  address: number
  /** failures for this user from this source */
  userAddress: number
  /** failures for this user from sources unfamiliar for it */
  user: number
}

/** The throttle as `status` shows it, over every node. */
export interface FailureStats {
  /** failures in the window, over all sources */
  failures: number
  /** sources with failures in the window */
  addresses: number
  /** sources at maxFailuresPerAddress */
  blockedAddresses: number
  /** (user, source) pairs at maxFailuresPerUserAddress */
  blockedPairs: number
  /** users at maxFailuresPerUser (refusing unfamiliar sources) */
  lockedUsers: number
  /** the sources with the most failures, most first */
  top: {source: string; failures: number}[]
}

/**
 * Failed logins counted where every node sees them. Sources are networks (`networkOf`); users as
 * the throttle keys them. Times are the database's clock.
 */
export interface LoginFailureStore {
  /** counts a failed login (`familiar`: the source is familiar for the user, whose own count is left alone) */
  record(source: string, user: string, familiar: boolean, limits: FailureLimits): Promise<void>
  counts(source: string, user: string, windowMs: number): Promise<FailureCounts>
  /** a right password: the user's own failures from the source no longer count (others' do) */
  forgive(source: string, user: string): Promise<void>
  stats(limits: FailureLimits, top: number): Promise<FailureStats>
  /** drops expired keys and the least recently failed past the bound; how many went */
  prune(windowMs: number): Promise<number>
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

/**
 * Greylisting's triplets (./greylist-rules.ts has the records and the rules). Times are the
 * caller's clock, epoch ms; the policy is passed in, so a reload applies at the next call.
 */
export interface GreylistStore {
  /**
   * One sighting, atomically (read, decide, write in one transaction, so two nodes seeing the
   * same triplet at once count once each and cannot both start it over): records a first
   * sighting or a retry and answers pass or wait. A null sender (`sender` '') from a network
   * that passed within `passTtlMs` passes unrecorded; a new triplet past `maxEntries` too.
   */
  check(triplet: GreylistTriplet, now: number, policy: GreylistPolicy): Promise<GreylistVerdict>
  /** removes expired entries and network passes, at most `limit` per commit; how many went */
  purge(now: number, policy: GreylistPolicy, limit?: number): Promise<number>
  stats(): Promise<GreylistStats>
}

/** a user's Sieve script as listed (RFC 5804 LISTSCRIPTS): `size` in UTF-8 bytes, `updatedAt` epoch ms */
export interface SieveScriptInfo {
  name: string
  active: boolean
  size: number
  updatedAt: number
}

export interface SieveScript {
  name: string
  content: string
  active: boolean
}

/** the limits a `put` checks (config `sieve.maxScripts`, `sieve.maxScriptBytes`) */
export interface SieveQuota {
  maxScripts: number
  maxScriptBytes: number
}

/**
 * Users' Sieve scripts (RFC 5228; managed as RFC 5804 describes), at most one active per user,
 * and the vacation replies sent (RFC 5230 §4.2: one per sender per period). Names are compared
 * exactly (byte order); ./sieve-rules.ts has the name and quota rules both backends apply.
 * Errors are MailboxError: `invalid` (a bad name), `quota`, `not-found`, `exists`, `conflict`.
 */
export interface SieveStore {
  /** a user's scripts, by name (byte order) */
  list(user: string): Promise<SieveScriptInfo[]>
  get(user: string, name: string): Promise<SieveScript | undefined>
  /** the one active script, or undefined: the delivery path reads this for every local recipient (cheap) */
  active(user: string): Promise<SieveScript | undefined>
  /**
   * Creates or replaces the text, keeping its active state. `invalid`: bad name (empty, > 128
   * chars, control chars, '/'); `quota`: one more script than maxScripts, or content over
   * maxScriptBytes; `not-found`: no such user. The caller has validated the text with parseSieve.
   */
  put(user: string, name: string, content: string, quota: SieveQuota): Promise<SieveScriptInfo>
  /** makes `name` the only active script; `null` deactivates all. `not-found` when no such script */
  activate(user: string, name: string | null): Promise<void>
  /** `not-found`; `conflict` when it is the active one (RFC 5804 DELETESCRIPT answers NO (ACTIVE)) */
  remove(user: string, name: string): Promise<void>
  /** keeps the active state; `not-found` (from), `exists` (to is taken) */
  rename(user: string, from: string, to: string): Promise<void>
  /**
   * RFC 5230 "one reply per sender per period", durably and atomically (two nodes or two
   * deliveries at once: exactly one gets true): true when no reply for (user, hash) is recorded
   * that is still within its period; then records one until now + periodMs.
   */
  claimVacationReply(user: string, hash: string, now: number, periodMs: number): Promise<boolean>
  /** removes vacation records past their period, at most `limit` per commit; how many went */
  purgeVacationReplies(now: number, limit?: number): Promise<number>
}

/**
 * Values the whole installation shares, kept in the store so every process and node agrees
 * (LMDB: the `settings` database; PostgreSQL: the `settings` table). Copied by `store copy` and
 * kept by backups: an SRS address made before a move still reverses after it.
 */
export interface SettingsStore {
  /**
   * The secret named `name` (32 random bytes), made at its first use in one transaction: two
   * processes or nodes asking at once for a name not yet there get the same bytes. `srs` signs SRS
   * addresses (../srs/). A store opened read-only that lacks it: `unavailable`.
   */
  secret(name: string): Promise<Buffer>
}

/**
 * What changed in the store, reported after the commit by whichever node or backend made it (see
 * docs/store-interface.md, "Change notification for several nodes"). A listener that caches store
 * data drops or refreshes it; `resync` means changes may have been missed (PostgreSQL: the listen
 * connection was lost and re-opened, or one transaction touched too many folders to list): reload.
 */
export type StoreChange =
  | {kind: 'mailbox'; user: string; mailboxId: number; highestModseq: number}
  /** users, aliases, domains or DKIM keys changed */
  | {kind: 'directory'; version?: number}
  /** capture rules changed */
  | {kind: 'capture'}
  /** a user's Sieve scripts changed (put, activate, remove, rename) */
  | {kind: 'sieve'; user: string}
  /** the certificate kept under `name` was put or removed (`store.certs`): TLS listeners reload it */
  | {kind: 'certificate'; name: string}
  /** a queue entry is due at `dueAt` (epoch ms): wake the foreman */
  | {kind: 'queue'; dueAt: number}
  | {kind: 'resync'}

/** `store.changes`: listeners hear every change committed from now on; `on` returns the unsubscribe. */
export interface ChangeFeed {
  on(listener: (change: StoreChange) => void): () => void
}

/**
 * The store as every backend offers it (LMDB in a data dir, PostgreSQL at a URL): what commands,
 * actors and the dashboard may use without knowing which runs (./open.ts opens either).
 */
export interface MailboxStore {
  readonly kind: 'lmdb' | 'postgres'
  /** where it is, as logs and errors may show it: the LMDB file, or the URL without its password */
  readonly path: string
  readonly readOnly: boolean
  readonly directory: DirectoryStore
  readonly dkim: DkimStore
  readonly auth: AuthStore
  readonly capture: CaptureStore
  readonly mail: MailStore
  readonly queue: QueueStore
  readonly learn: LearnStore
  readonly greylist: GreylistStore
  readonly sieve: SieveStore
  readonly settings: SettingsStore
  /** certificates and ACME accounts (../certs/types.ts; LMDB ./lmdb-certs.ts, PostgreSQL ./pg/certs.ts) */
  readonly certs: CertificateStore
  readonly changes: ChangeFeed
  /** what the store takes up, for monitoring (`serve`'s metrics): cheap enough for every scrape */
  stats(): Promise<StoreStats>
  /**
   * Calls `observer` after each commit of the server's write paths (LMDB's group commits,
   * PostgreSQL's transactions) with its latency; returns the removal. Without an observer the
   * write paths measure nothing.
   */
  observeCommits(observer: CommitObserver): () => void
  close(): Promise<void>
}

/**
 * `seconds`: from the write's start to its commit's end (LMDB: the wait for the batch included);
 * `failed`: the commit itself failed (disk full, an I/O error, a lost connection at COMMIT). A
 * write refused by its own callback or a rolled back transaction is no commit and is not reported.
 */
export type CommitObserver = (seconds: number, failed?: Error) => void

export interface StoreStats {
  /** bytes on disk: LMDB's data file; PostgreSQL: the whole database (pg_database_size), which may hold more than this store */
  sizeBytes: number
  /** LMDB: pages of the file that no database uses (free for reuse before the file grows); PostgreSQL: not known (undefined) */
  freePages?: number
  /** LMDB: the page size in bytes */
  pageSize?: number
}

// ---------------------------------------------------------------------------------------------
// Mail (slice 3): folders, messages, blobs, delivery. See docs/store-interface.md.
// Folder names given to these are as a client typed them: the store normalizes them with
// normalizeFolderName (../mailstore/folder-rules.ts) and applies those rules, so both backends
// refuse the same names. Flags given are canonical already (normalizeFlags, ../mailstore/flags.ts).
// ---------------------------------------------------------------------------------------------

/** What one commit did to one folder: the mailbox views (../mailstore/mailbox-view.ts) replay it. */
export interface FolderChange {
  /** the folder record after the commit */
  folder: MailboxRecord
  /** its HIGHESTMODSEQ before the commit: a cached view at another value is stale */
  modseqBefore: number
  appended?: MessageRecord[]
  updated?: MessageRecord[]
  expunged?: number[]
}

export interface FlagsRequest {
  user: string
  mailboxId: number
  uids: number[]
  mode: FlagMode
  /** canonical (normalizeFlags) */
  flags: string[]
  /** CONDSTORE: leave alone (and report in `modified`) messages changed after this MODSEQ */
  unchangedSince?: number
}

export interface ExpungeRequest {
  user: string
  mailboxId: number
  /** only these messages (UID EXPUNGE, POP3 DELE, `message delete`); absent: all */
  uids?: number[]
  /** IMAP removes only messages flagged \Deleted; POP3 and the CLI remove what they named */
  onlyDeleted: boolean
}

export interface CopyRequest {
  user: string
  mailboxId: number
  uids: number[]
  /** destination folder name, as given */
  to: string
  /** MOVE: the sources are removed in the same commit */
  move: boolean
}

export interface CopyResult {
  uidValidity: number
  /** [source UID, destination UID] in source UID order */
  pairs: [number, number][]
  /** destination first, then (MOVE) the source */
  changes: FolderChange[]
}

export interface AppendMessage {
  raw: Buffer
  /** canonical */
  flags: string[]
  internalDate?: number
  /** analyzeMessage(raw), made before the transaction */
  analysis: Analysis
}

/** one or more messages for one folder (IMAP MULTIAPPEND, RFC 3502): all of them or none */
export interface AppendRequest {
  user: string
  folder: string
  messages: AppendMessage[]
}

export interface StoredCopy {
  user: string
  folder: string
  uid: number
  uidValidity: number
}

/**
 * Where one local copy goes (a Sieve `keep` or `fileinto`): a folder by name as the script gave
 * it, with canonical flags. A folder that is missing (or a \Noselect placeholder, or not a valid
 * name) is made with its parents when `create`, else the copy goes to INBOX.
 */
export interface Placement {
  folder: string
  flags: string[]
  create?: boolean
}

/** One accepted message: local copies and queue entries, all in one commit. */
export interface DeliveryInput {
  /** bytes for local copies (Return-Path and Received already prepended) */
  localRaw: Buffer
  /** bytes for the queue (Received only), when there are remote recipients */
  remoteRaw?: Buffer
  analysis: Analysis
  /** the analysis of `remoteRaw`, when it differs from `localRaw` */
  remoteAnalysis?: Analysis
  mailFrom: string
  /** the envelope recipients as given, kept with the blob */
  rcptTo: string[]
  /** local users (canonical): each gets a copy in INBOX (or Junk) */
  local: string[]
  /** remote addresses: one queue entry per domain, holding a blob of their own */
  remote: string[]
  /** capture mode: a recipient with no user gets one (no password, INBOX only) */
  createUsers?: boolean
  /** local copies go to each user's Junk folder instead of INBOX (see junkFolder) */
  junk?: boolean
  /**
   * per local user, where the copies go (their Sieve script's outcome): a user not named here
   * gets the one copy in INBOX (or Junk); an empty list stores nothing for the user (discard)
   */
  placements?: Record<string, Placement[]>
  /**
   * further messages in the same commit, each with bytes, envelope sender and recipients of
   * its own: Sieve redirects (a copy with Delivered-To, sent with an SRS sender)
   */
  also?: DeliveryInput[]
}

export interface DeliveryResult {
  /** the local blob's id, else the remote one's, else (nothing was stored: discarded) a new id */
  id: string
  stored: StoredCopy[]
  queued: QueueEntry[]
  changes: FolderChange[]
}

/** What the catch-up of a folder view found since a MODSEQ (another node or process changed it). */
export type FolderCatchUp =
  | {whole: true}
  | {whole: false; folder: MailboxRecord; changed: MessageRecord[]; vanished: number[]}

export interface MailStore {
  /** a user's folders, INBOX first, then by name (byFolderOrder) */
  folders(user: string): Promise<MailboxRecord[]>
  folder(user: string, name: string): Promise<MailboxRecord | undefined>
  /** a selectable folder by id; `not-found` when it is gone or a \Noselect placeholder */
  folderById(user: string, id: number): Promise<MailboxRecord>
  /** every user's usage (user list), or one user's */
  usageByUser(): Promise<Map<string, Usage>>
  usage(user: string): Promise<Usage>
  /** `exists` for a selectable folder; revives a \Noselect placeholder with a new UIDVALIDITY; makes missing parents */
  createFolder(user: string, name: string, specialUse?: SpecialUse): Promise<MailboxRecord>
  /** RFC 3501 §6.3.5, INBOX's rename included; returns the renamed folder */
  renameFolder(user: string, from: string, to: string): Promise<MailboxRecord>
  /** removes it and its messages, or leaves a \Noselect placeholder when it has children; returns it as it was */
  deleteFolder(user: string, name: string): Promise<MailboxRecord>
  /** `not-found` subscribing a name that has no folder; unsubscribing works for any name */
  subscribe(user: string, name: string, subscribed: boolean): Promise<void>
  /** the user's subscribed names in byte order, including those whose folder was deleted (RFC 3501 §6.3.6) */
  subscriptions(user: string): Promise<string[]>

  /** a folder's message entries in UID order (a view's load) */
  messages(folderId: number, options?: {limit?: number}): Promise<MessageRecord[]>
  message(folderId: number, uid: number): Promise<MessageRecord | undefined>
  /** what changed in a folder after `modseq`, or `whole` when the backend cannot tell (reload) */
  changesSince(folderId: number, modseq: number): Promise<FolderCatchUp>

  /** only messages whose flags really change get a new MODSEQ */
  setFlags(req: FlagsRequest): Promise<FolderChange & {modified: number[]}>
  expunge(req: ExpungeRequest): Promise<FolderChange>
  /** quota checked inside (COPY; a MOVE adds nothing) */
  copy(req: CopyRequest): Promise<CopyResult>
  /** in one transaction, quota checked inside for all of them together; each message's blob has one reference; `appended` in the order given */
  append(req: AppendRequest): Promise<FolderChange>
  deliver(input: DeliveryInput): Promise<DeliveryResult>

  blob(id: string): Promise<Buffer | undefined>
  /**
   * Copies a blob's bytes into `target` at `offset` when they fit, and returns how many there are
   * (more than the room left: nothing was copied; undefined: no such blob). A reply that gathers
   * many messages (FETCH) saves a Buffer's allocation and a copy per message this way.
   */
  blobInto(id: string, target: Buffer, offset: number): Promise<number | undefined>
  blobInfo(id: string): Promise<BlobInfoRecord | undefined>
  /** blobs made since `sinceMs` (ids are time-ordered), at most `limit` */
  recentBlobs(sinceMs: number, limit: number): Promise<{id: string; info: BlobInfoRecord}[]>
  /** the cached search text of a blob (../mailstore/search-text.ts extracts it) */
  cachedText(id: string): Promise<string | undefined>
  /** caches a blob's search text unless the blob is gone; not a durability point (SEARCH does not wait for it) */
  cacheText(id: string, text: string): Promise<void>
}

// ---- Queue (slice 4) ----

/** a place in the due order: the priority (0 high … 2 bulk), due time and id of an entry */
export type DuePosition = [priority: number, dueAt: number, id: string]

/** A bounded look at the due order (the foreman's pump and its senders' top-ups). */
export interface DueScan {
  /** entries passed over by id, without being read (LMDB: by their index key alone) */
  skip?: (id: string) => boolean
  /** entries looked at, at most (skipped ones count too) */
  maxKeys?: number
  /** start after this place (where an earlier scan stopped at its bound) */
  after?: DuePosition
  /** kept up to date as the scan goes: the last place looked at, and whether the scan got to the end */
  progress?: {last?: DuePosition; ended: boolean}
}

/** What one attempt's outcome rewrites, with its delivery-log record. */
export interface QueueOutcome {
  recipients: QueueRecipient[]
  state: 'delivered' | 'failed' | 'deferred'
  /** deferred: the next attempt; final: when it finished (retention counts from it) */
  nextAttemptAt: number
  /** the entry's last error (absent: cleared) */
  lastError?: string
  attempt: DeliveryAttemptRecord
}

/**
 * The outbound queue. Entries are made by `mail.deliver` (LMDB: `enqueueInTxn` of
 * ./lmdb-queue.ts inside the delivery transaction; PostgreSQL: `putQueueEntry` of ./pg/queue.ts);
 * everything after is here.
 *
 * Claims are leases: `claim` makes a due entry `sending` (attempts + 1) for this node before any
 * dial; its `finish` stands only while the claim is still this node's. On LMDB the lease is the
 * process (one foreman per store; `recoverExpired` at start makes what a dead process left
 * `sending` due again); on PostgreSQL a lease runs out unless renewed (`renewLeases`), after
 * which another node's `claim` takes the entry over and the first node's `finish` is refused.
 * Delivery is at-least-once.
 */
export interface QueueStore {
  /** whether claims expire unless renewed (PostgreSQL), or last as long as the process (LMDB) */
  readonly leased: boolean
  /**
   * Hands `visit` the due entries (queued or deferred and due by `now`; on PostgreSQL also
   * `sending` ones whose lease ran out) in due order (priority, due time), within the scan's
   * bounds, until `visit` returns false. LMDB reads lazily, each entry as `visit` asks for the
   * next (what `skip` names is passed over by key); PostgreSQL reads one batch of `maxKeys`.
   * A listed entry is only a candidate: `claim` checks again.
   */
  due(now: number, scan: DueScan, visit: (entry: QueueEntry) => boolean | void): Promise<void>
  /** compare-and-set: a due entry (or an expired lease) becomes `sending`, attempts + 1, under this node's lease; undefined when it is not due (any more) or someone else has it */
  claim(id: string, now: number, leaseMs: number): Promise<QueueEntry | undefined>
  /** records an attempt (entry, delivery log, blob release when final: one transaction); undefined when the entry is gone or the claim was taken over */
  finish(id: string, outcome: QueueOutcome): Promise<QueueEntry | undefined>
  /** extends this node's leases on `ids`; returns those it still holds */
  renewLeases(ids: string[], leaseMs: number): Promise<string[]>
  /** makes claims nobody holds any more due now (LMDB: every `sending` entry, at start; PostgreSQL: expired leases and this node's own); returns how many */
  recoverExpired(now: number): Promise<number>

  /** entries in one state, or all (sending, queued, deferred, held, failed, delivered), each by priority and due time */
  entries(state?: QueueState): Promise<QueueEntry[]>
  entry(id: string): Promise<QueueEntry | undefined>
  /** the full id, or a prefix or suffix naming one entry only (`not-found`, `conflict` listing candidates, `invalid` when empty) */
  find(given: string): Promise<QueueEntry>
  attempts(id: string): Promise<DeliveryAttemptRecord[]>
  /** the message an entry sends (undefined: its blob is gone) */
  message(entry: QueueEntry): Promise<Buffer | undefined>
  /** the earliest due time of a waiting entry (PostgreSQL: or of another node's lease running out) */
  nextDue(): Promise<number | undefined>
  counts(): Promise<Record<QueueState, number>>

  /** administrator's changes: by `find` id; `conflict` when the entry's state does not allow it */
  retry(id: string): Promise<QueueEntry>
  hold(id: string): Promise<QueueEntry>
  release(id: string): Promise<QueueEntry>
  /** every queued and deferred entry due now (BULK_BATCH per commit on LMDB) */
  retryAll(): Promise<QueueEntry[]>
  /** every deferred entry (of one destination domain) due now */
  flush(domain?: string): Promise<QueueEntry[]>
  /** removes an entry and its attempts, no bounce; refuses one being sent */
  delete(id: string): Promise<QueueEntry>
  /** `queue fail` step 1 (see ../queue/fail.ts): held in a commit of its own, from queued, deferred or held */
  failBegin(id: string): Promise<QueueEntry>
  /** `queue fail` step 3: the entry as `rewrite` makes it final (the blob released) */
  failEnd(id: string, rewrite: (entry: QueueEntry) => Partial<QueueEntry>): Promise<QueueEntry>
  /** removes up to `limit` delivered and failed entries that finished before `before`; returns how many */
  purgeFinished(before: number, limit: number): Promise<number>
}

// ---- Learning jobs (rspamd training from users' moves, ../spam/learn-actor.ts) ----

/** A message to train rspamd's classifier with, as the user's move said: Junk in (spam) or out (ham). */
export interface LearnJob {
  /** time-ordered (../ids.ts) */
  id: string
  user: string
  blobId: string
  kind: 'spam' | 'ham'
  createdAt: number
  /** attempts made so far */
  attempts: number
  /** when a worker may take it (next); while one works on it, when its claim runs out */
  dueAt: number
  lastError?: string
}

export type NewLearnJob = Pick<LearnJob, 'user' | 'blobId' | 'kind'>

/**
 * The durable queue of learning jobs. Training is advice to a filter, not mail: a job whose
 * message is gone is dropped by the worker, and the queue is bounded (`maxQueued`), past which
 * new jobs are refused rather than stored.
 */
export interface LearnStore {
  /** adds as many of `jobs` as fit under `maxQueued` jobs in all, due at `now`; returns those added */
  enqueue(jobs: NewLearnJob[], now: number, maxQueued: number): Promise<LearnJob[]>
  /**
   * Takes up to `limit` jobs due by `now`, oldest due first, and makes them due again only at
   * `now + leaseMs` (a worker that dies leaves them to be taken again then; on PostgreSQL two
   * nodes never take the same job at once)
   */
  claim(now: number, limit: number, leaseMs: number): Promise<LearnJob[]>
  /** after a failed attempt: attempts + 1, due at `dueAt`; false when the job is gone */
  retry(id: string, dueAt: number, lastError: string): Promise<boolean>
  /** done, or given up; false when it was gone already */
  remove(id: string): Promise<boolean>
  /** every job, in due order (tests, and what a status page may show) */
  jobs(): Promise<LearnJob[]>
  count(): Promise<number>
  /** the earliest due time of any job */
  nextDue(): Promise<number | undefined>
}
