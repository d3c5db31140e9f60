/**
 * The directory (domains, users, aliases) and DKIM keys on PostgreSQL: the `DirectoryStore` and
 * `DkimStore` of ../backend.ts, behaving as the LMDB ones (../lmdb-directory.ts) do.
 *
 * Writes: each is one `transaction()`. It starts by locking the directory version row
 * (`mailbox_meta['directoryVersion']`, FOR UPDATE): directory writes from all nodes run one after
 * another (they are rare: CLI commands, init, the dashboard), and everything the transaction
 * reads after it is committed state no other writer can change before our COMMIT. Under the lock
 * the node's snapshot is caught up to that state, the version bumped, and the rules of
 * ../directory/rules.ts run over a synchronous view: the snapshot with this transaction's own
 * changes laid over it. Every row written carries the new version and every key deleted is
 * recorded, so other nodes catch up by the difference. Two nodes adding the same address at
 * once: the second waits for the first's COMMIT, then finds the address taken (`exists`, as on
 * LMDB). The rule callbacks only read; `transaction()` may run the whole body again after a
 * serialization failure or deadlock.
 *
 * Reads: from the node's snapshot (./directory-snapshot.ts), checked against the version row on
 * each call, so a write acknowledged on one node is seen by the next read on any node. DKIM keys
 * are read with a query per call (the outbound signer reads them once per signed message).
 */
import type pg from 'pg'
import {domainOf} from '../../address.js'
import {checkNewAlias, checkNewUser, requireLocalDomain, resolveRecipient} from '../../directory/rules.js'
import {MailboxError} from '../../errors.js'
import type {DirectoryLookups, DirectoryStore, DkimStore, ImportedUser, NewDomain, NewUser, UserChange} from '../backend.js'
import type {AliasRecord, DkimKeyRecord, DomainRecord, UserRecord} from '../records.js'
import {withLimits} from '../user-limits.js'
import {type ChangeSignals, signalledTransaction} from './changes.js'
import {DIRECTORY_VERSION_KEY, type DirectorySnapshot, inKeyOrder, SnapshotCache, snapshotLookups} from './directory-snapshot.js'
import {createDefaultFolders, removeUserFolders, usageOfUser} from './folders.js'
import {removeUserSieve} from './sieve.js'

export interface PgDirectoryBackend {
  directory: DirectoryStore
  dkim: DkimStore
  /**
   * A directory write inside a transaction another store area runs (capture mode's users, made
   * in the delivery's transaction): the same lock, version bump, row versions and signal as the
   * directory's own writes, so every node's snapshot learns of it. Take it before any folder row
   * lock of that transaction (the directory's own writes lock the version row first, then folders).
   */
  writeIn<T>(client: pg.ClientBase, signals: ChangeSignals, body: (w: DirectoryWrite) => Promise<T>): Promise<T>
}

const UNIQUE_VIOLATION = '23505'

/**
 * One directory write transaction: the SQL client, and the lookups the rules read (the directory
 * as of the lock, with this transaction's writes over it). Every write goes through a method here
 * so the two never disagree.
 */
export class DirectoryWrite {
  /** records written (a record) or deleted (null) by this transaction */
  private readonly domains = new Map<string, DomainRecord | null>()
  private readonly users = new Map<string, UserRecord | null>()
  private readonly aliases = new Map<string, AliasRecord | null>()
  readonly lookups: DirectoryLookups

  constructor(
    readonly client: pg.ClientBase,
    base: DirectorySnapshot,
    /** the directory version this transaction makes: every row it writes carries it */
    private readonly version: number,
  ) {
    const over = <T>(mine: Map<string, T | null>, theirs: ReadonlyMap<string, T>, key: string): T | undefined => (mine.has(key) ? (mine.get(key) ?? undefined) : theirs.get(key))
    this.lookups = {
      isLocalDomain: (domain) => over(this.domains, base.domains, domain) !== undefined,
      user: (address) => over(this.users, base.users, address),
      alias: (key) => over(this.aliases, base.aliases, key),
    }
  }

