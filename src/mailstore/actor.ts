/**
 * The mailstore actor: recipient resolution for the SMTP front-end (`mailstore.resolve`),
 * durable delivery (`mailstore.deliver`), local injection (`mailstore.inject`, for
 * `mailbox send` through the control socket), reading messages back by id and by arrival time
 * (`mailstore.blob`, `mailstore.recent`, for the matcher), and the `mail.received` / `mail.stored` /
 * `queue.added` events, published after the commit for IMAP IDLE, the matcher and the dashboard.
 */
import {hostname} from 'node:os'
import type {Actor, Bus, MessageChangeKind} from '../bus.js'
import type {DkimConfig, Signer} from '../dkim/outbound.js'
import type {Logger} from '../log.js'
import type {DeliveryResult, FolderChange, MailboxStore, StoreChange} from '../store/backend.js'
import {analyzeMessage, type Analysis} from './analyze.js'
import {folderEvents} from './folder-events.js'
import {normalizeFolderName} from './folder-rules.js'
import {normalizeFlags} from './flags.js'
import {MailboxViews} from './mailbox-view.js'
import {RecentClaims} from './recent-claims.js'
import {searchText} from './search-text.js'
import {SortKeysCache} from './sort-keys-cache.js'
import {MailboxError} from '../errors.js'
import type {SrsConfig} from '../srs/route.js'
import {injectMessage, resolveForDelivery, storeMessage, type InjectRequest, type StoreRequest} from './submit.js'
import type {SieveDeliveryConfig} from '../sieve-delivery/config.js'
import {SieveDelivery, type SieveRun} from '../sieve-delivery/index.js'
import {VacationPurge} from '../sieve-delivery/vacation-purge.js'

export type {ResolveRequest} from './submit.js'

/** at most this many messages per `mailstore.recent` (the matcher's look back) */
const MAX_RECENT = 10_000

/** a blob's record, or the refusal a client sees for an id that names nothing (gone, or never was) */
function found<T>(value: T | undefined, id: string): T {
  if (value === undefined) throw new MailboxError('not-found', `no message ${id}`)
  return value
}

export interface DeliverRequest extends Omit<StoreRequest, 'sign'> {
  remoteAddress?: string
  /** the client authenticated (submission): what leaves is DKIM-signed; MX mail relayed onwards is not */
  authenticated?: boolean
}

export interface DeliverReply {
  id: string
  stored: {user: string; folder: string; uid: number}[]
  queued: string[]
  /** the Message-ID header, as parsed once for the message's envelope (for the log line) */
  messageId?: string
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
  private readonly views: MailboxViews
  private readonly recent = new RecentClaims()
  private readonly sortKeys: SortKeysCache
  private readonly sieve?: SieveDelivery
  /** expired vacation-reply records go on a timer, where scripts run */
  private readonly vacationPurge?: VacationPurge

  constructor(
    private readonly bus: Bus,
    private readonly store: MailboxStore,
    private readonly log: Logger,
    private readonly options: {
      hostname?: string
      capture?: boolean
      maxMessageSize?: number
      dkim?: DkimConfig
      signer?: Signer
      sortCacheEntries?: number
      /** config `sieve` (read at each message): users' scripts run at delivery */
      sieve?: SieveDeliveryConfig
      srs?: SrsConfig
      /** how often expired vacation-reply records are removed (tests shorten it) */
      vacationPurgeIntervalMs?: number
    } = {},
  ) {
    this.views = new MailboxViews(store.mail)
    this.sortKeys = new SortKeysCache(store.mail, options.sortCacheEntries)
    if (options.sieve && !options.capture) {
      this.sieve = new SieveDelivery({
        config: options.sieve,
        hostname: options.hostname ?? hostname(),
        log: log.child({component: 'sieve'}),
        ...(options.srs ? {srs: options.srs} : {}),
      })
      this.vacationPurge = new VacationPurge(store, log.child({component: 'sieve'}), options.vacationPurgeIntervalMs)
    }
  }

  async start(): Promise<void> {
    this.vacationPurge?.start()
    this.unregister = [
      // config `srs` is read at each RCPT: a reload (SIGHUP) assigns into it
      this.bus.handle('mailstore.resolve', (req) => resolveForDelivery(this.store, {...req, srs: this.options.srs})),
      this.bus.handle('mailstore.deliver', async (req) => {
        const {result, analysis, size, sieve} = await storeMessage(this.store, {...req, sign: req.authenticated === true, ...this.signing(), sieve: this.sieve, rejectAtSmtp: true, inject: this.injectReply})
        await this.foldersMade(sieve)
        return this.announce(result, analysis, req.mailFrom, req.rcptTo, size, req.remoteAddress ?? '', sieve)
      }),
      this.bus.handle('mailstore.blob', async ({id}) => {
        const [raw, info] = await Promise.all([this.store.mail.blob(id), this.store.mail.blobInfo(id)])
        return {raw: found(raw, id), info: found(info, id)}
      }),
      this.bus.handle('mailstore.recent', ({since}) => this.store.mail.recentBlobs(since, MAX_RECENT)),
      this.bus.handle('mailstore.inject', async (req) => {
        const raw = Buffer.from(req.raw, 'base64')
        const {result, analysis, rcptTo, sieve} = await injectMessage(this.store, {
          from: req.from,
          to: req.to,
          raw,
          hostname: this.options.hostname ?? hostname(),
          capture: this.options.capture,
          srs: this.options.srs,
          ...this.signing(),
          sieve: this.sieve,
          inject: this.injectReply,
          ...(this.options.maxMessageSize ? {maxSize: this.options.maxMessageSize} : {}),
        })
        await this.foldersMade(sieve)
        return this.announce(result, analysis, req.from, rcptTo, raw.length, 'local', sieve)
      }),
      this.bus.handle('mailstore.changedElsewhere', (change) => {
        this.storeChanged({kind: 'mailbox', ...change})
        return null
      }),
      ...this.clientHandlers(),
      this.store.changes.on((change) => this.storeChanged(change)),
    ]
  }

