/**
 * A deliberately rude client for the connection-slot tests: it speaks just enough SMTP, IMAP or
 * POP3 to get somewhere (a STARTTLS, a literal, IDLE, DATA) and then breaks off there — a FIN, a
 * destroy, a TCP reset, a half-close, or silence until the server gives up — or fails a TLS
 * handshake on purpose (garbage, half a ClientHello, a rejected certificate, an old protocol).
 * Every wait is bounded; nothing here throws on a server that hangs up early.
 */
import {connect as netConnect, createServer, type Socket} from 'node:net'
import {connect as tlsConnect, type ConnectionOptions, type TLSSocket} from 'node:tls'

export type BreakOff = 'end' | 'destroy' | 'reset' | 'half-close' | 'wait'

export class Wire {
  /** the TCP socket, whatever runs on top of it */
  readonly raw: Socket
  /** the socket the protocol runs on now (the TLS one after an upgrade) */
  socket: Socket | TLSSocket
  private text = ''
  private wake?: () => void
  closed = false
  readonly gone: Promise<void>

  private constructor(raw: Socket) {
    this.raw = raw
    this.socket = raw
    raw.on('error', () => {})
    this.gone = new Promise((resolve) => raw.once('close', () => resolve()))
    void this.gone.then(() => {
      this.closed = true
      this.wake?.()
    })
    this.listen(raw)
  }

  /**
   * connects from `localAddress` (any 127.0.0.0/8 address); TLS from the first byte when `tls`
   * is given. `stubborn`: the client never closes its side by itself, even after the server did.
   */
  static async open(port: number, localAddress = '127.0.0.1', tls?: ConnectionOptions, stubborn = false): Promise<Wire | undefined> {
    const raw = netConnect({host: '127.0.0.1', port, localAddress, allowHalfOpen: stubborn})
    const wire = new Wire(raw)
    const connected = await new Promise<boolean>((resolve) => {
      raw.once('connect', () => resolve(true))
      raw.once('error', () => resolve(false))
    })
    if (!connected) return undefined
    if (tls) await wire.startTls(tls)
    return wire
  }

  private listen(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1')
      if (this.text.length > 1 << 20) this.text = this.text.slice(-65536)
      this.wake?.()
    })
  }

  /** waits until what the server sent (since the last `until`) matches; false on close or timeout */
  async until(pattern: RegExp, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const m = pattern.exec(this.text)
      if (m) {
        this.text = this.text.slice(m.index + m[0].length)
        return true
      }
      if (this.closed || Date.now() >= deadline) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()))
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.wake = undefined
    }
  }

  send(data: string | Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(data)
  }

  /** a client-side TLS handshake on the current connection; false when it failed (as it may be meant to) */
  async startTls(options: ConnectionOptions = {}): Promise<boolean> {
    const secure = tlsConnect({socket: this.raw, rejectUnauthorized: false, servername: 'localhost', ...options})
    secure.on('error', () => {})
    this.socket = secure
    this.listen(secure)
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secureConnect', () => resolve(true))
      secure.once('error', () => resolve(false))
      secure.once('close', () => resolve(false))
    })
    return ok
  }

  /** ends the connection the given way, and waits (bounded) until the TCP socket is closed */
  async breakOff(how: BreakOff, waitMs = 15_000): Promise<void> {
    if (!this.closed) {
      if (how === 'end') this.socket.end()
      else if (how === 'destroy') this.socket.destroy()
      else if (how === 'reset') this.raw.resetAndDestroy()
      else if (how === 'half-close') this.raw.end()
      // 'wait': say nothing more; the server's timeouts must end it
    }
    let timer: NodeJS.Timeout | undefined
    await Promise.race([this.gone, new Promise((resolve) => (timer = setTimeout(resolve, waitMs)))])
    clearTimeout(timer)
    this.raw.destroy()
  }
}

/** The first flight of a real TLS client (its ClientHello), to send halves of. */
export async function captureClientHello(): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const server = createServer((s) => {
      s.once('data', (d: Buffer) => {
        resolve(d)
        s.destroy()
        server.close()
      })
    })
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const c = tlsConnect({port: (server.address() as {port: number}).port, host: '127.0.0.1', rejectUnauthorized: false})
      c.on('error', () => {})
    })
  })
}
