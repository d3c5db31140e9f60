/**
 * UIDs, MODSEQs, UIDVALIDITY and shared blobs in the PostgreSQL store (src/store/pg/append.ts,
 * folders.ts, blobs.ts), on a real private server with three pools standing for three nodes:
 * concurrent appends to one folder get UIDs 1..N with no gap, each committed after the one below
 * it (no reader ever sees UID n+1 without UID n) and each with a MODSEQ of its own.
 */
import pg from 'pg'
import {describe, expect, it} from 'vitest'
import {isMailboxError} from '../../src/errors.js'
import {appendMessage, type Appended} from '../../src/store/pg/append.js'
import {addBlobRef, blobBytes, blobRefs, putBlob, releaseBlob} from '../../src/store/pg/blobs.js'
import {transaction} from '../../src/store/pg/connect.js'
import {createFolder, getFolder} from '../../src/store/pg/folders.js'
import type {BlobInfoRecord} from '../../src/store/records.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const info = (size: number, refs = 1): BlobInfoRecord => ({refs, size, createdAt: Date.now(), mailFrom: 'a@x.test', rcptTo: ['u@x.test']})

/** one delivery: a new blob and its message, in one transaction (as an SMTP delivery or APPEND commits) */
async function deliver(pool: pg.Pool, folderId: number, blobId: string): Promise<Appended> {
  const bytes = Buffer.from(`Subject: ${blobId}\r\n\r\nbody\r\n`)
  return transaction(pool, async (client) => {
    await putBlob(client, blobId, bytes, info(bytes.length))
    return appendMessage(client, folderId, {blobId, flags: [], internalDate: Date.now(), size: bytes.length})
  })
}

