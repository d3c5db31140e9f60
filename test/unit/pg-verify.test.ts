/**
 * `mailbox verify` on PostgreSQL: the contract (test/helpers/verify-contract.ts) on a fresh schema
 * of the run's server, damaged by SQL (test/helpers/verify-damage.ts; what the foreign keys forbid,
 * such as a blob's bytes gone under its info record, with their triggers off). Then what only
 * PostgreSQL keeps: the expunge tombstones, whose MODSEQs HIGHESTMODSEQ must not fall below.
 */
import {describe, expect, it} from 'vitest'
import {openPgStore} from '../../src/store/pg/store.js'
import {verifyStore} from '../../src/store/verify-store.js'
import {DOMAIN, mailOf} from '../helpers/mail-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {verifyContract} from '../helpers/verify-contract.js'
import {pgDamage} from '../helpers/verify-damage.js'

describe.skipIf(skipWithoutPostgres)('verify on PostgreSQL', () => {
  const server = usePostgres()
  const open = async () => openPgStore(await server().createSchema(), {pool: {poolSize: 4}})

  verifyContract('PostgreSQL', async () => {
    const store = await open()
    return {store, damage: pgDamage(store.pool), close: () => store.close()}
  })

  it('HIGHESTMODSEQ below an expunge tombstone is a breach, and the repair raises it past the tombstone', async () => {
    const store = await open()
    try {
      await store.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
      const t = mailOf({directory: store.directory, mail: store.mail})
      const user = await t.user()
      const uid = await t.add(user)
      const inbox = await t.folder(user)
      await store.mail.expunge({user, mailboxId: inbox.id, uids: [uid], onlyDeleted: false})
      const after = await t.folder(user)
      await pgDamage(store.pool).setFolder(after, {highestModseq: 1})
      const {breaches} = await verifyStore(store)
      expect(breaches).toMatchObject([{kind: 'highestmodseq', folderId: inbox.id, found: 1, expected: after.highestModseq}])
      await verifyStore(store, {repair: true})
      expect((await t.folder(user)).highestModseq).toBe(after.highestModseq)
      expect((await verifyStore(store)).breaches).toEqual([])
    } finally {
      await store.close()
    }
  })
})
