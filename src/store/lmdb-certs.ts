/**
 * `store.certs` (../certs/types.ts) on LMDB: the `certs` database, `['certificate', name]` → the
 * certificate with its key, `['account', directory]` → the ACME account there. Secrets: the data
 * file is the owner's alone (./store.ts). A put commits (async, the fsync off the event loop) and
 * then announces `{kind: 'certificate', name}`, so every listener of this process serves it from
 * the next handshake. A store opened read-only that was written before the database has none.
 */
import {MailboxError} from '../errors.js'
import type {AcmeAccount, CertificateStore, StoredCertificate} from '../certs/types.js'
import {checkStoredCertificate} from './cert-rules.js'
import {acmeAccountKey, certificateKey, certificatesRange} from './keys.js'
import type {Store} from './store.js'

export function lmdbCerts(store: Store): CertificateStore {
  const db = () => {
    if (!store.certsDb) throw new MailboxError('unavailable', `the store in ${store.path} has no certificates yet: open it read-write once`)
    return store.certsDb
  }
  return {
    async get(name) {
      return store.certsDb?.get(certificateKey(name)) as StoredCertificate | undefined
    },
    async list() {
      return [...(store.certsDb?.getRange(certificatesRange) ?? [])].map(({value}) => value as StoredCertificate)
    },
    async put(certificate) {
      const [name] = checkStoredCertificate(certificate).names
      const certs = db()
      await store.transactAsync(() => certs.putSync(certificateKey(name!), certificate))
      store.changeEmitter.emit({kind: 'certificate', name: name!})
    },
    async remove(name) {
      const certs = db()
      const removed = await store.transactAsync(() => certs.removeSync(certificateKey(name)))
      if (removed) store.changeEmitter.emit({kind: 'certificate', name})
      return removed
    },
    async account(directory) {
      return store.certsDb?.get(acmeAccountKey(directory)) as AcmeAccount | undefined
    },
    async putAccount(account) {
      const certs = db()
      await store.transactAsync(() => certs.putSync(acmeAccountKey(account.directory), account))
    },
  }
}
