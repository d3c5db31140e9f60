/**
 * The stats contract (test/helpers/stats-contract.ts) on the LMDB backend, and what only LMDB
 * reports: pages freed by deletes are counted as free (the file does not shrink).
 */
import {expect, it} from 'vitest'
import {contractTempStore} from '../helpers/store.js'
import {statsContract} from '../helpers/stats-contract.js'

statsContract('LMDB', async () => contractTempStore())

it('LMDB: the pages of deleted records are counted free, and reused before the file grows', async () => {
  const {backend: store, close} = contractTempStore()
  try {
    const before = await store.stats()
    for (let i = 0; i < 1500; i++) await store.capture.addRule({to: `/^user${i}-${'x'.repeat(200)}@x\\.test$/`, reply: '451 4.3.0 later'})
    const full = await store.stats()
    expect(full.sizeBytes).toBeGreaterThanOrEqual(before.sizeBytes)
    expect(await store.capture.clearRules()).toBe(1500)
    const emptied = await store.stats()
    expect(emptied.freePages! - full.freePages!).toBeGreaterThan(50)
    expect(emptied.sizeBytes).toBe(full.sizeBytes)
  } finally {
    await close()
  }
})
