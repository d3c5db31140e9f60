/**
 * One IMAP connection: the state machine of RFC 3501 §3 (not authenticated → authenticated →
 * selected → logout), one command at a time in arrival order (pipelined commands wait their
 * turn), untagged updates for the selected folder before each tagged completion, STARTTLS and
 * COMPRESS (./compression.ts) under it, raw-line modes for IDLE and AUTHENTICATE, and the
 * inactivity autologout.
 *
 * Commands are modules in ./commands/ (one per command); they talk to the mailstore actor over
 * the bus and write through `write`. A command ends by returning its completion text, or by
 * throwing `ImapError` (tagged NO/BAD), a `ParseError` (BAD) or a `MailboxError` (NO with a
 * response code); anything else is a bug, answered `NO [SERVERBUG]` and logged.
 */
import type {Socket} from 'node:net'
import type {Readable, Writable} from 'node:stream'
import {TLSSocket} from 'node:tls'
import type {Bus, FolderEvent, MessageChangeKind} from '../bus.js'
import {isMailboxError, MailboxError} from '../errors.js'
import type {Logger} from '../log.js'
import {closeWithin} from '../socket-close.js'
import {Args} from './args.js'
import {COMMANDS} from './commands/index.js'
import {Compression} from './compression.js'
import {Framing, type RefusalReason} from './framing.js'
import type {ImapLimits} from './limits.js'
import {MUTF7_NAMES, UTF8_NAMES, type NameCodec} from './names.js'
import type {Notifications} from './notify.js'
import {parseCommand, ParseError, tagOf} from './parser.js'
import type {SelectedMailbox} from './selected.js'
import type {SocketCertificates} from '../certs/tls-certificates.js'

export type State = 'not-authenticated' | 'authenticated' | 'selected' | 'logout'

export class ImapError extends Error {
  constructor(
    readonly kind: 'NO' | 'BAD',
    message: string,
    readonly code?: string,
  ) {
    super(message)
  }
}

export interface SessionOptions {
  hostname: string
  allowInsecureAuth: boolean
  limits: ImapLimits
  /** what STARTTLS wraps the socket with (the certificates current at the handshake, by SNI); absent: not offered */
  tls?: SocketCertificates
}

/** how a session tells the server what it is doing */
export interface SessionHooks {
  /** the connection is gone (a socket of the session closed); called once */
  closed(session: Session): void
  /** the folder whose `mailbox.changed` events this session wants (undefined: none) */
  watch(session: Session, mailboxId: number | undefined): void
  /** NOTIFY (RFC 5465) set or cleared: the session wants `mailbox.changed` of all its user's folders */
  notify(session: Session, on: boolean): void
  /**
   * a known command was answered (`UID FETCH` for the UID form), `seconds` after it was read
   * (metrics' latency histogram; absent: nothing is timed). IDLE is left out: it lasts as long as the client wants.
   */
  commandDone?(command: string, seconds: number): void
}

export interface CommandContext {
  tag: string
  name: string
  args: Args
  /** the UID form (UID FETCH, UID STORE …) */
  uid: boolean
}

/** what a command returns: its tagged OK text, optionally with a response code; null when it wrote its own tagged reply */
export type Completion = string | {code: string; text: string} | void | null

export interface CommandHandler {
  /** the states the command is valid in; elsewhere it gets BAD */
  states: State[]
  /** EXPUNGE responses may not be sent while answering FETCH, STORE and SEARCH (RFC 3501 §7.4.1) */
  holdsExpunges?: boolean
  run(session: Session, ctx: CommandContext): Promise<Completion>
}

const MAILBOX_ERROR_CODES: Record<string, string> = {
  'not-found': 'NONEXISTENT',
  exists: 'ALREADYEXISTS',
  invalid: 'CANNOT',
  conflict: 'CANNOT',
  quota: 'OVERQUOTA',
  'auth-failed': 'AUTHENTICATIONFAILED',
  throttled: 'UNAVAILABLE',
  disabled: 'AUTHORIZATIONFAILED',
}

