/**
 * Binding one listener of `serve`. Every listener (smtp, submission, smtps, imap, imaps, pop3,
 * pop3s, matcher, the control socket) binds through `listenOn`, so a port that is taken, a
 * privileged port without the right, or an address this host does not have ends start-up with
 * one line that names the listener, the address and the reason —
 * `cannot listen for smtp on 0.0.0.0:25: address already in use` — and App.start undoes
 * whatever was started before it.
 *
 * It also keeps each bound listener by name, so `/healthz` (src/metrics/) can tell whether every
 * listener `serve` reported is still listening without each front-end exposing its sockets. One
 * `serve` runs per process: a name bound again replaces the earlier server.
 */
import type {Server} from 'node:net'
import {MailboxError} from './errors.js'

const bound = new Map<string, Server>()

/** of `names`, those whose server is not (or no longer) listening */
export function listenersDown(names: readonly string[]): string[] {
  return names.filter((name) => !bound.get(name)?.listening)
}

export type ListenAddress = {host: string; port: number} | {path: string}

/** the operator's words for the errno codes a bind fails with */
export function bindFailureReason(err: NodeJS.ErrnoException, address: ListenAddress): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use'
    case 'EACCES':
      return 'port' in address && address.port < 1024 ? 'permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : 'permission denied'
    case 'EADDRNOTAVAIL':
      return 'address not available on this host'
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return 'no such host'
    default:
      return err.code ?? err.message
  }
}

export function formatListenAddress(address: ListenAddress): string {
  if ('path' in address) return address.path
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}

/** Listens, or rejects with a MailboxError naming `name`, the address and why. */
export function listenOn(server: Server, name: string, address: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) =>
      reject(new MailboxError('unavailable', `cannot listen for ${name} on ${formatListenAddress(address)}: ${bindFailureReason(err, address)}`))
    server.once('error', onError)
    const listening = () => {
      server.off('error', onError)
      bound.set(name, server)
      resolve()
    }
    if ('path' in address) server.listen(address.path, listening)
    else server.listen(address.port, address.host, listening)
  })
}
