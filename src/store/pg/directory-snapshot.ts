/**
 * A node's copy of the PostgreSQL directory (domains, users, aliases), for the reads on the hot
 * paths (every RCPT resolves, every login reads a user) and for the pure rules of
 * src/directory/rules.ts, which read synchronously.
 *
 * Staleness: every directory write bumps `mailbox_meta['directoryVersion']` in its transaction
 * (./directory.ts). A read asks for that one row (a primary-key lookup, one round trip) and
 * catches the copy up only when the version moved: the rows written since the version it holds
 * (each row carries the version that last wrote it) and the keys deleted since. So a write that resolved on any node is
 * seen by every read that starts after it, on every node: no timer or NOTIFY delay can make a
 * node answer from a directory older than the last acknowledged write (NOTIFY arrives
 * asynchronously, after the writer's COMMIT has already returned). Concurrent reads share one
 * version query: a read that arrives while one is in flight waits for the next one, which starts
 * after the read did and therefore sees everything committed before it.
 */
import type pg from 'pg'
import type {DirectoryLookups} from '../backend.js'
import type {AliasRecord, DomainRecord, UserRecord} from '../records.js'
import {transaction} from './connect.js'

export const DIRECTORY_VERSION_KEY = 'directoryVersion'

/** The directory as of one version (the maps in no particular order: lists sort, see `inKeyOrder`). */
export interface DirectorySnapshot {
  readonly version: number
  readonly domains: ReadonlyMap<string, DomainRecord>
  readonly users: ReadonlyMap<string, UserRecord>
  readonly aliases: ReadonlyMap<string, AliasRecord>
}

export const snapshotLookups = (s: DirectorySnapshot): DirectoryLookups => ({
  isLocalDomain: (domain) => s.domains.has(domain),
  user: (address) => s.users.get(address),
  alias: (key) => s.aliases.get(key),
})

interface UserRow {
  address: string
  password_hash: string
  quota: number
  max_messages: number
  disabled: boolean
  capture: boolean
  created_at: number
  updated_at: number
}

export function userFromRow(row: UserRow): UserRecord {
  return {
    address: row.address,
    passwordHash: row.password_hash,
    quota: row.quota,
    ...(row.max_messages ? {maxMessages: row.max_messages} : {}),
    disabled: row.disabled,
    ...(row.capture ? {capture: true} : {}),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  }
}

export const aliasFromRow = (row: {alias: string; targets: string[]; created_at: number}): AliasRecord => ({alias: row.alias, targets: row.targets, createdAt: row.created_at})

export const USER_COLUMNS = 'address, password_hash, quota, max_messages, disabled, capture, created_at, updated_at'

/**
 * The cached records are shared by every caller of this node: frozen, so a caller that changed
 * one in place (instead of spreading it into a new one) fails loudly instead of corrupting the copy.
 */
const frozen = <T extends object>(record: T): T => Object.freeze(record)

/** the version row as `client` sees it (0 before the first directory write) */
export async function directoryVersion(client: pg.ClientBase | pg.Pool): Promise<number> {
  const {rows} = await client.query('SELECT value FROM mailbox_meta WHERE key = $1', [DIRECTORY_VERSION_KEY])
  return rows[0]?.value ?? 0
}

type Kind = 'domain' | 'user' | 'alias'

/**
 * The directory as of the version `client` sees: loaded whole, or (given the snapshot held)
 * caught up by what changed since. Consistent only where no directory write can commit between
 * the queries: in a REPEATABLE READ transaction, or under the version row's lock.
 */