  requireUser(address: string): UserRecord {
    const user = this.lookups.user(address)
    if (!user) throw new MailboxError('not-found', `no user ${address}`)
    return user
  }

  async putDomain({record, keys}: NewDomain): Promise<DomainRecord> {
    if (this.lookups.isLocalDomain(record.name)) throw new MailboxError('exists', `domain ${record.name} already exists`)
    await this.client.query('INSERT INTO domains (name, created_at, version) VALUES ($1, $2, $3)', [record.name, record.createdAt, this.version])
    // a removed domain's keys are gone already; be sure
    await this.client.query('DELETE FROM dkim_keys WHERE domain = $1', [record.name])
    await this.putKeys(keys)
    this.domains.set(record.name, record)
    return record
  }

  async deleteDomain(name: string): Promise<void> {
    await this.client.query('DELETE FROM dkim_keys WHERE domain = $1', [name])
    await this.client.query('DELETE FROM domains WHERE name = $1', [name])
    await this.deleted('domain', name)
    this.domains.set(name, null)
  }

  async putKeys(keys: DkimKeyRecord[]): Promise<void> {
    for (const key of keys) {
      const inserted = await this.client.query(
        `INSERT INTO dkim_keys (domain, selector, algorithm, private_key, public_key, state, created_at, retired_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (domain, selector) DO NOTHING`,
        [key.domain, key.selector, key.algorithm, key.privateKey, key.publicKey, key.state, key.createdAt, key.retiredAt ?? null],
      )
      if (inserted.rowCount !== 1) throw new MailboxError('exists', `DKIM selector ${key.selector} already exists for ${key.domain}`)
    }
  }

  /** a user record as given (new or changed); new users get their default folders from the caller */
  async putUser(given: UserRecord): Promise<UserRecord> {
    const record = withLimits(given)
    await this.client.query(
      `INSERT INTO users (address, password_hash, quota, max_messages, disabled, capture, created_at, updated_at, version)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (address) DO UPDATE SET password_hash = EXCLUDED.password_hash, quota = EXCLUDED.quota, max_messages = EXCLUDED.max_messages,
         disabled = EXCLUDED.disabled, capture = EXCLUDED.capture, updated_at = EXCLUDED.updated_at, version = EXCLUDED.version`,
      [record.address, record.passwordHash, record.quota, record.maxMessages ?? 0, record.disabled, record.capture ?? false, record.createdAt, record.updatedAt, this.version],
    )
    this.users.set(record.address, record)
    return record
  }

  async newUser(user: NewUser): Promise<UserRecord> {
    checkNewUser(this.lookups, user.address)
    const now = Date.now()
    const record = await this.putUser({address: user.address, passwordHash: user.passwordHash, quota: user.quota ?? 0, maxMessages: user.maxMessages, disabled: false, createdAt: now, updatedAt: now})
    await createDefaultFolders(this.client, record.address, now)
    return record
  }

  /** capture mode's user for an address that received mail (no password); false when the address has a user already */
  async newCaptureUser(address: string): Promise<boolean> {
    if (this.lookups.user(address)) return false
    const now = Date.now()
    await this.putUser({address, passwordHash: '', quota: 0, disabled: false, capture: true, createdAt: now, updatedAt: now})
    return true
  }

  async updateUser(address: string, change: UserChange): Promise<UserRecord> {
    const old = this.requireUser(address)
    const record = await this.putUser({...old, ...change, updatedAt: Date.now()})
    // whoever logged in with the old password gets no standing from it: its addresses are strangers again
    if (change.passwordHash !== undefined && change.passwordHash !== old.passwordHash) await this.forgetLogins(address)
    return record
  }

  forgetLogins(address: string): Promise<unknown> {
    return this.client.query('DELETE FROM familiar_addresses WHERE user_address = $1', [address])
  }

