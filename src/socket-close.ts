/**
 * Closing a connection within a bound. `end()` alone waits for the peer: a client that never
 * reads the last reply, or never closes its side, or a TLS handshake that never finishes (a TLS
 * socket cannot flush anything before it), would keep the socket, and the connection slot it
 * holds, for ever. So the socket is destroyed `lingerMs` after the close began, whatever the
 * peer does (smtp-server bounds its half-closed sockets the same way).
 */
import type {Socket} from 'node:net'

const lingering = new WeakSet<Socket>()

/** ends `socket` (after `last`, if given) and destroys it `lingerMs` later if it is still open */
export function closeWithin(socket: Socket, lingerMs: number, last?: string): void {
  if (socket.destroyed) return
  if (!socket.writableEnded) {
    if (last === undefined) socket.end()
    else socket.end(last)
  }
  destroyWithin(socket, lingerMs)
}

/** destroys `socket` `lingerMs` from now if it is still open (for a socket something else ends: a pipe) */
export function destroyWithin(socket: Socket, lingerMs: number): void {
  if (socket.destroyed || lingering.has(socket)) return
  lingering.add(socket)
  const timer = setTimeout(() => socket.destroy(), lingerMs)
  timer.unref()
  socket.once('close', () => clearTimeout(timer))
}

/** a connection over a limit: one reply line, then closed within `lingerMs` */
export function refuseConnection(socket: Socket, line: string, lingerMs: number): void {
  socket.on('error', () => {})
  closeWithin(socket, lingerMs, line)
}
