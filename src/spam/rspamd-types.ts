/**
 * The bus call `rspamd.check` (src/bus.ts): what the end-of-DATA decision (src/spam/actor.ts)
 * asks of rspamd, and what it hears back (src/spam/rspamd-actor.ts answers).
 */

export interface RspamdCheckRequest {
  /** the message as it will be stored, without our Received */
  message: Buffer
  mailFrom: string
  rcptTo: string[]
  remoteAddress: string
  helo: string
  /** the authenticated user, if any */
  user?: string
  queueId: string
}

export interface RspamdCheckReply {
  action: 'reject' | 'soft reject' | 'rewrite subject' | 'add header' | 'greylist' | 'no action'
  score: number
  required: number
  /** the symbols that matched, by score (highest first) */
  symbols: string[]
  /** with `rewrite subject`: the subject rspamd wants */
  subject?: string
  /** rspamd did not answer in time or failed: the caller fails open */
  failed?: string
}
