/** The IMAP front-end's limits; every one is a `--config` key under `imap`. */
export interface ImapLimits {
  /** longest command line, literals excluded (RFC 7162 §4 asks for at least 8192) */
  maxLineLength: number
  /** largest literal (an APPENDed message); bigger ones get NO [TOOBIG] and are never buffered */
  maxLiteralSize: number
  maxConnections: number
  maxConnectionsPerIp: number
  /** inactivity autologout, IDLE included (RFC 3501 §5.4: at least 30 minutes) */
  idleTimeoutMs: number
  /** before login; a client that never authenticates is dropped sooner */
  preauthTimeoutMs: number
  /** a TLS handshake (IMAPS, or after STARTTLS) that has not finished by then is dropped */
  handshakeTimeoutMs: number
  /** once the server closes a connection (BYE, refusal), how long the client gets to read the last reply before the socket is destroyed */
  lingerMs: number
  /**
   * messages whose SORT/THREAD keys (sent date, base subject, first addresses, Message-IDs) are
   * kept in memory, about 450 bytes each; a folder bigger than this is sorted all the same, its
   * headers read again each time
   */
  sortCacheEntries: number
}

export const DEFAULT_IMAP_LIMITS: ImapLimits = {
  maxLineLength: 64 * 1024,
  maxLiteralSize: 25 * 1024 * 1024,
  maxConnections: 1000,
  maxConnectionsPerIp: 100,
  idleTimeoutMs: 30 * 60_000,
  preauthTimeoutMs: 60_000,
  handshakeTimeoutMs: 30_000,
  lingerMs: 10_000,
  sortCacheEntries: 200_000,
}