export async function loadSnapshot(client: pg.ClientBase, held?: DirectorySnapshot): Promise<DirectorySnapshot> {
  const version = await directoryVersion(client)
  if (held?.version === version) return held
  // a database whose version went back (restored, recreated) is read whole
  const since = held && held.version < version ? held.version : undefined
  const changed = since === undefined ? '' : 'WHERE version > $1'
  const params = since === undefined ? [] : [since]
  const domains = await client.query(`SELECT name, created_at FROM domains ${changed}`, params)
  const users = await client.query(`SELECT ${USER_COLUMNS} FROM users ${changed}`, params)
  const aliases = await client.query(`SELECT alias, targets, created_at FROM aliases ${changed}`, params)
  const next = {
    domains: new Map(since === undefined ? [] : held!.domains),
    users: new Map(since === undefined ? [] : held!.users),
    aliases: new Map(since === undefined ? [] : held!.aliases),
  }
  if (since !== undefined) {
    // deleted since: gone, unless written again since (then its row, read above, is the truth)
    const {rows} = await client.query('SELECT kind, key FROM directory_deletions WHERE version > $1', [since])
    const maps: Record<Kind, Map<string, unknown>> = {domain: next.domains, user: next.users, alias: next.aliases}
    for (const {kind, key} of rows as {kind: Kind; key: string}[]) maps[kind].delete(key)
  }
  for (const r of domains.rows) next.domains.set(r.name, frozen({name: r.name, createdAt: r.created_at}))
  for (const r of users.rows) next.users.set(r.address, frozen(userFromRow(r)))
  for (const r of aliases.rows) next.aliases.set(r.alias, frozen({...aliasFromRow(r), targets: Object.freeze(r.targets) as string[]}))
  return {version, ...next}
}

/**
 * A map's records in key order as PostgreSQL's "C" collation (and LMDB) sort them: by UTF-8
 * bytes, which is code point order. JavaScript's `<` compares UTF-16 code units, which differs
 * only where a surrogate (U+D800–DFFF, half of a character above U+FFFF) meets U+E000–FFFF.
 */
export function inKeyOrder<T>(map: ReadonlyMap<string, T>): T[] {
  const fix = (c: number) => (c >= 0xd800 && c <= 0xdfff ? c + 0x2000 : c >= 0xe000 ? c - 0x800 : c)
  const byCodePoint = (a: string, b: string): number => {
    const n = Math.min(a.length, b.length)
    for (let i = 0; i < n; i++) {
      const x = a.charCodeAt(i)
      const y = b.charCodeAt(i)
      if (x !== y) return fix(x) - fix(y)
    }
    return a.length - b.length
  }
  return [...map.keys()].sort(byCodePoint).map((key) => map.get(key)!)
}

/** The node's current snapshot, checked against the version row on every `current()`. */
export class SnapshotCache {
  private held: DirectorySnapshot | undefined
  private inFlight: Promise<DirectorySnapshot> | undefined
  private queued: Promise<DirectorySnapshot> | undefined

  constructor(private readonly pool: pg.Pool) {}

  /** the snapshot as of a moment after this call (see the file comment) */
  current(): Promise<DirectorySnapshot> {
    if (!this.inFlight) {
      this.inFlight = this.check().finally(() => (this.inFlight = undefined))
      return this.inFlight
    }
    // the check in flight may have read the version before our caller's write elsewhere resolved
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined
        return this.current()
      })
    return this.queued
  }

  /** the snapshot held, if it is of that version */
  at(version: number): DirectorySnapshot | undefined {
    return this.held?.version === version ? this.held : undefined
  }

  /** what a write transaction holding the version row's lock starts from: the held snapshot, caught up */
  async under(client: pg.ClientBase): Promise<DirectorySnapshot> {
    const loaded = await loadSnapshot(client, this.held)
    this.offer(loaded)
    return loaded
  }

  /**
   * The latest loaded is kept, even when a slower concurrent load of an older version finishes
   * last: every use compares versions first, so that costs one catch-up, never a stale answer;
   * and a database whose version went back (restored from a backup) is followed.
   */
  private offer(snapshot: DirectorySnapshot): void {
    this.held = snapshot
  }

  private async check(): Promise<DirectorySnapshot> {
    const version = await directoryVersion(this.pool)
    const held = this.at(version)
    if (held) return held
    const loaded = await transaction(this.pool, (client) => loadSnapshot(client, this.held), {isolation: 'repeatable read'})
    this.offer(loaded)
    return loaded
  }
}
