/**
 * The store: one LMDB environment in `<dataDir>/mailbox.lmdb` with one named database per kind of
 * record (see ./README.md). Every process (the server and each CLI command) opens it through
 * `openStore()` so all use identical options; LMDB makes that safe across processes.
 *
 * Durability: `overlappingSync` is off, so a commit has been fsynced when `transactionSync`
 * returns or when an async write's promise resolves. A protocol acknowledges a change only after
 * that point, which is what makes `kill -9` lose nothing that was acknowledged.
 */
import {chmodSync, existsSync, mkdirSync} from 'node:fs'
import {join} from 'node:path'
import {open, type Database, type Key, type RootDatabase} from 'lmdb'
import {MailboxError} from '../errors.js'
import type {LearnJob, MailboxStore} from './backend.js'
import {ChangeEmitter} from './change-feed.js'
import {settleCommitFailure} from './commit-failure.js'
import {CommitTimer, compactedBytes, lmdbStats} from './lmdb-stats.js'
import {lmdbAuth} from './lmdb-auth.js'
import {lmdbCapture} from './lmdb-capture.js'
import {lmdbDirectory, lmdbDkim} from './lmdb-directory.js'
import {lmdbLearn} from './lmdb-learn.js'
import {lmdbGreylist} from './lmdb-greylist.js'
import {lmdbSettings} from './lmdb-settings.js'
import {lmdbCerts} from './lmdb-certs.js'
import type {AcmeAccount, StoredCertificate} from '../certs/types.js'
import {lmdbQueue} from './lmdb-queue.js'
import {lmdbSieve, type SieveScriptRecord} from './lmdb-sieve.js'
import {withNfcNames} from './sieve-rules.js'
import {lmdbMail} from './lmdb-mail.js'
import {migrate} from './schema.js'
import type {GreylistEntry} from './greylist-rules.js'
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
  UserRecord,
} from './records.js'

/**
 * The LMDB store: every area of ./backend.ts's MailboxStore, and the raw databases they are built
 * on, for src/store/'s LMDB code alone (and the schema migrations, `store copy`, tests of the layout).
 */
export interface Store extends MailboxStore {
  readonly kind: 'lmdb'
  /**
   * The hook of the LMDB backends: each calls `emit` after its commit resolved (directory and DKIM
   * writes: `directory`; capture rules: `capture`). Mail changes reach this process's sessions
   * through the mailstore actor directly (one process: no other writer to hear of).
   */
  readonly changeEmitter: ChangeEmitter
  readonly env: RootDatabase
  readonly meta: Database<unknown, string>
  readonly domains: Database<DomainRecord, string>
  readonly users: Database<UserRecord, string>
  readonly aliases: Database<AliasRecord, string>
  readonly mailboxes: Database<MailboxRecord, [string, string]>
  /** subscribed folder names per user (a name outlives its folder): [user, name] → 1 */
  readonly subscriptions: Database<1, [string, string]>
  readonly messages: Database<MessageRecord, [number, number]>
  readonly blobs: Database<Buffer, string>
  readonly blobInfo: Database<BlobInfoRecord, string>
  /** plain text of a message (text parts, or HTML as text) for SEARCH BODY/TEXT */
  readonly blobText: Database<string, string>
  /** the outbound queue's entries by id (the LMDB database is named `queue`) */
  readonly queueEntries: Database<QueueEntry, string>
  readonly queueIndex: Database<null, (string | number)[]>
  readonly deliveryLog: Database<DeliveryAttemptRecord, [string, number]>
  readonly captureRules: Database<CaptureRuleRecord, string>
  /** when each user last logged in from each network: the auth throttle's familiar addresses */
  readonly familiarAddresses: Database<number, [string, string]>
  /** DKIM keys by [domain, selector]: see ./dkim-keys.ts */
  readonly dkimKeys: Database<DkimKeyRecord, [string, string]>
  /** learning jobs by id, and their due order [dueAt, id]: see ./lmdb-learn.ts */
  readonly learnJobs: Database<LearnJob, string>
  readonly learnDue: Database<null, [number, string]>
  /**
   * greylisting's triplets, [network, sender, recipient] → entry, and the networks that passed,
   * network → last pass (./lmdb-greylist.ts). Absent in a store opened read-only that was
   * written before they existed.
   */
  readonly greylistEntries: Database<GreylistEntry, [string, string, string]> | undefined
  readonly greylistNetworks: Database<number, string> | undefined
  /** Sieve scripts, each user's active one, the vacation replies sent (./lmdb-sieve.ts); absent as greylisting's are */
  readonly sieveScripts: Database<SieveScriptRecord, [string, string]> | undefined
  readonly sieveActive: Database<string, string> | undefined
  readonly vacationReplies: Database<number, [string, string]> | undefined
  /** installation-wide values, `['secret', name]` → bytes (./lmdb-settings.ts); absent as the greylist's are */
  readonly settingsDb: Database<Uint8Array, [string, string]> | undefined
  /** certificates and ACME accounts, `['certificate', name]` / `['account', directory]` (./lmdb-certs.ts); absent as the greylist's are */
  readonly certsDb: Database<StoredCertificate | AcmeAccount, [string, string]> | undefined
  /** read-modify-write in one synchronous, durable write transaction */
  transact<T>(fn: () => T): T
  /**
   * The same, batched with other writes of this event turn into one commit (group commit:
   * concurrent SMTP deliveries share one fsync). Resolves once the commit is durable; a callback
   * that throws rejects and writes nothing (the others of the batch commit).
   */
  transactAsync<T>(fn: () => T): Promise<T>
  /** what a compacted copy of the current snapshot writes, in bytes (./lmdb-stats.ts) */
  compactedBytes(): number
  close(): Promise<void>
}