interface Refusal {
  tag: string
  reason: RefusalReason
  fatal: boolean
}

/** a framed command waiting its turn, a command the framing refused, or a NOTIFY push (`push`) */
interface QueueItem {
  parts: (string | Buffer)[]
  refused?: Refusal
  push?: true
}

/** before login only a user name and a password can be sent as literals: nobody may make us buffer more */
const PREAUTH_LITERAL_LIMIT = 8 * 1024

let nextSessionId = 1

export class Session {
  readonly id = nextSessionId++
  state: State = 'not-authenticated'
  user?: string
  selected?: SelectedMailbox
  secure: boolean
  /** RFC 7162: set by the first CONDSTORE-enabling command, for the rest of the connection */
  condstore = false
  /** RFC 7162 §3.2: ENABLE QRESYNC; expunges are then reported as VANISHED */
  qresync = false
  /** RFC 9051: ENABLE IMAP4rev2; the rev1 behaviours a rev2 client does not expect are left out (docs/imap4rev2.md) */
  rev2 = false
  /** RFC 6855: ENABLE UTF8=ACCEPT; names and strings in UTF-8, SEARCH without CHARSET, APPEND's UTF8 data */
  utf8Accept = false
  private readonly framing: Framing
  private readonly queue: QueueItem[] = []
  private busy = false
  private lineWaiter?: (line: string | null) => void
  /** an IDLE in progress: called when the selected folder changes */
  private idleWaker?: () => void
  private catchingUp: Promise<void> = Promise.resolve()
  /** NOTIFY SET: what the session reports about folders other than the selected one */
  private notifications?: Notifications
  /** a NOTIFY push waits in the queue (one at a time) */
  private pushQueued = false
  /** a NOTIFY push waits for the client to read what was written */
  private pushAfterDrain = false
  /** the session has ended (BYE, LOGOUT, the client left): nothing more is read or written */
  private closed = false
  /** the socket has closed and the server was told */
  private gone = false
  /** a STARTTLS handshake is under way: the socket cannot carry a reply */
  private handshaking = false
  /** COMPRESS=DEFLATE is active: responses go through its deflater, commands come from its inflater */
  private compression?: Compression
  readonly log: Logger

  constructor(
    public socket: Socket,
    readonly bus: Bus,
    readonly options: SessionOptions,
    log: Logger,
    secure: boolean,
    private readonly hooks: SessionHooks,
  ) {
    this.secure = secure
    this.log = log.child({session: this.id, remote: socket.remoteAddress})
    this.framing = new Framing(options.limits, {
      command: (parts) => this.enqueue({parts}),
      line: (text) => this.onRawLine(text),
      continueLiteral: () => {
        this.write('+ Ready for literal data\r\n')
        // a running command sends it with its own replies
        if (!this.busy) this.flush()
      },
      refused: (tag, reason, fatal) => {
        // an over-long SASL response or IDLE line: the waiting command gets an empty line and fails
        if (this.lineWaiter && !fatal) this.lineWaiter('')
        else this.enqueue({parts: [], refused: {tag, reason, fatal}})
      },
    })
    this.framing.literalLimit = PREAUTH_LITERAL_LIMIT
    this.framing.commandLiteralLimit = PREAUTH_LITERAL_LIMIT
    this.attach(socket)
    socket.setTimeout(options.limits.preauthTimeoutMs)
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? ''
  }

  private attach(socket: Socket): void {
    socket.on('data', this.onData)
    socket.on('timeout', this.onTimeout)
    socket.on('error', (err) => this.log.debug({err}, 'imap socket error'))
    // whichever of our sockets closes first (the TCP one under TLS closes with it) ends the session
    socket.on('close', () => this.ended())
  }

  private readonly onData = (chunk: Buffer): void => this.framing.push(chunk)

