/**
 * Shared helpers for the POP3 end-to-end suites: a byte-exact POP3 client over a real socket
 * (plain, STLS, implicit TLS), message injection through the live server's control socket (the
 * path `mailbox send` takes, but with the bytes untouched, bare LFs included), and SMTP delivery.
 */
import {connect as netConnect, type Socket} from 'node:net'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import {expect} from 'vitest'
import {connectControl} from '../../src/control/client.js'
import {RawSmtp} from './smtp-helpers.js'
import {RawSocket} from '../helpers/raw-socket.js'

export class RawPop3 extends RawSocket {
  private constructor(socket: Socket | TLSSocket) {
    super(socket, 'POP3')
  }

  /** `localAddress` (plain connections) picks the client's loopback address (127.0.0.2 …) */
  static async open(port: number, options: {tls?: boolean; greeting?: boolean; localAddress?: string} = {}): Promise<RawPop3> {
    const {localAddress} = options
    const socket: Socket | TLSSocket = options.tls
      ? tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false})
      : netConnect({host: '127.0.0.1', port, localAddress})
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    const client = new RawPop3(socket)
    if (options.greeting !== false) expect(await client.line()).toMatch(/^\+OK .*POP3 server ready$/)
    return client
  }

  /** one response line, CRLF removed (checks it was CRLF) */
  line(timeoutMs = 10_000): Promise<string> {
    return this.until(() => {
      const nl = this.buffer.indexOf('\r\n')
      if (nl === -1) return undefined
      const line = this.buffer.subarray(0, nl).toString('utf8')
      this.buffer = this.buffer.subarray(nl + 2)
      return line
    }, timeoutMs)
  }

  /** the body of a multi-line response exactly as sent (still byte-stuffed), up to and without the terminating ".\r\n" */
  body(timeoutMs = 10_000): Promise<Buffer> {
    return this.until(() => {
      if (this.buffer.subarray(0, 3).equals(Buffer.from('.\r\n'))) {
        this.buffer = this.buffer.subarray(3)
        return Buffer.alloc(0)
      }
      const end = this.buffer.indexOf('\r\n.\r\n')
      if (end === -1) return undefined
      const body = Buffer.from(this.buffer.subarray(0, end + 2))
      this.buffer = this.buffer.subarray(end + 5)
      return body
    }, timeoutMs)
  }

  /** a command and its status line */
  cmd(line: string): Promise<string> {
    this.write(line + '\r\n')
    return this.line()
  }

  /** a command with a multi-line answer: [status line, body] (no body after -ERR) */
  async multi(line: string): Promise<[string, Buffer]> {
    const status = await this.cmd(line)
    return [status, status.startsWith('+OK') ? await this.body() : Buffer.alloc(0)]
  }

  /** multi-line body as text lines */
  async lines(line: string): Promise<string[]> {
    const [status, body] = await this.multi(line)
    expect(status).toMatch(/^\+OK/)
    return body.toString('utf8').split('\r\n').slice(0, -1)
  }

  async stls(): Promise<void> {
    expect(await this.cmd('STLS')).toBe('+OK Begin TLS negotiation')
    await this.upgrade()
  }

  async login(user: string, password: string): Promise<string> {
    expect(await this.cmd(`USER ${user}`)).toMatch(/^\+OK/)
    return this.cmd(`PASS ${password}`)
  }

  async quit(): Promise<string> {
    const r = await this.cmd('QUIT')
    await this.closed
    return r
  }

}

/** Stores a message through the live server (control socket, `mailstore.inject`), bytes as given. */
export async function inject(dataDir: string, to: string, raw: string | Buffer, from = 'sender@example.net'): Promise<void> {
  const client = await connectControl(dataDir)
  if (!client) throw new Error('no live server on ' + dataDir)
  try {
    const reply = await client.call('mailstore.inject', {from, to: [to], raw: Buffer.from(raw).toString('base64')})
    expect(reply.stored).toHaveLength(1)
  } finally {
    client.close()
  }
}

/** Delivers messages over one real SMTP session to the MX port. */
export async function smtpDeliver(port: number, to: string, messages: string[], from = 'sender@example.net'): Promise<void> {
  const smtp = await RawSmtp.open(port)
  await smtp.ehlo()
  for (const message of messages) {
    expect((await smtp.cmd(`MAIL FROM:<${from}>`)).code).toBe(250)
    expect((await smtp.cmd(`RCPT TO:<${to}>`)).code).toBe(250)
    const [, done] = await smtp.data(message)
    expect(done?.code).toBe(250)
  }
  await smtp.quit()
}

/** A message with a recognisable subject and body; `dots` adds lines that start with a dot. */
export function message(subject: string, body = `body of ${subject}\r\n`): string {
  return `From: Sender <sender@example.net>\r\nTo: someone@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '-')}@example.net>\r\n\r\n${body}`
}