  /** a user, their folders and mail, their familiar addresses, Sieve scripts and vacation replies, and their place in alias targets */
  async deleteUser(address: string): Promise<void> {
    // the row first: a folder CREATE on another node (which holds it FOR KEY SHARE) finishes before, or finds no user after
    await this.client.query('SELECT 1 FROM users WHERE address = $1 FOR UPDATE', [address])
    await removeUserFolders(this.client, address)
    await this.client.query('DELETE FROM users WHERE address = $1', [address])
    await this.deleted('user', address)
    this.users.set(address, null)
    await this.forgetLogins(address)
    await removeUserSieve(this.client, address)
    await this.dropAliasTarget(address)
  }

  async putAlias(record: AliasRecord): Promise<AliasRecord> {
    await this.client.query(
      'INSERT INTO aliases (alias, targets, created_at, version) VALUES ($1, $2, $3, $4) ON CONFLICT (alias) DO UPDATE SET targets = EXCLUDED.targets, version = EXCLUDED.version',
      [record.alias, record.targets, record.createdAt, this.version],
    )
    this.aliases.set(record.alias, record)
    return record
  }

  async newAlias(alias: string, targets: string[]): Promise<AliasRecord> {
    const record: AliasRecord = {alias, targets, createdAt: Date.now()}
    checkNewAlias(this.lookups, record)
    return this.putAlias(record)
  }

  async deleteAlias(alias: string): Promise<void> {
    await this.client.query('DELETE FROM aliases WHERE alias = $1', [alias])
    await this.deleted('alias', alias)
    this.aliases.set(alias, null)
  }

  /** so other nodes' snapshots drop the key when they catch up past this version */
  private deleted(kind: 'domain' | 'user' | 'alias', key: string): Promise<unknown> {
    return this.client.query(
      'INSERT INTO directory_deletions (kind, key, version) VALUES ($1, $2, $3) ON CONFLICT (kind, key) DO UPDATE SET version = EXCLUDED.version',
      [kind, key, this.version],
    )
  }

  /**
   * Removes a deleted address (user or alias) from every alias's targets; an alias left with no
   * targets goes too, and so on up (as on LMDB: otherwise a catch-all pointing at it would
   * resolve back to itself, a loop for every unknown address of the domain).
   */
  async dropAliasTarget(address: string): Promise<void> {
    const gone = [address]
    while (gone.length) {
      const name = gone.pop()!
      const {rows} = await this.client.query('SELECT alias, targets, created_at FROM aliases WHERE $1 = ANY (targets) ORDER BY alias', [name])
      for (const row of rows) {
        const targets = (row.targets as string[]).filter((t) => t !== name)
        if (targets.length) {
          await this.putAlias({alias: row.alias, targets, createdAt: row.created_at})
        } else {
          await this.deleteAlias(row.alias)
          gone.push(row.alias)
        }
      }
    }
  }

  /** Writes checked import lines: updates keep what a line does not give; new users get the default folders. */
  async writeImport(users: ImportedUser[]): Promise<ImportedUser[]> {
    const now = Date.now()
    for (const user of users) {
      if (user.exists) {
        const change: UserChange = {
          ...(user.passwordHash !== undefined ? {passwordHash: user.passwordHash} : {}),
          ...(user.quota !== undefined ? {quota: user.quota} : {}),
          ...(user.maxMessages !== undefined ? {maxMessages: user.maxMessages} : {}),
          ...(user.disabled !== undefined ? {disabled: user.disabled} : {}),
        }
        await this.updateUser(user.address, change)
      } else {
        await this.putUser({address: user.address, passwordHash: user.passwordHash ?? '', quota: user.quota ?? 0, maxMessages: user.maxMessages, disabled: user.disabled ?? false, createdAt: now, updatedAt: now})
        await createDefaultFolders(this.client, user.address, now)
      }
      for (const alias of user.aliases) await this.putAlias({alias, targets: [user.address], createdAt: now})
    }
    return users
  }
}

interface KeyRow {
  domain: string
  selector: string
  algorithm: 'ed25519' | 'rsa'
  private_key: string
  public_key: string
  state: 'active' | 'retired'
  created_at: number
  retired_at: number | null
}