  private readonly onTimeout = (): void => {
    // a handshake that does not finish: there is nobody to say BYE to
    if (this.handshaking) return void this.socket.destroy()
    // the client is not silent while we are still working on its command (a slow LOGIN under
    // load); our reply restarts the timer. Waiting for the client (IDLE's DONE, a SASL
    // response) or for it to read what we wrote does count.
    if (this.busy && !this.lineWaiter && !this.output.writableNeedDrain) return
    this.bye('Autologout; idle for too long')
  }

  greet(capabilities: string): void {
    this.socket.write(`* OK [CAPABILITY ${capabilities}] ${this.options.hostname} mailbox IMAP ready\r\n`)
  }

  /**
   * `released`: called once the socket has handed `data` to the kernel (or TLS has encrypted it),
   * when the buffer may be filled again (./reply-batch.ts). Never called when the write failed, or
   * under COMPRESS, whose deflater is not asked when it lets go of its input.
   */
  write(data: string | Buffer, released?: () => void): void {
    if (this.closed) return
    if (this.compression) this.compression.write(data)
    else if (released) this.socket.write(data, (err) => err || released())
    else this.socket.write(data)
  }

  /** where responses are written: the socket, or the deflater in front of it */
  private get output(): Writable {
    return this.compression?.deflate ?? this.socket
  }

  /** where commands are read from: the socket, or the inflater behind it */
  private get input(): Readable {
    return this.compression?.inflate ?? this.socket
  }

  /** Gathers what is written until flush() (the deflater gathers by itself). */
  cork(): void {
    if (!this.compression) this.socket.cork()
  }

  /** The end of a response burst: everything written goes out now (uncorked; under COMPRESS, a sync flush). */
  flush(): void {
    while (this.socket.writableCorked) this.socket.uncork()
    this.compression?.flush()
  }

