/**
 * Helpers for the outbound queue suites: a scriptable receiving SMTP server (smtp-server on
 * 127.0.0.1), the loopback DNS responder (../helpers/dns.ts), `mailbox send` / `queue …`
 * wrappers, store polling for queue states, and a small parser for the bounces (RFC 3464).
 */
import {writeFileSync} from 'node:fs'
import {createServer} from 'node:net'
import {dirname, join} from 'node:path'
import {SMTPServer, type SMTPServerSession} from 'smtp-server'
import {expect} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {setupUsers} from './smtp-helpers.js'
import type {MailboxStore} from '../../src/store/backend.js'
import {openTestStore, withTestStore} from '../helpers/test-store.js'
import {sendMessage, type SendReply} from '../../src/cli/send-message.js'
import type {DeliveryAttemptRecord, QueueEntry, QueueState} from '../../src/store/records.js'

// ---------------------------------------------------------------------------------------------
// Receiving SMTP server

export interface ReceivedMessage {
  from: string
  to: string[]
  raw: string
  secure: boolean
  /** the EHLO name the client used */
  clientName: string
  /** the user the client authenticated as, if it did */
  authUser?: string
}

/** What the receiver answers: accept (undefined), an SMTP error, drop the connection, or never answer. */
export type Verdict = undefined | {code: number; message: string} | 'drop' | 'stall'

export interface ReceiverOptions {
  port?: number
  /** a loopback address to listen on (default 127.0.0.1) */
  host?: string
  /** key/cert: offer STARTTLS with them */
  tls?: {key: Buffer | string; cert: Buffer | string}
  /** with `tls`: TLS from the first byte (as on port 465) instead of STARTTLS */
  implicitTls?: boolean
  /** offer AUTH (over plaintext too) with these methods, accepting only this user and password */
  auth?: {methods: string[]; user: string; pass: string}
}

export class Receiver {
  readonly messages: ReceivedMessage[] = []
  /** every RCPT TO the receiver was asked, in order */
  readonly rcptSeen: string[] = []
  /** AUTH commands the receiver was sent (accepted or not), and whether each came over TLS */
  readonly authAttempts: {user: string; secure: boolean}[] = []
  /** DATA commands whose content arrived (accepted or not) */
  dataCount = 0
  /** scripted answer to RCPT TO; default accepts */
  rcpt: (address: string, session: SMTPServerSession) => Verdict = () => undefined
  /** scripted answer after the message data (`n` counts DATA transactions from 1); default accepts */
  data: (n: number, session: SMTPServerSession) => Verdict = () => undefined
  /** DATA transactions held without an answer ('stall'), oldest first */
  readonly stalled: {session: SMTPServerSession; accept: () => void}[] = []
  private waiters: (() => void)[] = []

