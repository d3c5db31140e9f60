/**
 * ServedCertificates (src/certs/tls-certificates.ts): the certificate a handshake gets, by SNI —
 * exact name, then a one-label wildcard, then the default — through a real tls.Server it made
 * (implicit TLS) and a TLSSocket made from `socketOptions()` around an accepted socket
 * (STARTTLS, SMTPS); a replaced default and an installed certificate serve the next handshake.
 */
import {createServer, type Server} from 'node:net'
import {TLSSocket} from 'node:tls'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ServedCertificates} from '../../src/certs/tls-certificates.js'
import {makeCertificate, servedSerial, type TestCertificate} from '../helpers/certificates.js'

let fallback: TestCertificate
let mail: TestCertificate
let wildcard: TestCertificate
let other: TestCertificate

beforeAll(async () => {
  ;[fallback, mail, wildcard, other] = await Promise.all([
    makeCertificate(['localhost']),
    makeCertificate(['mail.example.com', 'mta-sts.example.com']),
    makeCertificate(['*.example.com']),
    makeCertificate(['localhost']),
  ])
})

const material = (c: TestCertificate) => ({key: c.keyPem, cert: c.certPem})

async function listening(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as {port: number}).port
}

describe('ServedCertificates', () => {
  const servers: Server[] = []
  afterAll(async () => {
    for (const s of servers) await new Promise((resolve) => s.close(resolve))
  })

  it('chooses by exact name, then a wildcard of one label, then the default; installs and a new default serve the next handshake', async () => {
    const certs = new ServedCertificates(material(fallback))
    const server = certs.tlsServer({}, (socket) => socket.end())
    servers.push(server)
    const port = await listening(server)
    expect(await servedSerial(port)).toBe(fallback.serial)
    expect(await servedSerial(port, 'mail.example.com')).toBe(fallback.serial)

    certs.install(mail)
    certs.install({...wildcard, names: ['*.example.com']})
    expect(await servedSerial(port, 'mail.example.com')).toBe(mail.serial)
    expect(await servedSerial(port, 'MTA-STS.Example.COM')).toBe(mail.serial)
    expect(await servedSerial(port, 'autoconfig.example.com')).toBe(wildcard.serial)
    // a wildcard covers one label only, and not the parent
    expect(await servedSerial(port, 'a.b.example.com')).toBe(fallback.serial)
    expect(await servedSerial(port, 'example.com')).toBe(fallback.serial)
    expect(await servedSerial(port, 'unknown.test')).toBe(fallback.serial)
    expect(await servedSerial(port)).toBe(fallback.serial)

    certs.setDefault(material(other))
    expect(await servedSerial(port)).toBe(other.serial)
    expect(await servedSerial(port, 'unknown.test')).toBe(other.serial)
    expect(await servedSerial(port, 'mail.example.com')).toBe(mail.serial)

    certs.uninstall('mail.example.com')
    expect(await servedSerial(port, 'mail.example.com')).toBe(wildcard.serial)
    expect(certs.names()).toEqual(['*.example.com'])
  })

  it('a TLSSocket made from socketOptions() around an accepted socket (STARTTLS, SMTPS) chooses the same way', async () => {
    const certs = new ServedCertificates(material(fallback))
    certs.install(mail)
    const server = createServer((socket) => {
      const secure = new TLSSocket(socket, certs.socketOptions())
      secure.on('error', () => secure.destroy())
      secure.once('secure', () => secure.end())
    })
    servers.push(server)
    const port = await listening(server)
    expect(await servedSerial(port, 'mail.example.com')).toBe(mail.serial)
    expect(await servedSerial(port)).toBe(fallback.serial)
    certs.setDefault(material(other))
    expect(await servedSerial(port, 'nope.example.net')).toBe(other.serial)
  })

  it('refuses a pair that does not load (a key of another certificate, garbage) with a MailboxError, serving what it served', async () => {
    const certs = new ServedCertificates(material(fallback))
    expect(() => certs.install({names: ['mail.example.com'], certPem: mail.certPem, keyPem: other.keyPem})).toThrow(expect.objectContaining({code: 'invalid'}))
    expect(() => certs.install({names: ['mail.example.com'], certPem: 'garbage', keyPem: 'garbage'})).toThrow(/cannot use the certificate for mail\.example\.com/)
    expect(() => certs.setDefault({key: other.keyPem, cert: mail.certPem})).toThrow(expect.objectContaining({code: 'invalid'}))
    expect(certs.names()).toEqual([])
    expect(certs.contextFor('mail.example.com')).toBe(certs.defaultContext())
  })
})
