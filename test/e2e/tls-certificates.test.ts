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
import {openPgStore, type PgStore} from '../../src/store/pg/store.js'
import {makeCertificate, servedSerial, storedOf, upgradedSerial} from '../helpers/certificates.js'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {until} from '../helpers/until.js'

type Listener = 'imaps' | 'smtps' | 'pop3s' | 'https' | 'submission' | 'imap' | 'pop3' | 'managesieve'

describe.skipIf(skipWithoutPostgres)('certificates by SNI on every TLS listener', () => {
  const server = usePostgres()
  let served: Served
  let store: PgStore
  let defaultSerial: string
  let dataDir: string
  const ports = {} as Record<Listener, number>

  beforeAll(async () => {
    for (const name of ['imaps', 'smtps', 'pop3s', 'https', 'submission', 'imap', 'pop3', 'managesieve'] as Listener[]) ports[name] = await freePort()
    const url = await server().createSchema()
    dataDir = tempDataDir()
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
    await store.certs.put(storedOf(mail))
    await store.certs.put(storedOf(wildcard))
    // the changes are read in order: the second served means the first is too
    await until(async () => (await servedSerial(ports.imaps, 'autoconfig.example.net')) === wildcard.serial)
    expect(await serials('mail.example.com')).toEqual(all(mail.serial))
    expect(await serials('mta-sts.example.com')).toEqual(all(mail.serial))
    expect(await serials('autoconfig.example.net')).toEqual(all(wildcard.serial))
    expect(await serials(undefined)).toEqual(all(defaultSerial))
    expect(await serials('unknown.example.org')).toEqual(all(defaultSerial))

    const renewed = await makeCertificate(['mail.example.com', 'mta-sts.example.com'])
    await store.certs.put(storedOf(renewed))
    await until(async () => (await servedSerial(ports.https, 'mail.example.com')) === renewed.serial)
    expect(await serials('mail.example.com')).toEqual(all(renewed.serial))
    expect(served.output()).toContain('"msg":"serving certificate"')

    // status: the default pair and the stored ones, with their expiry and days left
    const status = await runJson<{certificates: {name: string; default: boolean; serial: string; daysLeft: number; source: string}[]}>(['status'], {dataDir})
    expect(status.certificates.map((c) => [c.name, c.default, c.serial, c.source])).toEqual([
      ['default', true, defaultSerial, 'self-signed'],
      ['*.example.net', false, wildcard.serial, 'acme'],
      ['mail.example.com', false, renewed.serial, 'acme'],
    ])
    expect(status.certificates[2]!.daysLeft).toBeGreaterThanOrEqual(88)
    const human = await runCli(['status'], {dataDir})
    expect(human.stdout).toMatch(/^cert: +mail\.example\.com +\d{4}-\d\d-\d\d, (88|89|90) days left \(acme\) mail\.example\.com,mta-sts\.example\.com$/m)
  }, 60_000)
})
