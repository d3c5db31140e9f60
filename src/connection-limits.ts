/**
 * Connection accounting for the protocol listeners (SMTP, IMAP, POP3, matcher): connections open in all
 * and per remote address, against `maxConnections` and `maxConnectionsPerIp`. Every connection
 * is counted from `opened` to `closed`, the refused ones too until their socket closes.
 */
export interface ConnectionLimitConfig {
  maxConnections: number
  maxConnectionsPerIp: number
}

export class ConnectionLimits {
  private readonly perIp = new Map<string, number>()
  private open = 0

  constructor(private readonly limits: ConnectionLimitConfig) {}

  /** counts a new connection; false when it is over a limit (then refuse it, and still call `closed`) */
  opened(ip: string): boolean {
    const fromIp = (this.perIp.get(ip) ?? 0) + 1
    this.perIp.set(ip, fromIp)
    this.open++
    return this.open <= this.limits.maxConnections && fromIp <= this.limits.maxConnectionsPerIp
  }

  /** connections counted now (refused ones included until they close) */
  get count(): number {
    return this.open
  }

  closed(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1
    if (n <= 0) this.perIp.delete(ip)
    else this.perIp.set(ip, n)
    this.open = Math.max(0, this.open - 1)
  }
}
