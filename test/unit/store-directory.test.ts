/**
 * The directory contract (test/helpers/directory-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body with its own opener.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openStore} from '../../src/store/store.js'
import {directoryContract} from '../helpers/directory-contract.js'

directoryContract('LMDB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-directory-'))
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
