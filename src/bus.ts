/**
 * The in-process bus the actors talk through. Actors never import each other: they register
 * handlers for actions (`call`, request/reply, the fmail "ok"/"error" pair) and publish events
 * (fan-out to IDLE sessions, the matcher, the dashboard, the control socket's subscribers).
 *
 * `ActionMap` and `EventMap` are the one list of names; a typo does not compile.
 */
import type {AcmeRenewResult} from './acme/manager.js'
import type {CheckReply, CheckRequest, SignRequest} from './mail-auth/actor.js'
import type {DeliverReply, DeliverRequest, InjectBody, ResolveRequest} from './mailstore/actor.js'
import type {Usage} from './mailstore/folder-rules.js'
import type {MailboxView} from './mailstore/mailbox-view.js'
import type {SortKeys} from './mime/sort-keys.js'
import type {FailResult} from './queue/fail.js'
import type {SpamCheckReply, SpamCheckRequest, SpamConnectRequest} from './spam/actor.js'
import type {RspamdCheckReply, RspamdCheckRequest} from './spam/rspamd-types.js'
import type {SpamAction} from './spam/score.js'
import type {ServerStatus} from './status.js'
import type {AppendMessage, CopyRequest, ExpungeRequest, FlagsRequest} from './store/backend.js'
import type {BlobInfoRecord, MailboxRecord, MessageRecord, QueueEntry, SpecialUse} from './store/records.js'
import type {UserLimits} from './store/user-limits.js'

export interface ActionMap {
  /** does this address name an enabled local user? (fmail `verify`) */
  'auth.verify': {req: {address: string}; res: {exists: boolean; disabled: boolean}}
  /** check a password (fmail `auth`); rejects with MailboxError auth-failed / throttled / disabled */
  'auth.login': {req: LoginRequest; res: {address: string}}
  /** may this logged-in user send as this address? (their own, or an alias delivering to them) */
  'auth.sender': {req: {user: string; sender: string}; res: {allowed: boolean}}
  'server.status': {req: Record<string, never>; res: ServerStatus}
  /** `mailbox cert renew [NAME]`: order now (due or not) the certificate of one name, or of every name */
  'acme.renew': {req: {name?: string}; res: AcmeRenewResult[]}
  /** final recipients of an address; rejects not-found / disabled / quota */
  'mailstore.resolve': {req: ResolveRequest; res: {local: string[]; remote: string[]}}
  /** an SMTP connection came: the mail-auth threads start now if they have not (src/mail-auth/actor.ts) */
  'mailauth.warm': {req: Record<string, never>; res: null}
  /** MX, end of DATA: SPF, DKIM, DMARC and ARC verdicts, our Authentication-Results, and what to do */
  'mailauth.check': {req: CheckRequest; res: CheckReply}
  /** MX connections (src/spam/actor.ts): the block and allow list lookups start at connect, go at close */
  'spam.connect': {req: SpamConnectRequest; res: null}
  'spam.close': {req: {session: string}; res: null}
  /** at MAIL FROM: the HELO name the connection gave (its lookup starts) */
  'spam.helo': {req: {session: string; helo: string}; res: null}
  /** a RCPT named nobody; `close`: over the connection's allowance, answer 421 and close */
  'spam.unknownRecipient': {req: {session: string}; res: {close: boolean}}
  /** whether a DNS allow list vouches for the connection's client (greylisting skips it) */
  'spam.allowListed': {req: {session: string}; res: {allowListed: boolean}}
  /** MX, end of DATA, after mailauth.check: the score, what to do, our X-Spam-* fields */
  'spam.check': {req: SpamCheckRequest; res: SpamCheckReply}
  /** asked by spam.check instead of the built-in thresholds when spam.rspamd.url is set */
  'rspamd.check': {req: RspamdCheckRequest; res: RspamdCheckReply}
  /** the DKIM-Signature fields for a message that leaves, made off the event loop */
  'mailauth.sign': {req: SignRequest; res: Buffer}
  /** store a message for local users and queue it for remote ones, durably, in one commit */
  'mailstore.deliver': {req: DeliverRequest; res: DeliverReply}
  /** a stored message's bytes and bookkeeping, by the id of `mail.received` */
  'mailstore.blob': {req: {id: string}; res: {raw: Buffer; info: BlobInfoRecord}}
  /** messages stored since a moment (epoch ms), oldest first */
  'mailstore.recent': {req: {since: number}; res: {id: string; info: BlobInfoRecord}[]}
  /** capture mode: the fault a rule injects for these recipients at this stage, if any */
  /**
   * RCPT on the MX, for a recipient resolved as local: greylist it? null: go on; else refuse for
   * now with 450 4.7.1 and this many seconds (src/spam/greylist-actor.ts)
   */
  'greylist.check': {req: GreylistRequest; res: {retryInSeconds: number} | null}
  'capture.fault': {req: {stage: 'rcpt' | 'data'; recipients: string[]}; res: {code: number; text: string} | null}
  /** `mailbox queue …` through the live server (serialized with the sending); each returns the changed entries */
  'queue.retry': {req: {id?: string}; res: QueueEntry[]}
  'queue.hold': {req: {id: string}; res: QueueEntry}
  'queue.release': {req: {id: string}; res: QueueEntry}
  'queue.delete': {req: {id: string}; res: QueueEntry}
  /** every deferred entry due now, or only those of one destination domain */
  'queue.flush': {req: {domain?: string}; res: QueueEntry[]}
  /** fail an entry now with a bounce to its sender (`queue fail`) */
  'queue.fail': {req: {id: string}; res: FailResult}
  /** `mailbox send` through the live server: a trusted local sender */
  'mailstore.inject': {req: InjectBody; res: DeliverReply}
  /**
   * another process (`mailbox import` on the same LMDB data dir) committed to a folder: its
   * sessions catch up now, as after a change another node made (PostgreSQL's change feed)
   */
  'mailstore.changedElsewhere': {req: {user: string; mailboxId: number; highestModseq: number}; res: null}

