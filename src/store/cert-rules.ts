/**
 * What both backends of `store.certs` refuse alike: a certificate without a name to keep it
 * under, or with a name that is not a lower-case DNS name (a `*.` wildcard first label allowed).
 */
import {MailboxError} from '../errors.js'
import type {StoredCertificate} from '../certs/types.js'

const NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

export function checkStoredCertificate(certificate: StoredCertificate): StoredCertificate {
  if (!certificate.names.length) throw new MailboxError('invalid', 'a certificate to keep needs at least one name')
  for (const name of certificate.names) {
    if (name.length > 253 || !NAME.test(name)) throw new MailboxError('invalid', `not a certificate name: ${JSON.stringify(name)} (lower-case DNS names, A-labels)`)
  }
  return certificate
}
