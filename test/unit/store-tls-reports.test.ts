/**
 * The TLS report counts' contract (test/helpers/tls-report-contract.ts) on LMDB, a real store per
 * test; the PostgreSQL backend runs the same body in test/unit/pg-tls-reports.test.ts. Then
 * LMDB's alone: a store written before the database, opened read-only, answers as empty.
 */
import {expect, it} from 'vitest'
import {contractTempStore, withStoreWithout} from '../helpers/store.js'
import {tlsReportContract} from '../helpers/tls-report-contract.js'

tlsReportContract('LMDB', async () => contractTempStore())

it('a store without the tlsReportDays database, opened read-only, has no days', async () => {
  await withStoreWithout(['tlsReportDays'], async (readOnly) => {
    expect(readOnly.tlsReportDays).toBeUndefined()
    expect(await readOnly.tlsReports.due('2999-01-01', Date.now(), 10)).toEqual([])
    expect(await readOnly.tlsReports.get('2026-12-01', 'a.example')).toBeUndefined()
  })
})
