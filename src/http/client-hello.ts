/**
 * The first flight of a TLS client, read before any TLS is spoken (RFC 8446 §4.1.2, RFC 5246
 * §7.4.1.2): the server name (SNI, RFC 6066 §3) and the ALPN list (RFC 7301 §3.1). The HTTPS
 * listener peeks at it to answer ACME's TLS-ALPN-01 (`acme-tls/1`, RFC 8737) with a certificate
 * of its own before a normal handshake begins. The ClientHello may span several records; bytes
 * are only read, never trusted: every length is checked against what is there.
 */

export interface ClientHello {
  /** the host_name of the SNI extension, lower-case; absent when the client sent none */
  servername?: string
  /** the ALPN protocols offered, in the client's order; empty when it offered none */
  alpn: string[]
}

export type ClientHelloRead = {state: 'complete'; hello: ClientHello} | {state: 'incomplete'} | {state: 'invalid'}

const HANDSHAKE = 0x16
const CLIENT_HELLO = 0x01
const EXT_SERVER_NAME = 0x0000
const EXT_ALPN = 0x0010
/** a handshake message larger than this is not a ClientHello we read (the peek is bounded the same) */
export const MAX_CLIENT_HELLO_BYTES = 16 * 1024

/** the handshake bytes of the leading handshake records, or a verdict */
function handshakeBytes(input: Buffer): Buffer | 'incomplete' | 'invalid' {
  const parts: Buffer[] = []
  let have = 0
  let offset = 0
  let need: number | undefined
  while (need === undefined || have < need) {
    if (input.length < offset + 5) return 'incomplete'
    if (input[offset] !== HANDSHAKE || input[offset + 1] !== 0x03) return 'invalid'
    const length = input.readUInt16BE(offset + 3)
    if (length === 0 || length > 16_384 + 2048) return 'invalid'
    if (input.length < offset + 5 + length) {
      // what the record holds so far may already tell that it is no ClientHello
      parts.push(input.subarray(offset + 5))
      const head = Buffer.concat(parts)
      if (head.length >= 1 && head[0] !== CLIENT_HELLO) return 'invalid'
      return 'incomplete'
    }
    parts.push(input.subarray(offset + 5, offset + 5 + length))
    have += length
    offset += 5 + length
    if (need === undefined) {
      const head = Buffer.concat(parts)
      if (head[0] !== CLIENT_HELLO) return 'invalid'
      if (head.length < 4) continue
      need = 4 + head.readUIntBE(1, 3)
      if (need > MAX_CLIENT_HELLO_BYTES) return 'invalid'
    }
  }
  return Buffer.concat(parts).subarray(0, need)
}

/** A cursor that refuses to read past the end (throws, caught as invalid). */
class Reader {
  constructor(
    private readonly buf: Buffer,
    public at = 0,
    private readonly end = buf.length,
  ) {}
  take(n: number): Buffer {
    if (this.at + n > this.end) throw new RangeError('short')
    const out = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return out
  }
  u8(): number {
    return this.take(1)[0]!
  }
  u16(): number {
    return this.take(2).readUInt16BE(0)
  }
  /** a vector with a length prefix of `bytes` bytes, as a reader of its own */
  vector(bytes: 1 | 2): Reader {
    const length = bytes === 1 ? this.u8() : this.u16()
    const start = this.at
    this.take(length)
    return new Reader(this.buf, start, start + length)
  }
  get left(): number {
    return this.end - this.at
  }
}

function parseBody(body: Buffer): ClientHello {
  const r = new Reader(body, 4)
  r.take(2 + 32) // legacy_version, random
  r.vector(1) // legacy_session_id
  r.vector(2) // cipher_suites
  r.vector(1) // legacy_compression_methods
  const hello: ClientHello = {alpn: []}
  if (r.left === 0) return hello // no extensions at all (a very old client)
  const extensions = r.vector(2)
  while (extensions.left > 0) {
    const type = extensions.u16()
    const data = extensions.vector(2)
    if (type === EXT_SERVER_NAME) {
      const list = data.vector(2)
      while (list.left > 0) {
        const nameType = list.u8()
        const name = list.vector(2)
        if (nameType === 0 && hello.servername === undefined) hello.servername = name.take(name.left).toString('latin1').toLowerCase()
      }
    } else if (type === EXT_ALPN) {
      const list = data.vector(2)
      while (list.left > 0) {
        const protocol = list.vector(1)
        hello.alpn.push(protocol.take(protocol.left).toString('latin1'))
      }
    }
  }
  return hello
}

/** What the bytes received so far hold: a whole ClientHello, the start of one, or something else. */
export function readClientHello(input: Buffer): ClientHelloRead {
  const body = handshakeBytes(input)
  if (body === 'incomplete' || body === 'invalid') return {state: body}
  try {
    return {state: 'complete', hello: parseBody(body)}
  } catch {
    return {state: 'invalid'}
  }
}

/** the ClientHello in `input`, or undefined when it is malformed or not all there */
export function parseClientHello(input: Buffer): ClientHello | undefined {
  const read = readClientHello(input)
  return read.state === 'complete' ? read.hello : undefined
}
