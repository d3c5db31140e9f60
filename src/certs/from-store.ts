/**
 * Keeps the served certificates (./tls-certificates.ts) in step with `store.certs`: all of them
 * at start, then each one a change names (put by ACME here, or on another node of a PostgreSQL
 * store), and all again after a `resync` (notifications may have been lost). A certificate that
 * cannot be used is logged and left out: its names get the default, the server keeps running.
 */
import type {Logger} from '../log.js'
import type {MailboxStore} from '../store/backend.js'
import type {StoredCertificate} from './types.js'
import type {ServedCertificates} from './tls-certificates.js'

export async function serveStoredCertificates(served: ServedCertificates, store: MailboxStore, log: Logger): Promise<() => void> {
  const install = (certificate: StoredCertificate) => {
    try {
      served.install(certificate)
      log.info({name: certificate.names[0], names: certificate.names, notAfter: new Date(certificate.notAfter).toISOString()}, 'serving certificate')
    } catch (err) {
      log.error({name: certificate.names[0], reason: (err as Error).message}, 'a stored certificate cannot be used: its names get the default one')
    }
  }
  const reloadAll = async () => {
    const kept = await store.certs.list()
    const keptNames = new Set(kept.map((c) => c.names[0]))
    for (const name of served.names()) if (!keptNames.has(name)) served.uninstall(name)
    for (const certificate of kept) install(certificate)
  }
  const reloadOne = async (name: string) => {
    const certificate = await store.certs.get(name)
    if (certificate) install(certificate)
    else served.uninstall(name)
  }
  const failed = (err: unknown) => log.error({err}, 'cannot read the stored certificates')
  const off = store.changes.on((change) => {
    if (change.kind === 'certificate') reloadOne(change.name).catch(failed)
    else if (change.kind === 'resync') reloadAll().catch(failed)
  })
  await reloadAll()
  return off
}
