/**
 * The mailstore actor: recipient resolution for the SMTP front-end (`mailstore.resolve`),
 * durable delivery (`mailstore.deliver`), local injection (`mailstore.inject`, for
 * `mailbox send` through the control socket), reading messages back by id and by arrival time
 * (`mailstore.blob`, `mailstore.recent`, for the matcher), and the `mail.received` / `mail.stored` /
 * `queue.added` events, published after the commit for IMAP IDLE, the matcher and the dashboard.
 */
import {hostname} from 'node:os'
import type {Actor, Bus} from '../bus.js'
import type {Logger} from '../log.js'
import type {Store} from '../store/store.js'
import type {Analysis} from './analyze.js'
import type {DeliveryResult} from './deliver.js'
import {readBlob, recentBlobs} from './recent.js'
import {injectMessage, resolveForDelivery, storeMessage, type StoreRequest} from './submit.js'

export type {ResolveRequest} from './submit.js'

export interface DeliverRequest extends StoreRequest {
  remoteAddress?: string
}

export interface DeliverReply {
  id: string
  stored: {user: string; folder: string; uid: number}[]
  queued: string[]
}

export interface InjectBody {
  from: string
  to: string[]
  /** the message, base64 (the control socket speaks JSON) */
  raw: string
}

export class MailstoreActor implements Actor {
  readonly name = 'mailstore'
  private unregister: (() => void)[] = []

  constructor(
    private readonly bus: Bus,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly options: {hostname?: string; capture?: boolean} = {},
  ) {}

  async start(): Promise<void> {
    this.unregister = [
      this.bus.handle('mailstore.resolve', (req) => resolveForDelivery(this.store, req)),
      this.bus.handle('mailstore.deliver', async (req) => {
        const {result, analysis} = await storeMessage(this.store, req)
        return this.announce(result, analysis, req.mailFrom, req.rcptTo, req.raw.length, req.remoteAddress ?? '')
      }),
      this.bus.handle('mailstore.blob', ({id}) => readBlob(this.store, id)),
      this.bus.handle('mailstore.recent', ({since}) => recentBlobs(this.store, since)),
      this.bus.handle('mailstore.inject', async (req) => {
        const raw = Buffer.from(req.raw, 'base64')
        const {result, analysis, rcptTo} = await injectMessage(this.store, {
          from: req.from,
          to: req.to,
          raw,
          hostname: this.options.hostname ?? hostname(),
          capture: this.options.capture,
        })
        return this.announce(result, analysis, req.from, rcptTo, raw.length, 'local')
      }),
    ]
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
  }

  private announce(result: DeliveryResult, analysis: Analysis, mailFrom: string, rcptTo: string[], size: number, remoteAddress: string): DeliverReply {
    const {from, subject} = analysis.summary
    this.bus.publish('mail.received', {id: result.id, mailFrom, rcptTo, from, subject, size, remoteAddress})
    for (const copy of result.stored) this.bus.publish('mail.stored', {id: result.id, ...copy, from, subject, size})
    for (const entry of result.queued) {
      this.bus.publish('queue.added', {id: entry.id, from: entry.from, domain: entry.domain, recipients: entry.recipients.map((r) => r.address)})
    }
    this.log.debug({id: result.id, local: result.stored.length, queued: result.queued.length, size}, 'delivered')
    return {id: result.id, stored: result.stored.map(({user, folder, uid}) => ({user, folder, uid})), queued: result.queued.map((q) => q.id)}
  }
}
