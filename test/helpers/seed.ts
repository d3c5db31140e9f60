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

/**
 * Seeds a folder with `count` distinct messages of about `size` bytes each (a blob per message),
 * in transactions of 200: a store whose bytes are all different, as real mail is.
 */
export async function seedDistinctMessages(dataDir: string, user: string, folder: string, count: number, size: number): Promise<void> {
  const store = openStore(dataDir)
  try {
    const BATCH = 200
    for (let done = 0; done < count; done += BATCH) {
      store.transact(() => {
        const entries = Array.from({length: Math.min(BATCH, count - done)}, (_, i) => {
          const n = done + i
          const line = `message ${n} `.padEnd(76, String.fromCharCode(97 + (n % 26))) + '\r\n'
          const raw = Buffer.from(`From: seed@example.test\r\nTo: ${user}\r\nSubject: seeded ${n}\r\n\r\n${line.repeat(Math.ceil(size / line.length))}`)
          return {blobId: putBlob(store, raw, {analysis: analyzeMessage(raw)}, 1), size: raw.length}
        })
        appendEntries(store, getFolder(store, user, folder), entries)
      })
    }
  } finally {
    await store.close()
  }
}
