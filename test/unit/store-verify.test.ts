/**
 * `mailbox verify` on LMDB: the contract (test/helpers/verify-contract.ts) on a real store in a
 * temp dir, damaged through its databases directly (test/helpers/verify-damage.ts). The
 * PostgreSQL backend runs the same body in test/unit/pg-verify.test.ts.
 */
import {contractTempStore} from '../helpers/store.js'
import {verifyContract} from '../helpers/verify-contract.js'
import {lmdbDamage} from '../helpers/verify-damage.js'

verifyContract('LMDB', async () => {
  const opened = contractTempStore()
  return {store: opened.backend, damage: lmdbDamage(opened.backend), close: opened.close}
})
