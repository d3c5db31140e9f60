/**
 * The ClientHello peek of the HTTPS listener (src/http/client-hello.ts), on real first flights:
 * captured from node's tls.connect and from `openssl s_client` (SNI and ALPN as they sent them),
 * then cut short and damaged: a truncated or malformed one is undefined, never a throw.
 */
import {spawn} from 'node:child_process'
import {createServer, type Socket} from 'node:net'
import {connect as tlsConnect} from 'node:tls'
import {describe, expect, it} from 'vitest'
import {parseClientHello, readClientHello} from '../../src/http/client-hello.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'

const hasOpenssl = onPath('openssl')

/** the first bytes a client sends to a server that never answers, once `enough` says they are all there */
async function capture(connect: (port: number) => () => void): Promise<Buffer> {
  let got: (b: Buffer) => void
  const bytes = new Promise<Buffer>((resolve) => (got = resolve))
  const server = createServer((socket: Socket) => {
    let seen = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk])
      if (readClientHello(seen).state !== 'incomplete') {
        got(seen)
        socket.destroy()
      }
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const stop = connect((server.address() as {port: number}).port)
  try {
    return await bytes
  } finally {
    stop()
    await new Promise((resolve) => server.close(resolve))
  }
}

const fromNode = (options: {servername?: string; ALPNProtocols?: string[]}) =>
  capture((port) => {
    const socket = tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false, ...options})
    socket.on('error', () => {})
    return () => socket.destroy()
  })

const fromOpenssl = (args: string[]) =>
  capture((port) => {
    const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], {stdio: ['pipe', 'ignore', 'ignore']})
    return () => child.kill()
  })

describe('ClientHello', () => {
  it('from node tls.connect: the server name and the ALPN list as offered', async () => {
    const hello = await fromNode({servername: 'Mail.Example.com', ALPNProtocols: ['h2', 'http/1.1']})
    expect(parseClientHello(hello)).toEqual({servername: 'mail.example.com', alpn: ['h2', 'http/1.1']})
    expect(parseClientHello(await fromNode({ALPNProtocols: ['acme-tls/1']}))).toEqual({alpn: ['acme-tls/1']})
  })

  it.skipIf(missingOutsideCi(hasOpenssl))('from openssl s_client: with SNI and acme-tls/1, and with -noservername', async () => {
    requireInCi(hasOpenssl, 'openssl')
    expect(parseClientHello(await fromOpenssl(['-servername', 'mta-sts.example.com', '-alpn', 'acme-tls/1']))).toEqual({servername: 'mta-sts.example.com', alpn: ['acme-tls/1']})
    expect(parseClientHello(await fromOpenssl(['-noservername']))).toEqual({alpn: []})
  })

  it('split into records of a few bytes each, it still reads; every shorter prefix is incomplete and undefined', async () => {
    const hello = await fromNode({servername: 'autoconfig.example.com', ALPNProtocols: ['http/1.1']})
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3))
    const records = []
    for (let at = 0; at < body.length; at += 7) {
      const part = body.subarray(at, at + 7)
      const header = Buffer.from([0x16, 0x03, 0x01, 0, 0])
      header.writeUInt16BE(part.length, 3)
      records.push(header, part)
    }
    const split = Buffer.concat(records)
    expect(parseClientHello(split)).toEqual({servername: 'autoconfig.example.com', alpn: ['http/1.1']})
    for (let n = 0; n < hello.length; n += 13) {
      expect(readClientHello(hello.subarray(0, n)).state).toBe('incomplete')
      expect(parseClientHello(hello.subarray(0, n))).toBeUndefined()
    }
  })

  it('not TLS, not a ClientHello, or with lengths that lie: invalid, undefined', async () => {
    const hello = await fromNode({servername: 'mail.example.com'})
    expect(readClientHello(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).state).toBe('invalid')
    // a handshake record of another message type (ServerHello)
    const serverHello = Buffer.from(hello)
    serverHello[5] = 0x02
    expect(readClientHello(serverHello).state).toBe('invalid')
    // an extensions length past the end of the message
    const lying = Buffer.from(hello)
    const sessionIdAt = 5 + 4 + 2 + 32
    const suitesAt = sessionIdAt + 1 + lying[sessionIdAt]!
    const compressionAt = suitesAt + 2 + lying.readUInt16BE(suitesAt)
    const extensionsAt = compressionAt + 1 + lying[compressionAt]!
    lying.writeUInt16BE(0xffff, extensionsAt)
    expect(parseClientHello(lying)).toBeUndefined()
    // a declared message size beyond the bound
    const huge = Buffer.from(hello)
    huge.writeUIntBE(1 << 20, 6, 3)
    expect(readClientHello(huge).state).toBe('invalid')
    // random bytes after a TLS-looking header
    for (let i = 0; i < 200; i++) {
      const noise = Buffer.concat([Buffer.from([0x16, 0x03, 0x01, 0x00, 0x40, 0x01]), Buffer.from(Array.from({length: 64}, () => Math.floor(Math.random() * 256)))])
      expect(() => parseClientHello(noise)).not.toThrow()
    }
  })
})
