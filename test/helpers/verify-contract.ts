/**
 * The contract of `mailbox verify` and its repairs (src/store/verify*.ts) as one test body for
 * any backend: a store written through its operations verifies clean; a store damaged on purpose
 * (./verify-damage.ts: the backend's raw writes that no store operation would make) has each breach
 * named with its keys, `repair` mends the derivable ones and a second verify finds only the rest;
 * a repair checks its fact again inside its transaction.
 */
import {describe, expect, it} from 'vitest'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import type {MailboxStore} from '../../src/store/backend.js'
import type {Breach, BreachKind, QueueIndexKey} from '../../src/store/verify.js'
import {verifierOf, verifyStore} from '../../src/store/verify-store.js'
import {repairBreaches} from '../../src/store/verify-repair.js'
import {DOMAIN, mailOf, message} from './mail-contract.js'
import type {Damage} from './verify-damage.js'

export interface OpenedVerify {
  store: MailboxStore
  damage: Damage
  close(): Promise<void>
}

const kinds = (breaches: Breach[]) => [...new Set(breaches.map((b) => b.kind))].sort()

export function verifyContract(name: string, open: () => Promise<OpenedVerify>) {
  describe(`mailbox verify: ${name}`, () => {
    async function withStore(fn: (o: OpenedVerify) => Promise<void>) {
      const opened = await open()
      await opened.store.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
      try {
        await fn(opened)
      } finally {
        await opened.close()
      }
    }

    /** mail as a server writes it: deliveries (one with a remote recipient: a queue entry), flags, COPY, MOVE, EXPUNGE */
    async function traffic(store: MailboxStore) {
      const t = mailOf({directory: store.directory, mail: store.mail})
      const [alice, bob] = [await t.user(), await t.user()]
      await t.deliver({local: [alice, bob], remote: ['carol@example.net'], localRaw: message('to all')})
      await t.add(alice, 'INBOX', ['\\Seen'], message('seen'))
      await t.add(alice, 'INBOX', [], message('unseen'))
      await t.add(alice, 'INBOX', [], message('gone'))
      const inbox = await t.folder(alice)
      const [first, second, , fourth] = await t.uids(inbox)
      await store.mail.setFlags({user: alice, mailboxId: inbox.id, uids: [first!], mode: 'add', flags: ['\\Flagged']})
      await store.mail.copy({user: alice, mailboxId: inbox.id, uids: [first!, second!], to: 'Archive', move: false})
      await store.mail.copy({user: alice, mailboxId: inbox.id, uids: [second!], to: 'Trash', move: true})
      await store.mail.expunge({user: alice, mailboxId: inbox.id, uids: [fourth!], onlyDeleted: false})
      // the folder tree: subscribed names that outlive or follow their folders, a \Noselect placeholder, INBOX renamed
      await t.create(alice, 'Projects/Old', 'Projects/Old/Sub', 'Lists')
      await store.mail.subscribe(alice, 'Projects/Old', true)
      await store.mail.subscribe(alice, 'Lists', true)
      await store.mail.renameFolder(alice, 'Projects/Old', 'Projects/New')
      await store.mail.deleteFolder(alice, 'Lists')
      await store.mail.deleteFolder(alice, 'Projects/New')
      await store.mail.renameFolder(bob, 'INBOX', 'Old Mail')
      return {t, alice, bob}
    }

    it('a store written through its operations verifies clean', async () => {
      await withStore(async ({store}) => {
        await traffic(store)
        const report = await verifyStore(store)
        expect(report.breaches).toEqual([])
        expect(report.checked.message).toBe(6)
        expect(report.checked.queueEntry).toBe(1)
      })
    })

    it('names each breach with its keys; repair mends the derivable ones and leaves the rest', async () => {
      await withStore(async ({store, damage}) => {
        const {t, alice, bob} = await traffic(store)
        const inbox = await t.folder(alice)
        const archive = await t.folder(alice, 'Archive')
        const bobInbox = await t.folder(bob)
        const [, single] = await store.mail.messages(inbox.id)
        const [entry] = await store.queue.entries()
        const lost = (await t.append(alice, 'Drafts', [], message('lost'))).appended![0]!
        const unread = (await t.append(bob, 'INBOX', [], message('no bytes'))).appended![0]!

        await damage.removeBlob(lost.blobId)
        await damage.removeBytes(unread.blobId)
        await damage.setRefs(single!.blobId, 7)
        await damage.setFolder(inbox, {messages: inbox.messages + 5, unseen: 0, size: 1})
        await damage.setFolder(archive, {uidNext: 1, highestModseq: 1})
        await damage.setFolder(bobInbox, {subscribed: false})
        await damage.putBlob('0zzorphanblob', 2)
        await damage.putBytes('0zzorphanbytes')
        await damage.putAttempt('no-such-entry', 3)
        await damage.setCounters(1, 1)
        const staleKey: QueueIndexKey = ['queued', 1, 0, 'no-such-entry']
        if (damage.queueIndex) {
          await damage.queueIndex.remove(['queued', 1, entry!.nextAttemptAt, entry!.id])
          await damage.queueIndex.put(staleKey)
        }

        const found = (await verifyStore(store)).breaches
        const of = (kind: BreachKind) => found.filter((b) => b.kind === kind)
        expect(of('message-blob-missing')).toMatchObject([{user: alice, folder: 'Drafts', uid: lost.uid, blobId: lost.blobId, derivable: false}])
        expect(of('blob-bytes-missing')).toMatchObject([{blobId: unread.blobId, derivable: false}])
        expect(of('blob-refs')).toMatchObject([{blobId: single!.blobId, found: 7, expected: 1, derivable: true}])
        expect(of('folder-counters')).toMatchObject([
          {user: alice, folder: 'INBOX', folderId: inbox.id, found: {messages: inbox.messages + 5, unseen: 0, size: 1}, expected: {messages: inbox.messages, unseen: inbox.unseen, size: inbox.size}},
        ])
        expect(of('uidnext')).toMatchObject([{user: alice, folder: 'Archive', found: 1, expected: archive.uidNext}])
        expect(of('highestmodseq')).toMatchObject([{user: alice, folder: 'Archive', found: 1, expected: Math.max(...(await store.mail.messages(archive.id)).map((m) => m.modseq))}])
        expect(of('subscribed')).toMatchObject([{user: bob, folder: 'INBOX', found: false, expected: true}])
        expect(of('orphan-blob')).toMatchObject([{blobId: '0zzorphanblob', found: 2}])
        expect(of('bytes-without-info')).toMatchObject([{blobId: '0zzorphanbytes', derivable: true}])
        expect(of('orphan-delivery-log')).toMatchObject([{queueId: 'no-such-entry', attempt: 3}])
        const folders = [...(await store.mail.folders(alice)), ...(await store.mail.folders(bob))]
        expect(of('last-folder-id')).toMatchObject([{found: 1, expected: Math.max(...folders.map((f) => f.id))}])
        expect(of('last-uidvalidity')).toMatchObject([{found: 1, expected: Math.max(...folders.map((f) => f.uidValidity))}])
        if (damage.queueIndex) {
          expect(of('queue-index-missing')).toMatchObject([{queueId: entry!.id}])
          expect(of('queue-index-stale')).toMatchObject([{queueId: 'no-such-entry', indexKey: staleKey}])
        }
        expect(found.every((b) => b.text.length > 0)).toBe(true)

        const repaired = await verifyStore(store, {repair: true})
        expect(repaired.repairs!.every((r) => r.outcome.done), JSON.stringify(repaired.repairs)).toBe(true)
        // one repair per folder (the Archive's UIDNEXT and HIGHESTMODSEQ together), one for both counters
        expect(repaired.repairs!.length).toBe(found.filter((b) => b.derivable).length - 2)
        const after = (await verifyStore(store)).breaches
        expect(kinds(after)).toEqual(['blob-bytes-missing', 'message-blob-missing'])
        // what the repairs wrote is what the store's own operations go on from
        expect(await t.folder(alice)).toMatchObject({messages: inbox.messages, unseen: inbox.unseen, size: inbox.size})
        const uid = await t.add(alice, 'Archive')
        expect(uid).toBe(archive.uidNext)
        // a new folder takes a fresh id and UIDVALIDITY, and holds nothing
        const fresh = await store.mail.createFolder(alice, 'Fresh')
        expect(fresh.id).toBeGreaterThan(Math.max(...folders.map((f) => f.id)))
        expect(fresh.uidValidity).toBeGreaterThan(Math.max(...folders.map((f) => f.uidValidity)))
        expect(await store.mail.messages(fresh.id)).toEqual([])
        expect(await t.refs(single!.blobId)).toBe(1)
        expect(await t.refs('0zzorphanblob')).toBeUndefined()
      })
    })

    it('a repair checks its fact again: a renamed folder is left; blob references moved since the snapshot are kept', async () => {
      await withStore(async ({store, damage}) => {
        const t = mailOf({directory: store.directory, mail: store.mail})
        const user = await t.user()
        await t.create(user, 'Old')
        await t.add(user, 'Old', [], message('one'))
        const old = await t.folder(user, 'Old')
        await damage.setFolder(old, {messages: 9})
        const [m] = await store.mail.messages(old.id)
        await damage.setRefs(m!.blobId, 3)
        const breaches = (await verifyStore(store)).breaches
        expect(kinds(breaches)).toEqual(['blob-refs', 'folder-counters'])
        // meanwhile: the folder is renamed (another took its name), the message copied (refs and users both + 1)
        await store.mail.renameFolder(user, 'Old', 'New')
        await t.create(user, 'Old')
        await store.mail.copy({user, mailboxId: old.id, uids: [m!.uid], to: 'INBOX', move: false})
        const {repairs} = await verifierOf(store)
        const done = await repairBreaches(breaches, repairs)
        expect(done.map((r) => [r.breaches[0]!.kind, r.outcome.done])).toEqual([
          ['folder-counters', false],
          ['blob-refs', true],
        ])
        expect(done[0]!.text).toMatch(/changed since the snapshot/)
        expect(await t.refs(m!.blobId)).toBe(2)
        expect(kinds((await verifyStore(store)).breaches)).toEqual(['folder-counters'])
      })
    })

    it('what cannot be derived is reported and left: mail whose blob or folder is gone, a folder without its user, a queue entry without its blob', async () => {
      await withStore(async ({store, damage}) => {
        const t = mailOf({directory: store.directory, mail: store.mail})
        const [user, other] = [await t.user(), await t.user()]
        const raw = message('kept')
        await store.mail.append({user, folder: 'INBOX', messages: [{raw, flags: [], analysis: analyzeMessage(raw)}]})
        await t.add(user, 'Archive', [], message('homeless'))
        await t.deliver({local: [], remote: ['carol@example.net'], localRaw: message('outbound')})
        const inbox = await t.folder(user)
        const archive = await t.folder(user, 'Archive')
        const [m] = await store.mail.messages(inbox.id)
        const [entry] = await store.queue.entries()
        await damage.removeBlob(m!.blobId)
        await damage.removeBlob(entry!.blobId)
        await damage.removeFolder(archive)
        await damage.removeUser(other)
        const report = await verifyStore(store, {repair: true})
        expect(kinds(report.breaches)).toEqual(['folder-user-missing', 'message-blob-missing', 'message-folder-missing', 'queue-blob-missing'])
        expect(report.breaches.find((b) => b.kind === 'message-folder-missing')).toMatchObject({folderId: archive.id, uid: 1, derivable: false})
        expect(report.breaches.filter((b) => b.kind === 'folder-user-missing').map((b) => b.user)).toEqual(Array(6).fill(other))
        expect(report.breaches.find((b) => b.kind === 'queue-blob-missing')).toMatchObject({queueId: entry!.id, blobId: entry!.blobId})
        expect(report.repairs).toEqual([])
        expect(await store.mail.messages(inbox.id)).toHaveLength(1)
        expect(await store.mail.messages(archive.id)).toHaveLength(1)
      })
    })
  })
}