describe.skipIf(skipWithoutPostgres)('appends on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  /** a migrated database and three nodes' pools on it */
  const cluster = async () => ({nodes: await pools.nodes(3, {poolSize: 4})})

  it('N concurrent appends from 3 nodes into one folder: UIDs 1..N exactly, committed in UID order, a new MODSEQ each', async () => {
    const {nodes} = await cluster()
    const folder = await transaction(nodes[0]!, (c) => createFolder(c, 'u@x.test', 'INBOX'))
    const PER_NODE = 30
    const N = PER_NODE * nodes.length

    // a reader polls the folder meanwhile: what it sees must always be UIDs 1..k, k never shrinking
    const reader = new pg.Client({connectionString: (nodes[0]!.options as {connectionString: string}).connectionString})
    await reader.connect()
    let done = false
    const snapshots: number[] = []
    const watching = (async () => {
      for (let i = 0; i < 5000 && !done; i++) {
        const {rows} = await reader.query('SELECT uid FROM messages WHERE folder_id = $1 ORDER BY uid', [folder.id])
        const uids = rows.map((r) => Number(r.uid))
        expect(uids).toEqual(uids.map((_, j) => j + 1))
        snapshots.push(uids.length)
      }
    })()

    // each node runs its appends 4 at a time, all nodes at once
    let results: Appended[][]
    try {
      results = await Promise.all(
        nodes.map(async (pool, n) => {
          const mine: Appended[] = []
          for (let i = 0; i < PER_NODE; i += 4) {
            const batch = Array.from({length: Math.min(4, PER_NODE - i)}, (_, j) => deliver(pool, folder.id, `node${n}-msg${i + j}`))
            mine.push(...(await Promise.all(batch)))
          }
          return mine
        }),
      )
    } finally {
      done = true
      await watching.finally(() => reader.end())
    }

    const all = results.flat()
    expect(all.map((a) => a.uid).sort((a, b) => a - b)).toEqual(Array.from({length: N}, (_, i) => i + 1))
    // each append took the folder's next MODSEQ: distinct, and in UID order
    const byUid = [...all].sort((a, b) => a.uid - b.uid)
    expect(new Set(all.map((a) => a.modseq)).size).toBe(N)
    for (let i = 1; i < N; i++) expect(byUid[i]!.modseq).toBeGreaterThan(byUid[i - 1]!.modseq)

    // commit order, straight from PostgreSQL's commit timestamps: ordered by UID, they never go back
    const {rows} = await nodes[1]!.query('SELECT uid, pg_xact_commit_timestamp(xmin) AS committed FROM messages WHERE folder_id = $1 ORDER BY uid', [folder.id])
    for (let i = 1; i < rows.length; i++) expect(rows[i].committed.getTime()).toBeGreaterThanOrEqual(rows[i - 1].committed.getTime())

    const after = (await getFolder(nodes[2]!, 'u@x.test', 'INBOX'))!
    expect(after).toMatchObject({uidNext: N + 1, highestModseq: byUid[N - 1]!.modseq, messages: N, unseen: N})
    expect(snapshots.length).toBeGreaterThan(1)
    expect(snapshots).toEqual([...snapshots].sort((a, b) => a - b))
  })

  it('a rolled-back append leaves no gap: the next append gets the UID it would have had', async () => {
    const {nodes} = await cluster()
    const folder = await transaction(nodes[0]!, (c) => createFolder(c, 'u@x.test', 'INBOX'))
    expect((await deliver(nodes[0]!, folder.id, 'first')).uid).toBe(1)
    await expect(
      transaction(nodes[1]!, async (client) => {
        await putBlob(client, 'doomed', Buffer.from('x'), info(1))
        await appendMessage(client, folder.id, {blobId: 'doomed', flags: [], internalDate: 0, size: 1})
        throw new Error('the commit never happens')
      }),
    ).rejects.toThrow('never happens')
    expect((await deliver(nodes[2]!, folder.id, 'second')).uid).toBe(2)
    expect(await blobRefs(nodes[0]!, 'doomed')).toBe(0)
  })

  it('an append to a missing folder or a \\Noselect placeholder is refused (not-found) and writes nothing', async () => {
    const {nodes} = await cluster()
    const folder = await transaction(nodes[0]!, (c) => createFolder(c, 'u@x.test', 'parent'))
    await nodes[0]!.query('UPDATE folders SET noselect = true WHERE id = $1', [folder.id])
    for (const id of [folder.id, folder.id + 1000]) {
      const refused = await deliver(nodes[0]!, id, `to-${id}`).catch((err) => err)
      expect(isMailboxError(refused, 'not-found')).toBe(true)
    }
    expect((await nodes[0]!.query('SELECT count(*)::int AS n FROM blobs')).rows[0].n).toBe(0)
  })

  it('UIDVALIDITY: every folder created, on any node, gets its own, never below the clock in seconds and never reused', async () => {
    const {nodes} = await cluster()
    const before = Math.floor(Date.now() / 1000) - 5 // the database's clock may trail this one a little
    const created = await Promise.all(
      nodes.flatMap((pool, n) => Array.from({length: 5}, (_, i) => transaction(pool, (c) => createFolder(c, `u${n}@x.test`, `F${i}`)))),
    )
    const validities = created.map((f) => f.uidValidity)
    expect(new Set(validities).size).toBe(15)
    expect(Math.min(...validities)).toBeGreaterThanOrEqual(before)
    // deleted and created again: a larger one, so no client mistakes the new folder's UIDs for the old ones
    const old = created[0]!
    await nodes[0]!.query('DELETE FROM folders WHERE id = $1', [old.id])
    const again = await transaction(nodes[1]!, (c) => createFolder(c, old.user, old.name))
    expect(again.uidValidity).toBeGreaterThan(Math.max(...validities))
    expect(again.id).not.toBe(old.id)
  })

  it('a blob is stored once, counted per user, and goes (with its search text) when the last reference does', async () => {
    const {nodes} = await cluster()
    const pool = nodes[0]!
    const bytes = Buffer.from('Subject: shared\r\n\r\nto three users\r\n')
    await transaction(pool, async (c) => {
      await putBlob(c, 'shared', bytes, info(bytes.length, 2))
      await addBlobRef(c, 'shared')
      await c.query("INSERT INTO blob_text (blob_id, text) VALUES ('shared', 'to three users')")
    })
    expect(await blobRefs(pool, 'shared')).toBe(3)
    expect(await blobBytes(nodes[1]!, 'shared')).toEqual(bytes)
    await transaction(pool, (c) => releaseBlob(c, 'shared', 2))
    expect(await blobRefs(pool, 'shared')).toBe(1)
    await transaction(pool, (c) => releaseBlob(c, 'shared'))
    expect(await blobBytes(pool, 'shared')).toBeUndefined()
    expect((await pool.query('SELECT count(*)::int AS n FROM blob_text')).rows[0].n).toBe(0)
    await expect(transaction(pool, (c) => addBlobRef(c, 'shared'))).rejects.toThrow(/no info record/)
  })
})
