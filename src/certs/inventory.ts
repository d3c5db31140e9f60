/**
 * What `mailbox cert list|show` and `status` say about the certificates a server serves: those
 * kept in `store.certs` (ACME's), and the default pair (the tlsCert file, or the self-signed one
 * generated into the data dir). Read from the certificates themselves (names, issuer, validity,
 * serial, SHA-256 fingerprint), never the keys. node:crypto is loaded when one is read, not at
 * the import: a light command that imports this module does not pay for it.
 */
import {existsSync, readFileSync} from 'node:fs'
import {MailboxError} from '../errors.js'
import type {MailboxStore} from '../store/backend.js'
import {generatedTlsPaths} from '../tls.js'
import type {StoredCertificate} from './types.js'

const DAY_MS = 86_400_000

export interface CertificateInfo {
  /** the name it is kept under; `default` for the default pair */
  name: string
  /** the DNS names it covers (subjectAltName), as the certificate says */
  names: string[]
  subject: string
  issuer: string
  /** ISO 8601 */
  notBefore: string
  notAfter: string
  /** whole days until notAfter (negative: expired) */
  daysLeft: number
  /** acme: kept in the store; files: tlsCert/tlsKey; self-signed: generated into the data dir */
  source: 'acme' | 'files' | 'self-signed'
  /** served to a client without SNI, or naming a host no other certificate covers */
  default: boolean
  /** upper-case hex */
  serial: string
  /** SHA-256 of the DER, colon-separated hex */
  fingerprint: string
  /** the ACME directory that issued it */
  directory?: string
  /** where the default pair's certificate is read from */
  file?: string
  /** when it was put into the store (ISO 8601) */
  updatedAt?: string
}

/** where the default pair comes from: the configured certificate file, else the generated one (if made yet) */
export interface DefaultPair {
  dataDir: string
  tlsCert?: string
}

async function describePem(pem: string | Buffer, now: number): Promise<Omit<CertificateInfo, 'name' | 'source' | 'default'>> {
  const {X509Certificate} = await import('node:crypto')
  const x = new X509Certificate(pem)
  const notAfter = Date.parse(x.validTo)
  const names = (x.subjectAltName ?? '')
    .split(', ')
    .filter((n) => n.startsWith('DNS:'))
    .map((n) => n.slice(4))
  return {
    names,
    subject: x.subject.replace(/\n/g, ', '),
    issuer: x.issuer.replace(/\n/g, ', '),
    notBefore: new Date(Date.parse(x.validFrom)).toISOString(),
    notAfter: new Date(notAfter).toISOString(),
    daysLeft: Math.floor((notAfter - now) / DAY_MS),
    serial: x.serialNumber.toUpperCase(),
    fingerprint: x.fingerprint256,
  }
}

export async function describeStored(c: StoredCertificate, now = Date.now()): Promise<CertificateInfo> {
  return {
    name: c.names[0]!,
    ...(await describePem(c.certPem, now)),
    source: c.source,
    default: false,
    ...(c.directory ? {directory: c.directory} : {}),
    updatedAt: new Date(c.updatedAt).toISOString(),
  }
}

/** the default pair, or undefined when none is configured and none was generated yet */
export async function describeDefault(pair: DefaultPair, now = Date.now()): Promise<CertificateInfo | undefined> {
  const file = pair.tlsCert ?? generatedTlsPaths(pair.dataDir).certFile
  if (!pair.tlsCert && !existsSync(file)) return undefined
  let pem: Buffer
  try {
    pem = readFileSync(file)
  } catch (err) {
    throw new MailboxError('unavailable', `cannot read the certificate ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  return describeDefaultPem(pem, pair, now)
}

/** the default pair a running server holds (read at start or at the last reload) */
export async function describeDefaultPem(pem: string | Buffer, pair: DefaultPair, now = Date.now()): Promise<CertificateInfo> {
  const file = pair.tlsCert ?? generatedTlsPaths(pair.dataDir).certFile
  return {name: 'default', ...(await describePem(pem, now)), source: pair.tlsCert ? 'files' : 'self-signed', default: true, file}
}

/** every certificate: the default pair first, then the stored ones by name */
export async function listCertificates(store: MailboxStore, pair: DefaultPair, now = Date.now()): Promise<CertificateInfo[]> {
  const fallback = await describeDefault(pair, now)
  const stored = await Promise.all((await store.certs.list()).map((c) => describeStored(c, now)))
  return [...(fallback ? [fallback] : []), ...stored]
}

/** one certificate: `default`, the name one is kept under, or a name it covers */
export async function showCertificate(store: MailboxStore, name: string, pair: DefaultPair, now = Date.now()): Promise<CertificateInfo> {
  const wanted = name.toLowerCase().replace(/\.$/, '')
  if (wanted === 'default') {
    const fallback = await describeDefault(pair, now)
    if (fallback) return fallback
  } else {
    const kept = await store.certs.get(wanted)
    if (kept) return describeStored(kept, now)
    const covering = (await store.certs.list()).find((c) => c.names.includes(wanted))
    if (covering) return describeStored(covering, now)
  }
  throw new MailboxError('not-found', `no certificate ${JSON.stringify(name)} (mailbox cert list shows them)`)
}
