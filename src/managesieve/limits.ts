/** The ManageSieve listener's port and limits; every one is a `--config` key under `managesieve`. */
export interface ManageSieveConfig {
  /** 0: off (the default); `mailbox init` writes 4190, the IANA port (RFC 5804 §1.8) */
  port: number
  /**
   * longest command line in bytes, literals and CRLF excluded; a longer line gets `NO` and is
   * discarded as it arrives, never buffered. Scripts come as literals, so this stays small.
   */
  maxLineLength: number
  maxConnections: number
  maxConnectionsPerIp: number
  /** inactivity before the server says BYE and closes */
  idleTimeoutMs: number
  /** unknown, malformed or out-of-state commands tolerated on one connection before it is closed */
  maxBadCommands: number
  /** commands a connection may send before it has logged in (CAPABILITY, STARTTLS, failed AUTHENTICATEs…) */
  maxCommandsBeforeAuth: number
  /** on stop, how long a running command (a PUTSCRIPT committing) may take before its session is cut */
  closeTimeoutMs: number
  /** a TLS handshake after STARTTLS that has not finished by then is dropped */
  handshakeTimeoutMs: number
  /** once the server closes a connection (LOGOUT, BYE), how long the client gets to read the last reply */
  lingerMs: number
}

export const DEFAULT_MANAGESIEVE: ManageSieveConfig = {
  port: 0,
  maxLineLength: 8192,
  maxConnections: 100,
  maxConnectionsPerIp: 20,
  idleTimeoutMs: 10 * 60_000,
  maxBadCommands: 20,
  maxCommandsBeforeAuth: 30,
  closeTimeoutMs: 10_000,
  handshakeTimeoutMs: 30_000,
  lingerMs: 10_000,
}
