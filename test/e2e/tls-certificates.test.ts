/**
 * Every TLS listener of a running `mailbox serve` serves a certificate put into `store.certs`
 * while it runs, chosen by SNI, from the next connection on: IMAPS, SMTPS, POP3S and HTTPS
 * (implicit TLS), and STARTTLS on submission, IMAP, POP3 and ManageSieve. A client without SNI,
 * or naming a host no certificate covers, gets the default (the self-signed pair of the data
 * dir). The certificate is put by another process on the same PostgreSQL store (as a second
 * node or `mailbox cert renew` would): `serve` hears it on the change feed.
 */
import {X509Certificate} from 'node:crypto'
import {readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {StoredCertificate} from '../../src/certs/types.js'
import {openPgStore, type PgStore} from '../../src/store/pg/store.js'
import {makeCertificate, servedSerial, upgradedSerial, type TestCertificate} from '../helpers/certificates.js'
import {freePort, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

const stored = (c: TestCertificate): StoredCertificate => {
  const x = new X509Certificate(c.certPem)
  return {names: c.names, certPem: c.certPem, keyPem: c.keyPem, notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), issuer: x.issuer, source: 'acme', updatedAt: Date.now()}
}

type Listener = 'imaps' | 'smtps' | 'pop3s' | 'https' | 'submission' | 'imap' | 'pop3' | 'managesieve'

describe.skipIf(skipWithoutPostgres)('certificates by SNI on every TLS listener', () => {
  const server = usePostgres()
  let served: Served
  let store: PgStore
  let defaultSerial: string
  const ports = {} as Record<Listener, number>

  beforeAll(async () => {
    for (const name of ['imaps', 'smtps', 'pop3s', 'https', 'submission', 'imap', 'pop3', 'managesieve'] as Listener[]) ports[name] = await freePort()
    const url = await server().createSchema()
    const dataDir = tempDataDir()
    served = await startServe(
      dataDir,
      ['--store', url, '--hostname', 'mx.test', ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)])],
      30_000,
      {MAILBOX_STORE: url},
    )
    defaultSerial = new X509Certificate(readFileSync(join(dataDir, 'tls', 'cert.pem'))).serialNumber.toUpperCase()
    store = await openPgStore(url, {pool: {poolSize: 2}})
  }, 60_000)

  afterAll(async () => {
    await store?.close()
    if (served) expect(await served.stop()).toBe(0)
  })

  /** the serial each listener serves for `servername` */
  async function serials(servername: string | undefined): Promise<Record<Listener, string>> {
    const ehlo = async (send: (l: string) => void, read: (r: RegExp) => Promise<string>) => {
      await read(/^220 .*\r\n/m)
      send('EHLO client.test')
      await read(/^250 .*\r\n/m)
      send('STARTTLS')
      await read(/^220 .*\r\n/m)
    }
    return {
      imaps: await servedSerial(ports.imaps, servername),
      smtps: await servedSerial(ports.smtps, servername),
      pop3s: await servedSerial(ports.pop3s, servername),
      https: await servedSerial(ports.https, servername),
      submission: await upgradedSerial(ports.submission, servername, ehlo),
      imap: await upgradedSerial(ports.imap, servername, async (send, read) => {
        await read(/^\* OK .*\r\n/m)
        send('a STARTTLS')
        await read(/^a OK .*\r\n/m)
      }),
      pop3: await upgradedSerial(ports.pop3, servername, async (send, read) => {
        await read(/^\+OK.*\r\n/m)
        send('STLS')
        await read(/^\+OK.*\r\n/m)
      }),
      managesieve: await upgradedSerial(ports.managesieve, servername, async (send, read) => {
        await read(/^OK.*\r\n/m)
        send('STARTTLS')
        await read(/^OK.*\r\n/m)
      }),
    }
  }

  const all = (serial: string) => Object.fromEntries(Object.keys(ports).map((name) => [name, serial]))

  it('a certificate put while serve runs is served by SNI on all eight; no SNI or an unknown name gets the default; a renewal replaces it', async () => {
    expect(await serials('mail.example.com')).toEqual(all(defaultSerial))
    const mail = await makeCertificate(['mail.example.com', 'mta-sts.example.com'])
    const wildcard = await makeCertificate(['*.example.net'])
    await store.certs.put(stored(mail))
    await store.certs.put(stored(wildcard))
    await until(async () => (await servedSerial(ports.imaps, 'autoconfig.example.net')) === wildcard.serial)
    expect(await serials('mail.example.com')).toEqual(all(mail.serial))
    expect(await serials('mta-sts.example.com')).toEqual(all(mail.serial))
    expect(await serials('autoconfig.example.net')).toEqual(all(wildcard.serial))
    expect(await serials(undefined)).toEqual(all(defaultSerial))
    expect(await serials('unknown.example.org')).toEqual(all(defaultSerial))

    const renewed = await makeCertificate(['mail.example.com', 'mta-sts.example.com'])
    await store.certs.put(stored(renewed))
    await until(async () => (await servedSerial(ports.https, 'mail.example.com')) === renewed.serial)
    expect(await serials('mail.example.com')).toEqual(all(renewed.serial))
    expect(served.output()).toContain('"msg":"serving certificate"')
  }, 60_000)
})
