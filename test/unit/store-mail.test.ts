/**
 * The mail slice's contract on LMDB. Placeholder: the contract itself (test/helpers/mail-contract.ts)
 * is written with the PostgreSQL backend; the integrator runs it here on LMDB once both are merged,
 * as store-directory.test.ts runs the directory's. Until then the LMDB behaviour is covered by
 * folders.test.ts, mailstore-ops.test.ts and blobs.test.ts, which call `store.mail`.
 */
import {expect, it} from 'vitest'
import {tempStore} from '../helpers/store.js'

it('an LMDB store offers store.mail: an empty store has no folders and no blobs', async () => {
  const {mail} = tempStore()
  expect(await mail.folders('nobody@example.com')).toEqual([])
  expect(await mail.blobInfo('no-such-blob')).toBeUndefined()
  expect(await mail.usageByUser()).toEqual(new Map())
})
