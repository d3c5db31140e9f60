/**
 * The greylist contract (test/helpers/greylist-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-greylist.test.ts.
 * Then what is LMDB's alone: a store written before greylisting, opened read-only, answers as an
 * empty table instead of failing.
 */
import {expect, it} from 'vitest'
import {greylistContract, POLICY} from '../helpers/greylist-contract.js'
import {contractTempStore, withStoreWithout} from '../helpers/store.js'

greylistContract('LMDB', async () => contractTempStore())

it('a store without the greylist databases, opened read-only, reports an empty table', async () => {
  await withStoreWithout(['greylist', 'greylistNetworks'], async (readOnly) => {
    expect(readOnly.greylistEntries).toBeUndefined()
    expect(await readOnly.greylist.stats()).toEqual({entries: 0, passed: 0, networks: 0})
    expect(await readOnly.greylist.purge(Date.now(), POLICY)).toBe(0)
    expect((await readOnly.stats()).sizeBytes).toBeGreaterThan(0)
  })
})
