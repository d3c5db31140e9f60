/**
 * Which LMDB commit a cached read is still good for. LMDB numbers its write transactions, and the
 * number of the last one committed, by this process or any other on the same file (a CLI), is in
 * the meta pages that every process maps (`mdb_env_info`): while it has not moved, nothing in the
 * file changed, and a value read at that commit can be handed out again without reading it.
 *
 * lmdb-js keeps one read snapshot per event-loop turn (renewed lazily, reset after this process's
 * commits), so a value read "now" may be older than the last commit: `readAtCommit` resets the
 * read transaction first (`resetReadTxn`, lmdb-js's documented way to see another process's commit
 * at once) and returns the commit number observed before it, which the read's snapshot is at or
 * after. Inside a write transaction reads see its uncommitted writes: no commit number applies.
 */
import type {Store} from './store.js'

/** lmdb-js's native environment (`RootDatabase.env`): `info()` is `mdb_env_info` */
interface NativeEnv {
  info(): {lastTxnId: number}
  writeTxn?: unknown
}

function nativeEnv(store: Store): NativeEnv {
  return (store.env as unknown as {env: NativeEnv}).env
}

/** the number of the last commit to the file, or undefined inside a write transaction */
export function lastCommit(store: Store): number | undefined {
  const env = nativeEnv(store)
  return env.writeTxn ? undefined : env.info().lastTxnId
}

/**
 * Runs `read` on a snapshot at least as new as the commit returned (undefined inside a write
 * transaction, where `read` sees that transaction's writes).
 */
export function readAtCommit<T>(store: Store, read: () => T): {value: T; commit: number | undefined} {
  const commit = lastCommit(store)
  if (commit !== undefined) store.env.resetReadTxn()
  return {value: read(), commit}
}
