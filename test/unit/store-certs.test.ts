/**
 * The certificates contract (test/helpers/certs-contract.ts) on LMDB, a real store per test; the
 * PostgreSQL backend runs the same body in test/unit/pg-certs.test.ts. Then LMDB's alone: the
 * data file holding the keys is the owner's alone, and a backup restored elsewhere keeps them.
 */
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {expect, it} from 'vitest'
import {backupStore, restoreStore} from '../../src/store/backup.js'
import {openStore, storePath} from '../../src/store/store.js'
import {certsContract, storedCertificate} from '../helpers/certs-contract.js'
import {contractTempStore, withStoreWithout} from '../helpers/store.js'

certsContract('LMDB', async () => ({...contractTempStore(), changesReady: async () => {}}))

it('a store without the certs database, opened read-only, lists none and refuses a put', async () => {
  await withStoreWithout(['certs'], async (readOnly) => {
    expect(readOnly.certsDb).toBeUndefined()
    expect(await readOnly.certs.list()).toEqual([])
    expect(await readOnly.certs.get('mail.example.com')).toBeUndefined()
    await expect(readOnly.certs.put(storedCertificate(['mail.example.com']))).rejects.toMatchObject({code: 'unavailable'})
  })
})

it('the keys are owner-only on disk, and a backup restored into a new data dir keeps certificates and accounts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-certs-'))
  try {
    const original = openStore(join(dir, 'a'))
    const cert = storedCertificate(['mail.example.com'])
    await original.certs.put(cert)
    await original.certs.putAccount({directory: 'https://acme.test/dir', keyPem: 'KEY', url: 'https://acme.test/acct/1'})
    await original.close()
    expect(statSync(storePath(join(dir, 'a'))).mode & 0o777).toBe(0o600)
    await backupStore({type: 'lmdb', dataDir: join(dir, 'a')}, join(dir, 'backup.lmdb'))
    expect(statSync(join(dir, 'backup.lmdb')).mode & 0o777).toBe(0o600)
    await restoreStore(join(dir, 'backup.lmdb'), {type: 'lmdb', dataDir: join(dir, 'b')})
    const restored = openStore(join(dir, 'b'), {create: false})
    try {
      expect(await restored.certs.get('mail.example.com')).toEqual(cert)
      expect(await restored.certs.account('https://acme.test/dir')).toEqual({directory: 'https://acme.test/dir', keyPem: 'KEY', url: 'https://acme.test/acct/1'})
    } finally {
      await restored.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
