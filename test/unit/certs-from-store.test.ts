/**
 * serveStoredCertificates (src/certs/from-store.ts) on a real LMDB store: what store.certs holds
 * at start is served, a put or a remove in this process is served from the next handshake, and a
 * stored pair that does not load is logged and left to the default.
 */
import {afterEach, expect, it} from 'vitest'
import {serveStoredCertificates} from '../../src/certs/from-store.js'
import {ServedCertificates} from '../../src/certs/tls-certificates.js'
import type {StoredCertificate} from '../../src/certs/types.js'
import {createLogger} from '../../src/log.js'
import {makeCertificate, type TestCertificate} from '../helpers/certificates.js'
import {contractTempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const stored = (c: TestCertificate): StoredCertificate => ({names: c.names, certPem: c.certPem, keyPem: c.keyPem, notBefore: 0, notAfter: 1, issuer: 'CN=test', source: 'acme', updatedAt: 0})

const cleanups: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c()
})

it('serves the stored certificates at start and follows puts and removes; an unusable one is logged and skipped', async () => {
  const opened = contractTempStore()
  cleanups.push(opened.close)
  const store = opened.backend
  const [fallback, mail, later] = await Promise.all([makeCertificate(['localhost']), makeCertificate(['mail.example.com']), makeCertificate(['mta-sts.example.com'])])
  await store.certs.put(stored(mail))
  await store.certs.put({...stored(later), names: ['broken.example.com'], keyPem: mail.keyPem})
  const lines: string[] = []
  const served = new ServedCertificates({key: fallback.keyPem, cert: fallback.certPem})
  const off = await serveStoredCertificates(served, store, createLogger({level: 'info', pretty: false, write: (l) => void lines.push(l)}))
  cleanups.push(async () => off())
  expect(served.names()).toEqual(['mail.example.com'])
  expect(served.servedName('mail.example.com')).toBe('mail.example.com')
  expect(lines.map((l) => JSON.parse(l))).toContainEqual(expect.objectContaining({level: 'error', name: 'broken.example.com'}))

  await store.certs.put(stored(later))
  await until(() => served.servedName('mta-sts.example.com') === 'mta-sts.example.com')
  await store.certs.remove('mail.example.com')
  await until(() => served.servedName('mail.example.com') === undefined)
  expect(served.names()).toEqual(['mta-sts.example.com'])
})
