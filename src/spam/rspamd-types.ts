/**
 * The `rspamd.check` bus action (src/bus.ts): asked by the spam actor (./actor.ts) instead of
 * the built-in thresholds when `spam.rspamd.url` is set; answered by the rspamd client.
 */

export interface RspamdCheckRequest {
  /** as it will be stored, without our Received */
  message: Buffer
  mailFrom: string
  rcptTo: string[]
  remoteAddress: string
  helo: string
  user?: string
  queueId: string
}

export interface RspamdCheckReply {
  action: 'reject' | 'soft reject' | 'rewrite subject' | 'add header' | 'greylist' | 'no action'
  score: number
  required: number
  symbols: string[]
  /** the new Subject, for `rewrite subject` */
  subject?: string
  /** set when rspamd did not answer in time (why): the message fails open, the built-in score decides */
  failed?: string
}
