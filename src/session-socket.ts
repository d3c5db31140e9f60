/**
 * What the line-protocol sessions (POP3, ManageSieve) do with their socket the same way: wait
 * for a slow reader before the next command, turn the connection into TLS in place (STLS,
 * STARTTLS), and wait for something with a bound.
 */
import {once} from 'node:events'
import type {Socket} from 'node:net'
import {TLSSocket} from 'node:tls'
import type {SocketCertificates} from './certs/tls-certificates.js'

/** resolves once `socket` has drained what it buffered, or has closed */
export function drained(socket: Socket): Promise<void> {
  if (socket.destroyed) return Promise.resolve()
  const ac = new AbortController()
  return Promise.race([once(socket, 'drain', {signal: ac.signal}), once(socket, 'close', {signal: ac.signal})]).then(
    () => ac.abort(),
    () => {},
  )
}

export interface ServerTlsOptions {
  /** the certificates current at the handshake (../certs/tls-certificates.ts `socketOptions`) */
  tls: SocketCertificates
  /** a handshake that has not finished by then is cut (sooner than an idle session) */
  handshakeTimeoutMs: number
  /** the socket's inactivity timeout once the handshake is done */
  idleTimeoutMs: number
}

/**
 * The server side of STARTTLS on `plain`, after its reply went out in the clear: `plain` stops
 * being read, the TLS socket takes its place (`attach` gets it at once, to listen to it), and the
 * promise resolves with it once the handshake is done, or undefined when the connection closed
 * before.
 */
export function startServerTls(plain: Socket, options: ServerTlsOptions, attach: (secure: TLSSocket) => void): Promise<TLSSocket | undefined> {
  plain.removeAllListeners('data')
  plain.removeAllListeners('timeout')
  plain.setTimeout(0)
  const secure = new TLSSocket(plain, options.tls.socketOptions())
  attach(secure)
  secure.setTimeout(options.handshakeTimeoutMs)
  // the session's own timeout handler spares a socket while one of its commands runs, and the
  // STARTTLS command runs until this handshake is done: a client that read the OK and then said
  // nothing would keep its connection (and its slot) for good, so the handshake's bound is kept here
  const cut = (): void => void secure.destroy()
  secure.once('timeout', cut)
  return new Promise((resolve) => {
    secure.once('secure', () => {
      secure.off('timeout', cut)
      secure.setTimeout(options.idleTimeoutMs)
      resolve(secure)
    })
    secure.once('close', () => resolve(undefined))
  })
}

/** waits for `promise` (its outcome ignored), at most `ms` */
export async function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([promise.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}
