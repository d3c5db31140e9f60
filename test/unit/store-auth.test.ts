/**
 * The auth records contract (test/helpers/auth-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-auth.test.ts.
 */
import {authContract} from '../helpers/auth-contract.js'
import {contractTempStore} from '../helpers/store.js'

authContract('LMDB', async () => contractTempStore())
