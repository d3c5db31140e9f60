/**
 * A certificate authority of a test's own, made with openssl (ECDSA P-256, valid two days): its
 * PEM goes where the code under test takes extra trust (`mtaSts.caFile`), and `issue` signs
 * server certificates for the names given, as a public CA would. `close` removes its files.
 */
import {execFileSync} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

export interface IssuedCertificate {
  cert: Buffer
  key: Buffer
  certFile: string
  keyFile: string
}

export interface TestCa {
  /** the CA's certificate, PEM */
  caFile: string
  caPem: string
  issue(names: string[]): IssuedCertificate
  close(): void
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes']

export function makeTestCa(commonName = 'mailbox test CA'): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-ca-'))
  const caFile = join(dir, 'ca.pem')
  const caKey = join(dir, 'ca.key')
  const openssl = (args: string[]) => execFileSync('openssl', args, {stdio: ['ignore', 'ignore', 'pipe']})
  openssl(['req', '-x509', ...EC, '-keyout', caKey, '-out', caFile, '-days', '2', '-subj', `/CN=${commonName}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
  let serial = 0
  return {
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    issue(names) {
      const base = join(dir, `leaf${++serial}`)
      const ext = `${base}.ext`
      writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${names.map((n) => `DNS:${n}`).join(',')}\n`)
      openssl(['req', ...EC, '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', `/CN=${names[0]}`])
      openssl(['x509', '-req', '-in', `${base}.csr`, '-CA', caFile, '-CAkey', caKey, '-set_serial', String(1000 + serial), '-out', `${base}.pem`, '-days', '2', '-extfile', ext])
      return {cert: readFileSync(`${base}.pem`), key: readFileSync(`${base}.key`), certFile: `${base}.pem`, keyFile: `${base}.key`}
    },
    close: () => rmSync(dir, {recursive: true, force: true}),
  }
}
