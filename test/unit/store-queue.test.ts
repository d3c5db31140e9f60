/**
 * The queue contract (test/helpers/queue-contract.ts) on the LMDB backend: a real store in a temp
 * dir per test. The PostgreSQL backend runs the same body in test/unit/pg-queue-store.test.ts.
 */
import {putQueueEntry} from '../../src/store/lmdb-queue.js'
import {queueContract} from '../helpers/queue-contract.js'
import {contractTempStore} from '../helpers/store.js'

queueContract('LMDB', async () => {
  const {backend: store, close} = contractTempStore()
  return {
    queue: store.queue,
    enqueue: async (entries, blobId = 'mail') =>
      store.transact(() => {
        store.blobs.putSync(blobId, Buffer.from('Subject: out\r\n\r\nx\r\n'))
        store.blobInfo.putSync(blobId, {refs: entries.filter((e) => e.state !== 'delivered' && e.state !== 'failed').length, size: 19, createdAt: Date.now()})
        for (const e of entries) putQueueEntry(store, e)
      }),
    blobRefs: async (blobId) => store.blobInfo.get(blobId)?.refs ?? 0,
    close,
  }
})
