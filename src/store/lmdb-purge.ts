/**
 * Removing expired records from an LMDB database in bounded commits (greylisting's triplets,
 * vacation replies): a scan picks at most `limit` expired keys, one async commit removes those
 * that are still expired inside the write (a record refreshed between scan and commit stays),
 * and the next scan goes on after the last key the previous one read, so live records are read
 * once.
 */
import type {Database, Key} from 'lmdb'
import type {Store} from './store.js'

/** how many records went */
export async function purgeExpired<V>(store: Store, db: Database<V, Key>, expired: (value: V) => boolean, limit: number): Promise<number> {
  let removed = 0
  let after: Key | undefined
  for (;;) {
    const keys: Key[] = []
    let last: Key | undefined
    for (const {key, value} of db.getRange(after === undefined ? {} : {start: after, exclusiveStart: true})) {
      last = key
      if (expired(value)) keys.push(key)
      if (keys.length >= limit) break
    }
    after = last
    if (!keys.length) return removed
    removed += await store.transactAsync(() => {
      let n = 0
      for (const key of keys) {
        const value = db.get(key)
        if (value !== undefined && expired(value)) n += db.removeSync(key) ? 1 : 0
      }
      return n
    })
    if (keys.length < limit) return removed
  }
}
