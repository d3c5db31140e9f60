/**
 * The one `TlsCertificates` (./types.ts) of a running server: every TLS listener (SMTP, IMAP,
 * POP3, ManageSieve, HTTPS; implicit TLS and STARTTLS) asks it at each handshake, so a
 * certificate installed here (ACME after an order, or a change another node made to
 * `store.certs`) and a default replaced by a reload serve the next connection without a restart.
 *
 * Choice by SNI: a certificate naming the server name exactly, else one with a wildcard covering
 * it (`*.example.com` covers `mail.example.com`, one label only, as RFC 6125 §6.4.3), else the
 * default pair. A client without SNI gets the default.
 *
 * Node's tls.Server hands a handshake without SNI the server's own context (its SNICallback is
 * asked only when there is a name): such servers are built by `tlsServer` here, which swaps
 * their context when the default changes. Sockets wrapped one at a time (STARTTLS, SMTPS) take
 * `socketOptions()`.
 */
import {createSecureContext, createServer, type SecureContext, type Server, type TlsOptions, type TLSSocketOptions} from 'node:tls'
import {MailboxError} from '../errors.js'
import type {StoredCertificate, TlsCertificates} from './types.js'

type Material = {key: Buffer | string; cert: Buffer | string}

interface Installed {
  /** the name it is kept under (its first) */
  key: string
  names: string[]
  context: SecureContext
}

/** a server name as compared: lower-case, without a trailing dot */
const normalName = (name: string): string => name.toLowerCase().replace(/\.$/, '')

function contextOf(material: Material, what: string): SecureContext {
  try {
    return createSecureContext({key: material.key, cert: material.cert})
  } catch (err) {
    throw new MailboxError('invalid', `cannot use the certificate ${what}: ${(err as Error).message}`)
  }
}

export class ServedCertificates implements TlsCertificates {
  private fallback: SecureContext
  private material: Material
  /** by the name each is kept under */
  private readonly installed = new Map<string, Installed>()
  /** each DNS name (wildcards as `*.parent`) → the certificate that serves it */
  private readonly byName = new Map<string, Installed>()
  private readonly servers = new Set<Server>()

  constructor(defaultMaterial: Material) {
    this.material = defaultMaterial
    this.fallback = contextOf(defaultMaterial, 'configured as default')
    this.sniCallback = this.sniCallback.bind(this)
  }

  contextFor(servername: string | undefined): SecureContext {
    return this.entryFor(servername)?.context ?? this.fallback
  }

  defaultContext(): SecureContext {
    return this.fallback
  }

  sniCallback(servername: string, done: (err: Error | null, context?: SecureContext) => void): void {
    done(null, this.contextFor(servername))
  }

  /** the name a handshake for `servername` is served under, or undefined for the default */
  servedName(servername: string | undefined): string | undefined {
    return this.entryFor(servername)?.key
  }

  install(certificate: Pick<StoredCertificate, 'names' | 'certPem' | 'keyPem'>): void {
    const names = certificate.names.map(normalName)
    if (!names.length) throw new MailboxError('invalid', 'a certificate to serve needs a name')
    const entry: Installed = {key: names[0]!, names, context: contextOf({key: certificate.keyPem, cert: certificate.certPem}, `for ${names[0]}`)}
    this.uninstall(entry.key)
    this.installed.set(entry.key, entry)
    for (const name of names) this.byName.set(name, entry)
  }

  /** stops serving the certificate kept under `name` (removed from the store); its names fall back to others or the default */
  uninstall(name: string): void {
    const old = this.installed.get(normalName(name))
    if (!old) return
    this.installed.delete(old.key)
    for (const n of old.names) if (this.byName.get(n) === old) this.byName.delete(n)
    // a name two certificates shared goes back to the one still installed
    for (const other of this.installed.values()) for (const n of other.names) if (!this.byName.has(n)) this.byName.set(n, other)
  }

  /** the names of the certificates installed, each under the name it is kept under */
  names(): string[] {
    return [...this.installed.keys()].sort()
  }

  setDefault(material: Material): void {
    const context = contextOf(material, 'configured as default')
    this.material = material
    this.fallback = context
    for (const server of this.servers) server.setSecureContext({key: material.key, cert: material.cert})
  }

  /** options for a TLSSocket made around an accepted socket (STARTTLS, SMTPS): the default now, by SNI at the handshake */
  socketOptions(): TLSSocketOptions {
    return {isServer: true, secureContext: this.fallback, SNICallback: this.sniCallback}
  }

  /** a tls.Server (implicit TLS) serving these certificates, kept current until it closes */
  tlsServer(options: Omit<TlsOptions, 'key' | 'cert' | 'SNICallback'>, listener: (socket: import('node:tls').TLSSocket) => void): Server {
    const server = createServer({...options, key: this.material.key, cert: this.material.cert, SNICallback: this.sniCallback}, listener)
    this.servers.add(server)
    server.once('close', () => this.servers.delete(server))
    return server
  }

  private entryFor(servername: string | undefined): Installed | undefined {
    if (!servername) return undefined
    const name = normalName(servername)
    const exact = this.byName.get(name)
    if (exact) return exact
    const dot = name.indexOf('.')
    return dot > 0 ? this.byName.get(`*${name.slice(dot)}`) : undefined
  }
}

