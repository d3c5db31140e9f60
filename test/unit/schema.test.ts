import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {SCHEMA_VERSION, nextCounter} from '../../src/store/schema.js'
import {openStore, storePath, type Store} from '../../src/store/store.js'
import {tempStore} from '../helpers/store.js'

// These tests close and reopen stores, so they manage their own directories besides tempStore().
const dirs: string[] = []
const open: Store[] = []
function freshDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-schema-'))
  dirs.push(dir)
  return join(dir, 'data')
}
function openTracked(dataDir: string, options?: {readOnly?: boolean}): Store {
  const s = openStore(dataDir, options)
  open.push(s)
  return s
}
async function close(s: Store): Promise<void> {
  open.splice(open.indexOf(s), 1)
  await s.close()
}
afterAll(async () => {
  for (const s of open) await s.close()
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

function errorOf(fn: () => unknown): MailboxError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    return err as MailboxError
  }
  throw new Error('expected a MailboxError, nothing was thrown')
}

describe('store schema', () => {
  it('a fresh store gets SCHEMA_VERSION and zeroed counters', () => {
    const store = tempStore()
    expect(SCHEMA_VERSION).toBeGreaterThanOrEqual(1)
    expect(store.meta.get('schemaVersion')).toBe(SCHEMA_VERSION)
    expect(store.meta.get('lastUidValidity')).toBe(0)
    expect(store.meta.get('lastMailboxId')).toBe(0)
    expect(typeof store.meta.get('createdAt')).toBe('number')
    expect(store.readOnly).toBe(false)
  })

  it('creates the data dir 0700 and the store files 0600', async () => {
    const dataDir = freshDataDir()
    const store = openTracked(dataDir)
    expect(store.path).toBe(storePath(dataDir))
    expect(storePath(dataDir)).toBe(join(dataDir, 'mailbox.lmdb'))
    expect(statSync(dataDir).mode & 0o777).toBe(0o700)
    expect(statSync(store.path).mode & 0o777).toBe(0o600)
    expect(statSync(store.path + '-lock').mode & 0o777).toBe(0o600)
    await close(store)
  })

  it('reopening keeps data and does not re-run migrations', async () => {
    const dataDir = freshDataDir()
    const first = openTracked(dataDir)
    const createdAt = first.meta.get('createdAt')
    first.transact(() => {
      nextCounter(first, 'lastMailboxId')
      first.domains.putSync('example.com', {name: 'example.com', createdAt: 1})
    })
    await close(first)
    const second = openTracked(dataDir)
    expect(second.meta.get('schemaVersion')).toBe(SCHEMA_VERSION)
    expect(second.meta.get('lastMailboxId')).toBe(1) // not reset to 0
    expect(second.meta.get('createdAt')).toBe(createdAt)
    expect(second.domains.get('example.com')).toEqual({name: 'example.com', createdAt: 1})
    await close(second)
  })

  it('refuses a store written by a newer mailbox with code schema, and leaves it untouched', async () => {
    const dataDir = freshDataDir()
    const store = openTracked(dataDir)
    store.transact(() => store.meta.putSync('schemaVersion', SCHEMA_VERSION + 1))
    await close(store)
    const err = errorOf(() => openStore(dataDir))
    expect(err.code).toBe('schema')
    expect(err.message).toContain(`schema version ${SCHEMA_VERSION + 1}`)
    expect(errorOf(() => openStore(dataDir, {readOnly: true})).code).toBe('schema')
    // still refused the second time: the refusal did not rewrite the version
    expect(errorOf(() => openStore(dataDir)).code).toBe('schema')
  })

  it('a read-only open of a store that needs migrating is refused with schema', async () => {
    const dataDir = freshDataDir()
    const store = openTracked(dataDir)
    store.transact(() => store.meta.removeSync('schemaVersion'))
    await close(store)
    const err = errorOf(() => openStore(dataDir, {readOnly: true}))
    expect(err.code).toBe('schema')
    expect(err.message).toMatch(/needs migrating from version 0/)
    // a read-write open brings it forward
    const rw = openTracked(dataDir)
    expect(rw.meta.get('schemaVersion')).toBe(SCHEMA_VERSION)
    await close(rw)
  })

  it('a read-only open of a current store works and reads', async () => {
    const dataDir = freshDataDir()
    const rw = openTracked(dataDir)
    rw.transact(() => rw.domains.putSync('ro.test', {name: 'ro.test', createdAt: 2}))
    await close(rw)
    const ro = openTracked(dataDir, {readOnly: true})
    expect(ro.readOnly).toBe(true)
    expect(ro.domains.get('ro.test')).toEqual({name: 'ro.test', createdAt: 2})
    await close(ro)
  })

  it('a read-only open where there is no store yet is unavailable', () => {
    const err = errorOf(() => openStore(join(freshDataDir(), 'missing'), {readOnly: true}))
    expect(err.code).toBe('unavailable')
    expect(err.message).toMatch(/no store there yet/)
  })
})

