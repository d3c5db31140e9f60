/**
 * The two steps every accepted message goes through, shared by the SMTP front-end (via the
 * mailstore actor), `mailbox send` with the server stopped, and `mailbox send` via the live
 * server's control socket: resolve each recipient, then analyze and store durably.
 */
import {normalizeAddress} from '../address.js'
import {resolveRecipient} from '../directory/aliases.js'
import {MailboxError} from '../errors.js'
import type {Store} from '../store/store.js'
import {analyzeMessage, type Analysis} from './analyze.js'
import {deliver, type DeliveryResult} from './deliver.js'
import {usageOf} from './folders.js'

export interface ResolveRequest {
  address: string
  /** capture mode: every address is a local mailbox */
  capture?: boolean
  /** the size the client declared (MAIL FROM … SIZE=n), for the quota check */
  size?: number
}

/**
 * Final recipients of an address, or a refusal: `not-found` (no such user), `disabled`,
 * `quota`. An alias that fans out skips disabled or full members and is refused only when no
 * member is left (quota is soft beyond that: a message accepted at RCPT is stored whole).
 */
export function resolveForDelivery(store: Store, {address: input, capture, size = 0}: ResolveRequest): {local: string[]; remote: string[]} {
  const address = normalizeAddress(input)
  if (capture) return {local: [address], remote: []}
  const resolution = resolveRecipient(store, address)
  if (!resolution) throw new MailboxError('not-found', `no such user ${address}`)
  let refusal: MailboxError | undefined
  const local = resolution.local.filter((user) => {
    const record = store.users.get(user)!
    if (record.disabled) {
      refusal = new MailboxError('disabled', `mailbox ${user} is disabled`)
      return false
    }
    if (record.quota && usageOf(store, user).size + size > record.quota) {
      refusal = new MailboxError('quota', `mailbox ${user} is full`)
      return false
    }
    return true
  })
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
}

/**
 * Analyzes and stores: local copies get Return-Path (final delivery), the queue copy does not.
 * Both are the same bytes in memory: the queue's is the local one without its first line.
 */
export async function storeMessage(store: Store, req: StoreRequest): Promise<{result: DeliveryResult; analysis: Analysis; size: number}> {
  const returnPath = req.local.length ? Buffer.from(`Return-Path: <${req.mailFrom}>\r\n`) : undefined
  const localRaw = Buffer.concat(returnPath ? [returnPath, ...req.pieces] : req.pieces)
  req.pieces.length = 0
  const raw = returnPath ? localRaw.subarray(returnPath.length) : localRaw
  // the MIME offsets must be those of the bytes stored: the queue's copy has no Return-Path
  const analysis = analyzeMessage(localRaw)
  const result = await deliver(store, {
    localRaw,
    remoteRaw: raw,
    analysis,
    ...(req.local.length && req.remote.length ? {remoteAnalysis: analyzeMessage(raw)} : {}),
    mailFrom: req.mailFrom,
    rcptTo: req.rcptTo,
    local: req.local,
    remote: req.remote,
    createUsers: req.capture,
  })
  return {result, analysis, size: raw.length}
}

export interface InjectRequest {
  from: string
  to: string[]
  raw: Buffer
  hostname: string
  capture?: boolean
}

/**
 * `sendmail`-style injection from the local machine: a trusted sender, every recipient resolved
 * first (one unknown local recipient refuses the whole message, so nothing is half-sent).
 */
export async function injectMessage(store: Store, req: InjectRequest): Promise<{result: DeliveryResult; analysis: Analysis; rcptTo: string[]; size: number}> {
  const from = req.from === '' ? '' : normalizeAddress(req.from)
  if (req.to.length === 0) throw new MailboxError('invalid', 'no recipients')
  const rcptTo = req.to.map((t) => normalizeAddress(t))
  const local = new Set<string>()
  const remote = new Set<string>()
  for (const to of rcptTo) {
    const r = resolveForDelivery(store, {address: to, capture: req.capture})
    r.local.forEach((u) => local.add(u))
    r.remote.forEach((u) => remote.add(u))
  }
  const date = new Date().toUTCString().replace('GMT', '+0000')
  const received = Buffer.from(`Received: by ${req.hostname} (mailbox) with local id ${process.pid}.${Date.now()};\r\n\t${date}\r\n`)
  const stored = await storeMessage(store, {mailFrom: from, rcptTo, local: [...local], remote: [...remote], pieces: [received, req.raw], capture: req.capture})
  return {...stored, rcptTo}
}
