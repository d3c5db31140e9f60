/**
 * How a connection is protected, in the one form every log line uses: `none`, or the TLS
 * version the handshake settled on (`TLSv1.3`).
 */
import {TLSSocket} from 'node:tls'
import type {Socket} from 'node:net'

export function tlsLabel(socket: Socket): string {
  return socket instanceof TLSSocket ? (socket.getProtocol() ?? 'TLS') : 'none'
}