  // A mail client's view of one user's folders (IMAP, POP3). Every call names the user, and
  // folders are reached only through that user's keys: no request can name another's mail.
  /** the user's folders, INBOX first */
  'mailstore.folders': {req: {user: string}; res: MailboxRecord[]}
  'mailstore.createFolder': {req: {user: string; name: string; specialUse?: SpecialUse}; res: MailboxRecord}
  /** answers the deleted folder's id (a session that has it selected follows it by id, whatever its name now) */
  'mailstore.deleteFolder': {req: {user: string; name: string}; res: {mailboxId: number}}
  'mailstore.renameFolder': {req: {user: string; from: string; to: string}; res: MailboxRecord}
  'mailstore.subscribe': {req: {user: string; name: string; subscribed: boolean}; res: Record<string, never>}
  /** the user's subscribed names (folders or not) */
  'mailstore.subscriptions': {req: {user: string}; res: string[]}
  /** every message entry of a folder, by name or (to follow a selected folder through renames) by id */
  'mailstore.view': {req: {user: string; name?: string; mailboxId?: number}; res: MailboxView}
  /** the first UID that is \Recent for the session that claims a folder's messages up to `uidNext`; without `uidNext` it only looks */
  'mailstore.claimRecent': {req: {mailboxId: number; uidNext?: number}; res: {firstRecent: number}}
  'mailstore.blobInfo': {req: {blobId: string}; res: BlobInfoRecord}
  /** a message's bytes only (FETCH BODY[], POP3 RETR), without decoding its bookkeeping */
  'mailstore.blobBytes': {req: {blobId: string}; res: Buffer}
  /** a message's bytes copied into `target` at `offset` if they fit; `size`: how many there are (see store.mail.blobInto) */
  'mailstore.blobInto': {req: {blobId: string; target: Buffer; offset: number}; res: {size: number}}
  /** the decoded text of a message, for SEARCH BODY/TEXT */
  'mailstore.searchText': {req: {blobId: string}; res: {text: string}}
  /** what SORT and THREAD compare of each message, in the order given (cached by blob id, and by array for a folder view's `records`) */
  'mailstore.sortKeys': {req: {records: readonly MessageRecord[]}; res: SortKeys[]}
  /** flags as the client gave them: the actor makes them canonical */
  /** `modseqBefore`: the folder's HIGHESTMODSEQ before the commit (a session knows whether anything else changed first) */
  'mailstore.setFlags': {req: FlagsRequest; res: {updated: MessageRecord[]; modified: number[]; highestModseq: number; modseqBefore: number}}
  'mailstore.expunge': {req: ExpungeRequest; res: {expunged: number[]}}
  'mailstore.copy': {req: CopyRequest; res: {uidValidity: number; pairs: [number, number][]}}
  /** the actor analyzes the message (the store takes the analysis) */
  /** one message, or several (MULTIAPPEND): all of them or none; `uids` in the order given */
  'mailstore.append': {req: {user: string; folder: string; messages: Omit<AppendMessage, 'analysis'>[]}; res: {uidValidity: number; uids: number[]}}
  /** a user's limits (quota in bytes, message limit; 0 / absent: none) and what their folders hold together (IMAP QUOTA, RFC 9208) */
  'mailstore.quota': {req: {user: string}; res: {limits: UserLimits; usage: Usage}}
}

