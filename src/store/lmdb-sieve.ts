/**
 * `store.sieve` (./backend.ts) on LMDB, in three databases:
 *  - `sieveScripts`: [user, name] → {content, updatedAt}
 *  - `sieveActive`: user → the active script's name (no key: none active)
 *  - `vacationReplies`: [user, hash] → until (epoch ms): RFC 5230's replies sent
 *
 * `active()` is on the delivery path of every local recipient: one read of `sieveActive` (all a
 * user without a script costs), then the script's own key; synchronous reads, no transaction.
 * Writes are async commits (`transactAsync`: shared with the other writes of the event turn, the
 * fsync off the event loop) that read and check inside the write, so two writers racing for the
 * last script of the quota, or two deliveries claiming the same vacation reply, take turns and
 * the second sees the first. Changes to scripts are announced as `sieve` after the commit.
 *
 * A store opened read-only that was written before Sieve has none of the databases: it answers
 * as if no user had a script.
 */
import type {Database, Key} from 'lmdb'
import {MailboxError} from '../errors.js'
import type {SieveScript, SieveScriptInfo, SieveStore} from './backend.js'
import {sieveScriptKey, userSieveScriptsRange, vacationReplyKey} from './keys.js'
import {activeSieveScript, checkSieveName, checkSieveQuota, noSieveScript, noSieveUser, sieveScriptExists, sieveSize} from './sieve-rules.js'
import {purgeExpired} from './lmdb-purge.js'
import type {Store} from './store.js'

export interface SieveScriptRecord {
  content: string
  updatedAt: number
}

const info = (name: string, record: SieveScriptRecord, active: boolean): SieveScriptInfo => ({name, active, size: sieveSize(record.content), updatedAt: record.updatedAt})

/** the three databases, or an error for a write to a read-only store that has none */
function databases(store: Store) {
  const {sieveScripts: scripts, sieveActive: active, vacationReplies: replies} = store
  if (!scripts || !active || !replies) throw new MailboxError('unavailable', `the store in ${store.path} has no Sieve scripts yet: open it read-write once`)
  return {scripts, active, replies}
}

/** Removes a user's scripts and vacation records inside the caller's write transaction (a removed user). */
export function removeUserSieveInTxn(store: Store, user: string): void {
  const {scripts, active, replies} = databases(store)
  for (const key of [...scripts.getKeys(userSieveScriptsRange(user))]) scripts.removeSync(key)
  for (const key of [...replies.getKeys(userSieveScriptsRange(user))]) replies.removeSync(key)
  active.removeSync(user)
}

export function lmdbSieve(store: Store): SieveStore {
  /** a change to `user`'s scripts: committed, then announced */
  const write = async <T>(user: string, fn: (dbs: ReturnType<typeof databases>) => T): Promise<T> => {
    const dbs = databases(store)
    const result = await store.transactAsync(() => fn(dbs))
    store.changeEmitter.emit({kind: 'sieve', user})
    return result
  }
  const activeName = (user: string): string | undefined => store.sieveActive?.get(user)

  return {
    async list(user) {
      const scripts = store.sieveScripts
      if (!scripts) return []
      const active = activeName(user)
      return [...scripts.getRange(userSieveScriptsRange(user))].map(({key, value}) => info(key[1] as string, value, key[1] === active))
    },

    async get(user, name) {
      const record = store.sieveScripts?.get(sieveScriptKey(user, name))
      return record && {name, content: record.content, active: activeName(user) === name}
    },

    async active(user) {
      const name = activeName(user)
      if (name === undefined) return undefined
      const record = store.sieveScripts?.get(sieveScriptKey(user, name))
      return record && ({name, content: record.content, active: true} satisfies SieveScript)
    },

    async put(user, name, content, quota) {
      checkSieveName(name)
      return write(user, ({scripts, active}) => {
        if (!store.users.get(user)) throw noSieveUser(user)
        const key = sieveScriptKey(user, name)
        const replacing = scripts.get(key) !== undefined
        checkSieveQuota(quota, replacing ? 0 : scripts.getKeysCount(userSieveScriptsRange(user)), replacing, sieveSize(content))
        const record: SieveScriptRecord = {content, updatedAt: Date.now()}
        scripts.putSync(key, record)
        return info(name, record, active.get(user) === name)
      })
    },

    activate: (user, name) =>
      write(user, ({scripts, active}) => {
        if (name === null) return void active.removeSync(user)
        if (scripts.get(sieveScriptKey(user, name)) === undefined) throw noSieveScript(user, name)
        active.putSync(user, name)
      }),

    remove: (user, name) =>
      write(user, ({scripts, active}) => {
        if (scripts.get(sieveScriptKey(user, name)) === undefined) throw noSieveScript(user, name)
        if (active.get(user) === name) throw activeSieveScript(user, name)
        scripts.removeSync(sieveScriptKey(user, name))
      }),

    async rename(user, from, to) {
      checkSieveName(to)
      return write(user, ({scripts, active}) => {
        const record = scripts.get(sieveScriptKey(user, from))
        if (record === undefined) throw noSieveScript(user, from)
        if (scripts.get(sieveScriptKey(user, to)) !== undefined) throw sieveScriptExists(user, to)
        scripts.removeSync(sieveScriptKey(user, from))
        scripts.putSync(sieveScriptKey(user, to), {...record, updatedAt: Date.now()})
        if (active.get(user) === from) active.putSync(user, to)
      })
    },

    async claimVacationReply(user, hash, now, periodMs) {
      const {replies} = databases(store)
      const key = vacationReplyKey(user, hash)
      // a reply within its period (the common case of a chatty correspondent) costs a read, no write
      if ((replies.get(key) ?? -Infinity) > now) return false
      return store.transactAsync(() => {
        if ((replies.get(key) ?? -Infinity) > now) return false
        replies.putSync(key, now + periodMs)
        return true
      })
    },

    async purgeVacationReplies(now, limit = 1000) {
      const replies = store.vacationReplies
      return replies ? purgeExpired(store, replies as Database<number, Key>, (until) => until <= now, limit) : 0
    },
  }
}