  /** Lets written responses go out and waits while the client is slow to read (big FETCHes). */
  async drain(): Promise<void> {
    const socket = this.socket
    const output = this.output
    if (socket.writableCorked) socket.uncork()
    if (output.writableNeedDrain && !this.closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          output.off('drain', done)
          socket.off('close', done)
          resolve()
        }
        output.on('drain', done)
        socket.on('close', done)
      })
    }
    this.cork()
  }

  /** Sends `* BYE` and closes (autologout, shutdown, a deleted selected folder). */
  bye(text: string): void {
    if (this.closed) return
    this.state = 'logout'
    if (!this.handshaking) {
      this.write(`* BYE ${text}\r\n`)
      this.flush()
    }
    this.close()
  }

  /** LOGOUT: what was written goes out, then the connection closes */
  end(): void {
    this.state = 'logout'
    this.flush()
    this.close()
  }

  /** Ends the session: the socket is closed within `lingerMs`, however the client behaves. */
  private close(): void {
    if (this.closed) return
    this.closed = true
    this.lineWaiter?.(null)
    this.idleWaker?.()
    this.framing.reset()
    if (this.handshaking) this.socket.destroy()
    else if (this.compression) this.compression.close(this.options.limits.lingerMs)
    else closeWithin(this.socket, this.options.limits.lingerMs)
    this.hooks.watch(this, undefined)
    this.hooks.notify(this, false)
  }

  /** a socket of the session closed: the connection is gone */
  private ended(): void {
    this.close()
    if (this.gone) return
    this.gone = true
    this.hooks.closed(this)
  }

  /** Selects a folder (or none): the server routes that folder's change events to this session. */
  select(selected: SelectedMailbox | undefined): void {
    this.selected = selected
    if (selected) {
      selected.showModseq = this.condstore
      selected.vanished = this.qresync
      selected.reportRecent = !this.rev2
    }
    this.state = selected ? 'selected' : 'authenticated'
    this.hooks.watch(this, selected?.mailboxId)
  }

  get isClosed(): boolean {
    return this.closed
  }

  private enqueue(item: QueueItem): void {
    this.queue.push(item)
    // a client that pipelines without reading replies must not make us buffer without bound
    if (this.queue.length > 32) this.input.pause()
    if (!this.busy) void this.runQueue()
  }

  private async runQueue(): Promise<void> {
    this.busy = true
    try {
      while (this.queue.length && !this.closed) {
        const item = this.queue.shift()!
        if (this.queue.length <= 8 && this.input.isPaused()) this.input.resume()
        this.cork()
        try {
          if (item.push) await this.push()
          else if (item.refused) this.answerRefused(item.refused)
          else await this.runCommand(item.parts)
        } finally {
          this.flush()
        }
        if (this.state === 'logout') break
      }
    } finally {
      this.busy = false
    }
  }

  /**
   * A command the framing dropped gets its tagged reply. When that is not enough — the client
   * sends the bytes of a refused LITERAL+ literal anyway (fatal), or its tag could not be read so
   * it would wait for "+" or a tagged reply for ever — the session also says BYE and closes.
   */
  private answerRefused({tag, reason, fatal}: Refusal): void {
    const tooBig =
      reason === 'command-too-big'
        ? `[TOOBIG] The command's literals together are larger than the limit (${this.framing.commandLiteralLimit} octets)`
        : `[TOOBIG] Literal is larger than the limit (${this.framing.literalLimit} octets)`
    const literal = reason !== 'line-too-long'
    if (literal && tag !== '*') this.write(`${tag} NO ${tooBig}\r\n`)
    else if (!literal) this.write(`${tag} BAD Command line too long (limit ${this.options.limits.maxLineLength} octets)\r\n`)
    if (fatal || (literal && tag === '*')) this.bye(literal ? tooBig : 'Command line too long')
  }

  private async runCommand(parts: (string | Buffer)[]): Promise<void> {
    // a command that does not parse still gets a tagged BAD when its tag can be read (RFC 3501 §7.1.3):
    // read then, not before every command
    let tag: string | undefined
    let timed: string | undefined
    let started = 0
    try {
      const parsed = parseCommand(parts)
      tag = parsed.tag
      let name = parsed.name
      let args = parsed.args
      let uid = false
      if (name === 'UID') {
        const sub = args[0]
        if (sub?.type !== 'atom') throw new ParseError('UID needs a command')
        name = sub.value.toUpperCase()
        args = args.slice(1)
        uid = true
        if (!['FETCH', 'STORE', 'SEARCH', 'SORT', 'THREAD', 'COPY', 'MOVE', 'EXPUNGE'].includes(name)) throw new ParseError(`UID ${name} is not a command`)
      }
      const handler = COMMANDS.get(name)
      if (!handler) throw new ImapError('BAD', `Unknown command ${name.slice(0, 40)}`)
      if (!handler.states.includes(this.state)) throw new ImapError('BAD', `${name} is not valid ${STATE_PHRASE[this.state]}`)
      const ctx: CommandContext = {tag, name, args: new Args(args, name, this.names), uid}
      if (this.hooks.commandDone && name !== 'IDLE') {
        timed = uid ? `UID ${name}` : name
        started = performance.now()
      }
      const done = await handler.run(this, ctx)
      if (done === null || this.closed || this.state === 'logout') return
      if (this.selected) await this.catchUp(uid || !handler.holdsExpunges)
      if (this.notifications?.due) await this.sendNotifications()
      const {code, text} = typeof done === 'object' ? done : {code: undefined, text: done ?? `${uid ? 'UID ' : ''}${name} completed`}
      this.write(`${tag} OK ${code ? `[${code}] ` : ''}${text}\r\n`)
    } catch (err) {
      if (this.closed) return
      tag ??= typeof parts[0] === 'string' ? tagOf(parts[0]) : '*'
      this.write(this.failure(tag, err))
    } finally {
      if (timed) this.hooks.commandDone!(timed, (performance.now() - started) / 1000)
    }
  }

  private failure(tag: string, err: unknown): string {
    if (err instanceof ParseError) return `${tag} BAD ${responseText(err.message)}\r\n`
    if (err instanceof ImapError) return `${tag} ${err.kind} ${err.code ? `[${err.code}] ` : ''}${responseText(err.message)}\r\n`
    if (isMailboxError(err)) {
      const code = MAILBOX_ERROR_CODES[err.code]
      return `${tag} NO ${code ? `[${code}] ` : ''}${responseText(err.message)}\r\n`
    }
    this.log.error({err}, 'imap command failed')
    return `${tag} NO [SERVERBUG] Internal error\r\n`
  }

  /** Sends the selected folder's pending changes (see SelectedMailbox.catchUp). */
  catchUp(allowExpunge: boolean, force = false, flags = true): Promise<void> {
    const run = async () => {
      const selected = this.selected
      if (!selected || !this.user || this.closed) return
      if (!selected.dirty && !force) return
      let view
      try {
        view = await this.bus.call('mailstore.view', {user: this.user, mailboxId: selected.mailboxId})
      } catch (err) {
        if (!isMailboxError(err, 'not-found') && !isMailboxError(err, 'invalid')) throw err
        this.bye('Selected folder was deleted, have to disconnect')
        return
      }
      if (view.folder.uidValidity !== selected.uidValidity) {
        this.bye('Selected folder was recreated, have to disconnect')
        return
      }
      let recent: [number, number] | undefined
      const last = selected.uids.length ? selected.uids[selected.uids.length - 1]! : 0
      if (view.folder.uidNext - 1 > last) recent = await recentRange(this.bus, selected.mailboxId, view.folder.uidNext, selected.readOnly)
      for (const line of selected.catchUp(view, allowExpunge, recent, flags)) this.write(line)
      // NOTIFY's MessageNew fetch attributes: a FETCH of the new messages after their EXISTS (RFC 5465 §5.1)
      const arrived: number[] = []
      for (let i = selected.uids.length - 1; i >= 0 && selected.uids[i]! > last; i--) arrived.unshift(selected.uids[i]!)
      if (arrived.length && this.notifications) await this.notifications.fetchArrivals(this, arrived)
      for (const line of await selected.searchContexts.refresh(this, view)) this.write(line)
    }
    this.catchingUp = this.catchingUp.then(run, run)
    return this.catchingUp
  }

  /** a CONDSTORE-enabling command was seen (RFC 7162 §3.1) */
  enableCondstore(): void {
    this.condstore = true
    if (this.selected) this.selected.showModseq = true
  }

  enableQresync(): void {
    this.qresync = true
    this.enableCondstore()
    if (this.selected) this.selected.vanished = true
  }

  /** how mailbox names are spelled on the wire: UTF-8 after ENABLE UTF8=ACCEPT or IMAP4rev2 (RFC 9051 §5.1), else modified UTF-7 */
  get names(): NameCodec {
    return this.utf8Accept || this.rev2 ? UTF8_NAMES : MUTF7_NAMES
  }

  enableRev2(): void {
    this.rev2 = true
    if (this.selected) this.selected.reportRecent = false
  }

  /** the selected folder changed (a bus event): during IDLE tell the client at once, otherwise with the next command */
  folderChanged(): void {
    if (!this.selected) return
    this.selected.dirty = true
    this.idleWaker?.()
    if (this.notifications?.pushesSelected) this.schedulePush()
  }

  /** NOTIFY SET (a spec) or NONE (undefined): from now on, changes of the user's other folders are reported, or not */
  setNotifications(notifications: Notifications | undefined): void {
    this.notifications = notifications
    this.hooks.notify(this, notifications !== undefined)
  }

  /** a folder of the user changed (a bus event, for a session with NOTIFY set); during IDLE it is reported at once */
  mailboxChanged(mailboxId: number, kinds?: MessageChangeKind[]): void {
    if (!this.notifications || mailboxId === this.selected?.mailboxId) return
    this.notifications.changed(mailboxId, kinds)
    this.idleWaker?.()
    this.schedulePush()
  }

  /** a folder of the user was created, deleted, renamed or (un)subscribed (a bus event, for a session with NOTIFY set) */
  folderEvent(event: FolderEvent): void {
    if (!this.notifications) return
    this.notifications.folderEvent(event)
    this.idleWaker?.()
    this.schedulePush()
  }

  /**
   * With NOTIFY set the server tells of changes as they happen, not only during IDLE or with a
   * command's responses (RFC 5465 §1, §3): a push takes a turn in the command queue, so it never
   * cuts into a command's responses (a running command's completion sends what is due anyway).
   * During IDLE the IDLE loop sends it.
   */
  private schedulePush(): void {
    if (this.pushQueued || this.closed || this.idleWaker || !this.notifications) return
    this.pushQueued = true
    this.enqueue({parts: [], push: true})
  }

  /**
   * A push: the selected folder's changes when NOTIFY's SELECTED group asks for message events —
   * expunges only with SELECTED and MessageExpunge (SELECTED-DELAYED holds them for a command that
   * allows them, §6; RFC 3501 §7.4.1 has them wait for a command otherwise), flag changes only with
   * FlagChange (else they wait for the next command) — and the NOTIFY reports due.
   */
  private async push(): Promise<void> {
    this.pushQueued = false
    const notifications = this.notifications
    if (!notifications || this.state === 'logout') return
    // a client that does not read: nothing more is written until it does; meanwhile the reports
    // gather in `notifications`, bounded (imap.maxNotifyPending, then [NOTIFICATIONOVERFLOW])
    const output = this.output
    if (output.writableNeedDrain) {
      if (!this.pushAfterDrain) {
        this.pushAfterDrain = true
        output.once('drain', () => {
          this.pushAfterDrain = false
          this.schedulePush()
        })
      }
      return
    }
    try {
      if (this.selected?.dirty && notifications.pushesSelected) await this.catchUp(notifications.pushes('MessageExpunge'), false, notifications.pushes('FlagChange'))
      if (notifications.due) await this.sendNotifications()
    } catch (err) {
      this.log.warn({err}, 'imap notify push failed')
    }
  }

  /** the NOTIFY reports due (RFC 5465 §5.2); after an overflow NOTIFY is off */
  private async sendNotifications(): Promise<void> {
    const notifications = this.notifications
    if (!notifications || this.closed) return
    const {lines, overflow} = await notifications.take(this)
    if (overflow && this.notifications === notifications) this.setNotifications(undefined)
    for (const line of lines) this.write(line)
  }

  /** IDLE: waits for DONE while pushing the folder's changes as they happen. */
  async idle(): Promise<string | null> {
    this.write('+ idling\r\n')
    this.flush()
    this.socket.setTimeout(this.options.limits.idleTimeoutMs)
    const ended = this.readLine()
    let done = false
    void ended.then(() => (done = true))
    while (!done && !this.closed) {
      if (this.selected?.dirty || this.notifications?.due) {
        if (this.selected?.dirty) await this.catchUp(true).catch((err: unknown) => this.log.warn({err}, 'imap idle update failed'))
        if (this.notifications?.due) await this.sendNotifications().catch((err: unknown) => this.log.warn({err}, 'imap idle notification failed'))
        this.flush()
        continue
      }
      await Promise.race([ended, new Promise<void>((resolve) => (this.idleWaker = resolve))])
      this.idleWaker = undefined
    }
    this.idleWaker = undefined
    this.cork()
    return ended
  }

  /** the next line from the client as it is (AUTHENTICATE responses, IDLE's DONE); null when the connection closed */
  readLine(): Promise<string | null> {
    this.framing.rawLines = true
    return new Promise((resolve) => {
      this.lineWaiter = (line) => {
        this.lineWaiter = undefined
        this.framing.rawLines = false
        resolve(line)
      }
    })
  }

  private onRawLine(text: string): void {
    if (this.lineWaiter) this.lineWaiter(text)
    else this.enqueue({parts: [text]})
  }

  loggedIn(user: string): void {
    this.user = user
    this.state = 'authenticated'
    this.framing.literalLimit = this.options.limits.maxLiteralSize
    this.framing.commandLiteralLimit = this.options.limits.maxAppendSize
    this.socket.setTimeout(this.options.limits.idleTimeoutMs)
    this.log.debug({user}, 'imap session logged in') // the auth actor logs the login itself
  }

  /** STARTTLS: the tagged OK has been written in the clear; from here on the socket is TLS. */
  async startTls(): Promise<void> {
    const plain = this.socket
    while (plain.writableCorked) plain.uncork()
    // the TLS socket reads the TCP socket from now on; the TCP socket keeps its 'close' and
    // 'error' listeners (ours, and the server's that releases the connection slot)
    plain.off('data', this.onData)
    plain.off('timeout', this.onTimeout)
    plain.setTimeout(0)
    // anything the client sent after STARTTLS in the clear must not be obeyed (CVE-2011-0411 class)
    this.framing.reset()
    this.queue.length = 0
    const secure = new TLSSocket(plain, this.options.tls!.socketOptions())
    this.socket = secure
    this.secure = true
    this.handshaking = true
    this.attach(secure)
    secure.setTimeout(this.options.limits.handshakeTimeoutMs)
    // a failed handshake (garbage, a reset, a client that rejects the certificate, silence until
    // the timeout) is the client's problem: the socket closes, nothing to answer
    const ok = await new Promise<boolean>((resolve) => {
      secure.once('secure', () => resolve(true))
      secure.once('close', () => resolve(false))
      secure.once('error', () => resolve(false))
    })
    this.handshaking = false
    if (!ok) return void secure.destroy()
    secure.setTimeout(this.options.limits.preauthTimeoutMs)
    secure.cork()
  }

  get compressed(): boolean {
    return this.compression !== undefined
  }

  /**
   * COMPRESS=DEFLATE (RFC 4978 §3): the tagged OK has been written; it goes out as it is, and
   * everything after it, both ways, is deflated. Like STARTTLS, anything the client sent after
   * the command without waiting for the OK is not obeyed.
   */
  startCompression(): void {
    this.flush()
    const socket = this.socket
    socket.off('data', this.onData)
    this.framing.reset()
    this.queue.length = 0
    this.compression = new Compression(socket, this.options.limits.compressionLevel, this.onData, (err) => {
      this.log.debug({err}, 'imap client sent invalid deflate data')
      this.compression?.stopInput()
      this.bye('Invalid compressed data')
    })
  }
}

/**
 * Error texts may quote what the client sent. They must stay one line, and must not end like a
 * literal announcement (`{3}`): a client would wait for bytes that never come.
 */
function responseText(message: string): string {
  const text = message.replace(/[\u0000-\u001f\u007f]/g, ' ')
  return text.endsWith('}') ? text + '.' : text
}

const STATE_PHRASE: Record<State, string> = {
  'not-authenticated': 'before login',
  authenticated: 'without a selected folder',
  selected: 'with a folder selected',
  logout: 'after LOGOUT',
}

/**
 * The messages below `uidNext` that are \Recent for a session told about them now (RFC 3501
 * §2.3.2): a read-write session claims the ones nobody claimed (no later session sees them as
 * recent); a read-only one (EXAMINE) only looks (RFC 3501 §6.3.2: it must not take \Recent away).
 */
export async function recentRange(bus: Bus, mailboxId: number, uidNext: number, readOnly: boolean): Promise<[number, number]> {
  const {firstRecent} = await bus.call('mailstore.claimRecent', {mailboxId, ...(readOnly ? {} : {uidNext})})
  return [firstRecent, uidNext]
}

export function noFolderError(name: string): MailboxError {
  return new MailboxError('not-found', `No folder ${JSON.stringify(name)}`)
}
