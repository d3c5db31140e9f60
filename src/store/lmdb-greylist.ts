/**
 * `store.greylist` (./backend.ts) on LMDB: the triplets in `greylist` (`[network, sender,
 * recipient] → GreylistEntry`), the networks that passed in `greylistNetworks` (`network → last
 * pass`). The rules are ./greylist-rules.ts.
 *
 * A known triplet's pass recorded within `refreshMs` is answered from a read alone. Any other
 * check reads and writes inside one async write transaction (its commit shared with the other
 * writes of the event turn, fsynced off the event loop), so a retry racing another sighting of
 * the same triplet sees it. The cap counts entries with LMDB's own statistics (a page header
 * read, not a scan). A purge scans, and removes at most `limit` entries per commit, checking each
 * again inside the write (a sighting between scan and commit keeps it).
 *
 * A store opened read-only that was written before greylisting has neither database: it answers
 * as an empty table.
 */
import type {Database, Key} from 'lmdb'
import type {GreylistStore} from './backend.js'
import {boundedTriplet, greylistExpired, greylistSighting, networkPassLive, passStandsWithoutWrite, type GreylistEntry} from './greylist-rules.js'
import {purgeExpired} from './lmdb-purge.js'
import type {Store} from './store.js'

/** entries in a database, from LMDB's statistics (no scan) */
const countOf = (db: Database<unknown, never>): number => (db.getStats() as {entryCount: number}).entryCount

const tripletKey = (t: {network: string; sender: string; recipient: string}): [string, string, string] => [t.network, t.sender, t.recipient]

export function lmdbGreylist(store: Store): GreylistStore {
  const entries = (): Database<GreylistEntry, [string, string, string]> | undefined => store.greylistEntries
  const networks = (): Database<number, string> | undefined => store.greylistNetworks

  return {
    async check(input, now, policy) {
      const t = boundedTriplet(input)
      const db = entries()
      const passes = networks()
      if (!db || !passes) return {action: 'pass', reason: 'full'}
      if (t.sender === '' && networkPassLive(passes.get(t.network), now, policy)) return {action: 'pass', reason: 'network'}
      const key = tripletKey(t)
      if (passStandsWithoutWrite(db.get(key), now, policy)) return {action: 'pass', reason: 'passed'}
      return store.transactAsync(() => {
        const stored = db.get(key)
        if (!stored && countOf(db as never) >= policy.maxEntries) return {action: 'pass', reason: 'full'} as const
        const {verdict, entry} = greylistSighting(stored, now, policy)
        db.putSync(key, entry)
        if (verdict.action === 'pass') passes.putSync(t.network, Math.max(passes.get(t.network) ?? 0, now))
        return verdict
      })
    },

    async purge(now, policy, limit = 1000) {
      const db = entries()
      const passes = networks()
      if (!db || !passes) return 0
      return (
        (await purgeExpired(store, db as Database<GreylistEntry, Key>, (entry) => greylistExpired(entry, now, policy), limit)) +
        (await purgeExpired(store, passes as Database<number, Key>, (pass) => !networkPassLive(pass, now, policy), limit))
      )
    },

    async stats() {
      const db = entries()
      const passes = networks()
      if (!db || !passes) return {entries: 0, passed: 0, networks: 0}
      let passed = 0
      for (const {value} of db.getRange({})) if (value.passedAt !== undefined) passed++
      return {entries: countOf(db as never), passed, networks: countOf(passes as never)}
    },
  }
}
