/**
 * Familiar addresses: where each user has logged in successfully, and when last. The auth
 * throttle never holds a user back at a familiar address for failures that came from elsewhere
 * (src/auth/throttle.ts), so this must outlive a restart: an attacker who can crash or outwait a
 * restart must not make the victim's own devices strangers again.
 *
 * Records are `(user, network) → last success (epoch ms)`, kept by `store.auth` (./backend.ts;
 * LMDB: ./lmdb-auth.ts, PostgreSQL: ./pg/auth.ts). Only a correct password creates one, so
 * attackers cannot fill them; still, a user keeps at most `maxPerUser` (the most recent), and
 * records older than `maxAgeMs` go when that user's records are next written. This file holds
 * the rules both backends apply, so they cannot drift apart.
 */

export interface FamiliarPolicy {
  /** how long after the last success a network stays familiar */
  maxAgeMs: number
  maxPerUser: number
}

/** a success within this much of the stored one is not written again (a phone polling every minute writes once a day) */
export const REFRESH_MS = 24 * 3600_000

/** the last success `at` (if any) as a lookup at `now` reports it: only while within `maxAgeMs` */
export const stillFamiliar = (at: number | undefined, now: number, maxAgeMs: number): number | undefined => (at !== undefined && at > now - maxAgeMs ? at : undefined)

/** whether a success at `now` must be written, given the one stored (`previous`): not if that is recent enough to stand for it */
export const worthRecording = (previous: number | undefined, now: number, policy: FamiliarPolicy): boolean =>
  previous === undefined || now - previous >= Math.min(REFRESH_MS, policy.maxAgeMs / 10)
