/**
 * `store.settings` (./backend.ts) on LMDB: the `settings` database, `['secret', name]` → the
 * secret's bytes. A secret is made inside the write transaction after a second read, and LMDB's
 * one writer lock spans processes: two processes making the same one at once write it once and
 * both return what was written. A store opened read-only that was written before the database
 * existed has none (lmdb-js gives undefined): a secret it lacks is `unavailable` there.
 */
import {MailboxError} from '../errors.js'
import type {SettingsStore} from './backend.js'
import {secretKey} from './keys.js'
import type {Store} from './store.js'

export const SECRET_BYTES = 32

export function lmdbSettings(store: Store): SettingsStore {
  return {
    async secret(name) {
      const db = store.settingsDb
      const key = secretKey(name)
      const kept = db?.get(key)
      if (kept !== undefined) return Buffer.from(kept)
      if (!db || store.readOnly) throw new MailboxError('unavailable', `the store has no ${name} secret yet and is open read-only`)
      // node:crypto at first use: light commands open the store without it (test/e2e/cli-startup.test.ts)
      const fresh = (await import('node:crypto')).randomBytes(SECRET_BYTES)
      const value = await store.transactAsync(() => {
        const raced = db.get(key)
        if (raced !== undefined) return raced
        db.putSync(key, fresh)
        return fresh
      })
      return Buffer.from(value)
    },
  }
}
