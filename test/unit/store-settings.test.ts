/**
 * The settings contract (test/helpers/settings-contract.ts) on LMDB, a real store per test; the
 * PostgreSQL backend runs the same body in test/unit/pg-settings.test.ts. Then LMDB's alone: a
 * store written before the `settings` database, opened read-only, refuses to make a secret; a
 * backup restored elsewhere has the same secret (`store copy` of either backend: store-transfer.test.ts).
 */
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {open} from 'lmdb'
import {expect, it} from 'vitest'
import {backupStore, restoreStore} from '../../src/store/backup.js'
import {openStore} from '../../src/store/store.js'
import {settingsContract} from '../helpers/settings-contract.js'
import {contractTempStore} from '../helpers/store.js'

settingsContract('LMDB', async () => contractTempStore())

it('a store without the settings database, opened read-only, has no secret to give', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-settings-'))
  try {
    const dataDir = join(dir, 'data')
    await openStore(dataDir).close()
    const env = open({path: join(dataDir, 'mailbox.lmdb'), maxDbs: 32})
    await env.transaction(() => env.openDB({name: 'settings'}).drop())
    await env.close()
    const readOnly = openStore(dataDir, {readOnly: true, migrate: false})
    try {
      expect(readOnly.settingsDb).toBeUndefined()
      await expect(readOnly.settings.secret('srs')).rejects.toMatchObject({code: 'unavailable'})
    } finally {
      await readOnly.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})

it('a backup restored into a new data dir keeps the secret: SRS addresses made before still reverse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-settings-'))
  try {
    const original = openStore(join(dir, 'a'))
    const secret = await original.settings.secret('srs')
    await original.close()
    await backupStore({type: 'lmdb', dataDir: join(dir, 'a')}, join(dir, 'backup.lmdb'))
    await restoreStore(join(dir, 'backup.lmdb'), {type: 'lmdb', dataDir: join(dir, 'b')})
    const restored = openStore(join(dir, 'b'), {create: false})
    try {
      expect((await restored.settings.secret('srs')).equals(secret)).toBe(true)
    } finally {
      await restored.close()
    }
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
})
