/**
 * The directory contract (test/helpers/directory-contract.ts) on the LMDB backend: a real store in
 * a temp dir per test. The PostgreSQL backend runs the same body with its own opener.
 */
import {directoryContract} from '../helpers/directory-contract.js'
import {contractTempStore} from '../helpers/store.js'

directoryContract('LMDB', async () => contractTempStore())
