/**
 * `store copy` between real stores (src/store/copy.ts, src/store/transfer.ts and its LMDB and
 * PostgreSQL halves): an LMDB store filled through the store's own code paths (directory, DKIM,
 * delivery, flags, folders with non-ASCII names, COPY sharing a blob, the queue with its log,
 * capture rules, familiar logins, cached search text, Sieve scripts) goes to PostgreSQL and back into a fresh
 * LMDB store; all three give the same digest per kind, and the copies behave as the original:
 * the PostgreSQL directory loads on a node, counters continue past the source's, one blob keeps
 * its references. A destination that holds anything is refused before anything is written.
 */
import {storedCertificate} from '../helpers/certs-contract.js'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {searchText} from '../../src/mailstore/search-text.js'
import {newFolder} from '../../src/store/lmdb-folders.js'
import {listEntries, logAttempt, updateEntry} from '../../src/store/lmdb-queue.js'
import {copyStore, verifyStores, type StoreLocation} from '../../src/store/copy.js'
import {lmdbSource} from '../../src/store/lmdb-transfer.js'
import {createFolder as createPgFolder} from '../../src/store/pg/folders.js'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {transaction} from '../../src/store/pg/connect.js'
import {openStore, type Store} from '../../src/store/store.js'
import {digestOf, KINDS, type StoreDigest} from '../../src/store/transfer.js'
import {pgDigest} from '../helpers/test-store.js'
import {codeOfAsync} from '../helpers/errors.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo'
const ALICE = 'alice@example.com'
const BOB = 'bob@example.com'
const CAFE = 'zoë@café.example'
const FUN = 'Reçus/😀 Fun'

const dirs: string[] = []
afterAll(() => {
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
})
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-transfer-'))
  dirs.push(dir)
  return join(dir, 'data')
}

const message = (subject: string, body = 'Hello there.') =>
  Buffer.from(`From: Sender <sender@remote.test>\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8; format=flowed\r\n\r\n${body}\r\n`)

