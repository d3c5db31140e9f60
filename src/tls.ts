/**
 * TLS material for every listener: the files named by `tlsCert`/`tlsKey`, or a self-signed
 * certificate generated into `<dataDir>/tls/` on first start (key mode 0600) and reused after.
 * The generated certificate names the configured hostname, `localhost` and 127.0.0.1, so a
 * loopback client that pins or trusts it can also verify it. A reload (SIGHUP) reads them again.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {createSecureContext} from 'node:tls'
import {MailboxError} from './errors.js'

export interface TlsMaterial {
  key: Buffer
  cert: Buffer
  /** where they came from, for the startup log */
  source: string
}

/** where a self-signed pair is generated when no TLS files are configured */
export function generatedTlsPaths(dataDir: string): {dir: string; certFile: string; keyFile: string} {
  const dir = join(dataDir, 'tls')
  return {dir, certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem')}
}

export async function loadTls(options: {dataDir: string; hostname: string; certFile?: string; keyFile?: string}): Promise<TlsMaterial> {
  if (options.certFile || options.keyFile) {
    if (!options.certFile || !options.keyFile) throw new MailboxError('invalid', 'give both --tls-cert and --tls-key')
    let material: TlsMaterial
    try {
      material = {cert: readFileSync(options.certFile), key: readFileSync(options.keyFile), source: options.certFile}
    } catch (err) {
      throw new MailboxError('invalid', `cannot read TLS files: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
    }
    // checked here, where it can still be refused: at start before anything listens, on a reload
    // (a certificate renewed while its key is not yet replaced) before any listener takes it
    try {
      createSecureContext({key: material.key, cert: material.cert})
    } catch (err) {
      throw new MailboxError('invalid', `cannot use TLS files ${options.certFile} and ${options.keyFile}: ${(err as Error).message}`)
    }
    return material
  }
  const {dir, certFile, keyFile} = generatedTlsPaths(options.dataDir)
  if (existsSync(certFile) && existsSync(keyFile)) {
    return {cert: readFileSync(certFile), key: readFileSync(keyFile), source: certFile}
  }
  mkdirSync(dir, {recursive: true, mode: 0o700})
  // loaded only here, on a first start: selfsigned brings an X.509 stack (~300 CommonJS files)
  // that a start with its certificate already in place, or with TLS files, never uses
  const {default: selfsigned} = await import('selfsigned')
  const pems = await selfsigned.generate([{name: 'commonName', value: options.hostname}], {
    // ECDSA P-256, as Caddy and Let's Encrypt's default issuance: every TLS client of this age
    // takes it, and it is made in about a millisecond where an RSA-2048 key takes ~200 ms
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 3650 * 86_400_000),
    algorithm: 'sha256',
    extensions: [
      {name: 'basicConstraints', cA: false},
      {name: 'keyUsage', digitalSignature: true}, // an ECDSA key signs; it never enciphers a key
      {name: 'extKeyUsage', serverAuth: true},
      {
        name: 'subjectAltName',
        altNames: [
          {type: 2, value: options.hostname},
          {type: 2, value: 'localhost'},
          {type: 7, ip: '127.0.0.1'},
        ],
      },
    ],
  })
  writeFileSync(keyFile, pems.private, {mode: 0o600})
  writeFileSync(certFile, pems.cert, {mode: 0o644})
  return {cert: Buffer.from(pems.cert), key: Buffer.from(pems.private), source: `${certFile} (generated, self-signed)`}
}
