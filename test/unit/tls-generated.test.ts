/**
 * The self-signed certificate a first start makes (src/tls.ts): ECDSA P-256, for the host name,
 * `localhost` and 127.0.0.1, a key only its owner reads, and the same pair again at the next start.
 */
import {X509Certificate, createPrivateKey} from 'node:crypto'
import {mkdtempSync, rmSync, statSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {generatedTlsPaths, loadTls} from '../../src/tls.js'

const dataDir = mkdtempSync(join(tmpdir(), 'mbx-tls-'))
afterAll(() => rmSync(dataDir, {recursive: true, force: true}))

describe('the generated certificate', () => {
  it('is ECDSA P-256 for the host name, localhost and 127.0.0.1, its key mode 0600, and kept', async () => {
    const first = await loadTls({dataDir, hostname: 'mx.example.test'})
    const cert = new X509Certificate(first.cert)
    expect(cert.publicKey.asymmetricKeyType).toBe('ec')
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(cert.subjectAltName).toBe('DNS:mx.example.test, DNS:localhost, IP Address:127.0.0.1')
    expect(cert.checkPrivateKey(createPrivateKey(first.key))).toBe(true)
    expect(statSync(generatedTlsPaths(dataDir).keyFile).mode & 0o777).toBe(0o600)
    const again = await loadTls({dataDir, hostname: 'mx.example.test'})
    expect(again.cert.equals(first.cert)).toBe(true)
  })
})