export interface EventMap {
  'auth.succeeded': {address: string; remoteAddress: string; protocol: string}
  'auth.failed': {username: string; remoteAddress: string; protocol: string; reason: 'bad-credentials' | 'throttled' | 'disabled'}
  /**
   * SMTP refused a command of a mail transaction (MAIL, RCPT or the message); `reason`: which
   * reply (a key of src/smtp/codes.ts `reply`, `captureRule`, or `other`)
   */
  'smtp.rejected': {stage: 'mail' | 'rcpt' | 'data'; reason: string; remoteAddress: string}
  /**
   * a greylisting decision (src/spam/greylist-actor.ts); `reason`: for `wait`, `first` or `early`;
   * for `pass`, `retried`, `passed`, `network`, `full` or `error`; for `skip`, `authenticated`,
   * `allow-listed` or `allow-network`
   */
  'greylist.checked': {result: 'wait' | 'pass' | 'skip'; reason: string; request: GreylistRequest}
  /** the spam check decided about a message (once per message scored) */
  'spam.decided': {action: SpamAction}
  /** a user's Sieve script ran at the delivery of message `id` (src/sieve-delivery/): what it did */
  'sieve.ran': {id: string; user: string; script: string; actions: string[]; errors?: string[]; steps: number; ms: number}
  'server.started': {pid: number}
  'server.stopping': {pid: number}
  /** a message was accepted (once per message) */
  'mail.received': {id: string; mailFrom: string; rcptTo: string[]; from: string; subject: string; size: number; remoteAddress: string}
  /** a copy was stored in a folder (once per local recipient) */
  'mail.stored': {id: string; user: string; folder: string; uid: number; uidValidity: number; from: string; subject: string; size: number}
  /** a folder's messages or flags changed (after the commit); selected IMAP sessions catch up from the folder's view */
  /** `elsewhere`: made by another node sharing the store (reported by the store's change feed) */
  /** `kinds`: what changed, when known (NOTIFY reports a folder only for the event kinds asked for) */
  'mailbox.changed': {user: string; mailboxId: number; highestModseq: number; elsewhere?: boolean; kinds?: MessageChangeKind[]}
  /**
   * a folder was created, deleted (or left as a \Noselect placeholder) or renamed (`name`: the name now,
   * `oldName`: before), or (un)subscribed (`subscribed`); after the commit, for NOTIFY (RFC 5465 §5.4, §5.5)
   */
  'folder.changed': FolderEvent
  'queue.added': {id: string; from: string; domain: string; recipients: string[]}
  'queue.sending': {id: string; domain: string; attempt: number}
  'queue.delivered': QueueOutcome
  'queue.deferred': QueueOutcome
  'queue.failed': QueueOutcome
  'queue.bounced': {id: string; to: string; recipients: string[]}
  'delivery.attempt': {id: string; attempt: number; host: string; state: 'delivered' | 'deferred' | 'failed'}
  'matcher.matched': {matchId: string; messageId: string}
  'matcher.expired': {matchId: string}
  /** messages were copied or moved between a user's folders (after the commit): the learning hook */
  'mail.copied': {user: string; sourceMailboxId: number; target: MailboxRecord; blobIds: string[]; move: boolean}
  /** rspamd answered a check (its action) or did not (`failed`: timeout, error) */
  'rspamd.checked': {action: string; failed?: string; seconds: number}
  /**
   * what became of messages a user moved into or out of Junk (src/spam/learn-actor.ts): queued for
   * rspamd, learned, dropped (gone, refused, out of attempts, queue full) or untrained (no rspamd)
   */
  'spam.learn': {kind: 'spam' | 'ham'; outcome: LearnOutcome; count: number}
}

export type LearnOutcome = 'queued' | 'learned' | 'failed' | 'gone' | 'overflow' | 'untrained'

/** messages arrived, were expunged, or had their flags changed */
export type MessageChangeKind = 'new' | 'expunge' | 'flags'

