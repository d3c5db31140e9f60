/** The POP3 front-end's limits; every one is a `--config` key under `pop3`. */
export interface Pop3Limits {
  /**
   * longest command line in bytes, CRLF excluded (RFC 2449 §4 allows clients 255 octets, so
   * anything from 512 up is safe); a longer line gets `-ERR line too long` and is discarded
   * as it arrives, never buffered
   */
  maxLineLength: number
  /** across the POP3 and POP3S listeners */
  maxConnections: number
  maxConnectionsPerIp: number
  /** inactivity autologout (RFC 1939 §3: at least 10 minutes); nothing is deleted */
  idleTimeoutMs: number
  /** unknown, malformed or out-of-state commands tolerated on one connection before it is closed */
  maxBadCommands: number
  /** on stop, how long a running command (a QUIT's deletions) may take before its session is cut */
  closeTimeoutMs: number
  /** a TLS handshake (POP3S, or after STLS) that has not finished by then is dropped */
  handshakeTimeoutMs: number
  /** once the server closes a connection (QUIT, refusal, too many bad commands), how long the client gets to read the last reply before the socket is destroyed */
  lingerMs: number
}

export const DEFAULT_POP3_LIMITS: Pop3Limits = {
  maxLineLength: 8192,
  maxConnections: 500,
  maxConnectionsPerIp: 50,
  idleTimeoutMs: 10 * 60_000,
  maxBadCommands: 20,
  closeTimeoutMs: 10_000,
  handshakeTimeoutMs: 30_000,
  lingerMs: 10_000,
}
