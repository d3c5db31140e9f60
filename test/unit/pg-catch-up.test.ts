/**
 * Catch-up by MODSEQ (src/store/pg/catch-up.ts, message-changes.ts) on a real private server:
 * appends, flag changes and expunges made through node A are learnt by node B from its last
 * MODSEQ (changed messages and vanished UIDs), a view on B driven by A's change signals ends up
 * equal to the folder, and once tombstones are pruned a node asking from before them is told to
 * resync the folder whole.
 */
import type pg from 'pg'
import {afterAll, describe, expect, it} from 'vitest'
import {blobRefs} from '../../src/store/pg/blobs.js'
import {changesSince, pruneVanished} from '../../src/store/pg/catch-up.js'
import {ChangeListener, type ChangeSignals, signalledTransaction} from '../../src/store/pg/changes.js'
import {transaction} from '../../src/store/pg/connect.js'
import {createFolder} from '../../src/store/pg/folders.js'
import {removeMessages, setFlags as setFlagsIn, type FlagChange} from '../../src/store/pg/message-changes.js'
import {deliverSignalled as deliver} from '../helpers/pg-mail.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))


const USER = 'u@x.test'
/** the flag change as before the mail store: the updated messages */
const setFlags = async (client: pg.ClientBase, signals: ChangeSignals, folderId: number, change: FlagChange) => (await setFlagsIn(client, signals, USER, folderId, change)).updated ?? []
/** an IMAP EXPUNGE (of `uids`, when given): the expunged UIDs */
const expunge = async (client: pg.ClientBase, signals: ChangeSignals, folderId: number, uids?: number[]) =>
  (await removeMessages(client, signals, USER, folderId, {...(uids ? {uids} : {}), onlyDeleted: true})).expunged ?? []

const folderRow = async (pool: pg.Pool, id: number) =>
  (await pool.query('SELECT messages, unseen, size, highest_modseq FROM folders WHERE id = $1', [id])).rows[0] as {messages: number; unseen: number; size: number; highest_modseq: number}

