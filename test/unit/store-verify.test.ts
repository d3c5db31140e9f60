/**
 * `mailbox verify` on LMDB: the contract (test/helpers/verify-contract.ts) on a real store in a
 * temp dir, damaged through its databases directly (the test alone writes them so). The
 * PostgreSQL backend runs the same body in test/unit/pg-verify.test.ts.
 */
import {mailboxKey} from '../../src/store/keys.js'
import type {Store} from '../../src/store/store.js'
import {contractTempStore} from '../helpers/store.js'
import {verifyContract} from '../helpers/verify-contract.js'

verifyContract('LMDB', async () => {
  const opened = contractTempStore()
  const store: Store = opened.backend
  const write = (fn: () => void) => store.transactAsync(fn)
  return {
    store,
    close: opened.close,
    damage: {
      removeBytes: (id) => write(() => void store.blobs.removeSync(id)),
      removeBlob: (id) =>
        write(() => {
          store.blobs.removeSync(id)
          store.blobInfo.removeSync(id)
        }),
      setRefs: (id, refs) => write(() => void store.blobInfo.putSync(id, {...store.blobInfo.get(id)!, refs})),
      setFolder: (f, patch) => write(() => void store.mailboxes.putSync(mailboxKey(f.user, f.name), {...store.mailboxes.get(mailboxKey(f.user, f.name))!, ...patch})),
      putBlob: (id, refs) =>
        write(() => {
          store.blobs.putSync(id, Buffer.from('orphan\r\n'))
          store.blobInfo.putSync(id, {refs, size: 8, createdAt: Date.now()})
        }),
      putBytes: (id) => write(() => void store.blobs.putSync(id, Buffer.from('bytes\r\n'))),
      putAttempt: (queueId, attempt) =>
        write(() => void store.deliveryLog.putSync([queueId, attempt], {queueId, attempt, startedAt: 0, endedAt: 0, host: 'mx.example.net', result: 'deferred', transcript: []})),
      queueIndex: {
        remove: (key) => write(() => void store.queueIndex.removeSync(key)),
        put: (key) => write(() => void store.queueIndex.putSync(key, null)),
      },
    },
  }
})
