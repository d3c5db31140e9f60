/**
 * `spam.rspamd` of the config (src/config-schema.ts): where rspamd is, how long a check may take,
 * and the learning queue's bounds. No url: no rspamd (the built-in checks decide alone).
 */
export interface RspamdConfig {
  /** the normal worker's HTTP address, e.g. http://127.0.0.1:11333 */
  url?: string
  /** a check that takes longer fails open */
  timeoutMs: number
  /** connections to rspamd kept at most (checks beyond wait for one, within timeoutMs) */
  maxConnections: number
  /** a reply larger than this is a failed check */
  maxReplyBytes: number
  /** the controller's HTTP address, e.g. http://127.0.0.1:11334: learning goes there */
  controllerUrl?: string
  /** the controller's password (or enable_password) */
  password?: string
  /** a file holding it instead (mode 0600) */
  passwordFile?: string
  /** train rspamd from users' moves into and out of Junk */
  learn: boolean
  /** learning jobs waiting at most; moves beyond are counted and not trained */
  learnMaxQueued: number
  /** attempts per learning job before it is given up */
  learnMaxAttempts: number
  /** wait after the first failed attempt; doubles with each further one, up to an hour */
  learnRetryMs: number
}

export const DEFAULT_RSPAMD: RspamdConfig = {
  timeoutMs: 5000,
  maxConnections: 16,
  maxReplyBytes: 1024 * 1024,
  learn: true,
  learnMaxQueued: 10_000,
  learnMaxAttempts: 10,
  learnRetryMs: 60_000,
}
