/**
 * The socket side of the byte-exact protocol clients of the e2e suites (POP3, ManageSieve): what
 * the server sent is kept in `buffer` until a reader takes it (`until`), the close is noticed,
 * and STARTTLS swaps in a TLS socket over the same connection (the test server's certificate is
 * self-signed).
 */
import type {Socket} from 'node:net'
import type {TLSSocket} from 'node:tls'
import {upgradeToTls} from './tls.js'

export class RawSocket {
  /** received and not read yet */
  protected buffer = Buffer.alloc(0)
  private waiter?: () => void
  protected socket: Socket | TLSSocket
  /** resolves when the server closes the connection */
  readonly closed: Promise<void>
  private markClosed!: () => void
  private isClosed = false

  /** `protocol` names the server in timeout messages */
  protected constructor(
    socket: Socket | TLSSocket,
    private readonly protocol: string,
  ) {
    this.socket = socket
    this.closed = new Promise((resolve) => (this.markClosed = resolve))
    this.attach(socket)
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData)
    socket.on('error', () => {})
    socket.on('close', this.onClose)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer = Buffer.concat([this.buffer, chunk])
    this.waiter?.()
  }

  private readonly onClose = (): void => {
    this.isClosed = true
    this.markClosed()
    this.waiter?.()
  }

  /** `take` again after each arrival until it returns something; throws at a close or after `timeoutMs` */
  protected async until<T>(take: () => T | undefined, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const got = take()
      if (got !== undefined) return got
      if (this.isClosed) throw new Error(`connection closed; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${this.protocol} response within ${timeoutMs} ms; unread: ${JSON.stringify(this.buffer.toString('latin1'))}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiter = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.waiter = undefined
    }
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  /** after the server's go-ahead for STARTTLS/STLS: TLS on the same connection */
  protected async upgrade(): Promise<void> {
    const plain = this.socket
    plain.off('data', this.onData)
    plain.off('close', this.onClose)
    this.socket = await upgradeToTls(plain)
    this.attach(this.socket)
  }

  /** drops the connection without a goodbye */
  async drop(): Promise<void> {
    this.socket.destroy()
    await this.closed
  }
}
