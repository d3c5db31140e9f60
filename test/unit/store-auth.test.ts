/**
 * The auth records contract (test/helpers/auth-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-auth.test.ts.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openStore} from '../../src/store/store.js'
import {authContract} from '../helpers/auth-contract.js'

authContract('LMDB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-auth-'))
  const dataDir = join(dir, 'data')
  const store = openStore(dataDir)
  return {
    backend: store,
    reopen: async () => openStore(dataDir, {create: false}),
    close: async () => {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
})
