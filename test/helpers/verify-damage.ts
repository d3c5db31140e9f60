/**
 * Damage on purpose, for the tests of `mailbox verify` (test/helpers/verify-contract.ts,
 * test/e2e/verify.test.ts): writes past the store's rules, as a bug, a bad disk or a partial
 * restore would leave them. LMDB through its databases directly; PostgreSQL by SQL, with the
 * foreign keys' triggers off (`session_replication_role = replica`) where the schema forbids it.
 * Only tests write a store so.
 */
import type pg from 'pg'
import type {MailboxStore} from '../../src/store/backend.js'
import {mailboxKey} from '../../src/store/keys.js'
import {isPgStore} from '../../src/store/open.js'
import type {MailboxRecord} from '../../src/store/records.js'
import type {Store} from '../../src/store/store.js'
import type {QueueIndexKey} from '../../src/store/verify.js'

export type FolderPatch = Partial<Pick<MailboxRecord, 'messages' | 'unseen' | 'size' | 'uidNext' | 'highestModseq' | 'subscribed'>>

export interface Damage {
  /** the blob's bytes go, its info record stays */
  removeBytes(blobId: string): Promise<void>
  /** the blob goes whole (info, bytes), its users stay */
  removeBlob(blobId: string): Promise<void>
  setRefs(blobId: string, refs: number): Promise<void>
  setFolder(folder: Pick<MailboxRecord, 'id' | 'user' | 'name'>, patch: FolderPatch): Promise<void>
  /** a blob with info and bytes that nothing uses */
  putBlob(blobId: string, refs: number): Promise<void>
  /** bytes without an info record */
  putBytes(blobId: string): Promise<void>
  putAttempt(queueId: string, attempt: number): Promise<void>
  /** the folder record goes, its messages stay */
  removeFolder(folder: Pick<MailboxRecord, 'id' | 'user' | 'name'>): Promise<void>
  /** the user record goes, its folders stay */
  removeUser(address: string): Promise<void>
  /** the last folder id and UIDVALIDITY given out */
  setCounters(lastFolderId: number, lastUidValidity: number): Promise<void>
  /** LMDB's queue index: a key removed, a key added */
  queueIndex?: {remove(key: QueueIndexKey): Promise<void>; put(key: QueueIndexKey): Promise<void>}
}

export function lmdbDamage(store: Store): Damage {
  const write = (fn: () => void) => store.transactAsync(fn)
  return {
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
    removeFolder: (f) => write(() => void store.mailboxes.removeSync(mailboxKey(f.user, f.name))),
    removeUser: (address) => write(() => void store.users.removeSync(address)),
    setCounters: (lastFolderId, lastUidValidity) =>
      write(() => {
        store.meta.putSync('lastMailboxId', lastFolderId)
        store.meta.putSync('lastUidValidity', lastUidValidity)
      }),
    queueIndex: {
      remove: (key) => write(() => void store.queueIndex.removeSync(key)),
      put: (key) => write(() => void store.queueIndex.putSync(key, null)),
    },
  }
}

const COLUMNS: Record<keyof FolderPatch, string> = {messages: 'messages', unseen: 'unseen', size: 'size', uidNext: 'uid_next', highestModseq: 'highest_modseq', subscribed: 'subscribed'}

export function pgDamage(pool: pg.Pool): Damage {
  const sql = (text: string, params: unknown[] = []) => pool.query(text, params).then(() => undefined)
  /** past the foreign keys: one session with their triggers off */
  const forced = async (text: string, params: unknown[]) => {
    const client = await pool.connect()
    try {
      await client.query('SET session_replication_role = replica')
      await client.query(text, params)
    } finally {
      await client.query('RESET session_replication_role')
      client.release()
    }
  }
  return {
    removeBytes: (id) => forced('DELETE FROM blobs WHERE id = $1', [id]),
    removeBlob: (id) => forced('WITH i AS (DELETE FROM blob_info WHERE blob_id = $1) DELETE FROM blobs WHERE id = $1', [id]),
    setRefs: (id, refs) => sql('UPDATE blob_info SET refs = $2 WHERE blob_id = $1', [id, refs]),
    setFolder: (f, patch) => {
      const set = Object.keys(patch).map((k, i) => `${COLUMNS[k as keyof FolderPatch]} = $${i + 2}`)
      return sql(`UPDATE folders SET ${set.join(', ')} WHERE id = $1`, [f.id, ...Object.values(patch)])
    },
    putBlob: (id, refs) => sql("WITH b AS (INSERT INTO blobs (id, bytes) VALUES ($1, 'orphan')) INSERT INTO blob_info (blob_id, refs, size, created_at) VALUES ($1, $2, 6, 0)", [id, refs]),
    putBytes: (id) => sql("INSERT INTO blobs (id, bytes) VALUES ($1, 'bytes')", [id]),
    putAttempt: (queueId, attempt) =>
      forced("INSERT INTO delivery_log (queue_id, attempt, started_at, ended_at, host, result, transcript) VALUES ($1, $2, 0, 0, 'mx.example.net', 'deferred', '[]')", [queueId, attempt]),
    removeFolder: (f) => forced('DELETE FROM folders WHERE id = $1', [f.id]),
    removeUser: (address) => forced('DELETE FROM users WHERE address = $1', [address]),
    setCounters: async (lastFolderId, lastUidValidity) => {
      await sql("UPDATE mailbox_meta SET value = $1 WHERE key = 'lastUidValidity'", [lastUidValidity])
      await sql("SELECT setval(pg_get_serial_sequence('folders', 'id'), $1)", [lastFolderId])
    },
  }
}

export const damageOf = (store: MailboxStore): Damage => (isPgStore(store) ? pgDamage(store.pool) : lmdbDamage(store as Store))
