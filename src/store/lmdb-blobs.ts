/**
 * Message blobs on LMDB: the raw bytes (`blobs`), their bookkeeping (`blobInfo`: reference count,
 * envelope, MIME structure, summary) and the cached search text (`blobText`). A blob is stored
 * once and shared by every message entry and queue entry that points at it (a message to five
 * local users is one blob with five references). The writers here run inside the caller's write
 * transaction, so references are counted in the commit that takes or drops them.
 */
import type {Analysis} from '../mailstore/analyze.js'
import {newId} from '../ids.js'
import type {BlobInfoRecord} from './records.js'
import type {Store} from './store.js'

/** Stores new message bytes with their analysis and `refs` references; inside a write transaction. */
export function putBlob(store: Store, raw: Buffer, input: {analysis: Analysis; mailFrom?: string; rcptTo?: string[]}, refs: number): string {
  const blobId = newId()
  const {analysis, mailFrom, rcptTo} = input
  store.blobs.putSync(blobId, raw)
  store.blobInfo.putSync(blobId, {
    refs,
    size: raw.length,
    createdAt: Date.now(),
    mailFrom,
    rcptTo,
    envelope: analysis.envelope,
    structure: analysis.structure,
    summary: analysis.summary,
    crlfSize: analysis.crlfSize,
  })
  return blobId
}

export function addBlobRef(store: Store, blobId: string, n = 1): void {
  const info = store.blobInfo.get(blobId)
  if (!info) throw new Error(`blob ${blobId} has no info record`)
  store.blobInfo.putSync(blobId, {...info, refs: info.refs + n})
}

/** Drops `n` references; the last one removes the bytes, the bookkeeping and the cached text. */
export function releaseBlob(store: Store, blobId: string, n = 1): void {
  const info = store.blobInfo.get(blobId)
  if (!info) return
  if (info.refs <= n) {
    store.blobInfo.removeSync(blobId)
    store.blobs.removeSync(blobId)
    store.blobText.removeSync(blobId)
  } else {
    store.blobInfo.putSync(blobId, {...info, refs: info.refs - n})
  }
}

/** The blobs made since `sinceMs`: ids are time-ordered (base-36 milliseconds first), so this is one range from there. */
export function recentBlobs(store: Store, sinceMs: number, limit: number): {id: string; info: BlobInfoRecord}[] {
  const start = Math.max(0, Math.floor(sinceMs)).toString(36).padStart(9, '0')
  return [...store.blobInfo.getRange({start, limit}).map(({key, value}) => ({id: key, info: value}))]
}

/**
 * Caches a blob's search text in an async commit unless the blob is gone (checked inside the
 * write: a blob released meanwhile leaves no orphan text). A read-only or closed store throws at
 * once: that becomes the promise's rejection too.
 */
export async function cacheText(store: Store, blobId: string, text: string): Promise<void> {
  await store.transactAsync(() => {
    if (store.blobInfo.get(blobId)) store.blobText.putSync(blobId, text)
  })
}
