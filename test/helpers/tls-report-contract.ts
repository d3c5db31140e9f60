/**
 * The contract of `store.tlsReports` (src/store/backend.ts), one body for every backend:
 * test/unit/store-tls-reports.test.ts (LMDB) and test/unit/pg-tls-reports.test.ts (PostgreSQL)
 * call `tlsReportContract(name, open)` with a function that opens a fresh, empty store.
 */
import {describe, expect, it} from 'vitest'
import type {TlsReportStore} from '../../src/store/backend.js'
import type {TlsDayCounts} from '../../src/store/tls-report-rules.js'

export interface OpenedTlsReports {
  backend: {tlsReports: TlsReportStore}
  /** another independent handle on the same store (another process or node) */
  reopen(): Promise<{tlsReports: TlsReportStore; close(): Promise<void>}>
  close(): Promise<void>
}

const BOUNDS = {maxDetails: 3, maxPolicies: 2}
const NONE = {type: 'no-policy-found'} as const

const counts = (day: string, policyDomain: string, successes: number, failures: TlsDayCounts['policies'][number]['details'] = []): TlsDayCounts => ({
  day,
  policyDomain,
  policies: [{policy: NONE, successes, failures: failures.reduce((n, d) => n + d.count, 0), details: failures}],
})

const fail = (mx: string, count = 1, type: 'starttls-not-supported' | 'certificate-expired' = 'starttls-not-supported') => ({type, receivingMxHostname: mx, receivingIp: '192.0.2.1', count})

export function tlsReportContract(name: string, open: () => Promise<OpenedTlsReports>): void {
  const withStore = (title: string, body: (s: TlsReportStore, opened: OpenedTlsReports) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.tlsReports, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.tlsReports on ${name}`, () => {
    withStore('counts add up per day and policy domain, failure rows by (type, MX, IP)', async (s) => {
      await s.add([counts('2026-12-01', 'a.example', 2, [fail('mx1.a.example')]), counts('2026-12-01', 'b.example', 1)], BOUNDS)
      await s.add([counts('2026-12-01', 'a.example', 3, [fail('mx1.a.example', 2), fail('mx2.a.example')])], BOUNDS)
      const day = await s.get('2026-12-01', 'a.example')
      expect(day).toMatchObject({day: '2026-12-01', policyDomain: 'a.example', state: 'open', droppedDetails: 0, sentTo: [], attempts: 0})
      expect(day!.policies).toEqual([
        {
          policy: NONE,
          successes: 5,
          failures: 4,
          details: [
            {type: 'starttls-not-supported', receivingMxHostname: 'mx1.a.example', receivingIp: '192.0.2.1', count: 3},
            {type: 'starttls-not-supported', receivingMxHostname: 'mx2.a.example', receivingIp: '192.0.2.1', count: 1},
          ],
        },
      ])
      expect((await s.get('2026-12-01', 'b.example'))!.policies[0]).toMatchObject({successes: 1, failures: 0})
      expect(await s.get('2026-12-02', 'a.example')).toBeUndefined()
    })

    withStore('past maxDetails a failure counts in the summary only; past maxPolicies under the last policy kept', async (s) => {
      await s.add([counts('2026-12-01', 'a.example', 0, [fail('m1'), fail('m2'), fail('m3'), fail('m4', 5)])], BOUNDS)
      const sts = (id: string) => ({type: 'sts' as const, policyString: ['version: STSv1', `mx: ${id}`], mxHost: [id]})
      await s.add([{day: '2026-12-01', policyDomain: 'a.example', policies: [{policy: sts('x'), successes: 1, failures: 0, details: []}, {policy: sts('y'), successes: 7, failures: 0, details: []}]}], BOUNDS)
      const day = (await s.get('2026-12-01', 'a.example'))!
      expect(day.policies).toHaveLength(2)
      expect(day.policies[0]!.failures).toBe(8)
      expect(day.policies[0]!.details).toHaveLength(3)
      expect(day.droppedDetails).toBe(5)
      expect(day.policies[1]).toMatchObject({policy: sts('x'), successes: 8})
    })

    withStore('due lists open days before the given one, oldest first; a claim holds a day once, until settled', async (s, opened) => {
      await s.add([counts('2026-12-02', 'a.example', 1), counts('2026-12-01', 'b.example', 1), counts('2026-12-03', 'a.example', 1)], BOUNDS)
      const now = Date.now()
      expect(await s.due('2026-12-03', now, 10)).toEqual([
        {day: '2026-12-01', policyDomain: 'b.example'},
        {day: '2026-12-02', policyDomain: 'a.example'},
      ])
      expect(await s.due('2026-12-03', now, 1)).toHaveLength(1)
      const other = await opened.reopen()
      try {
        const claims = await Promise.all([s.claim('2026-12-01', 'b.example', now, 60_000), other.tlsReports.claim('2026-12-01', 'b.example', now, 60_000)])
        expect(claims.filter(Boolean)).toHaveLength(1)
        expect(claims.find(Boolean)).toMatchObject({attempts: 1, policies: [{successes: 1}]})
        expect(await s.due('2026-12-03', now, 10)).toEqual([{day: '2026-12-02', policyDomain: 'a.example'}])
        // not done: released for a later run, with what went out so far
        await s.settle('2026-12-01', 'b.example', {sentTo: ['mailto:r@b.example'], done: false})
        expect(await s.due('2026-12-03', now, 10)).toHaveLength(2)
        expect(await other.tlsReports.claim('2026-12-01', 'b.example', now, 60_000)).toMatchObject({attempts: 2, sentTo: ['mailto:r@b.example']})
        await other.tlsReports.settle('2026-12-01', 'b.example', {sentTo: ['mailto:r@b.example'], done: true})
      } finally {
        await other.close()
      }
      expect(await s.due('2026-12-03', now, 10)).toEqual([{day: '2026-12-02', policyDomain: 'a.example'}])
      expect(await s.claim('2026-12-01', 'b.example', now, 60_000)).toBeUndefined()
      expect(await s.get('2026-12-01', 'b.example')).toMatchObject({state: 'done', policies: []})
    })

    withStore('counts for a done day are ignored: a day is reported once', async (s) => {
      await s.add([counts('2026-12-01', 'a.example', 1)], BOUNDS)
      await s.claim('2026-12-01', 'a.example', Date.now(), 60_000)
      await s.settle('2026-12-01', 'a.example', {sentTo: [], done: true})
      await s.add([counts('2026-12-01', 'a.example', 4)], BOUNDS)
      expect(await s.get('2026-12-01', 'a.example')).toMatchObject({state: 'done', policies: []})
      expect(await s.due('2026-12-02', Date.now(), 10)).toEqual([])
    })

    withStore('purge removes days before the given one, in batches', async (s) => {
      await s.add(['2026-11-01', '2026-11-02', '2026-11-03', '2026-12-01'].flatMap((d) => [counts(d, 'a.example', 1), counts(d, 'b.example', 1)]), BOUNDS)
      expect(await s.purge('2026-12-01', 2)).toBe(6)
      expect(await s.get('2026-11-03', 'a.example')).toBeUndefined()
      expect(await s.get('2026-12-01', 'b.example')).toBeDefined()
      expect(await s.purge('2026-12-01')).toBe(0)
    })
  })
}
