/**
 * The MTA-STS policy cache contract (test/helpers/mta-sts-contract.ts) on LMDB, a real store per
 * test; test/unit/pg-mta-sts.test.ts runs the same body on PostgreSQL. Then LMDB's alone: a
 * store written before the database existed, opened read-only, reads as empty and keeps nothing.
 */
import {expect, it} from 'vitest'
import {mtaStsContract} from '../helpers/mta-sts-contract.js'
import {contractTempStore, withStoreWithout} from '../helpers/store.js'

mtaStsContract('LMDB', async () => contractTempStore())

it('a store without the mtaStsPolicies database, opened read-only, has no policy and keeps none', async () => {
  await withStoreWithout(['mtaStsPolicies'], async (readOnly) => {
    expect(readOnly.mtaStsPolicies).toBeUndefined()
    expect(await readOnly.mtaSts.get('example.org')).toBeUndefined()
    await readOnly.mtaSts.put({domain: 'example.org', id: 'a', text: 'version: STSv1\r\n', fetchedAt: 0, expiresAt: 1})
    expect(await readOnly.mtaSts.get('example.org')).toBeUndefined()
    expect(await readOnly.mtaSts.purge(Date.now())).toBe(0)
  })
})
