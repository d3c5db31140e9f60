/**
 * `store.mtaSts` (./backend.ts) on LMDB: the `mtaStsPolicies` database, domain → CachedStsPolicy.
 * A put is one async group commit; a purge scans and removes expired policies in bounded
 * commits (./lmdb-purge.ts). A store opened read-only that was written before the database
 * existed has none: it reads as empty and keeps nothing.
 */
import type {Database, Key} from 'lmdb'
import type {CachedStsPolicy, MtaStsStore} from './backend.js'
import {purgeExpired} from './lmdb-purge.js'
import type {Store} from './store.js'

export function lmdbMtaSts(store: Store): MtaStsStore {
  const db = (): Database<CachedStsPolicy, string> | undefined => store.mtaStsPolicies
  return {
    async get(domain) {
      return db()?.get(domain)
    },
    async put(policy) {
      const policies = db()
      if (!policies || store.readOnly) return
      await store.transactAsync(() => policies.putSync(policy.domain, {...policy}))
    },
    async purge(now, limit = 1000) {
      const policies = db()
      if (!policies || store.readOnly) return 0
      return purgeExpired(store, policies as Database<CachedStsPolicy, Key>, (p) => p.expiresAt <= now, limit)
    },
  }
}
