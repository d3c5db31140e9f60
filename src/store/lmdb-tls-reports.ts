/**
 * `store.tlsReports` (./backend.ts) on LMDB: the `tlsReportDays` database, `[day, policyDomain]
 * → TlsReportDay` (./tls-report-rules.ts), so the days before a date are one range from the
 * start. Every write is a read-modify-write inside one async write transaction (its fsync shared
 * with the other writes of the event turn, off the event loop); LMDB's one writer lock spans
 * processes, so a claim is taken once.
 *
 * A store opened read-only that was written before the database existed has none: it answers as
 * an empty table.
 */
import type {Database} from 'lmdb'
import type {TlsReportStore} from './backend.js'
import {addTlsCounts, tlsDayDue, type TlsReportDay} from './tls-report-rules.js'
import type {Store} from './store.js'

type Days = Database<TlsReportDay, [string, string]>

export function lmdbTlsReports(store: Store): TlsReportStore {
  const days = (): Days | undefined => store.tlsReportDays

  return {
    async add(counts, bounds) {
      const db = days()
      if (!db || !counts.length) return
      await store.transactAsync(() => {
        for (const c of counts) {
          const next = addTlsCounts(db.get([c.day, c.policyDomain]), c, bounds)
          if (next) db.putSync([c.day, c.policyDomain], next)
        }
      })
    },

    async due(beforeDay, now, limit) {
      const found: {day: string; policyDomain: string}[] = []
      for (const {value} of days()?.getRange({end: [beforeDay]}) ?? []) {
        if (tlsDayDue(value, beforeDay, now)) found.push({day: value.day, policyDomain: value.policyDomain})
        if (found.length >= limit) break
      }
      return found
    },

    async claim(day, policyDomain, now, leaseMs) {
      const db = days()
      if (!db) return undefined
      return store.transactAsync(() => {
        const stored = db.get([day, policyDomain])
        if (!stored || !tlsDayDue(stored, '9999-12-31', now)) return undefined
        const claimed = {...stored, attempts: stored.attempts + 1, leaseUntil: now + leaseMs}
        db.putSync([day, policyDomain], claimed)
        return claimed
      })
    },

    async settle(day, policyDomain, {sentTo, done}) {
      const db = days()
      if (!db) return
      await store.transactAsync(() => {
        const stored = db.get([day, policyDomain])
        if (!stored) return
        const {leaseUntil: _, ...rest} = stored
        // a done day keeps only what stops a second report: its counts are not needed any more
        db.putSync([day, policyDomain], done ? {...rest, policies: [], state: 'done', sentTo} : {...rest, sentTo})
      })
    },

    async get(day, policyDomain) {
      return days()?.get([day, policyDomain])
    },

    async purge(beforeDay, limit = 1000) {
      const db = days()
      if (!db) return 0
      let removed = 0
      for (;;) {
        const keys = [...db.getKeys({end: [beforeDay], limit})]
        if (!keys.length) return removed
        removed += await store.transactAsync(() => keys.filter((key) => db.removeSync(key)).length)
        if (keys.length < limit) return removed
      }
    },
  }
}