describe('nextCounter', () => {
  it('counts up from the stored value and persists it', () => {
    const store = tempStore()
    expect(store.transact(() => nextCounter(store, 'testCounter'))).toBe(1)
    expect(store.transact(() => nextCounter(store, 'testCounter'))).toBe(2)
    expect(store.meta.get('testCounter')).toBe(2)
  })

  it('never goes below the floor, and never backwards after a floor was applied', () => {
    const store = tempStore()
    expect(store.transact(() => nextCounter(store, 'floored', 1000))).toBe(1000)
    expect(store.transact(() => nextCounter(store, 'floored', 10))).toBe(1001)
    expect(store.transact(() => nextCounter(store, 'floored', 1001))).toBe(1002)
  })

  it('a counter bumped in an aborted transaction is not consumed', () => {
    const store = tempStore()
    store.transact(() => nextCounter(store, 'aborted'))
    expect(() =>
      store.transact(() => {
        nextCounter(store, 'aborted')
        throw new Error('roll back')
      }),
    ).toThrow('roll back')
    expect(store.meta.get('aborted')).toBe(1)
  })
})

/**
 * Writes `fill` into `store` as schema `version` left it, closes it, reopens it (which migrates)
 * and hands the migrated store to `check`.
 */
async function migrateFrom(version: number, store: Store, fill: () => void, check: (migrated: Store) => void): Promise<void> {
  store.transact(() => {
    fill()
    store.meta.putSync('schemaVersion', version)
  })
  const path = store.path
  await store.close()
  const reopened = openStore(dirname(path))
  try {
    expect(reopened.meta.get('schemaVersion')).toBe(SCHEMA_VERSION)
    check(reopened)
  } finally {
    await reopened.close()
  }
}

describe('migration 1 → 2', () => {
  it('re-analyzes stored blobs so MIME offsets match the stored bytes', async () => {
    const {analyzeMessage} = await import('../../src/mailstore/analyze.js')
    const store = tempStore()
    const body = 'Subject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n'
    const raw = Buffer.from('Return-Path: <a@b.test>\r\n' + body)
    const stale = analyzeMessage(Buffer.from(body)) // what version 1 stored
    await migrateFrom(1, store, () => {
      store.blobs.putSync('b1', raw)
      store.blobInfo.putSync('b1', {refs: 1, size: raw.length, createdAt: 0, ...stale})
    }, (reopened) => {
      const info = reopened.blobInfo.get('b1')!
      expect(raw.subarray(info.structure!.bodyStart, info.structure!.bodyEnd).toString()).toBe('hello\r\n')
      expect(info.refs).toBe(1)
    })
  })
})

describe('migration 2 → 3', () => {
  it('gives every domain made before DKIM signing its Ed25519 and RSA keys, and leaves domains with keys alone', async () => {
    const {dkimKeysOf} = await import('../../src/store/dkim-keys.js')
    const {generateDkimKeys} = await import('../../src/dkim/keys.js')
    const store = tempStore()
    const kept = generateDkimKeys('keyed.test', 0)
    await migrateFrom(2, store, () => {
      store.domains.putSync('old.test', {name: 'old.test', createdAt: 0})
      store.domains.putSync('keyed.test', {name: 'keyed.test', createdAt: 0})
      for (const k of kept) store.dkimKeys.putSync([k.domain, k.selector], k)
    }, (reopened) => {
      const keys = dkimKeysOf(reopened, 'old.test')
      expect(keys.map((k) => [k.algorithm, k.state])).toEqual([
        ['ed25519', 'active'],
        ['rsa', 'active'],
      ])
      expect(keys.every((k) => /^mbx\d{8}[er]$/.test(k.selector) && k.privateKey.includes('PRIVATE KEY'))).toBe(true)
      expect(dkimKeysOf(reopened, 'keyed.test').map((k) => k.selector)).toEqual(kept.map((k) => k.selector))
    })
  })
})

describe('migration 3 → 4', () => {
  it("seeds the subscriptions from the folders' subscribed flags and makes the stored envelopes again", async () => {
    const {analyzeMessage} = await import('../../src/mailstore/analyze.js')
    const store = tempStore()
    const folder = (name: string, subscribed: boolean) => ({id: 0, user: 'a@x.test', name, uidValidity: 1, uidNext: 1, highestModseq: 1, subscribed, messages: 0, unseen: 0, size: 0, createdAt: 0})
    const raw = Buffer.from('From: root\r\nSubject: hi\r\n\r\nhello\r\n')
    const stale = analyzeMessage(raw)
    stale.envelope.from = [{mailbox: 'root', host: 'MISSING_DOMAIN'}] // what version 3 stored
    await migrateFrom(3, store, () => {
      store.mailboxes.putSync(['a@x.test', 'INBOX'], folder('INBOX', true))
      store.mailboxes.putSync(['a@x.test', 'Quiet'], folder('Quiet', false))
      store.blobs.putSync('b1', raw)
      store.blobInfo.putSync('b1', {refs: 1, size: raw.length, createdAt: 0, ...stale})
    }, (reopened) => {
      expect([...reopened.subscriptions.getKeys({})]).toEqual([['a@x.test', 'INBOX']])
      expect(reopened.blobInfo.get('b1')!.envelope!.from).toEqual([{mailbox: 'root', host: ''}])
    })
  })
})