export interface OpenStoreOptions {
  readOnly?: boolean
  /**
   * With no store in the data dir yet: create the dir and an empty store (the default: `serve`,
   * `domain add`), or (false) refuse, so a typo in `--data-dir` is an error and not a new, empty store.
   */
  create?: boolean
  /**
   * Bring an older store to this code's schema version (the default). Off: opened as it is, for a
   * caller that reads the version itself (`mailbox restore` checking a backup it must not change).
   */
  migrate?: boolean
}

export function storePath(dataDir: string): string {
  return join(dataDir, 'mailbox.lmdb')
}

/** whether a data dir holds a store (looking creates nothing) */
export function storeExists(dataDir: string): boolean {
  return existsSync(storePath(dataDir))
}

/** the refusal of a command that reads a store which is not there */
export function noStoreError(dataDir: string): MailboxError {
  return new MailboxError('not-found', `no mailbox store in ${dataDir} (create one with mailbox init, mailbox serve or mailbox domain add)`)
}

/** Creates the data dir (mode 0700) if it is missing; a path that is taken by a file is refused in one line. */
export function ensureDataDir(dataDir: string): void {
  try {
    mkdirSync(dataDir, {recursive: true, mode: 0o700})
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : code === 'EACCES' ? 'permission denied' : (code ?? (err as Error).message)
    throw new MailboxError('unavailable', `cannot create the data directory ${dataDir}: ${why}`)
  }
}

export function openStore(dataDir: string, options: OpenStoreOptions = {}): Store {
  const readOnly = options.readOnly ?? false
  const path = storePath(dataDir)
  if (options.create === false && !storeExists(dataDir)) throw noStoreError(dataDir)
  if (!readOnly) ensureDataDir(dataDir)
  let env: RootDatabase
  try {
    env = open({path, maxDbs: 32, readOnly, overlappingSync: false, compression: false})
  } catch (err) {
    // lmdb reports a missing file with the numeric errno (code 2), not 'ENOENT'
    const code = (err as {code?: unknown}).code
    const why = code === 'ENOENT' || code === 2 ? 'no store there yet' : (err as Error).message
    throw new MailboxError('unavailable', `cannot open the store in ${dataDir}: ${why}`)
  }
  if (!readOnly) {
    // mail is private: the store files are the owner's alone, whatever the umask
    for (const file of [path, `${path}-lock`]) chmodSync(file, 0o600)
  }
  const databases: Database<unknown, never>[] = []
  const db = <V, K extends Key>(name: string, encoding?: 'binary') => {
    const opened = env.openDB<V, K>({name, ...(encoding ? {encoding} : {})})
    databases.push(opened as unknown as Database<unknown, never>)
    return opened
  }
  /** a database newer than some stores: opened read-only where it was never created, lmdb-js gives undefined */
  const newerDb = <V, K extends Key>(name: string): Database<V, K> | undefined => {
    const opened = env.openDB<V, K>({name}) as Database<V, K> | undefined
    if (opened) databases.push(opened as unknown as Database<unknown, never>)
    return opened
  }
  const commits = new CommitTimer()
  // the operations read the databases through `store` when called, so they can be made first
  const store = {} as Store
  const changeEmitter = new ChangeEmitter()
  Object.assign(store, {
    kind: 'lmdb',
    changes: changeEmitter,
    changeEmitter,
    directory: lmdbDirectory(store),
    dkim: lmdbDkim(store),
    auth: lmdbAuth(store),
    capture: lmdbCapture(store),
    queue: lmdbQueue(store),
    learn: lmdbLearn(store),
    mail: lmdbMail(store),
    greylist: lmdbGreylist(store),
    sieve: withNfcNames(lmdbSieve(store)),
    settings: lmdbSettings(store),
    certs: lmdbCerts(store),
    path,
    readOnly,
    env,
    meta: db('meta'),
    domains: db('domains'),
    users: db('users'),
    aliases: db('aliases'),
    mailboxes: db('mailboxes'),
    subscriptions: db('subscriptions'),
    messages: db('messages'),
    blobs: db('blobs', 'binary'),
    blobInfo: db('blobInfo'),
    blobText: db('blobText'),
    queueEntries: db('queue'),
    queueIndex: db('queueIndex'),
    deliveryLog: db('deliveryLog'),
    captureRules: db('captureRules'),
    familiarAddresses: db('familiarAddresses'),
    dkimKeys: db('dkimKeys'),
    learnJobs: db('learnJobs'),
    learnDue: db('learnDue'),
    greylistEntries: newerDb('greylist'),
    greylistNetworks: newerDb('greylistNetworks'),
    sieveScripts: newerDb('sieveScripts'),
    sieveActive: newerDb('sieveActive'),
    vacationReplies: newerDb('vacationReplies'),
    settingsDb: newerDb('settings'),
    certsDb: newerDb('certs'),
    transact: (fn) => env.transactionSync(fn),
    // childTransaction, not transaction: the callback runs in an abortable child of the batch's
    // write transaction, so a callback that throws leaves nothing behind (with transaction() its
    // writes before the throw were committed with the batch: test/e2e/smtp-delivery-rollback.test.ts)
    transactAsync: (fn) => commits.timed(() => env.childTransaction(fn)).catch(settleCommitFailure),
    stats: async () => lmdbStats(path, env, databases),
    compactedBytes: () => compactedBytes(env, databases),
    observeCommits: (observer) => commits.observe(observer),
    // pending async commits first: a stop never drops an acknowledged write
    close: async () => {
      await env.flushed
      await env.close()
    },
  } satisfies Store)
  try {
    if (options.migrate !== false) migrate(store)
  } catch (err) {
    void env.close()
    throw err
  }
  return store
}
