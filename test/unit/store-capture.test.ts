/**
 * The capture contract (test/helpers/capture-contract.ts) on the LMDB backend: a real store in a
 * temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-capture.test.ts.
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {openStore} from '../../src/store/store.js'
import {captureContract} from '../helpers/capture-contract.js'

captureContract('LMDB', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-capture-'))
  const dataDir = join(dir, 'data')
  const store = openStore(dataDir)
  return {
    capture: store.capture,
    reopen: async () => {
      const other = openStore(dataDir, {create: false})
      return {capture: other.capture, close: () => other.close()}
    },
    close: async () => {
      await store.close()
      rmSync(dir, {recursive: true, force: true})
    },
  }
})
