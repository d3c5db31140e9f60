/**
 * The capture contract (test/helpers/capture-contract.ts) on the LMDB backend: a real store in a
 * temp dir per test. The PostgreSQL backend runs the same body in test/unit/pg-capture.test.ts.
 */
import {captureContract} from '../helpers/capture-contract.js'
import {contractTempStore} from '../helpers/store.js'

captureContract('LMDB', async () => contractTempStore())
