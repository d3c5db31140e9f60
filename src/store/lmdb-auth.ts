/**
 * `store.auth` (./backend.ts) on LMDB: the familiar addresses (./familiar-addresses.ts) in the
 * `familiarAddresses` database, `[user, network] → last success`.
 *
 * The lookup runs on every login, so it is a synchronous LMDB read handed back as a resolved
 * promise (one microtask, no I/O). Recording is an async LMDB transaction (fsynced off the event
 * loop), written only when the stored success is not recent enough to stand for this one.
 */
import type {AuthStore} from './backend.js'
import {stillFamiliar, worthRecording} from './familiar-addresses.js'
import {familiarAddressKey, userFamiliarAddressesRange} from './keys.js'
import type {Store} from './store.js'

export function lmdbAuth(store: Store): AuthStore {
  const stored = (user: string, network: string) => store.familiarAddresses.get(familiarAddressKey(user, network))
  return {
    lastLoginFrom: async (user, network, now, maxAgeMs) => stillFamiliar(stored(user, network), now, maxAgeMs),

    async rememberLogin(user, network, now, policy) {
      if (!worthRecording(stored(user, network), now, policy)) return
      // the user's expired and excess records go in the same commit
      await store.transactAsync(() => {
        store.familiarAddresses.putSync(familiarAddressKey(user, network), now)
        const records = [...store.familiarAddresses.getRange(userFamiliarAddressesRange(user))].sort((a, b) => b.value - a.value)
        records.forEach(({key, value}, i) => {
          if (i >= policy.maxPerUser || value <= now - policy.maxAgeMs) store.familiarAddresses.removeSync(key)
        })
      })
    },

    forgetLogins: (user) => store.transactAsync(() => forgetLoginsInTxn(store, user)),
  }
}

/** Forgets every familiar address of a user inside the caller's `store.transact` (a removed user, a new password). */
export function forgetLoginsInTxn(store: Store, user: string): void {
  for (const key of [...store.familiarAddresses.getKeys(userFamiliarAddressesRange(user))]) store.familiarAddresses.removeSync(key)
}
