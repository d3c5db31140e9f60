/**
 * Raw message blobs, stored once and shared by every message entry that points at them
 * (a message to five local users is one blob with five references). Call inside `store.transact`.
 */
import type {Store} from '../store/store.js'

export function addBlobRef(store: Store, blobId: string, n = 1): void {
  const info = store.blobInfo.get(blobId)
  if (!info) throw new Error(`blob ${blobId} has no info record`)
  store.blobInfo.putSync(blobId, {...info, refs: info.refs + n})
}

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
