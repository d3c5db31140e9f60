/**
 * The mail contract (test/helpers/mail-contract.ts) on the LMDB backend: a real store in a temp
 * dir per test. The PostgreSQL backend runs the same body in test/unit/pg-mail.test.ts.
 */
import {mailContract} from '../helpers/mail-contract.js'
import {contractTempStore} from '../helpers/store.js'

mailContract('LMDB', async () => contractTempStore())
