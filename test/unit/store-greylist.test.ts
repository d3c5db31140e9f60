/**
 * The greylist contract (test/helpers/greylist-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-greylist.test.ts.
 * Then what is LMDB's alone: a store written before greylisting, opened read-only, answers as an
 * empty table instead of failing.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {open} from 'lmdb'
import {expect, it} from 'vitest'
import {openStore} from '../../src/store/store.js'
import {greylistContract, POLICY} from '../helpers/greylist-contract.js'
import {contractTempStore} from '../helpers/store.js'

greylistContract('LMDB', async () => contractTempStore())

it('a store without the greylist databases, opened read-only, reports an empty table', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-greylist-'))
  try {
    const dataDir = join(dir, 'data')
    const store = openStore(dataDir)
    await store.close()
    // as a store written by the version before: the same, without the two databases
    const env = open({path: join(dataDir, 'mailbox.lmdb'), maxDbs: 32})
    await env.transaction(() => {
      env.openDB({name: 'greylist'}).drop()
      env.openDB({name: 'greylistNetworks'}).drop()
    })
    await env.close()
    const readOnly = openStore(dataDir, {readOnly: true, migrate: false})
    try {
      expect(readOnly.greylistEntries).toBeUndefined()
      expect(await readOnly.greylist.stats()).toEqual({entries: 0, passed: 0, networks: 0})
      expect(await readOnly.greylist.purge(Date.now(), POLICY)).toBe(0)
      expect((await readOnly.stats()).sizeBytes).toBeGreaterThan(0)
    } finally {
      await readOnly.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
