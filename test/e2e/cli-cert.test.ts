/**
 * `mailbox cert list|show [--json]`: the default pair (the data dir's self-signed one, or the
 * configured tlsCert file) and the certificates kept in the store, read from the certificates
 * themselves; a name a certificate covers finds it; an unknown name is one error line, exit 1.
 */
import {X509Certificate} from 'node:crypto'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import type {CertificateInfo} from '../../src/certs/inventory.js'
import {loadTls} from '../../src/tls.js'
import {makeCertificate, storedOf, type TestCertificate} from '../helpers/certificates.js'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {addDomainsAndUsers, withTestStore} from '../helpers/test-store.js'

describe('mailbox cert', () => {
  const dataDir = tempDataDir()
  let mail: TestCertificate
  let defaultSerial: string

  beforeAll(async () => {
    await addDomainsAndUsers(dataDir, ['example.com'], [])
    const tls = await loadTls({dataDir, hostname: 'mx.test'})
    defaultSerial = new X509Certificate(tls.cert).serialNumber.toUpperCase()
    mail = await makeCertificate(['mail.example.com', 'mta-sts.example.com'], 60)
    await withTestStore(dataDir, (store) => store.certs.put(storedOf(mail, {directory: 'https://acme.test/dir'})))
  }, 60_000)

  it('list --json: the default pair first, marked, then the stored ones, with what the certificates say', async () => {
    const list = await runJson<CertificateInfo[]>(['cert', 'list'], {dataDir})
    expect(list).toHaveLength(2)
    expect(list[0]).toMatchObject({name: 'default', default: true, source: 'self-signed', serial: defaultSerial, names: ['mx.test', 'localhost'], file: join(dataDir, 'tls', 'cert.pem')})
    expect(list[0]!.daysLeft).toBeGreaterThan(3000)
    expect(list[1]).toMatchObject({
      name: 'mail.example.com',
      default: false,
      source: 'acme',
      directory: 'https://acme.test/dir',
      names: ['mail.example.com', 'mta-sts.example.com'],
      serial: mail.serial,
      fingerprint: new X509Certificate(mail.certPem).fingerprint256,
      issuer: 'CN=mail.example.com',
    })
    expect(list[1]!.daysLeft).toBeGreaterThanOrEqual(58)
    expect(list[1]!.daysLeft).toBeLessThanOrEqual(60)
    expect(JSON.stringify(list)).not.toContain('PRIVATE KEY')
  })

  it('list: a table with the names, expiry and days left', async () => {
    const r = await runCli(['cert', 'list'], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    const [header, ...rows] = r.stdout.trim().split('\n')
    expect(header).toMatch(/^NAME +NAMES +ISSUER +NOT AFTER +DAYS LEFT +SOURCE$/)
    expect(rows[0]).toMatch(/^default +mx\.test,localhost .* self-signed$/)
    expect(rows[1]).toMatch(/^mail\.example\.com +mail\.example\.com,mta-sts\.example\.com +CN=mail\.example\.com .* (58|59|60) +acme$/)
  })

  it('show: by the name it is kept under, a name it covers, or default; an unknown name is refused', async () => {
    expect(await runJson(['cert', 'show', 'MTA-STS.example.com'], {dataDir})).toMatchObject({name: 'mail.example.com', serial: mail.serial})
    const shown = await runCli(['cert', 'show', 'default'], {dataDir})
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain('name:         default (default)')
    expect(shown.stdout).toContain(`serial:       ${defaultSerial}`)
    expect(shown.stdout).toMatch(/fingerprint: +([0-9A-F]{2}:){31}[0-9A-F]{2} \(SHA-256\)/)
    const refused = await runCli(['cert', 'show', 'nope.example.com'], {dataDir})
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim()).toBe('Error: no certificate "nope.example.com" (mailbox cert list shows them)')
  })

  it('with --config naming tlsCert, the default is that file', async () => {
    const own = await makeCertificate(['files.example.com'])
    const certFile = join(dataDir, 'own-cert.pem')
    writeFileSync(certFile, own.certPem)
    writeFileSync(join(dataDir, 'own-key.pem'), own.keyPem, {mode: 0o600})
    const configFile = join(dataDir, 'config.json')
    writeFileSync(configFile, JSON.stringify({tlsCert: certFile, tlsKey: join(dataDir, 'own-key.pem')}))
    const shown = await runJson<CertificateInfo>(['cert', 'show', 'default', '--config', configFile], {dataDir})
    expect(shown).toMatchObject({source: 'files', file: certFile, serial: own.serial, names: ['files.example.com']})
  })
})