describe.skipIf(skipWithoutPostgres)('catch-up by MODSEQ on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)
  const listeners: ChangeListener[] = []
  afterAll(() => Promise.all(listeners.map((l) => l.stop())))

  async function twoNodes() {
    const {url, store} = await pools.fresh({poolSize: 3})
    const a = store.pool
    const b = (await pools.node(url, {poolSize: 3})).pool
    const folder = await transaction(a, (client) => createFolder(client, 'u@x.test', 'INBOX'))
    return {url, a, b, folder}
  }

  it('B learns from its last MODSEQ what A appended, flagged and expunged', async () => {
    const {a, b, folder} = await twoNodes()
    for (const id of ['m1', 'm2', 'm3']) await deliver(a, folder.id, id)
    const first = await changesSince(b, folder.id, 0)
    expect(first).toMatchObject({resync: false, uidValidity: folder.uidValidity, highestModseq: 4, vanished: []})
    expect(first.resync === false && first.changed.map((m) => [m.uid, m.flags])).toEqual([[1, []], [2, []], [3, []]])

    const seen = await signalledTransaction(a, (client, signals) => setFlags(client, signals, folder.id, {uids: [1, 3], mode: 'add', flags: ['\\Seen']}))
    expect(seen.map((m) => m.uid)).toEqual([1, 3])
    // no change, no new MODSEQ
    expect(await signalledTransaction(a, (client, signals) => setFlags(client, signals, folder.id, {uids: [1], mode: 'add', flags: ['\\Seen']}))).toEqual([])
    await signalledTransaction(a, (client, signals) => setFlags(client, signals, folder.id, {uids: [2, 3], mode: 'add', flags: ['\\Deleted']}))
    const gone = await signalledTransaction(a, (client, signals) => expunge(client, signals, folder.id, [2, 3, 99]))
    expect(gone).toEqual([2, 3])
    await deliver(a, folder.id, 'm4', ['\\Flagged'])

    const next = await changesSince(b, folder.id, first.highestModseq)
    if (next.resync) throw new Error('unexpected resync')
    expect(next.changed.map((m) => [m.uid, m.flags])).toEqual([
      [1, ['\\Seen']],
      [4, ['\\Flagged']],
    ])
    expect(next.vanished).toEqual([2, 3])
    expect(next.highestModseq).toBe(8)
    expect(next.changed.every((m) => m.modseq > first.highestModseq && m.modseq <= next.highestModseq)).toBe(true)
    // the folder's counts followed, and the expunged messages' blobs were released
    expect(await folderRow(a, folder.id)).toMatchObject({messages: 2, unseen: 1, highest_modseq: 8})
    expect(await blobRefs(a, 'm2')).toBe(0)
    // up to date: nothing more
    expect(await changesSince(b, folder.id, next.highestModseq)).toMatchObject({resync: false, uidValidity: folder.uidValidity, highestModseq: 8, changed: [], vanished: []})
  })

  it("a view on B follows A's changes from the signals alone and ends up equal to the folder", async () => {
    const {url, a, b, folder} = await twoNodes()
    const listener = new ChangeListener(url, {reconnectMinMs: 50})
    listeners.push(listener)
    await listener.start()
    // B's view: UID → flags, and the MODSEQ it is at; each signal for the folder triggers a catch-up
    const view = new Map<number, string[]>()
    let at = 0
    let catching = Promise.resolve()
    listener.subscribe((change) => {
      if ((change.kind === 'mailbox' && change.mailboxId === folder.id && change.highestModseq > at) || change.kind === 'resync') {
        catching = catching.then(async () => {
          const delta = await changesSince(b, folder.id, at)
          if (delta.resync) throw new Error('unexpected resync')
          for (const m of delta.changed) view.set(m.uid, m.flags)
          for (const uid of delta.vanished) view.delete(uid)
          at = delta.highestModseq
        })
      }
    })
    for (let i = 1; i <= 20; i++) await deliver(a, folder.id, `v${i}`)
    await signalledTransaction(a, (client, signals) => setFlags(client, signals, folder.id, {uids: [2, 4, 6, 8], mode: 'replace', flags: ['\\Deleted', '\\Seen']}))
    await signalledTransaction(a, (client, signals) => expunge(client, signals, folder.id))
    await signalledTransaction(a, (client, signals) => setFlags(client, signals, folder.id, {uids: [1, 3], mode: 'add', flags: ['$Label1']}))
    const final = (await folderRow(a, folder.id)).highest_modseq
    for (let i = 0; i < 200 && at < final; i++) await sleep(25)
    await catching
    const {rows} = await a.query('SELECT uid, flags FROM messages WHERE folder_id = $1 ORDER BY uid', [folder.id])
    expect([...view.entries()].sort((x, y) => x[0] - y[0])).toEqual(rows.map((r) => [r.uid, r.flags]))
    expect(view.size).toBe(16)
    expect(at).toBe(final)
  })

  it('after tombstones are pruned, asking from before them means resync whole; from after, a normal catch-up', async () => {
    const {a, b, folder} = await twoNodes()
    for (const id of ['p1', 'p2', 'p3']) await deliver(a, folder.id, id, ['\\Deleted'])
    const before = (await folderRow(a, folder.id)).highest_modseq
    await signalledTransaction(a, (client, signals) => expunge(client, signals, folder.id, [1]))
    const afterFirst = (await folderRow(a, folder.id)).highest_modseq
    await sleep(1200)
    await signalledTransaction(a, (client, signals) => expunge(client, signals, folder.id, [2]))
    // the first tombstone is older than 600 ms, the second is not (margins for a loaded machine)
    expect(await pruneVanished(a, 600)).toBe(1)
    expect(await changesSince(b, folder.id, before)).toEqual({resync: true, uidValidity: folder.uidValidity, highestModseq: afterFirst + 1})
    const recent = await changesSince(b, folder.id, afterFirst)
    expect(recent).toMatchObject({resync: false, vanished: [2]})
    // a MODSEQ the folder never reached (another UIDVALIDITY's, a confused client): resync too
    expect((await changesSince(b, folder.id, afterFirst + 100)).resync).toBe(true)
    // batches: everything old goes, a bit at a time
    await sleep(700)
    expect(await pruneVanished(a, 600, 1)).toBe(1)
    expect(await pruneVanished(a, 600, 1)).toBe(0)
    expect((await changesSince(b, folder.id, afterFirst)).resync).toBe(true)
    await expect(changesSince(b, 9999, 0)).rejects.toThrow(/no such folder/)
  })
})