  /** a message a Sieve script sends back (vacation reply, refusal notice): stored, then announced like any injected one */
  private readonly injectReply = async (req: InjectRequest): Promise<void> => {
    const {result, analysis, rcptTo, size, sieve} = await injectMessage(this.store, {...req, inject: this.injectReply})
    await this.foldersMade(sieve)
    this.announce(result, analysis, req.from, rcptTo, size, 'local', sieve)
  }

  /**
   * A change the store reports (on PostgreSQL: committed by any node, this one included). What
   * this node changed itself its views already hold (`changed`); a folder changed elsewhere is
   * announced, and its sessions catch up through `mailstore.view` (by MODSEQ). After a lost
   * listen connection (`resync`) every folder in view is announced: changes may have been missed.
   */
  private storeChanged(change: StoreChange): void {
    if (change.kind === 'mailbox') {
      const held = this.views.cachedModseq(change.mailboxId)
      if (held !== undefined && held >= change.highestModseq) return
      this.bus.publish('mailbox.changed', {user: change.user, mailboxId: change.mailboxId, highestModseq: change.highestModseq, elsewhere: true})
    } else if (change.kind === 'sieve') {
      this.sieve?.forget(change.user)
    } else if (change.kind === 'resync') {
      for (const f of this.views.cachedFolders()) this.bus.publish('mailbox.changed', {user: f.user, mailboxId: f.id, highestModseq: f.highestModseq, elsewhere: true})
    }
  }

  /**
   * which domains sign (config `dkim`, read at each message: a reload (SIGHUP) assigns into it)
   * and who signs: the mail-auth threads when the server has them
   */
  private signing(): {dkim?: DkimConfig; signer?: Signer} {
    return {dkim: this.options.dkim, signer: this.options.signer}
  }

  /** what IMAP and POP3 sessions do to a user's folders and messages */
  private clientHandlers(): (() => void)[] {
    const {bus} = this
    const {mail} = this.store
    return [
      bus.handle('mailstore.folders', ({user}) => mail.folders(user)),
      bus.handle('mailstore.createFolder', async ({user, name, specialUse}) => {
        // a session of a user removed meanwhile must not leave folders behind
        if (!(await this.store.directory.user(user))) throw new MailboxError('not-found', `no user ${user}`)
        return this.withFolderEvents(user, () => mail.createFolder(user, name, specialUse))
      }),
      bus.handle('mailstore.deleteFolder', async ({user, name}) => {
        const folder = await this.withFolderEvents(user, () => mail.deleteFolder(user, name))
        this.views.forget(folder.id)
        this.recent.forget(folder.id)
        bus.publish('mailbox.changed', {user, mailboxId: folder.id, highestModseq: folder.highestModseq})
        return {mailboxId: folder.id}
      }),
      bus.handle('mailstore.renameFolder', ({user, from, to}) => this.withFolderEvents(user, () => mail.renameFolder(user, from, to))),
      bus.handle('mailstore.subscribe', async ({user, name, subscribed}) => {
        await mail.subscribe(user, name, subscribed)
        bus.publish('folder.changed', {user, kind: 'subscription', name: normalizeFolderName(name), subscribed})
        return {}
      }),
      bus.handle('mailstore.subscriptions', ({user}) => mail.subscriptions(user)),
      bus.handle('mailstore.view', async ({user, name, mailboxId}) => {
        const folder = mailboxId !== undefined ? await mail.folderById(user, mailboxId) : name !== undefined ? await mail.folder(user, name) : undefined
        if (!folder) throw new MailboxError('not-found', `no folder ${JSON.stringify(name)}`)
        if (folder.noselect) throw new MailboxError('invalid', `${folder.name} cannot hold messages`)
        return this.views.get(folder)
      }),
      bus.handle('mailstore.claimRecent', ({mailboxId, uidNext}) => ({firstRecent: this.recent.claim(mailboxId, uidNext)})),
      bus.handle('mailstore.blobInfo', async ({blobId}) => found(await mail.blobInfo(blobId), blobId)),
      bus.handle('mailstore.blobBytes', async ({blobId}) => found(await mail.blob(blobId), blobId)),
      bus.handle('mailstore.blobInto', async ({blobId, target, offset}) => ({size: found(await mail.blobInto(blobId, target, offset), blobId)})),
      bus.handle('mailstore.searchText', async ({blobId}) => ({
        text: await searchText(mail, blobId, (err) => this.log.warn({err, blobId}, 'search text not cached')),
      })),
      bus.handle('mailstore.sortKeys', ({records}) => this.sortKeys.of(records)),
      bus.handle('mailstore.setFlags', async (req) => {
        const change = await mail.setFlags({...req, flags: normalizeFlags(req.flags)})
        this.changed(change)
        return {updated: change.updated ?? [], modified: change.modified, highestModseq: change.folder.highestModseq, modseqBefore: change.modseqBefore}
      }),
      bus.handle('mailstore.expunge', async (req) => ({expunged: this.changed(await mail.expunge(req)).expunged ?? []})),
      bus.handle('mailstore.copy', async (req) => {
        const {uidValidity, pairs, changes} = await mail.copy(req)
        changes.forEach((c) => this.changed(c))
        // after the commit, for the learning hook (src/spam/learn-actor.ts): the reply never waits for it
        const target = changes[0]
        if (target?.appended?.length) {
          bus.publish('mail.copied', {user: req.user, sourceMailboxId: req.mailboxId, target: target.folder, blobIds: target.appended.map((m) => m.blobId), move: req.move})
        }
        return {uidValidity, pairs}
      }),
      bus.handle('mailstore.append', async ({user, folder, messages}) => {
        const change = this.changed(
          await mail.append({user, folder, messages: messages.map((m) => ({...m, flags: normalizeFlags(m.flags), analysis: analyzeMessage(m.raw)}))}),
        )
        return {uidValidity: change.folder.uidValidity, uids: change.appended!.map((m) => m.uid)}
      }),
      // the usage sums the folders' counters (no message scan), as the quota check on APPEND does
      bus.handle('mailstore.quota', async ({user}) => {
        const [record, usage] = await Promise.all([this.store.directory.user(user), mail.usage(user)])
        return {limits: {quota: record?.quota ?? 0, maxMessages: record?.maxMessages}, usage}
      }),
    ]
  }

