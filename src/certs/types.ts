/**
 * Contracts for certificates (issue 22): what the store keeps (`store.certs`, both backends), and
 * the one object every TLS listener asks for its certificate at each handshake
 * (TlsCertificates), so that a renewed certificate serves the next connection without a restart.
 */
import type {SecureContext} from 'node:tls'

/** a certificate with its key as kept in the store (owner-only: the LMDB file's mode, PG's grants) */
export interface StoredCertificate {
  /** the DNS names it covers (lower-case A-labels), the first being the one it is kept under */
  names: string[]
  /** PEM: the leaf first, then the chain */
  certPem: string
  /** PEM: PKCS#8 private key */
  keyPem: string
  /** epoch ms, from the leaf */
  notBefore: number
  notAfter: number
  /** the issuer's distinguished name, as `cert show` prints it */
  issuer: string
  /** what obtained it: 'acme' (with the directory URL in `directory`) */
  source: 'acme'
  directory?: string
  /** epoch ms of the put */
  updatedAt: number
}

/** an ACME account at one directory (RFC 8555 §7.3): its key and the URL the CA gave it */
export interface AcmeAccount {
  directory: string
  /** PEM private key */
  keyPem: string
  /** the account URL (`kid`) once registered */
  url?: string
  email?: string
}

export interface CertificateStore {
  /** the certificate kept under `name` (its first name) */
  get(name: string): Promise<StoredCertificate | undefined>
  /** every kept certificate, by name */
  list(): Promise<StoredCertificate[]>
  /** keeps (or replaces) the certificate under its first name, durably, then tells the change feed */
  put(certificate: StoredCertificate): Promise<void>
  /** false when none was kept under `name` */
  remove(name: string): Promise<boolean>
  account(directory: string): Promise<AcmeAccount | undefined>
  putAccount(account: AcmeAccount): Promise<void>
}

/**
 * Every TLS listener's certificates: the default pair (tlsCert/tlsKey, or the self-signed one) and
 * those kept by name (ACME). Listeners pass `sniCallback` (tls.Server's SNICallback, or a
 * TLSSocket's for STARTTLS) and `defaultContext()`, and so serve whatever is current at each
 * handshake.
 */
export interface TlsCertificates {
  /** the context for an SNI name: a certificate covering it exactly (or by a wildcard), else the default */
  contextFor(servername: string | undefined): SecureContext
  defaultContext(): SecureContext
  sniCallback(servername: string, done: (err: Error | null, context?: SecureContext) => void): void
  /** serves `certificate` for its names from the next handshake on (after checking key and chain load) */
  install(certificate: Pick<StoredCertificate, 'names' | 'certPem' | 'keyPem'>): void
  /** replaces the default pair (a SIGHUP with new tlsCert/tlsKey files) */
  setDefault(material: {key: Buffer | string; cert: Buffer | string}): void
}