export type FolderEvent =
  /** `folder`: what the folder is after the change (null: gone), as LIST shows it; `subscribed`: it is, or was */
  | {user: string; kind: 'name'; name: string; oldName?: string; folder: FolderShape | null; subscribed: boolean}
  | {user: string; kind: 'subscription'; name: string; subscribed: boolean}

export interface FolderShape {
  noselect: boolean
  children: boolean
  specialUse?: SpecialUse
}

/** one recipient of an SMTP transaction, as greylisting sees it */
export interface GreylistRequest {
  remoteAddress: string
  /** normalized; '' for the null sender */
  mailFrom: string
  /** normalized */
  rcpt: string
  authenticated: boolean
  /** allow-listed by a DNSWL, when the caller knows already (else the actor asks `spam.allowListed` for `session`) */
  allowListed?: boolean
  /** the SMTP session's id: what `spam.allowListed` knows the connection by */
  session?: string
}

/** a login attempt as a front-end saw it; the actor logs each outcome with all but the password */
export interface LoginRequest {
  username: string
  password: string
  remoteAddress: string
  /** `http`: HTTP Basic on the HTTPS port (a user's profile download, src/autoconfig/profile-route.ts) */
  protocol: 'smtp' | 'imap' | 'pop3' | 'managesieve' | 'http'
  mechanism: LoginMechanism
  /** how the connection is protected: `none`, or the TLS version (see src/tls-label.ts) */
  tls: string
}

/**
 * SASL `PLAIN` or `LOGIN` (SMTP AUTH, IMAP AUTHENTICATE, POP3 AUTH, ManageSieve AUTHENTICATE), or `password`: the
 * protocol's own clear-text command (IMAP LOGIN, POP3 USER/PASS)
 */
export type LoginMechanism = 'PLAIN' | 'LOGIN' | 'password'

export interface QueueOutcome {
  id: string
  domain: string
  recipients: string[]
  lastError?: string
}

export type Action = keyof ActionMap
export type EventName = keyof EventMap
export type Request<A extends Action> = ActionMap[A]['req']
export type Reply<A extends Action> = ActionMap[A]['res']
export type Handler<A extends Action> = (body: Request<A>) => Reply<A> | Promise<Reply<A>>
export interface BusEvent<E extends EventName = EventName> {
  event: E
  body: EventMap[E]
  time: number
}
export type Listener = (event: BusEvent) => void

export class Bus {
  private readonly handlers = new Map<Action, Handler<Action>>()
  private readonly listeners = new Map<string, Set<Listener>>()

  handle<A extends Action>(action: A, handler: Handler<A>): () => void {
    if (this.handlers.has(action)) throw new Error(`bus: ${action} already has a handler`)
    const registered = handler as unknown as Handler<Action>
    this.handlers.set(action, registered)
    // only ever removes this registration: a stale unregister must not drop a later handler
    return () => void (this.handlers.get(action) === registered && this.handlers.delete(action))
  }

  has(action: string): action is Action {
    return this.handlers.has(action as Action)
  }

  async call<A extends Action>(action: A, body: Request<A>): Promise<Reply<A>> {
    const handler = this.handlers.get(action)
    if (!handler) throw new Error(`bus: no handler for ${action}`)
    return (await handler(body as Request<Action>)) as Reply<A>
  }

  /**
   * Subscribes to an event name, a family (`auth.*`) or everything (`*`).
   * Listeners run synchronously and must not throw; one that does is isolated and reported.
   */
  subscribe(pattern: EventName | `${string}.*` | '*', listener: Listener): () => void {
    let set = this.listeners.get(pattern)
    if (!set) this.listeners.set(pattern, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  publish<E extends EventName>(event: E, body: EventMap[E]): void {
    const message: BusEvent = {event, body, time: Date.now()}
    const family = event.slice(0, event.indexOf('.')) + '.*'
    for (const key of [event, family, '*']) {
      for (const listener of this.listeners.get(key) ?? []) {
        try {
          listener(message)
        } catch (err) {
          this.onListenerError(err, message)
        }
      }
    }
  }

  onListenerError: (err: unknown, event: BusEvent) => void = (err) => {
    process.emitWarning(`bus listener failed: ${(err as Error).message}`)
  }
}

/** An actor owns one concern, registers its bus handlers in `start()` and releases them in `stop()`. */
export interface Actor {
  readonly name: string
  start(): Promise<void>
  stop(): Promise<void>
}