  /**
   * A change of a user's folder names (create, delete, rename): the `folder.changed` events it
   * made, found by comparing the folder list around it (two reads of the list: these commands
   * are rare, and it finds every folder they touch: made parents, renamed inferiors).
   */
  private async withFolderEvents<T>(user: string, change: () => Promise<T>): Promise<T> {
    const before = await this.store.mail.folders(user)
    const result = await change()
    for (const event of folderEvents(user, before, await this.store.mail.folders(user))) this.bus.publish('folder.changed', event)
    return result
  }

  /** after a commit: bring the cached view along and tell the sessions */
  private changed(change: FolderChange): FolderChange {
    this.views.apply(change)
    if (change.folder.highestModseq !== change.modseqBefore) {
      const kinds: MessageChangeKind[] = []
      if (change.appended?.length) kinds.push('new')
      if (change.expunged?.length) kinds.push('expunge')
      if (change.updated?.length) kinds.push('flags')
      this.bus.publish('mailbox.changed', {user: change.folder.user, mailboxId: change.folder.id, highestModseq: change.folder.highestModseq, kinds})
    }
    return change
  }

  async stop(): Promise<void> {
    for (const off of this.unregister) off()
    this.unregister = []
    await this.vacationPurge?.stop()
  }

  /** the folders Sieve scripts made at a delivery (`fileinto :create`): announced as IMAP's CREATE would be */
  private async foldersMade(sieve: SieveRun | undefined): Promise<void> {
    for (const {user, folders} of sieve?.foldersBefore ?? []) {
      // after the commit: a failed read must not turn a stored message into an SMTP error (the client would send it again)
      try {
        for (const event of folderEvents(user, folders, await this.store.mail.folders(user))) this.bus.publish('folder.changed', event)
      } catch (err) {
        this.log.warn({err, user}, 'the folders a Sieve script made could not be announced')
      }
    }
  }

  private announce(result: DeliveryResult, analysis: Analysis, mailFrom: string, rcptTo: string[], size: number, remoteAddress: string, sieve?: SieveRun): DeliverReply {
    const {from, subject} = analysis.summary
    for (const report of sieve?.reports ?? []) this.bus.publish('sieve.ran', {id: result.id, ...report})
    this.bus.publish('mail.received', {id: result.id, mailFrom, rcptTo, from, subject, size, remoteAddress})
    for (const copy of result.stored) this.bus.publish('mail.stored', {id: result.id, ...copy, from, subject, size})
    for (const change of result.changes) this.changed(change)
    for (const entry of result.queued) {
      this.bus.publish('queue.added', {id: entry.id, from: entry.from, domain: entry.domain, recipients: entry.recipients.map((r) => r.address)})
    }
    this.log.debug({id: result.id, local: result.stored.length, queued: result.queued.length, size}, 'delivered')
    const {messageId} = analysis.summary
    return {id: result.id, stored: result.stored.map(({user, folder, uid}) => ({user, folder, uid})), queued: result.queued.map((q) => q.id), ...(messageId ? {messageId} : {})}
  }
}