/** A store with some of everything, made through the store's own code paths; closed after. */
async function filledStore(dir: string): Promise<void> {
  const store = openStore(dir)
  try {
    const at = Date.now()
    for (const name of ['example.com', 'café.example']) {
      await store.directory.addDomain({
        record: {name, createdAt: at},
        keys: [{domain: name, selector: 'a-ed25519', algorithm: 'ed25519', privateKey: 'private', publicKey: 'public', state: 'active', createdAt: at}],
      })
    }
    await store.directory.addUser({address: ALICE, passwordHash: HASH, quota: 10_000_000})
    await store.directory.addUser({address: BOB, passwordHash: HASH})
    await store.directory.addUser({address: CAFE, passwordHash: HASH, maxMessages: 42})
    await store.directory.updateUser(BOB, {disabled: true})
    await store.directory.addAlias('sales@example.com', [ALICE, BOB])
    await store.directory.addAlias('@café.example', [CAFE])
    await store.capture.addRule({to: 'fail@', reply: '451 4.3.0 not now', stage: 'rcpt', remaining: 3})
    await store.auth.rememberLogin(ALICE, '127.0.0.2', at, {maxAgeMs: 86_400_000, maxPerUser: 5})
    // Sieve scripts: two of alice's (one active, a non-ASCII name and text), one of zoë's, none active
    const sieveQuota = {maxScripts: 5, maxScriptBytes: 1000}
    await store.sieve.put(ALICE, 'Filtres ünïcödé', 'require "fileinto";\nif header :contains "subject" "ça" { fileinto "Reçus"; }\n', sieveQuota)
    await store.sieve.put(ALICE, 'vacation', 'keep;\n', sieveQuota)
    await store.sieve.activate(ALICE, 'Filtres ünïcödé')
    await store.sieve.put(CAFE, 'spare', 'discard;\n', sieveQuota)
    await store.sieve.claimVacationReply(ALICE, 'not copied', at, 86_400_000)
    // the SRS secret: addresses made before a copy must still reverse after it
    await store.settings.secret('srs')
    // certificates with their keys, and an ACME account: a copy serves the same certificates
    await store.certs.put(storedCertificate(['mail.example.com', 'mta-sts.example.com']))
    await store.certs.put(storedCertificate(['autoconfig.example.com'], {notAfter: 1_800_000_000_000}))
    await store.certs.putAccount({directory: 'https://acme.test/dir', keyPem: 'KEY', url: 'https://acme.test/acct/1', email: 'admin@example.com'})

    // one delivery to three local users (one blob, three references) and one remote recipient (queued)
    const raw = message('to everyone')
    await store.mail.deliver({localRaw: raw, analysis: analyzeMessage(raw), mailFrom: 'sender@remote.test', rcptTo: [ALICE, BOB, CAFE, 'far@remote.test'], local: [ALICE, BOB, CAFE], remote: ['far@remote.test']})
    for (let i = 0; i < 5; i++) {
      const one = message(`number ${i}`, `Body ${i} with ünïcödé.`)
      await store.mail.deliver({localRaw: one, analysis: analyzeMessage(one), mailFrom: 'sender@remote.test', rcptTo: [ALICE], local: [ALICE], remote: []})
    }
    await store.mail.createFolder(ALICE, FUN)
    const inbox = (await store.mail.folder(ALICE, 'INBOX'))!
    await store.mail.setFlags({user: ALICE, mailboxId: inbox.id, uids: [1, 3], mode: 'add', flags: ['\\Seen', '$Label1']})
    await store.mail.setFlags({user: ALICE, mailboxId: inbox.id, uids: [2], mode: 'add', flags: ['\\Flagged']})
    // COPY: the copies share the blobs
    await store.mail.copy({user: ALICE, mailboxId: inbox.id, uids: [1, 2], to: FUN, move: false})
    // a subscription that outlived its folder, and an unsubscribed folder
    await store.mail.createFolder(ALICE, 'Short-lived')
    await store.mail.deleteFolder(ALICE, 'Short-lived')
    await store.mail.subscribe(ALICE, 'Archive', false)
    // a folder made and deleted: the counters are past what the remaining folders show
    newFolder(store, CAFE, 'Gone')
    store.transact(() => store.mailboxes.removeSync([CAFE, 'Gone']))
    // SEARCH's cached text
    await searchText(store.mail, inbox.id ? store.messages.get([inbox.id, 4])!.blobId : '', () => {})

    // the queue: one entry deferred with a logged attempt, one left `sending` (as a crash leaves it)
    const [entry] = listEntries(store, 'queued')
    await store.transactAsync(() => {
      const deferred = updateEntry(store, entry!, {state: 'deferred', attempts: 1, nextAttemptAt: at + 60_000, lastError: '451 try later'})
      logAttempt(store, {queueId: deferred.id, attempt: 1, startedAt: at, endedAt: at + 5, host: 'mx.remote.test', result: 'deferred', transcript: ['S: 451 try later'], tls: {state: 'none'}})
    })
    const second = message('second remote')
    const {queued} = await store.mail.deliver({localRaw: second, analysis: analyzeMessage(second), mailFrom: ALICE, rcptTo: ['x@elsewhere.test'], local: [], remote: ['x@elsewhere.test']})
    await store.transactAsync(() => updateEntry(store, queued[0]!, {state: 'sending', attempts: 1}))
  } finally {
    await store.close()
  }
}

async function lmdbDigest(dir: string): Promise<StoreDigest> {
  const store = openStore(dir, {readOnly: true, create: false})
  const source = lmdbSource(store, dir)
  try {
    return await digestOf(source)
  } finally {
    await source.close()
    await store.close()
  }
}

const lmdb = (dir: string): StoreLocation => ({type: 'lmdb', dataDir: dir})
const pg = (url: string): StoreLocation => ({type: 'pg', url})

