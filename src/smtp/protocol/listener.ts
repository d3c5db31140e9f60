/**
 * An SMTP listener (smtp-server's SMTPServer in shape): the TCP server, the served certificates
 * that STARTTLS and implicit TLS ask at each handshake (../../certs/tls-certificates.ts), the set of live
 * connections, and a graceful stop that waits `closeTimeoutMs` for sessions to end and then sends
 * `421` to each one still open.
 *
 * SMTPS accepts plain TCP and wraps each socket in TLS itself (as smtp-server does), so the
 * connection's idle timeout and the connection limit cover the handshake too.
 */
import {createServer, type Server, type Socket} from 'node:net'
import type {TLSSocketOptions} from 'node:tls'
import {SmtpConnection, type ConnectionHost} from './connection.js'
import type {ListenerOptions, SmtpHooks} from './types.js'

export class SmtpListener implements ConnectionHost {
  readonly server: Server
  private readonly connections = new Set<SmtpConnection>()
  private stopTimer: NodeJS.Timeout | undefined
  stopping = false

  constructor(
    readonly options: ListenerOptions,
    readonly hooks: SmtpHooks,
    /** every handshake's certificate (by SNI); undefined: no TLS */
    readonly tls: {socketOptions(): TLSSocketOptions} | undefined,
  ) {
    if (options.implicitTls && !tls) throw new Error('an implicit TLS listener needs a key and certificate')
    // replies are small and often several back to back: Nagle must not hold them (set once, at accept)
    this.server = createServer({noDelay: true}, (socket) => this.accept(socket))
  }

  get connectionCount(): number {
    return this.connections.size
  }

  /**
   * Stops accepting, lets open sessions finish for `closeTimeoutMs` (each new command gets 421),
   * then sends 421 to those still open. Resolves once every socket is closed.
   */
  close(): Promise<void> {
    this.stopping = true
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.stopTimer = setTimeout(() => {
      for (const connection of this.connections) connection.shutdown()
    }, this.options.limits().closeTimeoutMs).unref()
    return closed.finally(() => clearTimeout(this.stopTimer))
  }

  /** @internal from a connection whose socket closed */
  released(connection: SmtpConnection): void {
    this.connections.delete(connection)
  }

  private accept(socket: Socket): void {
    socket.on('error', () => {}) // reported by the connection once it listens; never an unhandled 'error'
    const connection = new SmtpConnection(this, socket)
    this.connections.add(connection)
    connection.start()
  }
}
