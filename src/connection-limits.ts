/**
 * Connection accounting for the protocol listeners (SMTP, IMAP, POP3, matcher): connections open in all,
 * per listener and per remote address, against `maxConnections` and `maxConnectionsPerIp`.
 *
 * Every connection takes a slot when it is accepted (the refused ones too, until their socket is
 * gone) and gives it back through `release()`, which is idempotent: a front-end calls it from
 * every way a connection can end (the TCP socket's `close`, the TLS socket's `close`, the
 * session's end) and only the first call counts. These are also the counters `mailbox status`
 * reports, so what status shows is what the limiter sees.
 */
import type {Socket} from 'node:net'
import type {Server as TlsServer} from 'node:tls'

export interface ConnectionLimitConfig {
  maxConnections: number
  maxConnectionsPerIp: number
}

/** one connection's place in the counts */
export interface ConnectionSlot {
  /** false when the connection is over a limit: refuse it (the slot still counts until released) */
  readonly accepted: boolean
  /** gives the slot back; every call after the first does nothing */
  release(): void
}

/** what `mailbox status` shows for one front-end */
export interface ConnectionCounts {
  open: number
  /** per listener name (all of the front-end's listeners, 0 included) */
  byListener: Record<string, number>
  /** distinct remote addresses holding a slot */
  addresses: number
  /** since the start: connections accepted, and of them refused for a limit (metrics) */
  opened: number
  refused: number
}

export class ConnectionLimits {
  private readonly perIp = new Map<string, number>()
  private readonly perListener = new Map<string, number>()
  private total = 0
  private opened = 0
  private refused = 0

  constructor(
    private readonly limits: ConnectionLimitConfig,
    listeners: readonly string[] = [],
  ) {
    for (const name of listeners) this.perListener.set(name, 0)
  }

  /** counts a new connection on `listener` from `ip` */
  open(ip: string, listener: string): ConnectionSlot {
    const fromIp = (this.perIp.get(ip) ?? 0) + 1
    this.perIp.set(ip, fromIp)
    this.perListener.set(listener, (this.perListener.get(listener) ?? 0) + 1)
    this.total++
    const accepted = this.total <= this.limits.maxConnections && fromIp <= this.limits.maxConnectionsPerIp
    this.opened++
    if (!accepted) this.refused++
    let held = true
    return {
      accepted,
      release: () => {
        if (!held) return
        held = false
        this.total--
        this.perListener.set(listener, this.perListener.get(listener)! - 1)
        const n = this.perIp.get(ip)! - 1
        if (n === 0) this.perIp.delete(ip)
        else this.perIp.set(ip, n)
      },
    }
  }

  /**
   * counts a TCP connection from accept until its socket closes: the slot goes back then,
   * whichever socket the session ended up on (STARTTLS wraps this one) and however it ended
   */
  admit(socket: Socket, listener: string): ConnectionSlot {
    const slot = this.open(socket.remoteAddress ?? '', listener)
    socket.once('close', slot.release)
    return slot
  }

  counts(): ConnectionCounts {
    return {open: this.total, byListener: Object.fromEntries(this.perListener), addresses: this.perIp.size, opened: this.opened, refused: this.refused}
  }
}

/**
 * Slots for a TLS listener (IMAPS, POP3S). Each TCP connection takes its slot at accept, so the
 * connections still in their handshake count against the limits too; the secure connection
 * then takes that slot over with `slotOf`. A failed or timed-out handshake is destroyed here:
 * Node 20 only reports a handshake timeout (`tlsClientError`) and leaves the socket open.
 */
export function slotsForTls(server: TlsServer, limits: ConnectionLimits, listener: string, onError: (err: Error) => void): (secure: Socket) => ConnectionSlot {
  const pending = new Map<string, ConnectionSlot>()
  const key = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`
  server.on('connection', (raw: Socket) => {
    const slot = limits.admit(raw, listener)
    const k = key(raw)
    pending.set(k, slot)
    raw.once('close', () => {
      if (pending.get(k) === slot) pending.delete(k)
    })
  })
  server.on('tlsClientError', (err, socket) => {
    onError(err)
    socket.destroy()
  })
  return (secure) => {
    const k = key(secure)
    const slot = pending.get(k)
    pending.delete(k)
    // not seen at accept (cannot happen with Node's tls.Server): counted from now on
    return slot ?? limits.open(secure.remoteAddress ?? '', listener)
  }
}
