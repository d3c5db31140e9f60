/**
 * The Sieve contract (test/helpers/sieve-contract.ts) on the LMDB backend: a real store in a temp
 * dir per test. The PostgreSQL backend runs the same body in test/unit/pg-sieve.test.ts. Then
 * what is LMDB's alone: a store written before Sieve, opened read-only, answers as if no user had
 * a script.
 */
import {expect, it} from 'vitest'
import {addSieveUsers, sieveContract} from '../helpers/sieve-contract.js'
import {contractTempStore, withStoreWithout} from '../helpers/store.js'

sieveContract('LMDB', async () => {
  const opened = contractTempStore()
  await addSieveUsers(opened.backend)
  return {...opened, changesReady: async () => {}}
})

it('a store without the Sieve databases, opened read-only, has no scripts and purges nothing', async () => {
  await withStoreWithout(['sieveScripts', 'sieveActive', 'vacationReplies'], async (readOnly) => {
    expect(readOnly.sieveScripts).toBeUndefined()
    expect(await readOnly.sieve.list('amy@x.test')).toEqual([])
    expect(await readOnly.sieve.active('amy@x.test')).toBeUndefined()
    expect(await readOnly.sieve.get('amy@x.test', 'a')).toBeUndefined()
    expect(await readOnly.sieve.purgeVacationReplies(Date.now())).toBe(0)
  })
})
