/**
 * The learning jobs contract (test/helpers/learn-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-learn.test.ts.
 */
import {learnContract} from '../helpers/learn-contract.js'
import {contractTempStore} from '../helpers/store.js'

learnContract('LMDB', async () => contractTempStore())
