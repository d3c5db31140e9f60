/**
 * `store.certs` on PostgreSQL (src/store/pg/certs.ts): the contract the LMDB backend passes
 * (test/helpers/certs-contract.ts), each test in a fresh schema; then a renewal put on one node
 * is heard by another (the change feed every node's TLS listeners reload from).
 */
import {describe, expect, it} from 'vitest'
import type {StoreChange} from '../../src/store/backend.js'
import type {PgChangeFeed} from '../../src/store/pg/changes.js'
import {openPgStore, type PgStore} from '../../src/store/pg/store.js'
import {certsContract, storedCertificate} from '../helpers/certs-contract.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

describe.skipIf(skipWithoutPostgres)('certificates on PostgreSQL', () => {
  const server = usePostgres()
  const openAt = (url: string): Promise<PgStore> => openPgStore(url, {pool: {poolSize: 4}})

  certsContract('PostgreSQL', async () => {
    const url = await server().createSchema()
    const store = await openAt(url)
    return {
      backend: store,
      reopen: async () => {
        const other = await openAt(url)
        return {certs: other.certs, close: () => other.close()}
      },
      changesReady: () => (store.changes as PgChangeFeed).ready(),
      close: () => store.close(),
    }
  })

  it('a certificate put on one node is announced on the other, which reads it', async () => {
    const url = await server().createSchema()
    const [a, b] = [await openAt(url), await openAt(url)]
    try {
      const heard: StoreChange[] = []
      b.changes.on((c) => void (c.kind === 'certificate' && heard.push(c)))
      await (b.changes as PgChangeFeed).ready()
      const cert = storedCertificate(['mail.example.com'])
      await a.certs.put(cert)
      await until(() => heard.length > 0)
      expect(heard).toEqual([{kind: 'certificate', name: 'mail.example.com'}])
      expect(await b.certs.get('mail.example.com')).toEqual(cert)
    } finally {
      await a.close()
      await b.close()
    }
  })
})
