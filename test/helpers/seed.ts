/**
 * Seeds a folder with many messages straight through the store functions (creating 200,000
 * messages over SMTP would take far too long): one blob shared by every message entry, as a
 * message copied N times would be.
 */
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {putBlob} from '../../src/store/lmdb-blobs.js'
import {getFolder} from '../../src/store/lmdb-folders.js'
import {appendEntries} from '../../src/store/lmdb-messages.js'
import {openStore} from '../../src/store/store.js'

export async function seedMessages(dataDir: string, user: string, folder: string, count: number, raw: Buffer): Promise<void> {
  const store = openStore(dataDir)
  try {
    const BATCH = 50_000 // bounded transactions
    for (let done = 0; done < count; done += BATCH) {
      const n = Math.min(BATCH, count - done)
      store.transact(() => {
        const blobId = putBlob(store, raw, {analysis: analyzeMessage(raw)}, n)
        appendEntries(store, getFolder(store, user, folder), Array.from({length: n}, () => ({blobId, size: raw.length})))
      })
    }
  } finally {
    await store.close()
  }
}
