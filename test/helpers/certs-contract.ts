/**
 * The contract of `store.certs` (src/certs/types.ts), one body for every backend:
 * test/unit/store-certs.test.ts (LMDB) and test/unit/pg-certs.test.ts (PostgreSQL) call
 * `certsContract(name, open)` with a function that opens a fresh, empty store.
 */
import {describe, expect, it} from 'vitest'
import type {AcmeAccount, CertificateStore, StoredCertificate} from '../../src/certs/types.js'
import type {ChangeFeed, StoreChange} from '../../src/store/backend.js'
import {until} from './until.js'

export interface OpenedCerts {
  backend: {certs: CertificateStore; changes: ChangeFeed}
  /** another independent handle on the same store (another process or node) */
  reopen(): Promise<{certs: CertificateStore; close(): Promise<void>}>
  /** resolves once the change feed hears changes (PostgreSQL: its listen connection is up) */
  changesReady(): Promise<void>
  close(): Promise<void>
}

/** a stored certificate's fields (the store keeps PEM as given: it does not parse it) */
export const storedCertificate = (names: string[], over: Partial<StoredCertificate> = {}): StoredCertificate => ({
  names,
  certPem: `-----BEGIN CERTIFICATE-----\n${names[0]}\n-----END CERTIFICATE-----\n`,
  keyPem: `-----BEGIN PRIVATE KEY-----\n${names[0]}\n-----END PRIVATE KEY-----\n`,
  notBefore: 1_700_000_000_000,
  notAfter: 1_707_776_000_000,
  issuer: 'CN=Pebble Intermediate CA 1a2b3c',
  source: 'acme',
  directory: 'https://acme.test/dir',
  updatedAt: 1_700_000_100_000,
  ...over,
})

export function certsContract(name: string, open: () => Promise<OpenedCerts>): void {
  const withStore = (title: string, body: (c: CertificateStore, opened: OpenedCerts) => Promise<void>) =>
    it(title, async () => {
      const opened = await open()
      try {
        await body(opened.backend.certs, opened)
      } finally {
        await opened.close()
      }
    })

  describe(`store.certs on ${name}`, () => {
    withStore('a certificate put is got back whole under its first name, listed by name, seen by another handle', async (c, opened) => {
      expect(await c.get('mail.example.com')).toBeUndefined()
      expect(await c.list()).toEqual([])
      const mail = storedCertificate(['mail.example.com', 'mta-sts.example.com'])
      const other = storedCertificate(['autoconfig.example.com'], {directory: undefined})
      delete other.directory
      await c.put(mail)
      await c.put(other)
      expect(await c.get('mail.example.com')).toEqual(mail)
      expect(await c.get('mta-sts.example.com')).toBeUndefined()
      expect(await c.get('autoconfig.example.com')).toEqual(other)
      expect((await c.list()).map((x) => x.names[0])).toEqual(['autoconfig.example.com', 'mail.example.com'])
      const handle = await opened.reopen()
      try {
        expect(await handle.certs.get('mail.example.com')).toEqual(mail)
      } finally {
        await handle.close()
      }
    })

    withStore('a put under a name kept already replaces it (a renewal); remove says whether one was there', async (c) => {
      await c.put(storedCertificate(['mail.example.com']))
      const renewed = storedCertificate(['mail.example.com', 'www.example.com'], {notAfter: 1_800_000_000_000, certPem: 'renewed', updatedAt: 1_790_000_000_000})
      await c.put(renewed)
      expect(await c.list()).toEqual([renewed])
      expect(await c.remove('mail.example.com')).toBe(true)
      expect(await c.remove('mail.example.com')).toBe(false)
      expect(await c.list()).toEqual([])
    })

    withStore('a certificate without a name, or with a name that is no DNS name, is refused', async (c) => {
      await expect(c.put(storedCertificate([]))).rejects.toMatchObject({code: 'invalid'})
      await expect(c.put(storedCertificate(['Mail.Example.com']))).rejects.toMatchObject({code: 'invalid'})
      await expect(c.put(storedCertificate(['a b']))).rejects.toMatchObject({code: 'invalid'})
      await c.put(storedCertificate(['*.example.com']))
      expect(await c.list()).toHaveLength(1)
    })

    withStore('ACME accounts are kept per directory, replaced by a put', async (c) => {
      expect(await c.account('https://acme.test/dir')).toBeUndefined()
      const fresh: AcmeAccount = {directory: 'https://acme.test/dir', keyPem: 'KEY'}
      await c.putAccount(fresh)
      expect(await c.account('https://acme.test/dir')).toEqual(fresh)
      const registered: AcmeAccount = {...fresh, url: 'https://acme.test/acct/1', email: 'admin@example.com'}
      await c.putAccount(registered)
      await c.putAccount({directory: 'https://other.test/dir', keyPem: 'KEY2'})
      expect(await c.account('https://acme.test/dir')).toEqual(registered)
      expect(await c.list()).toEqual([])
    })

    withStore('each put and remove is announced as certificate with its name, after the commit', async (c, opened) => {
      await opened.changesReady()
      const heard: StoreChange[] = []
      const off = opened.backend.changes.on((change) => {
        if (change.kind === 'certificate') heard.push(change)
      })
      try {
        await c.put(storedCertificate(['mail.example.com']))
        await until(() => heard.length >= 1)
        await c.put(storedCertificate(['mta-sts.example.com']))
        await c.remove('mail.example.com')
        await c.remove('mail.example.com')
        await c.putAccount({directory: 'https://acme.test/dir', keyPem: 'KEY'})
        await until(() => heard.length >= 3)
        expect(heard).toEqual([
          {kind: 'certificate', name: 'mail.example.com'},
          {kind: 'certificate', name: 'mta-sts.example.com'},
          {kind: 'certificate', name: 'mail.example.com'},
        ])
      } finally {
        off()
      }
    })
  })
}
