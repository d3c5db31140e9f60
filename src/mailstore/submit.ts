/**
 * The two steps every accepted message goes through, shared by the SMTP front-end (via the
 * mailstore actor), `mailbox send` with the server stopped, and `mailbox send` via the live
 * server's control socket: resolve each recipient, then analyze and store durably.
 */
import {normalizeAddress} from '../address.js'
import {MailboxError} from '../errors.js'
import {outboundSignatures, type DkimConfig, type Signer} from '../dkim/outbound.js'
import {newId} from '../ids.js'
import type {DeliveryResult} from '../store/backend.js'
import type {MailboxStore} from '../store/backend.js'
import {hasLimits, limitPassed} from '../store/user-limits.js'
import {srsRecipient, type SrsConfig} from '../srs/route.js'
import {analyzeMessage, withTopChanged, type Analysis} from './analyze.js'
import type {SieveDelivery, SieveRun} from '../sieve-delivery/index.js'
import {SieveRejected} from '../sieve-delivery/rejected.js'

export interface ResolveRequest {
  address: string
  /** capture mode: every address is a local mailbox */
  capture?: boolean
  /** the size the client declared (MAIL FROM … SIZE=n), for the quota check */
  size?: number
  /** config `srs`: an SRS address of a local domain is routed to the address it stands for (absent: not) */
  srs?: SrsConfig
}

/**
 * Final recipients of an address, or a refusal: `not-found` (no such user), `disabled`,
 * `quota` (one more message would pass the user's storage quota or message limit). An alias that
 * fans out skips disabled or full members and is refused only when no member is left (quota is
 * soft beyond that: a message accepted at RCPT is stored whole).
 */
export async function resolveForDelivery(store: MailboxStore, {address: input, capture, size = 0, srs}: ResolveRequest): Promise<{local: string[]; remote: string[]}> {
  if (capture) return {local: [normalizeAddress(input)], remote: []}
  const address = await srsRecipient(store, normalizeAddress(input), srs)
  const resolution = await store.directory.resolve(address)
  if (!resolution) throw new MailboxError('not-found', `no such user ${address}`)
  const records = await Promise.all(resolution.local.map((user) => store.directory.user(user)))
  let refusal: MailboxError | undefined
  const local: string[] = []
  for (const [i, user] of resolution.local.entries()) {
    const record = records[i]!
    if (record.disabled) {
      refusal = new MailboxError('disabled', `mailbox ${user} is disabled`)
    } else if (hasLimits(record) && limitPassed(record, await store.mail.usage(user), {messages: 1, size})) {
      refusal = new MailboxError('quota', `mailbox ${user} is full`)
    } else {
      local.push(user)
    }
  }
  if (refusal && local.length === 0 && resolution.remote.length === 0) throw refusal
  return {local, remote: resolution.remote}
}

export interface StoreRequest {
  mailFrom: string
  /** the envelope recipients as the client gave them */
  rcptTo: string[]
  local: string[]
  remote: string[]
  /**
   * the message in pieces as received, our Received header first. Joined once, behind the
   * Return-Path of local copies; the array is emptied then, so the pieces can be freed while
   * the commit runs (a large message is not held twice for the whole fsync).
   */
  pieces: Buffer[]
  capture?: boolean
  /** local copies go to each user's Junk folder (a DMARC quarantine), not INBOX */
  junk?: boolean
  /**
   * DKIM-sign the copy for remote recipients (../dkim/outbound.ts decides with which key): only
   * for senders we vouch for (authenticated submission, local injection, our bounces)
   */
  sign?: boolean
  /** what signs (see ../dkim/outbound.ts): a mail-auth thread in the server */
  signer?: Signer
  /** config `dkim`: which domains sign (absent: all) */
  dkim?: DkimConfig
  /** runs the local recipients' Sieve scripts (absent: every copy to INBOX, or Junk) */
  sieve?: SieveDelivery
  /**
   * SMTP: a message with one recipient that its script rejects is refused (SieveRejected, before
   * anything is stored); otherwise (several recipients, `mailbox send`) the sender gets a notice
   */
  rejectAtSmtp?: boolean
  /**
   * how the messages a script sends back (vacation replies, refusal notices) are injected; the
   * server's announces them (the queue hears of them at once). Absent: injectMessage
   */
  inject?: (req: InjectRequest) => Promise<unknown>
}

