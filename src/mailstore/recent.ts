/** Reading stored blobs back by id, and the blobs received since a moment (blob ids are time-ordered). */
import {MailboxError} from '../errors.js'
import type {BlobInfoRecord} from '../store/records.js'
import type {Store} from '../store/store.js'

/** at most this many recent blobs per query */
const MAX_RECENT = 10_000

export function readBlob(store: Store, id: string): {raw: Buffer; info: BlobInfoRecord} {
  return {raw: readBlobBytes(store, id), info: readBlobInfo(store, id)}
}

export function readBlobInfo(store: Store, id: string): BlobInfoRecord {
  const info = store.blobInfo.get(id)
  if (!info) throw new MailboxError('not-found', `no message ${id}`)
  return info
}

export function readBlobBytes(store: Store, id: string): Buffer {
  const raw = store.blobs.get(id)
  if (!raw) throw new MailboxError('not-found', `no message ${id}`)
  return raw
}

export function recentBlobs(store: Store, sinceMs: number): {id: string; info: BlobInfoRecord}[] {
  const start = Math.max(0, Math.floor(sinceMs)).toString(36).padStart(9, '0')
  return [...store.blobInfo.getRange({start, limit: MAX_RECENT}).map(({key, value}) => ({id: key, info: value}))]
}
