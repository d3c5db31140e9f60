/**
 * The mailstore actor: recipient resolution for the SMTP front-end (`mailstore.resolve`) and
 * durable local delivery (`mailstore.deliver`), with `mail.received` / `mail.stored` events
 * published after the commit, for IMAP IDLE, the matcher and the dashboard.
 */
import {normalizeAddress} from '../address.js'
import type {Actor, Bus} from '../bus.js'
import {resolveRecipient} from '../directory/aliases.js'
import {MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import type {Store} from '../store/store.js'
import {analyzeMessage} from './analyze.js'
import {deliver} from './deliver.js'
import {usageOf} from './folders.js'

export interface ResolveRequest {
  address: string
  /** capture mode: every address is a local mailbox */
  capture?: boolean
  /** the size the client declared (MAIL FROM … SIZE=n), for the quota check */
  size?: number
}

export interface DeliverRequest {
  mailFrom: string
  /** the envelope recipients as the client gave them */
  rcptTo: string[]
  local: string[]
  remote: string[]
  /** the message with our Received header prepended */
  raw: Buffer
  capture?: boolean
  remoteAddress?: string
}

export interface DeliverReply {
  id: string
  stored: {user: string; folder: string; uid: number}[]
  queued: string[]
}

export class MailstoreActor implements Actor {
  readonly name = 'mailstore'
  private unregister: (() => void)[] = []

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    this.unregister = [
      this.bus.handle('mailstore.resolve', (req) => this.resolve(req)),
      this.bus.handle('mailstore.deliver', (req) => this.deliver(req)),
    ]
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
  }

  /**
   * Final recipients of an address, or a refusal: `not-found` (no such user), `disabled`,
   * `quota`. An alias that fans out skips disabled or full members and is refused only when
   * no member is left to receive.
   */
  resolve({address: input, capture, size = 0}: ResolveRequest): {local: string[]; remote: string[]} {
    const address = normalizeAddress(input)
    if (capture) return {local: [address], remote: []}
    const resolution = resolveRecipient(this.store, address)
    if (!resolution) throw new MailboxError('not-found', `no such user ${address}`)
    let refusal: MailboxError | undefined
    const local = resolution.local.filter((user) => {
      const record = this.store.users.get(user)!
      if (record.disabled) {
        refusal = new MailboxError('disabled', `mailbox ${user} is disabled`)
        return false
      }
      if (record.quota && usageOf(this.store, user).size + size > record.quota) {
        refusal = new MailboxError('quota', `mailbox ${user} is full`)
        return false
      }
      return true
    })
    if (refusal && local.length === 0 && resolution.remote.length === 0) throw refusal
    return {local, remote: resolution.remote}
  }

  async deliver(req: DeliverRequest): Promise<DeliverReply> {
    const analysis = await analyzeMessage(req.raw)
    const returnPath = Buffer.from(`Return-Path: <${req.mailFrom}>\r\n`)
    const result = await deliver(this.store, {
      localRaw: req.local.length ? Buffer.concat([returnPath, req.raw]) : req.raw,
      remoteRaw: req.raw,
      analysis,
      mailFrom: req.mailFrom,
      local: req.local,
      remote: req.remote,
      createUsers: req.capture,
    })
    const {from, subject} = analysis.summary
    const size = req.raw.length
    this.bus.publish('mail.received', {id: result.id, mailFrom: req.mailFrom, rcptTo: req.rcptTo, from, subject, size, remoteAddress: req.remoteAddress ?? ''})
    for (const copy of result.stored) this.bus.publish('mail.stored', {id: result.id, ...copy, from, subject, size})
    for (const entry of result.queued) {
      this.bus.publish('queue.added', {id: entry.id, from: entry.from, domain: entry.domain, recipients: entry.recipients.map((r) => r.address)})
    }
    this.log.debug({id: result.id, local: result.stored.length, queued: result.queued.length, size}, 'delivered')
    return {id: result.id, stored: result.stored.map(({user, folder, uid}) => ({user, folder, uid})), queued: result.queued.map((q) => q.id)}
  }
}