/**
 * Analyzes and stores: local copies get Return-Path (final delivery), the queue copy does not.
 * Both are the same bytes in memory: the queue's is the local one without its first line. The
 * queue's copy is signed once here, after every header we add, and stored signed: each delivery
 * attempt sends the same signed bytes.
 */
export async function storeMessage(store: MailboxStore, req: StoreRequest): Promise<{result: DeliveryResult; analysis: Analysis; size: number; sieve?: SieveRun}> {
  const returnPath = req.local.length ? Buffer.from(`Return-Path: <${req.mailFrom}>\r\n`) : undefined
  const localRaw = Buffer.concat(returnPath ? [returnPath, ...req.pieces] : req.pieces)
  req.pieces.length = 0
  const raw = returnPath ? localRaw.subarray(returnPath.length) : localRaw
  // quarantined mail (Junk) is not filtered, forwarded or answered: the junk verdict wins (docs/sieve-delivery.md)
  const sieve = req.sieve?.enabled && !req.junk && !req.capture && req.local.length ? req.sieve : undefined
  const plan = sieve ? await sieve.plan(store, {raw, mailFrom: req.mailFrom, rcptTo: req.rcptTo, local: req.local}) : undefined
  if (plan && req.rejectAtSmtp && req.rcptTo.length === 1 && req.remote.length === 0) {
    const refused = plan.rejected.filter((r) => r.hop === 0)
    if (refused.length && refused.length === new Set(req.local).size) throw new SieveRejected(refused[0]!.reason)
  }
  // the MIME offsets must be those of the bytes stored: the queue's copy has no Return-Path
  const analysis = analyzeMessage(localRaw)
  const signatures = req.sign && req.remote.length ? await outboundSignatures(store, raw, analysis.envelope, {signer: req.signer, config: req.dkim}) : undefined
  const remoteRaw = signatures ? Buffer.concat([signatures, raw]) : raw
  const result = await store.mail.deliver({
    localRaw,
    remoteRaw,
    analysis,
    ...(req.remote.length && remoteRaw !== localRaw ? {remoteAnalysis: withTopChanged(analysis, (signatures?.length ?? 0) - (returnPath?.length ?? 0))} : {}),
    mailFrom: req.mailFrom,
    rcptTo: req.rcptTo,
    local: req.local,
    remote: req.remote,
    createUsers: req.capture,
    junk: req.junk,
    ...(plan ? {placements: plan.placements, also: plan.also} : {}),
  })
  if (!plan) return {result, analysis, size: raw.length}
  const inject = req.inject ?? ((r: InjectRequest) => injectMessage(store, r))
  await sieve!.afterCommit(store, plan, raw, (from, to, reply) =>
    inject({from, to: [to], raw: reply, hostname: sieve!.hostname, sign: true, signer: req.signer, dkim: req.dkim, sieve, srs: sieve!.srs}),
  )
  return {result, analysis, size: raw.length, sieve: {reports: plan.reports, foldersBefore: plan.foldersBefore}}
}

export interface InjectRequest {
  from: string
  to: string[]
  raw: Buffer
  hostname: string
  capture?: boolean
  /** refuse a larger message (the server's smtp.maxMessageSize); absent: no limit */
  maxSize?: number
  /** config `srs`: bounces injected to SRS addresses go where they stand for */
  srs?: SrsConfig
  /** DKIM-sign what leaves (a local injection is trusted); default true. `dkim`: which domains sign */
  sign?: boolean
  signer?: Signer
  dkim?: DkimConfig
  /** runs the local recipients' Sieve scripts */
  sieve?: SieveDelivery
  /** see StoreRequest.inject */
  inject?: StoreRequest['inject']
}