  private constructor(
    readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(options: ReceiverOptions = {}): Promise<Receiver> {
    let self: Receiver | undefined
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: [...(options.tls ? [] : ['STARTTLS']), ...(options.auth ? [] : ['AUTH'])],
      ...(options.tls ? {key: options.tls.key, cert: options.tls.cert, secure: options.implicitTls === true} : {}),
      ...(options.auth ? {authMethods: options.auth.methods, allowInsecureAuth: true} : {}),
      onAuth: (auth, session, callback) => {
        self!.authAttempts.push({user: auth.username ?? '', secure: session.secure})
        const ok = options.auth && auth.username === options.auth.user && auth.password === options.auth.pass
        if (!ok) return callback(smtpError({code: 535, message: '5.7.8 authentication failed'}))
        callback(null, {user: auth.username})
      },
      logger: false,
      disableReverseLookup: true,
      banner: 'test receiver',
      onRcptTo: (address, session, callback) => {
        self!.rcptSeen.push(address.address)
        const verdict = self!.rcpt(address.address, session)
        if (verdict === 'drop') return self!.dropSession(session)
        if (verdict === 'stall') return
        callback(verdict ? smtpError(verdict) : null)
      },
      onData: (stream, session, callback) => {
        const n = ++self!.dataCount
        const verdict = self!.data(n, session)
        const chunks: Buffer[] = []
        let dropped = false
        stream.on('data', (c: Buffer) => {
          chunks.push(c)
          if (verdict === 'drop' && !dropped) {
            dropped = true
            self!.dropSession(session)
          }
        })
        const accept = () => {
          self!.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('latin1'),
            secure: session.secure,
            clientName: session.hostNameAppearsAs,
            ...(session.user ? {authUser: String(session.user)} : {}),
          })
          for (const w of self!.waiters.splice(0)) w()
          callback(null, 'Ok: queued by test receiver')
        }
        stream.on('end', () => {
          if (verdict === 'drop') return // never answer
          if (verdict === 'stall') return void self!.stalled.push({session, accept}) // answer when released
          if (verdict) return callback(smtpError(verdict))
          accept()
        })
      },
    })
    server.on('error', () => {})
    const port = await new Promise<number>((resolve, reject) => {
      server.server.once('error', reject)
      server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve((server.server.address() as {port: number}).port))
    })
    self = new Receiver(server, port)
    return self
  }

  private dropSession(session: SMTPServerSession): void {
    for (const c of this.server.connections) if (c.id === session.id) c._socket.destroy()
  }

  /** Resets the script to accepting everything (and forgets nothing already received). */
  acceptAll(): void {
    this.rcpt = () => undefined
    this.data = () => undefined
  }

  /** Accepts every stalled transaction now. */
  releaseStalled(): void {
    for (const s of this.stalled.splice(0)) s.accept()
  }

  /** Resolves once `n` messages were accepted in total. */
  async waitForMessages(n: number, timeoutMs = 10_000): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + timeoutMs
    while (this.messages.length < n) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`receiver got ${this.messages.length} of ${n} messages within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => (clearTimeout(timer), resolve()))
      })
    }
    return this.messages
  }

  /** Closes the listener and every connection at once (stalled ones included). */
  close(): Promise<void> {
    for (const c of this.server.connections) c._socket.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

/** whether HOST:PORT (127.0.0.1 unless given) can be listened on right now (a privileged port needs root) */
export function canListen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, host, () => srv.close(() => resolve(true)))
  })
}

function smtpError(v: {code: number; message: string}): Error {
  const err = new Error(v.message) as Error & {responseCode: number}
  err.responseCode = v.code
  return err
}

export {dnsAnswer, startDns, type DnsServer, type ZoneRecords} from '../helpers/dns.js'

// ---------------------------------------------------------------------------------------------
// mailbox CLI and store

export type {SendReply} from '../../src/cli/send-message.js'

export function message(subject: string, body = 'Hello Bob,\nthis is the body.\n', extra = ''): string {
  return `From: Alice <alice@example.com>\nTo: Bob <bob@example.net>\nSubject: ${subject}\nMessage-ID: <${subject.replace(/\W+/g, '-')}@example.com>\n${extra}\n${body}`
}

/**
 * What `mailbox send --from FROM --to TO… --json` does with `raw` on stdin, through the function
 * that command runs (src/cli/send-message.ts: the running server's control socket, else the
 * store), in this process: set-up of the queue tests, ~100 of them a run, at ~0.3 s of CPU a
 * spawn. The command itself: test/e2e/cli-send.test.ts, smtp-send, offline-mail-config, sea-smoke.
 */
export async function send(dataDir: string, from: string, to: string[], raw: string): Promise<SendReply> {
  let store: MailboxStore | undefined
  try {
    return await sendMessage(dataDir, {from, to, raw: Buffer.from(raw)}, async () => (store = await openTestStore(dataDir)))
  } finally {
    await store?.close()
  }
}

export interface ListedEntry {
  id: string
  from: string
  recipients: string[]
  domain: string
  state: QueueState
  attempts: number
  createdAt: number
  nextAttemptAt: number
  lastError: string | null
}

export const queueList = (dataDir: string, state?: QueueState) => runJson<ListedEntry[]>(['queue', 'list', ...(state ? ['--state', state] : [])], {dataDir})

export const queueShow = (dataDir: string, id: string) => runJson<QueueEntry & {attemptLog: DeliveryAttemptRecord[]}>(['queue', 'show', id], {dataDir})

/** `mailbox queue VERB ARGS…`, expecting success. */
export async function queueCmd(dataDir: string, ...args: string[]): Promise<string> {
  const r = await runCli(['queue', ...args], {dataDir})
  if (r.code !== 0) throw new Error(`mailbox queue ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

/** Reads the data dir's store on the run's backend (read-only, a fresh open each time so every poll sees the latest commit). */
export function peek<T>(dataDir: string, fn: (store: MailboxStore) => T | Promise<T>): Promise<T> {
  return withTestStore(dataDir, fn, {readOnly: true})
}

