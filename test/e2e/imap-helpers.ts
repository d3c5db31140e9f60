/**
 * Shared helpers for the IMAP end-to-end suites: a data dir with domains and users plus a started
 * `serve` on free IMAP/IMAPS/SMTP ports, delivery through real SMTP (nodemailer to the MX port),
 * an imapflow client factory, and a tiny raw IMAP client over a real socket for exact-wire
 * assertions (literals in responses are read by byte count; continuation data can be sent).
 */
import {writeFileSync} from 'node:fs'
import {connect as netConnect, type Socket} from 'node:net'
import {dirname, join} from 'node:path'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import {constants as zlib, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw} from 'node:zlib'
import {ImapFlow, type ImapFlowOptions} from 'imapflow'
import nodemailer from 'nodemailer'
import {freePort, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {addDomainsAndUsers} from '../helpers/test-store.js'
import {upgradeToTls} from '../helpers/tls.js'

export const HOST = '127.0.0.1'

export interface ImapUser {
  address: string
  password: string
}

export interface ImapServerOptions {
  /** default ['example.test'] */
  domains?: string[]
  /** default alice@example.test / alice-pw and bob@example.test / bob-pw */
  users?: ImapUser[]
  /** pass --allow-insecure-auth (default true) */
  insecureAuth?: boolean
  /** written to a JSON file and passed as --config (e.g. {imap: {maxLineLength: 2000}}) */
  config?: Record<string, unknown>
  /** more `serve` arguments */
  args?: string[]
  /** reuse an existing data dir (users are still created unless `users: []`) */
  dataDir?: string
  /** also listen for POP3 (ports.pop3) */
  pop3?: boolean
  /** more environment for `serve` (e.g. TZ) */
  env?: Record<string, string>
}

export interface ImapServer {
  dataDir: string
  ports: {imap: number; imaps: number; smtp: number; pop3?: number}
  users: ImapUser[]
  served: Served
  /** SIGTERM and wait for exit (idempotent) */
  stop(): Promise<void>
}

export const DEFAULT_USERS: ImapUser[] = [
  {address: 'alice@example.test', password: 'alice-pw'},
  {address: 'bob@example.test', password: 'bob-pw'},
]

/** `domain add` for each domain, then `user add` for each user (in this process: ../helpers/test-store.ts) */
export const addUsers = (dataDir: string, domains: string[], users: ImapUser[]): Promise<void> => addDomainsAndUsers(dataDir, domains, users)

async function distinctFreePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

/** A fresh data dir with domains and users, and `serve` with IMAP, IMAPS and SMTP (MX) on free ports. */
export async function startImapServer(options: ImapServerOptions = {}): Promise<ImapServer> {
  const dataDir = options.dataDir ?? tempDataDir()
  const users = options.users ?? DEFAULT_USERS
  const domains = options.domains ?? [...new Set(users.map((u) => u.address.split('@')[1]!))]
  await addUsers(dataDir, domains.length ? domains : ['example.test'], users)
  // a port probed free can be taken before serve binds it (an outgoing connection's ephemeral
  // port, another worker's server): serve then refuses to start, and new ports are tried
  for (let attempt = 1; ; attempt++) {
    const [imap, imaps, smtp, pop3] = await distinctFreePorts(options.pop3 ? 4 : 3)
    const args = ['--imap-port', String(imap), '--imaps-port', String(imaps), '--smtp-port', String(smtp)]
    if (pop3) args.push('--pop3-port', String(pop3))
    if (options.insecureAuth ?? true) args.push('--allow-insecure-auth')
    if (options.config) {
      const file = join(dirname(dataDir), `config-${imap}.json`)
      writeFileSync(file, JSON.stringify(options.config))
      args.push('--config', file)
    }
    args.push(...(options.args ?? []))
    let served: Served
    try {
      served = await startServe(dataDir, args, undefined, options.env)
    } catch (err) {
      if (attempt < 3 && /address already in use/.test(String(err))) continue
      throw err
    }
    let stopped: Promise<void> | undefined
    return {
      dataDir,
      ports: {imap: imap!, imaps: imaps!, smtp: smtp!, ...(pop3 ? {pop3} : {})},
      users,
      served,
      stop: () => (stopped ??= served.stop().then(() => undefined)),
    }
  }
}

/** Delivers a raw RFC 5322 message through the MX port (no auth needed for local users). */
export async function deliver(smtpPort: number, to: string | string[], raw: string | Buffer, from = 'sender@remote.test'): Promise<void> {
  const transport = nodemailer.createTransport({host: HOST, port: smtpPort, secure: false, ignoreTLS: true})
  try {
    const info = await transport.sendMail({envelope: {from, to: Array.isArray(to) ? to : [to]}, raw})
    if (info.rejected.length) throw new Error(`rejected: ${JSON.stringify(info.rejected)}`)
  } finally {
    transport.close()
  }
}

/** A simple text/plain message. */
export function simpleMessage(o: {from?: string; to?: string; subject: string; body?: string; date?: Date; messageId?: string; extraHeaders?: string[]}): string {
  const subject = /[^\x20-\x7e]/.test(o.subject) ? `=?UTF-8?B?${Buffer.from(o.subject).toString('base64')}?=` : o.subject
  return [
    `From: ${o.from ?? 'Sender <sender@remote.test>'}`,
    `To: ${o.to ?? 'alice@example.test'}`,
    `Subject: ${subject}`,
    `Date: ${(o.date ?? new Date()).toUTCString().replace('GMT', '+0000')}`,
    `Message-ID: ${o.messageId ?? `<${Math.random().toString(36).slice(2)}@remote.test>`}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...(o.extraHeaders ?? []),
    '',
    o.body ?? 'Hello.',
    '',
  ].join('\r\n')
}

export interface FlowOptions {
  /** implicit TLS to the IMAPS port (default false: plaintext to the IMAP port, no STARTTLS) */
  tls?: boolean
  /** STARTTLS on the IMAP port */
  starttls?: boolean
  /** more ImapFlow options */
  extra?: Partial<ImapFlowOptions>
}

/** An unconnected ImapFlow client for `user` (logger off, self-signed certificates accepted). */
export function makeFlow(server: ImapServer, user: ImapUser, options: FlowOptions = {}): ImapFlow {
  return new ImapFlow({
    host: HOST,
    port: options.tls ? server.ports.imaps : server.ports.imap,
    secure: options.tls ?? false,
    doSTARTTLS: options.tls ? undefined : (options.starttls ?? false),
    auth: {user: user.address, pass: user.password},
    tls: {rejectUnauthorized: false},
    logger: false,
    ...options.extra,
  } as ImapFlowOptions)
}

/** makeFlow + connect */
export async function connectFlow(server: ImapServer, user: ImapUser, options: FlowOptions = {}): Promise<ImapFlow> {
  const client = makeFlow(server, user, options)
  await client.connect()
  return client
}

/** One complete server response: its text (literal bytes inline, decoded UTF-8) and bytes. */
export interface RawResponse {
  /** the whole response without its final CRLF; literals appear inline after their `{n}\r\n` */
  text: string
  raw: Buffer
  /** the literals in it, in order */
  literals: Buffer[]
}

export interface TaggedResult {
  tag: string
  /** every response before the tagged one (untagged `*` and continuation `+` lines) */
  untagged: string[]
  /** the tagged line, e.g. "A1 OK [READ-WRITE] SELECT completed" */
  tagged: string
  status: 'OK' | 'NO' | 'BAD'
  /** text after the status, response code included */
  text: string
  responses: RawResponse[]
}

/**
 * A raw IMAP client. Responses are queued in arrival order: `next()` takes one (any kind),
 * `command()` writes a tagged command and collects up to its tagged completion, `collect()` takes
 * whatever arrives within a time window. `transcript` holds every byte received.
 */
export class RawImap {
  greeting = ''
  /** all bytes received so far */
  private chunks: Buffer[] = []
  private buffer = Buffer.alloc(0)
  private current: Buffer[] = []
  private literals: Buffer[] = []
  private literalLeft = 0
  private readonly ready: RawResponse[] = []
  private waiters: {resolve: (r: RawResponse) => void; reject: (e: Error) => void}[] = []
  private closedError?: Error
  private tagCounter = 0
  private socket: Socket | TLSSocket
  /** after COMPRESS DEFLATE: what we send goes through this */
  private deflate?: DeflateRaw
  private inflate?: InflateRaw
  /** bytes read from the socket as they came (compressed ones after COMPRESS) */
  wireBytes = 0
  /** resolves when the server closes the connection */
  readonly closed: Promise<void>
  private resolveClosed!: () => void

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve))
    this.attach(socket)
  }

  /** Connects to `host` (default 127.0.0.1; TLS when `tls`; a plain one from `localAddress`, e.g. 127.0.0.2) and reads the greeting. */
  static async open(port: number, options: {tls?: boolean; localAddress?: string; host?: string} = {}): Promise<RawImap> {
    const {localAddress, host = HOST} = options
    const socket: Socket | TLSSocket = options.tls ? tlsConnect({host, port, rejectUnauthorized: false}) : netConnect({host, port, localAddress})
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    const client = new RawImap(socket)
    client.greeting = (await client.next()).text
    return client
  }

  /** open + LOGIN (fails loudly unless OK) */
  static async login(port: number, user: ImapUser, options: {tls?: boolean; host?: string} = {}): Promise<RawImap> {
    const client = await RawImap.open(port, options)
    const r = await client.command(`LOGIN ${quote(user.address)} ${quote(user.password)}`)
    if (r.status !== 'OK') throw new Error(`LOGIN failed: ${r.tagged}`)
    return client
  }

  get secure(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted === true
  }

  get isClosed(): boolean {
    return this.closedError !== undefined
  }

  /** every byte received on this connection so far (as latin1 text when `asText`) */
  transcript(): string {
    return Buffer.concat(this.chunks).toString('utf8')
  }

  transcriptBytes(): Buffer {
    return Buffer.concat(this.chunks)
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.countWire)
    socket.on('data', this.onData)
    socket.on('error', (err) => this.fail(err))
    socket.on('close', () => {
      let done = false
      const closed = () => {
        if (done) return
        done = true
        this.fail(new Error(`connection closed; unparsed: ${JSON.stringify(this.buffer.toString('latin1'))}`))
        this.resolveClosed()
      }
      // compressed: the inflater (zlib runs off the main thread) may still hold the last replies
      // (LOGOUT's BYE and OK) when the socket's close is seen; they come first
      const inflate = this.inflate
      if (inflate && !inflate.destroyed && !inflate.readableEnded) {
        inflate.once('end', closed)
        inflate.once('close', closed)
        inflate.resume()
      } else closed()
    })
  }

  private readonly countWire = (chunk: Buffer): void => {
    this.wireBytes += chunk.length
  }

  private fail(err: Error): void {
    this.closedError ??= err
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(err)
  }

  private readonly onData = (chunk: Buffer): void => {
    this.chunks.push(chunk)
    this.buffer = Buffer.concat([this.buffer, chunk])
    for (;;) {
      if (this.literalLeft > 0) {
        if (!this.buffer.length) return
        const take = Math.min(this.literalLeft, this.buffer.length)
        const bytes = this.buffer.subarray(0, take)
        this.current.push(bytes)
        this.literals[this.literals.length - 1] = Buffer.concat([this.literals.at(-1)!, bytes])
        this.buffer = this.buffer.subarray(take)
        this.literalLeft -= take
        continue
      }
      const lf = this.buffer.indexOf(0x0a)
      if (lf === -1) return
      const line = this.buffer.subarray(0, lf + 1)
      this.buffer = this.buffer.subarray(lf + 1)
      this.current.push(line)
      const m = /\{(\d+)\+?\}\r?\n$/.exec(line.toString('latin1'))
      if (m) {
        this.literalLeft = Number(m[1])
        this.literals.push(Buffer.alloc(0))
        continue
      }
      const raw = Buffer.concat(this.current)
      this.current = []
      const response: RawResponse = {text: raw.toString('utf8').replace(/\r?\n$/, ''), raw, literals: this.literals}
      this.literals = []
      const waiter = this.waiters.shift()
      if (waiter) waiter.resolve(response)
      else this.ready.push(response)
    }
  }

  /** the next response of any kind */
  next(timeoutMs = 10_000): Promise<RawResponse> {
    const ready = this.ready.shift()
    if (ready) return Promise.resolve(ready)
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter)
        reject(new Error(`no IMAP response within ${timeoutMs} ms`))
      }, timeoutMs)
      const waiter = {
        resolve: (r: RawResponse) => (clearTimeout(timer), resolve(r)),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      }
      this.waiters.push(waiter)
    })
  }

  /** responses that are already queued or arrive within `ms` (does not fail when the connection closes) */
  async collect(ms: number): Promise<string[]> {
    const out: string[] = []
    const until = Date.now() + ms
    for (;;) {
      const left = until - Date.now()
      if (left <= 0 && !this.ready.length) return out
      try {
        out.push((await this.next(Math.max(left, 1))).text)
      } catch {
        if (!this.ready.length) return out
      }
    }
  }

  /** reads responses until one whose text matches (the earlier ones are returned too) */
  async waitFor(match: RegExp | ((text: string) => boolean), timeoutMs = 10_000): Promise<string[]> {
    const test = typeof match === 'function' ? match : (t: string) => match.test(t)
    const seen: string[] = []
    const until = Date.now() + timeoutMs
    for (;;) {
      const r = await this.next(Math.max(until - Date.now(), 1))
      seen.push(r.text)
      if (test(r.text)) return seen
    }
  }

  /** a fresh tag: A1, A2, … */
  nextTag(): string {
    return `A${++this.tagCounter}`
  }

  /** writes bytes as they are (deflated and sync-flushed after COMPRESS, as RFC 4978 clients do; `flush: false` holds them in the deflater) */
  write(data: string | Buffer, options: {flush?: boolean} = {}): void {
    if (!this.deflate) return void this.socket.write(data)
    this.deflate.write(data)
    if (options.flush ?? true) this.deflate.flush(zlib.Z_SYNC_FLUSH)
  }

  /** bytes written to the socket so far (compressed ones after COMPRESS) */
  get wireBytesSent(): number {
    return this.socket.bytesWritten
  }

  /** stops reading the socket (a slow client), until resume() */
  pause(): void {
    this.socket.pause()
  }

  resume(): void {
    this.socket.resume()
  }

  /** writes one line plus CRLF */
  writeLine(line: string | Buffer): void {
    this.write(Buffer.concat([Buffer.isBuffer(line) ? line : Buffer.from(line), Buffer.from('\r\n')]))
  }

  /** reads responses up to the one tagged `tag` */
  async tagged(tag: string, timeoutMs = 10_000): Promise<TaggedResult> {
    const responses: RawResponse[] = []
    const until = Date.now() + timeoutMs
    for (;;) {
      const r = await this.next(Math.max(until - Date.now(), 1))
      if (r.text.startsWith(`${tag} `)) {
        const m = /^\S+ (OK|NO|BAD)(?: (.*))?$/s.exec(r.text)
        return {
          tag,
          untagged: responses.map((x) => x.text),
          tagged: r.text,
          status: (m?.[1] ?? 'BAD') as TaggedResult['status'],
          text: m?.[2] ?? '',
          responses,
        }
      }
      responses.push(r)
    }
  }

  /** sends `TAG command` (a fresh tag unless given) and collects up to its tagged reply */
  command(command: string | Buffer, options: {tag?: string; timeoutMs?: number} = {}): Promise<TaggedResult> {
    const tag = options.tag ?? this.nextTag()
    this.writeLine(Buffer.concat([Buffer.from(`${tag} `), Buffer.isBuffer(command) ? command : Buffer.from(command)]))
    return this.tagged(tag, options.timeoutMs)
  }

  /**
   * APPEND with a synchronizing literal: waits for the `+` continuation before sending the
   * message (or LITERAL+ `{n+}` when `nonSync`, sent in one go). `args` go between the folder and
   * the literal (flags, date).
   */
  async append(folder: string, message: string | Buffer, options: {args?: string; nonSync?: boolean; tag?: string} = {}): Promise<TaggedResult> {
    const tag = options.tag ?? this.nextTag()
    const bytes = Buffer.isBuffer(message) ? message : Buffer.from(message)
    const head = `${tag} APPEND ${quote(folder)}${options.args ? ` ${options.args}` : ''} {${bytes.length}${options.nonSync ? '+' : ''}}\r\n`
    if (options.nonSync) {
      this.write(Buffer.concat([Buffer.from(head), bytes, Buffer.from('\r\n')]))
      return this.tagged(tag)
    }
    this.write(head)
    const cont = await this.next()
    if (!cont.text.startsWith('+')) {
      // refused before the literal (e.g. NO [TOOBIG]): that is the tagged reply
      if (cont.text.startsWith(`${tag} `)) {
        const m = /^\S+ (OK|NO|BAD)(?: (.*))?$/s.exec(cont.text)
        return {tag, untagged: [], tagged: cont.text, status: (m?.[1] ?? 'BAD') as TaggedResult['status'], text: m?.[2] ?? '', responses: []}
      }
      throw new Error(`expected a continuation, got ${cont.text}`)
    }
    this.write(Buffer.concat([bytes, Buffer.from('\r\n')]))
    return this.tagged(tag)
  }

  /** STARTTLS, then TLS over the same socket (the server's certificate is not checked) */
  async starttls(): Promise<TaggedResult> {
    const r = await this.command('STARTTLS')
    if (r.status !== 'OK') return r
    await this.upgradeTls()
    return r
  }

  /** TLS over the current socket now (after a STARTTLS answered OK, e.g. one sent with `write`) */
  async upgradeTls(): Promise<void> {
    const plain = this.socket
    plain.off('data', this.onData)
    plain.removeAllListeners('close')
    plain.removeAllListeners('error')
    const secure = await upgradeToTls(plain)
    this.socket = secure
    this.attach(secure)
  }

  /**
   * COMPRESS DEFLATE (RFC 4978); after its tagged OK both directions are raw deflate. Bytes that
   * came in the same read as the OK are compressed ones (a server that starts compressing early)
   * and go to the inflater too.
   */
  async compress(): Promise<TaggedResult> {
    const r = await this.command('COMPRESS DEFLATE')
    if (r.status === 'OK') this.startDeflate()
    return r
  }

  /** both directions raw deflate from now (after a COMPRESS answered OK, e.g. one sent with `write`) */
  startDeflate(): void {
    const socket = this.socket
    socket.off('data', this.onData)
    const inflate = (this.inflate = createInflateRaw())
    inflate.on('data', this.onData)
    inflate.on('error', (err) => this.fail(err))
    const early = this.buffer
    this.buffer = Buffer.alloc(0)
    if (early.length) inflate.write(early)
    socket.pipe(inflate)
    this.deflate = createDeflateRaw()
    this.deflate.pipe(socket)
  }

  /** LOGOUT (ignoring errors) and close */
  async logout(): Promise<void> {
    if (!this.closedError) {
      try {
        await this.command('LOGOUT', {timeoutMs: 3000})
      } catch {
        // already closed
      }
    }
    this.socket.destroy()
  }

  close(): void {
    this.socket.destroy()
  }
}

/** the raw connections a test file opens, closed together in its afterAll */
export class RawConnections {
  private readonly connections: RawImap[] = []

  /** open + LOGIN, then `ENABLE <enable>` when given (fails loudly unless answered `* ENABLED <enable>`) */
  async login(port: number, user: ImapUser, enable?: string): Promise<RawImap> {
    const c = this.keep(await RawImap.login(port, user))
    if (enable) {
      const r = await c.command(`ENABLE ${enable}`)
      if (r.untagged.join('\n') !== `* ENABLED ${enable}`) throw new Error(`ENABLE ${enable}: ${[...r.untagged, r.tagged].join(' | ')}`)
    }
    return c
  }

  async open(port: number): Promise<RawImap> {
    return this.keep(await RawImap.open(port))
  }

  closeAll(): void {
    for (const c of this.connections.splice(0)) c.close()
  }

  private keep(c: RawImap): RawImap {
    this.connections.push(c)
    return c
  }
}

/** an IMAP quoted string */
export function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`
}

/** the `* n EXISTS` / `* n EXPUNGE` / `* n FETCH …` responses among `lines`, as [n, kind, rest] */
export function numbered(lines: string[]): [number, string, string][] {
  const out: [number, string, string][] = []
  for (const line of lines) {
    const m = /^\* (\d+) ([A-Z]+)(?: (.*))?$/s.exec(line)
    if (m) out.push([Number(m[1]), m[2]!, m[3] ?? ''])
  }
  return out
}

/** UIDs from a `* SEARCH` line among `lines` */
export function searchResult(lines: string[]): number[] {
  const line = lines.find((l) => /^\* SEARCH\b/.test(l))
  if (line === undefined) throw new Error(`no SEARCH response in ${JSON.stringify(lines)}`)
  return line
    .slice('* SEARCH'.length)
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
}