/**
 * `sendmail`-style injection from the local machine: a trusted sender, every recipient resolved
 * first (one unknown local recipient refuses the whole message, so nothing is half-sent).
 */
export async function injectMessage(store: MailboxStore, req: InjectRequest): Promise<{result: DeliveryResult; analysis: Analysis; rcptTo: string[]; size: number; sieve?: SieveRun}> {
  const from = req.from === '' ? '' : normalizeAddress(req.from)
  if (req.to.length === 0) throw new MailboxError('invalid', 'no recipients')
  if (req.maxSize !== undefined && req.raw.length > req.maxSize) {
    throw new MailboxError('too-large', `message too large: ${req.raw.length} bytes, the limit is ${req.maxSize} bytes (smtp.maxMessageSize)`)
  }
  const rcptTo = req.to.map((t) => normalizeAddress(t))
  const local = new Set<string>()
  const remote = new Set<string>()
  for (const to of rcptTo) {
    const r = await resolveForDelivery(store, {address: to, capture: req.capture, srs: req.srs})
    r.local.forEach((u) => local.add(u))
    r.remote.forEach((u) => remote.add(u))
  }
  const date = rfc5322Date(Date.now())
  const received = Buffer.from(`Received: by ${req.hostname} (mailbox) with local id ${process.pid}.${Date.now()};\r\n\t${date}\r\n`)
  const stored = await storeMessage(store, {mailFrom: from, rcptTo, local: [...local], remote: [...remote], pieces: [received, ...completeHeader(req.raw, {from, hostname: req.hostname})], capture: req.capture, sign: req.sign ?? true, signer: req.signer, dkim: req.dkim, sieve: req.sieve, inject: req.inject})
  return {...stored, rcptTo}
}

/**
 * Like sendmail, the header fields a message must have (RFC 5322 §3.6) and lacks are added:
 * `From:` (the envelope sender, MAILER-DAEMON for a null sender), `Date:` and `Message-ID:`
 * (@hostname). They go on top; the message's own bytes follow unchanged. A message whose text
 * starts without a header block (or whose header runs into the body without an empty line) gets
 * the empty line that separates them, so its first line is not taken for a header field.
 * Returns the message as pieces, so a large message is not copied.
 */
export function completeHeader(raw: Buffer, context: {from: string; hostname: string; now?: number}): Buffer[] {
  const {names, bodyAt, separated} = scanHeader(raw)
  const added: string[] = []
  if (!names.has('from')) added.push(`From: ${context.from || `MAILER-DAEMON@${context.hostname}`}`)
  if (!names.has('date')) added.push(`Date: ${rfc5322Date(context.now ?? Date.now())}`)
  if (!names.has('message-id')) added.push(`Message-ID: <${newId()}@${context.hostname}>`)
  if (added.length === 0) return [raw]
  const top = Buffer.from(added.map((f) => f + '\r\n').join(''), 'latin1')
  if (separated) return [top, raw]
  return [top, raw.subarray(0, bodyAt), Buffer.from('\r\n'), raw.subarray(bodyAt)]
}

const FIELD = /^([!-9;-~]+)[ \t]*:/

/** the header field names (lower case), where the body starts, and whether an empty line separates them */
function scanHeader(raw: Buffer): {names: Set<string>; bodyAt: number; separated: boolean} {
  const names = new Set<string>()
  let at = 0
  while (at < raw.length) {
    const nl = raw.indexOf(0x0a, at)
    const end = nl === -1 ? raw.length : nl + 1
    const line = raw.toString('latin1', at, Math.min(end, at + 1000)).replace(/\r?\n$/, '')
    if (line === '') return {names, bodyAt: end, separated: true}
    const field = FIELD.exec(line)
    if (field) names.add(field[1]!.toLowerCase())
    else if (!(names.size && (line[0] === ' ' || line[0] === '\t'))) return {names, bodyAt: at, separated: false}
    at = end
  }
  return {names, bodyAt: raw.length, separated: false}
}

const rfc5322Date = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000')
