/** Pieces of a live `ServerStatus` for tests that fake one. */
import type {AuthStats} from '../../src/auth/actor.js'

/** the `auth` block of a server that has seen no logins */
export const QUIET_AUTH: AuthStats = {
  windowMs: 900_000,
  failures: 0,
  addresses: 0,
  blockedAddresses: 0,
  slowedAddresses: 0,
  blockedPairs: 0,
  lockedUsers: 0,
  top: [],
  totals: {succeeded: 0, failed: 0, throttled: 0, disabled: 0},
}
