/**
 * The records kept in the store, one interface per named database. Fields are camelCase and
 * times are epoch milliseconds, so a record can go to `--json` output unchanged.
 */

export interface DomainRecord {
  name: string
  createdAt: number
}

/**
 * A DKIM signing key of a local domain. `active` keys sign outgoing mail (one Ed25519 and one
 * RSA, RFC 8463); a `retired` key signs nothing but stays listed (its DNS record may still be
 * published, for signatures in transit) until the administrator removes it.
 */
export interface DkimKeyRecord {
  domain: string
  selector: string
  algorithm: 'ed25519' | 'rsa'
  /** PKCS#8 PEM */
  privateKey: string
  /** the `p=` value of the DNS record: base64 of the raw key (Ed25519, RFC 8463) or of the SubjectPublicKeyInfo (RSA) */
  publicKey: string
  state: 'active' | 'retired'
  createdAt: number
  retiredAt?: number
}

export interface UserRecord {
  address: string
  /** argon2id PHC string */
  passwordHash: string
  /** bytes; 0 means unlimited */
  quota: number
  /** messages in all the user's folders together (IMAP QUOTA's MESSAGE resource); absent means unlimited, never 0 */
  maxMessages?: number
  disabled: boolean
  /** created by capture mode for an address that received mail; has no password */
  capture?: boolean
  createdAt: number
  updatedAt: number
}

export interface AliasRecord {
  /** `user@domain`, or `@domain` for a catch-all */
  alias: string
  targets: string[]
  createdAt: number
}

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive'

export interface MailboxRecord {
  /** stable across renames; messages are keyed by it */
  id: number
  user: string
  name: string
  uidValidity: number
  uidNext: number
  highestModseq: number
  subscribed: boolean
  specialUse?: SpecialUse
  /** a hierarchy placeholder left by deleting a parent that has children (RFC 3501 §6.3.4) */
  noselect?: boolean
  messages: number
  unseen: number
  size: number
  createdAt: number
}

export interface MessageRecord {
  uid: number
  blobId: string
  flags: string[]
  internalDate: number
  size: number
  modseq: number
}

/** What commands and events show of a message, decoded from its header. */
export interface MessageSummary {
  from: string
  to: string[]
  subject: string
  date?: number
  messageId?: string
}

/**
 * Per-blob bookkeeping: the raw bytes live in `blobs`; this counts the message and queue entries
 * that use them, and keeps what IMAP needs without re-reading the bytes (envelope, MIME
 * structure with offsets) plus a decoded summary. The search text is cached in `blobText`.
 */
export interface BlobInfoRecord {
  refs: number
  size: number
  createdAt: number
  /** the SMTP envelope it arrived with (the matcher's `since_s` searches by it) */
  mailFrom?: string
  rcptTo?: string[]
  envelope?: import('../mime/envelope.js').Envelope
  structure?: import('../mime/structure.js').MimePart
  summary?: MessageSummary
  /** size with CRLF line endings and a final CRLF (POP3's size) */
  crlfSize?: number
}

export type QueueState = 'queued' | 'sending' | 'deferred' | 'held' | 'delivered' | 'failed'
export type QueuePriority = 'high' | 'default' | 'bulk'

export interface QueueRecipient {
  address: string
  state: 'pending' | 'delivered' | 'deferred' | 'failed'
  lastError?: string
}

export interface QueueEntry {
  id: string
  from: string
  /** destination domain; one entry per domain so one connection serves all its recipients */
  domain: string
  recipients: QueueRecipient[]
  blobId: string
  priority: QueuePriority
  state: QueueState
  attempts: number
  createdAt: number
  nextAttemptAt: number
  lastError?: string
}

/** A fault-injection rule for capture mode: recipients matching `to` get `reply` instead of acceptance. */
export interface CaptureRuleRecord {
  id: string
  /** case-insensitive substring of the recipient address, or /regex/flags */
  to: string
  /** full SMTP reply, e.g. "451 4.3.0 try again later" */
  reply: string
  stage: 'rcpt' | 'data'
  /** how many more times it fires; absent: always */
  remaining?: number
  createdAt: number
}

export interface DeliveryAttemptRecord {
  queueId: string
  attempt: number
  startedAt: number
  endedAt: number
  host: string
  result: 'delivered' | 'deferred' | 'failed'
  transcript: string[]
  /** the TLS of the connection that carried it (absent: no session was set up, or recorded before TLS was) */
  tls?: AttemptTls
}

/** What TLS an outbound connection got (see src/delivery/outbound-tls.ts). */
export interface AttemptTls {
  state: 'none' | 'encrypted' | 'verified'
  /** e.g. TLSv1.3 */
  protocol?: string
  /** why an encrypted session's certificate did not verify, e.g. DEPTH_ZERO_SELF_SIGNED_CERT */
  unverified?: string
}