export const keyFromRow = (row: KeyRow): DkimKeyRecord => ({
  domain: row.domain,
  selector: row.selector,
  algorithm: row.algorithm,
  privateKey: row.private_key,
  publicKey: row.public_key,
  state: row.state,
  createdAt: row.created_at,
  ...(row.retired_at !== null ? {retiredAt: row.retired_at} : {}),
})

/** oldest first, then by selector (as the LMDB store lists them) */
const KEY_ORDER = 'ORDER BY created_at, selector'
const byAge = (a: DkimKeyRecord, b: DkimKeyRecord) => a.createdAt - b.createdAt || (a.selector < b.selector ? -1 : a.selector > b.selector ? 1 : 0)

const inDomain = (domain: string) => (address: string) => domainOf(address) === domain

/** `store.directory` and `store.dkim` over a store pool (migrated: ./open.ts). */
export function pgDirectory(pool: pg.Pool): PgDirectoryBackend {
  const cache = new SnapshotCache(pool)
  const view = async () => snapshotLookups(await cache.current())

  /** one directory write inside the caller's transaction: the version row's lock, the view under it, the version bump, the body; see the file comment */
  const writeIn = async <T>(client: pg.ClientBase, signals: ChangeSignals, body: (w: DirectoryWrite) => Promise<T>): Promise<T> => {
    // the row exists from the first directory write on (two first writers: the second waits, then finds it)
    await client.query('INSERT INTO mailbox_meta (key, value) VALUES ($1, 0) ON CONFLICT (key) DO NOTHING', [DIRECTORY_VERSION_KEY])
    await client.query('SELECT value FROM mailbox_meta WHERE key = $1 FOR UPDATE', [DIRECTORY_VERSION_KEY])
    // committed state under the lock, so the node may keep it as its snapshot
    const base = await cache.under(client)
    const version = base.version + 1
    await client.query('UPDATE mailbox_meta SET value = $2 WHERE key = $1', [DIRECTORY_VERSION_KEY, version])
    // for what caches directory data other than the snapshot (verified credentials, the dashboard); sent at COMMIT
    signals.directory(version)
    try {
      return await body(new DirectoryWrite(client, base, version))
    } catch (err) {
      // the lock makes this a bug elsewhere (a writer that skipped it), yet it is still the caller's `exists`
      if ((err as {code?: string}).code === UNIQUE_VIOLATION) throw new MailboxError('exists', `already exists (${(err as {constraint?: string}).constraint ?? 'unique key'})`)
      throw err
    }
  }
  const write = <T>(body: (w: DirectoryWrite) => Promise<T>): Promise<T> => signalledTransaction(pool, (client, signals) => writeIn(client, signals, body))

  const keysOf = async (domain: string, where = ''): Promise<DkimKeyRecord[]> => {
    const {rows} = await pool.query(`SELECT * FROM dkim_keys WHERE domain = $1 ${where} ${KEY_ORDER}`, [domain])
    return rows.map(keyFromRow)
  }

  const directory: DirectoryStore = {
    lookups: view,
    isLocalDomain: async (domain) => (await view()).isLocalDomain(domain),
    domains: async () => inKeyOrder((await cache.current()).domains),
    user: async (address) => (await view()).user(address),
    users: async () => inKeyOrder((await cache.current()).users),
    alias: async (key) => (await view()).alias(key),
    aliases: async () => inKeyOrder((await cache.current()).aliases),
    resolve: async (address) => resolveRecipient(await view(), address),
    counts: async () => {
      const s = await cache.current()
      return {domains: s.domains.size, users: s.users.size, aliases: s.aliases.size}
    },

    addDomain: (domain) => write((w) => w.putDomain(domain)),
    removeDomain: (name, options = {}) =>
      write(async (w) => {
        if (!w.lookups.isLocalDomain(name)) throw new MailboxError('not-found', `no domain ${name}`)
        const {rows: u} = await w.client.query('SELECT address FROM users ORDER BY address')
        const {rows: a} = await w.client.query('SELECT alias FROM aliases ORDER BY alias')
        const users = u.map((r) => r.address as string).filter(inDomain(name))
        const aliases = a.map((r) => r.alias as string).filter(inDomain(name))
        if ((users.length || aliases.length) && !options.force) {
          throw new MailboxError('conflict', `domain ${name} still has ${users.length} user(s) and ${aliases.length} alias(es); use --force to remove them too`)
        }
        for (const user of users) await w.deleteUser(user)
        for (const alias of aliases) await w.deleteAlias(alias)
        await w.deleteDomain(name)
        return {users, aliases}
      }),
    addUser: (user) => write((w) => w.newUser(user)),
    updateUser: (address, change) => write((w) => w.updateUser(address, change)),
    removeUser: (address, options = {}) =>
      write(async (w) => {
        const record = w.requireUser(address)
        const usage = await usageOfUser(w.client, address)
        if (usage.messages > 0 && !options.force) {
          throw new MailboxError('conflict', `user ${address} has ${usage.messages} message(s); use --force to delete them too`)
        }
        await w.deleteUser(address)
        return {record, usage}
      }),
    addAlias: (alias, targets) => write((w) => w.newAlias(alias, targets)),
    removeAlias: (alias) =>
      write(async (w) => {
        const record = w.lookups.alias(alias)
        if (!record) throw new MailboxError('not-found', `no alias ${alias}`)
        await w.deleteAlias(alias)
        await w.dropAliasTarget(alias)
        return record
      }),
    importUsers: (plan) => write((w) => w.writeImport(plan(w.lookups))),
    initialize: (init) =>
      write(async (w) => {
        const domainCreated = !w.lookups.isLocalDomain(init.domain)
        if (domainCreated) await w.putDomain(init.newDomain())
        const {postmaster, passwordHash} = init
        if (w.lookups.alias(postmaster)) throw new MailboxError('conflict', `${postmaster} is an alias here: remove it (mailbox alias remove ${postmaster}) so init can make the postmaster user`)
        const postmasterCreated = !w.lookups.user(postmaster)
        if (postmasterCreated) await w.newUser({address: postmaster, passwordHash})
        else await w.updateUser(postmaster, {passwordHash})
        const aliasesAdded: string[] = []
        const aliasesKept: string[] = []
        for (const alias of init.aliases) {
          if (w.lookups.user(alias) || w.lookups.alias(alias)) aliasesKept.push(alias)
          else aliasesAdded.push((await w.newAlias(alias, [postmaster])).alias)
        }
        return {domainCreated, postmasterCreated, aliasesAdded, aliasesKept}
      }),
  }

  const dkim: DkimStore = {
    keys: (domain) => keysOf(domain),
    activeKeys: (domain) => keysOf(domain, "AND state = 'active'"),
    // under the directory lock too: a domain removed meanwhile on another node cannot be left with keys
    rotate: (domain, fresh, at) =>
      write(async (w) => {
        requireLocalDomain(w.lookups, domain)
        const {rows} = await w.client.query("UPDATE dkim_keys SET state = 'retired', retired_at = $2 WHERE domain = $1 AND state = 'active' RETURNING *", [domain, at])
        await w.putKeys(fresh)
        return rows.map(keyFromRow).sort(byAge)
      }),
    remove: (domain, selector) =>
      write(async (w) => {
        const {rows} = await w.client.query('SELECT * FROM dkim_keys WHERE domain = $1 AND selector = $2', [domain, selector])
        if (!rows[0]) throw new MailboxError('not-found', `no DKIM selector ${selector} for ${domain} (see mailbox dkim list ${domain})`)
        const key = keyFromRow(rows[0])
        if (key.state === 'active') {
          throw new MailboxError('conflict', `DKIM selector ${selector} is active: it signs ${domain}'s mail; rotate first (mailbox dkim rotate ${domain}), then remove the retired selector`)
        }
        await w.client.query('DELETE FROM dkim_keys WHERE domain = $1 AND selector = $2', [domain, selector])
        return key
      }),
  }

  return {directory, dkim, writeIn}
}
