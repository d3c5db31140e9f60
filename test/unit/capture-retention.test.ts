/**
 * Retention of captured mail (src/capture/retention.ts) on both backends, through the real
 * mailstore actor and a real store: the count and age limits, oldest first; blobs released; the
 * batch bound and the turns of the event loop between commits observed structurally (the size of
 * every expunge, a counter the event loop advances in between); two pruners at once (two nodes)
 * removing no more than one would.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {CaptureRetention, type CaptureRetentionConfig} from '../../src/capture/retention.js'
import {silentLogger} from '../../src/log.js'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {MailstoreActor} from '../../src/mailstore/actor.js'
import type {ExpungeRequest, MailboxStore} from '../../src/store/backend.js'
import {openPgStore} from '../../src/store/pg/store.js'
import {openStore} from '../../src/store/store.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

const DOMAIN = 'capture.test'
const DAY = 86_400_000

interface Opened {
  store: MailboxStore
  /** another handle on the same store (another node); LMDB: the same one */
  other(): Promise<MailboxStore>
}

/** a mailstore actor on its own bus over `store`, whose expunges are recorded */
async function node(store: MailboxStore, config: Partial<CaptureRetentionConfig>) {
  const expunges: {uids: number; turn: number}[] = []
  let turns = 0
  let ticking = true
  const tick = () => {
    turns++
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const recorded: MailboxStore = Object.assign(Object.create(store) as MailboxStore, {
    mail: {
      ...store.mail,
      expunge: (req: ExpungeRequest) => {
        expunges.push({uids: req.uids?.length ?? Infinity, turn: turns})
        return store.mail.expunge(req)
      },
    },
  })
  const bus = new Bus()
  const changed: number[] = []
  bus.subscribe('mailbox.changed', (e) => void changed.push((e.body as {mailboxId: number}).mailboxId))
  const mailstore = new MailstoreActor(bus, recorded, silentLogger, {capture: true})
  await mailstore.start()
  const retention = new CaptureRetention(bus, recorded, silentLogger, {maxAgeMs: 0, maxMessages: 0, intervalMs: 60_000, batch: 100, ...config})
  return {
    retention,
    expunges,
    changed,
    stop: async () => {
      ticking = false
      await retention.stop()
      await mailstore.stop()
    },
  }
}

async function fill(store: MailboxStore, user: string, count: number, internalDate = Date.now()): Promise<void> {
  for (let done = 0; done < count; done += 500) {
    const messages = Array.from({length: Math.min(500, count - done)}, (_, i) => {
      const raw = Buffer.from(`From: app@service.test\r\nTo: ${user}\r\nSubject: mail ${done + i}\r\n\r\nbody ${done + i} of ${user}\r\n`)
      return {raw, flags: [], internalDate, analysis: analyzeMessage(raw)}
    })
    await store.mail.append({user, folder: 'INBOX', messages})
  }
}

async function addUsers(store: MailboxStore, ...names: string[]): Promise<string[]> {
  await store.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
  const users: string[] = []
  for (const name of names) users.push((await store.directory.addUser({address: `${name}@${DOMAIN}`, passwordHash: '', quota: 0, maxMessages: 0})).address)
  return users
}

async function inbox(store: MailboxStore, user: string) {
  const folder = (await store.mail.folder(user, 'INBOX'))!
  return {folder, messages: await store.mail.messages(folder.id)}
}

function retentionContract(name: string, open: () => Promise<Opened>, close: () => Promise<void>) {
  describe(`capture retention on ${name}`, () => {
    afterEach(close)

    it('keeps the newest maxMessages of each INBOX: oldest first, at most `batch` per commit with the event loop turning between, blobs released, sessions told', async () => {
      const {store} = await open()
      const [big, small] = await addUsers(store, 'big', 'small')
      await fill(store, big!, 2_500)
      await fill(store, small!, 3)
      const doomedBlob = (await inbox(store, big!)).messages[0]!.blobId
      const n = await node(store, {maxMessages: 1_000, batch: 100})
      try {
        const report = await n.retention.pruneOnce()
        expect(report).toEqual({mailboxes: 1, byAge: 0, byCount: 1_500, commits: 15})
        expect(n.expunges).toHaveLength(15)
        expect(Math.max(...n.expunges.map((e) => e.uids))).toBe(100)
        for (let i = 1; i < n.expunges.length; i++) expect(n.expunges[i]!.turn, `a turn of the event loop before commit ${i}`).toBeGreaterThan(n.expunges[i - 1]!.turn)
        const kept = await inbox(store, big!)
        expect(kept.folder.messages).toBe(1_000)
        expect(kept.messages.map((m) => m.uid)).toEqual(Array.from({length: 1_000}, (_, i) => 1_501 + i))
        expect((await inbox(store, small!)).messages).toHaveLength(3)
        expect(await store.mail.blobInfo(doomedBlob)).toBeUndefined()
        expect(await store.mail.blob(doomedBlob)).toBeUndefined()
        expect(await store.mail.recentBlobs(0, 10_000)).toHaveLength(1_003)
        expect(new Set(n.changed)).toEqual(new Set([kept.folder.id]))
        // a second run finds nothing more to do
        expect(await n.retention.pruneOnce()).toEqual({mailboxes: 0, byAge: 0, byCount: 0, commits: 0})
      } finally {
        await n.stop()
      }
    })

    it('removes mail older than maxAgeMs and keeps younger; 0 turns each limit off', async () => {
      const {store} = await open()
      const [user] = await addUsers(store, 'aged')
      const now = Date.now()
      await fill(store, user!, 150, now - 2 * DAY)
      await fill(store, user!, 20, now - 1000)
      const off = await node(store, {maxAgeMs: 0, maxMessages: 0})
      try {
        expect(await off.retention.pruneOnce()).toEqual({mailboxes: 0, byAge: 0, byCount: 0, commits: 0})
      } finally {
        await off.stop()
      }
      const n = await node(store, {maxAgeMs: DAY, maxMessages: 0, batch: 64})
      try {
        expect(await n.retention.pruneOnce(now)).toEqual({mailboxes: 1, byAge: 150, byCount: 0, commits: 3})
        expect(n.expunges.map((e) => e.uids)).toEqual([64, 64, 22])
        const kept = (await inbox(store, user!)).messages
        expect(kept).toHaveLength(20)
        expect(kept.every((m) => m.internalDate >= now - 1000)).toBe(true)
      } finally {
        await n.stop()
      }
    })

    it('two nodes pruning one mailbox at once remove no more than one would', async () => {
      const opened = await open()
      const [user] = await addUsers(opened.store, 'shared')
      await fill(opened.store, user!, 700)
      const other = await opened.other()
      const a = await node(opened.store, {maxMessages: 200, batch: 50})
      const b = await node(other, {maxMessages: 200, batch: 50})
      try {
        await Promise.all([a.retention.pruneOnce(), b.retention.pruneOnce()])
        const kept = await inbox(opened.store, user!)
        expect(kept.folder.messages).toBe(200)
        expect(kept.messages[0]!.uid).toBe(501)
      } finally {
        await a.stop()
        await b.stop()
        if (other !== opened.store) await other.close()
      }
    })
  })
}

const lmdbDirs: {store: MailboxStore; dir: string}[] = []
retentionContract(
  'LMDB',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbx-retention-'))
    const store = openStore(join(dir, 'data'))
    lmdbDirs.push({store, dir})
    return {store, other: async () => store}
  },
  async () => {
    for (const {store, dir} of lmdbDirs.splice(0)) {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    }
  },
)

describe.skipIf(skipWithoutPostgres)('PostgreSQL', () => {
  const server = usePostgres()
  const stores: MailboxStore[] = []
  retentionContract(
    'PostgreSQL',
    async () => {
      const url = await server().createSchema()
      const store = await openPgStore(url, {pool: {poolSize: 4}})
      stores.push(store)
      return {store, other: () => openPgStore(url, {pool: {poolSize: 4}})}
    },
    async () => {
      for (const store of stores.splice(0)) await store.close()
    },
  )
})