describe.skipIf(skipWithoutPostgres)('store copy between LMDB and PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  it('LMDB → PostgreSQL → a fresh LMDB store: every kind has the same count and digest, and the copies work', async () => {
    const original = dataDir()
    await filledStore(original)
    const url = await server().createSchema()
    const there = await copyStore(lmdb(original), pg(url))
    expect(there.verify?.equal).toBe(true)
    expect(there.copied.user.count).toBe(3)
    expect(there.copied.blob.count).toBe(8)
    expect(there.copied.message.count).toBe(10)
    expect(there.copied.queueEntry.count).toBe(2)
    expect(there.copied.deliveryAttempt.count).toBe(1)
    expect(there.copied.secret.count).toBe(1)
    expect(there.copied.certificate.count).toBe(2)
    expect(there.copied.acmeAccount.count).toBe(1)
    // the subscriptions, those without a folder included: 3 users × 6 defaults, FUN and its parent, Short-lived and Gone, less Archive
    expect(there.copied.subscription.count).toBe(6 * 3 + 4 - 1)
    expect(there.copied.sieveScript.count).toBe(3)

    const back = dataDir()
    const again = await copyStore(pg(url), lmdb(back))
    expect(again.verify?.equal).toBe(true)

    const [a, b, c] = [await lmdbDigest(original), await pgDigest(url), await lmdbDigest(back)]
    for (const kind of KINDS) {
      expect(b[kind], kind).toEqual(a[kind])
      expect(c[kind], kind).toEqual(a[kind])
    }
    expect((await verifyStores(lmdb(original), lmdb(back))).equal).toBe(true)

    // one flag changed on one message of the copy: verify names the messages
    const changed = openStore(back, {create: false})
    const inbox = changed.mailboxes.get([ALICE, 'INBOX'])!
    const m = changed.messages.get([inbox.id, 2])!
    changed.transact(() => changed.messages.putSync([inbox.id, 2], {...m, flags: [...m.flags, '\\Answered']}))
    await changed.close()
    const differs = await verifyStores(lmdb(original), lmdb(back))
    expect(differs).toMatchObject({equal: false, difference: {kind: 'message', name: 'messages'}})
    const restored = openStore(back, {create: false})
    restored.transact(() => restored.messages.putSync([inbox.id, 2], m))
    await restored.close()

    // the copy as the original, record for record (the sending entry now queued, due already)
    const before = openStore(original, {readOnly: true, create: false})
    const after = openStore(back, {create: false})
    try {
      const folders = (s: Store) => [...s.mailboxes.getRange({})].map(({value}) => value)
      expect(folders(after)).toEqual(folders(before))
      expect(folders(after).map((f) => f.name)).toContain(FUN)
      const messages = (s: Store) => [...s.messages.getRange({})].map(({key, value}) => [key, value])
      expect(messages(after)).toEqual(messages(before))
      expect([...after.blobs.getRange({})].map(({key, value}) => [key, Buffer.from(value).toString('base64')])).toEqual(
        [...before.blobs.getRange({})].map(({key, value}) => [key, Buffer.from(value).toString('base64')]),
      )
      const sending = listEntries(before, 'sending')
      expect(sending).toHaveLength(1)
      const copied = after.queueEntries.get(sending[0]!.id)!
      expect(copied).toMatchObject({state: 'queued', attempts: 1})
      expect(copied.nextAttemptAt).toBeLessThanOrEqual(Date.now())
      expect(listEntries(after, 'queued').map((e) => e.id)).toEqual([sending[0]!.id])
      expect(listEntries(after, 'deferred').map((e) => e.id)).toEqual(listEntries(before, 'deferred').map((e) => e.id))
      expect(after.deliveryLog.getCount()).toBe(1)
      // the Sieve scripts, the active one still active
      for (const user of [ALICE, CAFE]) expect(await after.sieve.list(user)).toEqual(await before.sieve.list(user))
      expect(await after.sieve.active(ALICE)).toEqual(await before.sieve.active(ALICE))
      expect((await after.sieve.active(ALICE))?.name).toBe('Filtres ünïcödé')
      expect(await after.sieve.active(CAFE)).toBeUndefined()
      expect((await after.settings.secret('srs')).equals(await before.settings.secret('srs'))).toBe(true)
      expect(await after.certs.list()).toEqual(await before.certs.list())
      expect(await after.certs.account('https://acme.test/dir')).toEqual(await before.certs.account('https://acme.test/dir'))
      // counters: a folder made now gets an id and a UIDVALIDITY past every one the source gave out
      const made = newFolder(after, ALICE, 'New')
      expect(made.id).toBe((before.meta.get('lastMailboxId') as number) + 1)
      expect(made.uidValidity).toBeGreaterThan(before.meta.get('lastUidValidity') as number)
    } finally {
      await before.close()
      await after.close()
    }
  })

  it('on PostgreSQL a node loads the copied directory, shares each blob once, and continues the counters', async () => {
    const original = dataDir()
    await filledStore(original)
    const url = await server().createSchema()
    await copyStore(lmdb(original), pg(url), {verify: false})
    const db = await pools.node(url, {poolSize: 2})
    const {directory} = pgDirectory(db.pool)
    expect((await directory.users()).map((u) => u.address)).toEqual([ALICE, BOB, CAFE].sort())
    expect((await directory.user(BOB))?.disabled).toBe(true)
    expect((await directory.user(CAFE))?.maxMessages).toBe(42)
    expect(await directory.user(ALICE)).not.toHaveProperty('maxMessages')
    expect(await directory.resolve('anyone@café.example')).toEqual({local: [CAFE], remote: []})

    // the message to three users and its COPY: one blob, four references
    const shared = await db.pool.query(`SELECT m.blob_id, count(*)::int AS n, bi.refs FROM messages m JOIN blob_info bi USING (blob_id) GROUP BY m.blob_id, bi.refs ORDER BY n DESC`)
    expect(shared.rows[0]).toMatchObject({n: 4, refs: 4})
    expect(shared.rows.every((r: {n: number; refs: number}) => r.n === r.refs)).toBe(true)
    expect((await db.pool.query('SELECT count(*)::int AS n FROM blobs')).rows[0].n).toBe(8)

    const source = openStore(original, {readOnly: true, create: false})
    try {
      const made = await transaction(db.pool, (client) => createPgFolder(client, ALICE, 'New'))
      expect(made.id).toBe((source.meta.get('lastMailboxId') as number) + 1)
      expect(made.uidValidity).toBeGreaterThan(source.meta.get('lastUidValidity') as number)
      const fun = (await db.pool.query('SELECT name, uid_next, highest_modseq, vanished_floor FROM folders WHERE name = $1', [FUN])).rows[0]
      const lmdbFun = source.mailboxes.get([ALICE, FUN])!
      expect(fun).toEqual({name: FUN, uid_next: lmdbFun.uidNext, highest_modseq: lmdbFun.highestModseq, vanished_floor: lmdbFun.highestModseq})
    } finally {
      await source.close()
    }
  })

  it('refuses a destination that holds anything, before writing, and the same store as both ends', async () => {
    const original = dataDir()
    await filledStore(original)
    // PostgreSQL with one domain
    const {url, store} = await pools.fresh()
    await pgDirectory(store.pool).directory.addDomain({record: {name: 'taken.example', createdAt: 1}, keys: []})
    const refusal = await copyStore(lmdb(original), pg(url)).catch((err: Error) => err)
    expect(refusal).toMatchObject({code: 'exists'})
    expect((refusal as Error).message).toMatch(/not empty \(it holds domains\)/)
    expect((await store.pool.query('SELECT count(*)::int AS n FROM users')).rows[0].n).toBe(0)

    // an LMDB store with one capture rule
    const other = dataDir()
    const busy = openStore(other)
    await busy.capture.addRule({to: 'x', reply: '550 5.1.1 no', stage: 'rcpt'})
    await busy.close()
    expect(await codeOfAsync(copyStore(lmdb(original), lmdb(other)))).toBe('exists')
    const after = openStore(other, {create: false})
    expect(after.users.getCount()).toBe(0)
    await after.close()

    expect(await codeOfAsync(copyStore(lmdb(original), lmdb(original)))).toBe('invalid')
  })
})
