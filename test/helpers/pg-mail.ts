/**
 * Mail in a PostgreSQL test store: one delivery as an SMTP delivery or APPEND commits it (a new
 * blob and its message in one transaction) that also signals the folder to the other nodes.
 */
import type pg from 'pg'
import {appendMessage, type Appended} from '../../src/store/pg/append.js'
import {putBlob} from '../../src/store/pg/blobs.js'
import {signalledTransaction} from '../../src/store/pg/changes.js'

export function deliverSignalled(pool: pg.Pool, folderId: number, blobId: string, flags: string[] = []): Promise<Appended> {
  const bytes = Buffer.from(`Subject: ${blobId}\r\n\r\nbody\r\n`)
  return signalledTransaction(pool, async (client, signals) => {
    await putBlob(client, blobId, bytes, {refs: 1, size: bytes.length, createdAt: Date.now()})
    const appended = await appendMessage(client, folderId, {blobId, flags, internalDate: Date.now(), size: bytes.length})
    signals.folder(folderId)
    return appended
  })
}
