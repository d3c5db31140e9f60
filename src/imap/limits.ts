/** The IMAP front-end's limits; every one is a `--config` key under `imap`. */
export interface ImapLimits {
  /** longest command line, literals excluded (RFC 7162 §4 asks for at least 8192) */
  maxLineLength: number
  /** largest literal (an APPENDed message); bigger ones get NO [TOOBIG] and are never buffered */
  maxLiteralSize: number
  /** all literals of one command together (a MULTIAPPEND's messages, a CATENATE's parts); beyond it NO [TOOBIG], never buffered */
  maxAppendSize: number
  /** messages in one APPEND (MULTIAPPEND, RFC 3502); more: NO [LIMIT], nothing appended */
  maxAppendMessages: number
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
  /** COMPRESS=DEFLATE level, 1 (fastest) … 9 (smallest); 6 is zlib's default and Dovecot's */
  compressionLevel: number
  /** NOTIFY (RFC 5465): changed folders and folder events a session keeps to report (while a command runs or the client does not read); past it, [NOTIFICATIONOVERFLOW] and NOTIFY is off */
  maxNotifyPending: number
  /** live `SEARCH` / `SORT RETURN (UPDATE)` contexts per session (CONTEXT=SEARCH, CONTEXT=SORT); each one is searched again when the folder changes */
  maxSearchContexts: number
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
  maxAppendSize: 50 * 1024 * 1024,
  maxAppendMessages: 1000,
  maxConnections: 1000,
  maxConnectionsPerIp: 100,
  idleTimeoutMs: 30 * 60_000,
  preauthTimeoutMs: 60_000,
  handshakeTimeoutMs: 30_000,
  lingerMs: 10_000,
  compressionLevel: 6,
  maxNotifyPending: 1000,
  maxSearchContexts: 5,
  sortCacheEntries: 200_000,
}
