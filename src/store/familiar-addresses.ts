/**
 * Familiar addresses: where each user has logged in successfully, and when last. The auth
 * throttle never holds a user back at a familiar address for failures that came from elsewhere
 * (src/auth/throttle.ts), so this must outlive a restart: an attacker who can crash or outwait a
 * restart must not make the victim's own devices strangers again.
 *
 * Records are `[user, network] → last success (epoch ms)`. Only a correct password creates one,
 * so attackers cannot fill this database; still, a user keeps at most `maxPerUser` (the most
 * recent), and records older than `maxAgeMs` go when that user's records are next written.
 */
import {familiarAddressKey, userFamiliarAddressesRange} from './keys.js'
import type {Store} from './store.js'

export interface FamiliarPolicy {
  /** how long after the last success a network stays familiar */
  maxAgeMs: number
  maxPerUser: number
}

/** a success within this much of the stored one is not written again (a phone polling every minute writes once a day) */
export const REFRESH_MS = 24 * 3600_000

/** when `user` last logged in from `network`, if within `maxAgeMs` of `now` */
export function lastLoginFrom(store: Store, user: string, network: string, now: number, maxAgeMs: number): number | undefined {
  const at = store.familiarAddresses.get(familiarAddressKey(user, network))
  return at !== undefined && at > now - maxAgeMs ? at : undefined
}

/**
 * Records a success durably (resolves after the commit), unless one recorded less than
 * min(REFRESH_MS, maxAgeMs / 10) ago makes it needless. Drops this user's expired and
 * excess records in the same commit.
 */
export async function rememberLogin(store: Store, user: string, network: string, now: number, policy: FamiliarPolicy): Promise<void> {
  const previous = store.familiarAddresses.get(familiarAddressKey(user, network))
  if (previous !== undefined && now - previous < Math.min(REFRESH_MS, policy.maxAgeMs / 10)) return
  await store.transactAsync(() => {
    store.familiarAddresses.putSync(familiarAddressKey(user, network), now)
    const records = [...store.familiarAddresses.getRange(userFamiliarAddressesRange(user))].sort((a, b) => b.value - a.value)
    records.forEach(({key, value}, i) => {
      if (i >= policy.maxPerUser || value <= now - policy.maxAgeMs) store.familiarAddresses.removeSync(key)
    })
  })
}

/** Forgets every familiar address of a user (removed, or a new password); inside `store.transact`. */
export function forgetLogins(store: Store, user: string): void {
  for (const key of [...store.familiarAddresses.getKeys(userFamiliarAddressesRange(user))]) store.familiarAddresses.removeSync(key)
}
