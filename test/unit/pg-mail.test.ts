/**
 * The mail store on PostgreSQL (src/store/pg/mail.ts): the contract every backend passes
 * (test/helpers/mail-contract.ts), each test in a fresh schema of this file's private server; then
 * what only several nodes can show, with one pool per node on one database.
 */
import type pg from 'pg'
import {afterEach, describe, expect, it} from 'vitest'
import type {PgStorePool} from '../../src/store/pg/connect.js'
import {ChangeListener, type StoreChange} from '../../src/store/pg/changes.js'
import {pgDirectory} from '../../src/store/pg/directory.js'
import {pgMail} from '../../src/store/pg/mail.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {codeOfAsync} from '../helpers/errors.js'
import {DOMAIN, mailContract, mailOf, message, type MailBackend, type OpenedMail} from '../helpers/mail-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

/** a node's directory and mail over its pool */
export function pgMailBackend(pool: pg.Pool): MailBackend {
  const directory = pgDirectory(pool)
  return {directory: directory.directory, mail: pgMail(pool, directory)}
}

describe.skipIf(skipWithoutPostgres)('mail on PostgreSQL', () => {
  const server = usePostgres()

  mailContract('PostgreSQL', async (): Promise<OpenedMail> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: pgMailBackend(store.pool),
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {...pgMailBackend(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })
})

describe.skipIf(skipWithoutPostgres)('mail on PostgreSQL, several nodes', () => {
  const server = usePostgres()
  const listeners: ChangeListener[] = []
  /** each test's pools, closed after it: the server allows 60 connections */
  const opened: PgStorePool[] = []
  afterEach(async () => {
    await Promise.all([...listeners.splice(0).map((l) => l.stop()), ...opened.splice(0).map((p) => p.close())])
  })

  /** three nodes (a pool each) on one fresh store with example.com */
  async function threeNodes() {
    const url = await server().createSchema()
    for (let i = 0; i < 3; i++) opened.push(await openPgDatabase(url, {poolSize: 4}))
    const nodes = opened.map(({pool}) => ({pool, url, ...mailOf(pgMailBackend(pool))}))
    await nodes[0]!.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
    return nodes as [Node, Node, Node]
  }
  type Node = {pool: pg.Pool; url: string} & ReturnType<typeof mailOf>

  it('APPENDs from three nodes to one folder at once (3×50): unique, increasing, gap-free UIDs and exact counters', async () => {
    const [a, b, c] = await threeNodes()
    const user = await a.user()
    const results = await Promise.all(
      Array.from({length: 150}, (_, i) => [a, b, c][i % 3]!.append(user, 'INBOX', i % 2 ? ['\\Seen'] : [], message(`m${i}`))),
    )
    const uids = results.map((r) => r.appended![0]!.uid)
    expect([...uids].sort((x, y) => x - y)).toEqual(Array.from({length: 150}, (_, i) => i + 1))
    const modseqs = results.map((r) => r.appended![0]!.modseq)
    expect(new Set(modseqs).size).toBe(150)
    // each append's MODSEQ follows its UID: a higher UID was committed later
    const byUid = results.map((r) => r.appended![0]!).sort((x, y) => x.uid - y.uid)
    expect(byUid.every((m, i) => i === 0 || m.modseq > byUid[i - 1]!.modseq)).toBe(true)
    const inbox = await c.folder(user)
    expect(inbox).toMatchObject({messages: 150, unseen: 75, uidNext: 151, highestModseq: 151})
    expect(await c.uids(inbox)).toEqual(Array.from({length: 150}, (_, i) => i + 1))
    await c.expectCounters(inbox)
  })

  it('flags set on B are what C catches up on, with the MODSEQ B got; an expunge on A shows on B as vanished', async () => {
    const [a, b, c] = await threeNodes()
    const user = await a.user()
    for (let i = 0; i < 4; i++) await a.add(user)
    const inbox = await a.folder(user)
    const flagged = await b.mail.setFlags({user, mailboxId: inbox.id, uids: [2, 3], mode: 'add', flags: ['\\Flagged', '\\Deleted']})
    const caught = await c.mail.changesSince(inbox.id, inbox.highestModseq)
    if (caught.whole) throw new Error('PostgreSQL answers from its tombstones, not with a reload')
    expect(caught.changed).toEqual(flagged.updated)
    expect(caught.changed.map((m) => m.modseq)).toEqual([flagged.folder.highestModseq, flagged.folder.highestModseq])
    expect(caught.folder).toEqual(flagged.folder)
    expect(caught.vanished).toEqual([])
    const gone = await a.mail.expunge({user, mailboxId: inbox.id, onlyDeleted: true})
    const onB = await b.mail.changesSince(inbox.id, flagged.folder.highestModseq)
    if (onB.whole) throw new Error('expected a catch-up')
    expect(onB).toEqual({whole: false, folder: gone.folder, changed: [], vanished: [2, 3]})
    // a MOVE on C: B sees the copies in the destination and the sources vanish
    const archive = await c.folder(user, 'Archive')
    await c.mail.copy({user, mailboxId: inbox.id, uids: [1], to: 'Archive', move: true})
    const moved = await b.mail.changesSince(inbox.id, gone.folder.highestModseq)
    expect(moved).toMatchObject({whole: false, vanished: [1], changed: []})
    expect(await b.mail.changesSince(archive.id, archive.highestModseq)).toMatchObject({whole: false, changed: [{uid: 1}], vanished: []})
    // from before a revival (or a MODSEQ the folder never had): reload whole
    expect(await b.mail.changesSince(inbox.id, 10_000)).toEqual({whole: true})
  })

  it('deliveries to the same users from three nodes at once keep counters and blob references exact', async () => {
    const [a, b, c] = await threeNodes()
    const users = [await a.user(), await a.user(), await a.user()]
    const results = await Promise.all(
      Array.from({length: 60}, (_, i) => [a, b, c][i % 3]!.deliver({local: i % 2 ? users : [...users].reverse(), remote: ['r@remote.test'], localRaw: message(`d${i}`)})),
    )
    for (const user of users) {
      const inbox = await b.folder(user)
      expect(inbox).toMatchObject({messages: 60, uidNext: 61, unseen: 60})
      expect(await b.uids(inbox)).toEqual(Array.from({length: 60}, (_, i) => i + 1))
    }
    for (const r of results) {
      expect(await c.refs(r.id)).toBe(3)
      expect(await c.refs(r.queued[0]!.blobId)).toBe(1)
    }
    expect(await c.blobCount()).toBe(120)
    const {rows} = await a.pool.query('SELECT count(*)::int AS n FROM queue')
    expect(rows[0].n).toBe(60)
  })

  it('capture users delivered to from three nodes at once: made once, with one INBOX, seen by every node', async () => {
    const [a, b, c] = await threeNodes()
    const fresh = [`c1@${DOMAIN}`, `c2@${DOMAIN}`]
    await Promise.all(Array.from({length: 12}, (_, i) => [a, b, c][i % 3]!.deliver({local: i % 2 ? fresh : [fresh[1]!], remote: [], createUsers: true})))
    for (const node of [a, b, c]) {
      for (const user of fresh) expect(await node.directory.user(user)).toMatchObject({capture: true})
    }
    expect(await c.names(fresh[0]!)).toEqual(['INBOX'])
    expect((await c.folder(fresh[0]!)).messages).toBe(6)
    expect((await c.folder(fresh[1]!)).messages).toBe(12)
  })

  it('a folder renamed back and forth while three nodes append to it loses nothing', async () => {
    const [a, b, c] = await threeNodes()
    const user = await a.user()
    const work = await a.mail.createFolder(user, 'Work')
    const names = ['Work', 'Play']
    const renames = (async () => {
      for (let i = 0; i < 20; i++) await c.mail.renameFolder(user, names[i % 2]!, names[(i + 1) % 2]!)
    })()
    const appends = await Promise.allSettled(
      Array.from({length: 90}, (_, i) => [a, b, c][i % 3]!.append(user, names[i % 2]!, [], message(`r${i}`))),
    )
    await renames
    const ok = appends.filter((r) => r.status === 'fulfilled').length
    for (const r of appends) if (r.status === 'rejected') expect((r.reason as {code?: string}).code).toBe('not-found')
    const folder = await a.mail.folderById(user, work.id)
    expect(folder.name).toBe('Work')
    expect(folder.messages).toBe(ok)
    expect(await a.uids(folder)).toEqual(Array.from({length: ok}, (_, i) => i + 1))
    expect(ok).toBeGreaterThan(0)
    expect(await a.blobCount()).toBe(ok)
  })

  it('APPENDs of one user with a quota from three nodes at once: exactly as many as fit', async () => {
    const [a, b, c] = await threeNodes()
    const raw = message('fits', 'q'.repeat(300))
    const user = await a.user(raw.length * 7)
    const tries = await Promise.allSettled(Array.from({length: 21}, (_, i) => [a, b, c][i % 3]!.append(user, i % 2 ? 'INBOX' : 'Archive', [], raw)))
    expect(tries.filter((r) => r.status === 'fulfilled')).toHaveLength(7)
    for (const r of tries) if (r.status === 'rejected') expect((r.reason as {code?: string}).code).toBe('quota')
    expect(await c.mail.usage(user)).toMatchObject({messages: 7, size: raw.length * 7})
  })

  it('a folder CREATE racing the removal of its user on another node leaves no folder behind', async () => {
    const [a, b] = await threeNodes()
    for (let round = 0; round < 5; round++) {
      const user = await a.user()
      const [created, removed] = await Promise.allSettled([b.create(user, 'x/y/z', 'w'), a.directory.removeUser(user, {force: true})])
      expect(removed.status).toBe('fulfilled')
      if (created.status === 'rejected') expect((created.reason as {code?: string}).code).toBe('not-found')
      expect(await b.mail.folders(user)).toEqual([])
    }
    expect(await codeOfAsync(b.mail.createFolder(`gone@${DOMAIN}`, 'x'))).toBe('not-found')
  })

  it('each committed write signals its folders to every node at COMMIT; refusals and no-ops send nothing', async () => {
    const [a, b, c] = await threeNodes()
    const user = await a.user()
    const listener = new ChangeListener(a.url)
    listeners.push(listener)
    const heard: StoreChange[] = []
    listener.subscribe((change) => heard.push(change))
    await listener.start()
    const appended = await a.append(user)
    await b.mail.setFlags({user, mailboxId: appended.folder.id, uids: [1], mode: 'add', flags: []})
    await codeOfAsync(c.append(user, 'Missing'))
    const trash = await c.mail.deleteFolder(user, 'Trash')
    const fresh = `sig@${DOMAIN}`
    const delivered = await b.deliver({local: [fresh], remote: ['x@remote.test'], createUsers: true})
    const expected = 5
    for (let i = 0; i < 100 && heard.length < expected; i++) await new Promise((resolve) => setTimeout(resolve, 20))
    await new Promise((resolve) => setTimeout(resolve, 100)) // nothing more is coming
    const inboxOfFresh = delivered.changes[0]!.folder
    expect(heard).toEqual([
      {kind: 'mailbox', user, mailboxId: appended.folder.id, highestModseq: appended.folder.highestModseq},
      {kind: 'mailbox', user, mailboxId: trash.id, highestModseq: trash.highestModseq},
      {kind: 'mailbox', user: fresh, mailboxId: inboxOfFresh.id, highestModseq: inboxOfFresh.highestModseq},
      {kind: 'queue', dueAt: delivered.queued[0]!.nextAttemptAt},
      {kind: 'directory', version: expect.any(Number)},
    ])
  })
})
