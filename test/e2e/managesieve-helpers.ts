/**
 * A byte-exact ManageSieve client (RFC 5804) over a real socket for the end-to-end suite: it
 * reads responses item by item (a line, or a line ending in `{n}` with its literal), up to the
 * OK/NO/BYE that ends each one, and does STARTTLS and AUTHENTICATE PLAIN.
 */
import {connect, type Socket} from 'node:net'
import {expect} from 'vitest'
import {RawSocket} from '../helpers/raw-socket.js'

/** one response: the lines before the status line (a literal joined to the line that announced it), and the status line */
export interface SieveResponse {
  lines: string[]
  /** `OK …`, `NO …` or `BYE …`; a text sent as a literal is decoded into it as a quoted string would read */
  status: string
  /** the status line's text, whether quoted or a literal */
  text: string
}

export const b64 = (s: string): string => Buffer.from(s).toString('base64')
export const plain = (user: string, password: string): string => b64(`\0${user}\0${password}`)

export class RawSieve extends RawSocket {
  /** the capability greeting, when `open` read it */
  greeting?: SieveResponse

  private constructor(socket: Socket) {
    super(socket, 'ManageSieve')
  }

  /** connects; with `greeting` (default) reads the capability greeting and returns it in `greeting` */
  static async open(port: number, options: {greeting?: boolean} = {}): Promise<RawSieve> {
    const socket = connect({host: '127.0.0.1', port})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    const client = new RawSieve(socket)
    if (options.greeting !== false) {
      client.greeting = await client.response()
      expect(client.greeting.status).toMatch(/^OK/)
    }
    return client
  }

  /** a line, with the literal it announces (`{n}` at its end) */
  private item(timeoutMs = 10_000): Promise<{line: string; literal?: string}> {
    return this.until(() => {
      const nl = this.buffer.indexOf('\r\n')
      if (nl === -1) return undefined
      const line = this.buffer.subarray(0, nl).toString('utf8')
      const m = /\{(\d+)\}$/.exec(line)
      if (!m) {
        this.buffer = this.buffer.subarray(nl + 2)
        return {line}
      }
      const size = Number(m[1])
      if (this.buffer.length < nl + 2 + size) return undefined
      const literal = this.buffer.subarray(nl + 2, nl + 2 + size).toString('utf8')
      // what follows a literal is the rest of its line: CRLF for the ones here
      const end = this.buffer.indexOf('\r\n', nl + 2 + size)
      if (end === -1) return undefined
      this.buffer = this.buffer.subarray(end + 2)
      return {line: line.slice(0, m.index), literal}
    }, timeoutMs)
  }

  async response(timeoutMs?: number): Promise<SieveResponse> {
    const lines: string[] = []
    for (;;) {
      const {line, literal} = await this.item(timeoutMs)
      if (/^(OK|NO|BYE)\b/.test(line)) {
        const quoted = /"((?:[^"\\]|\\.)*)"$/.exec(line)
        const text = literal ?? (quoted ? quoted[1]!.replace(/\\(.)/g, '$1') : '')
        return {lines, status: literal === undefined ? line : `${line}"${literal}"`, text}
      }
      lines.push(literal === undefined ? line : `${line}${literal}`)
    }
  }

  /** AUTHENTICATE's challenge: PLAIN's is empty, `""` alone on its line */
  async expectChallenge(): Promise<void> {
    expect((await this.item()).line).toBe('""')
  }

  async cmd(line: string | Buffer): Promise<SieveResponse> {
    this.write(typeof line === 'string' ? `${line}\r\n` : line)
    return this.response()
  }

  /** STARTTLS; returns the capabilities sent after the handshake */
  async startTls(): Promise<SieveResponse> {
    expect((await this.cmd('STARTTLS')).status).toMatch(/^OK/)
    await this.upgrade()
    return this.response()
  }

  /** AUTHENTICATE "PLAIN" with an initial response (a literal) */
  login(user: string, password: string): Promise<SieveResponse> {
    const response = plain(user, password)
    return this.cmd(`AUTHENTICATE "PLAIN" {${response.length}+}\r\n${response}`)
  }

  /** PUTSCRIPT with the script as a literal */
  put(name: string, script: string | Buffer): Promise<SieveResponse> {
    const bytes = Buffer.from(script)
    return this.cmd(Buffer.concat([Buffer.from(`PUTSCRIPT "${name}" {${bytes.length}+}\r\n`), bytes, Buffer.from('\r\n')]))
  }

  async logout(): Promise<void> {
    expect((await this.cmd('LOGOUT')).status).toMatch(/^OK/)
    await this.closed
  }
}

/** capability name → value (`""` for none), from capability lines */
export function capabilitiesOf(r: SieveResponse): Map<string, string> {
  return new Map(
    r.lines.map((line) => {
      const m = /^"([^"]+)"(?: "(.*)")?$/.exec(line)
      if (!m) throw new Error(`not a capability line: ${line}`)
      return [m[1]!, m[2] ?? '']
    }),
  )
}