export const entryOf = (dataDir: string, id: string): Promise<QueueEntry | undefined> => peek(dataDir, (s) => s.queue.entry(id))

export const inboxCount = (dataDir: string, user: string): Promise<number> => peek(dataDir, async (s) => (await s.mail.folder(user, 'INBOX'))?.messages ?? 0)

/** Polls until `check` returns a truthy value, or fails with `what` and the last value seen. */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000, everyMs = 40): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Waits for a queue entry to reach one of `states` (and no longer be sending) and returns it. */
export function waitForEntry(dataDir: string, id: string, states: QueueState[], timeoutMs = 10_000): Promise<QueueEntry> {
  let last: QueueEntry | undefined
  return waitFor(
    `entry ${id} to be ${states.join('|')}`,
    async () => {
      last = await entryOf(dataDir, id)
      return last && states.includes(last.state) ? last : undefined
    },
    timeoutMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last seen: ${JSON.stringify(last)}`)
  })
}

/** Writes `{"queue": queue}` next to the data dir and returns the path for --config. */
export function writeQueueConfig(dataDir: string, queue: object, name = 'queue-config.json'): string {
  const file = join(dirname(dataDir), name)
  writeFileSync(file, JSON.stringify({queue}))
  return file
}

/**
 * The admin suites' fixture: a data dir with alice@example.com, a receiver that answers 451 to
 * every recipient (so entries are deferred), and a config retrying only after a minute (so
 * nothing retries on its own during a test).
 */
export async function deferringFixture(): Promise<{dataDir: string; receiver: Receiver; config: string}> {
  const dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  const receiver = await Receiver.start()
  receiver.rcpt = () => ({code: 451, message: '4.3.0 not now'})
  const config = writeQueueConfig(dataDir, {retry: {scheduleMs: [60_000], maxLifetimeMs: 432_000_000}})
  return {dataDir, receiver, config}
}

// ---------------------------------------------------------------------------------------------
// Bounces

export interface MimePart {
  headers: string
  contentType: string
  body: string
}

export interface ParsedReport {
  headers: string
  parts: MimePart[]
  part(type: string): MimePart
  /** the message/delivery-status part split into blocks of fields (first: per-message) */
  statusBlocks: Record<string, string>[]
}

const headerOf = (block: string, name: string): string | undefined => {
  const m = new RegExp(`^${name}:[ \\t]*((?:.*)(?:\\r?\\n[ \\t].*)*)`, 'im').exec(block)
  return m ? m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim() : undefined
}

/** Splits a stored multipart/report bounce into its parts; asserts the outer shape on the way. */
export function parseReport(raw: string): ParsedReport {
  const split = raw.search(/\r\n\r\n/)
  expect(split, 'message has a header').toBeGreaterThan(0)
  const headers = raw.slice(0, split)
  const contentType = headerOf(headers, 'Content-Type') ?? ''
  expect(contentType).toMatch(/^multipart\/report;/i)
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1]
  expect(boundary, contentType).toBeTruthy()
  const body = raw.slice(split + 4)
  const pieces = body.split(`--${boundary}`)
  expect(pieces.at(-1)!.startsWith('--'), 'closing boundary').toBe(true)
  const parts = pieces.slice(1, -1).map((p) => {
    const text = p.replace(/^\r\n/, '')
    const at = text.search(/\r\n\r\n/)
    const h = at === -1 ? text : text.slice(0, at)
    return {headers: h, contentType: (headerOf(h, 'Content-Type') ?? 'text/plain').split(';')[0]!.trim().toLowerCase(), body: at === -1 ? '' : text.slice(at + 4)}
  })
  const part = (type: string) => {
    const found = parts.find((p) => p.contentType === type)
    expect(found, `a ${type} part in ${parts.map((p) => p.contentType).join(', ')}`).toBeTruthy()
    return found!
  }
  const status = parts.find((p) => p.contentType === 'message/delivery-status')
  const statusBlocks = (status?.body ?? '')
    .split(/\r\n\r\n/)
    .map((b) => b.trim())
    .filter(Boolean)
    .map((b) => Object.fromEntries(b.split(/\r\n(?![ \t])/).map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])))
  return {headers, parts, part, statusBlocks}
}

export {headerOf}
