/**
 * Shared helpers for the SMTP end-to-end suites: a tiny raw SMTP client (exact replies, STARTTLS,
 * implicit TLS), a nodemailer send that resolves with the final reply, user/domain setup through the real CLI, a Python runner for smtplib scripts, and
 * read-only looks into the store of a data dir.
 */
import {spawn} from 'node:child_process'
import {connect as netConnect, type Socket} from 'node:net'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import {ImapFlow, type ImapFlowOptions} from 'imapflow'
import nodemailer from 'nodemailer'
import {expect} from 'vitest'
import {runCli, freePort} from '../helpers/cli.js'
import {getMessage, listMessages as listMessageViews} from '../../src/cli/message-views.js'
import {existingUser} from '../../src/cli/user-arg.js'
import {storeCounts, type StoreCounts} from '../../src/status.js'
import {openStore, type Store} from '../../src/store/store.js'
import {addDomainsAndUsers, withTestStore} from '../helpers/test-store.js'
import {upgradeToTls} from '../helpers/tls.js'

export interface Reply {
  code: number
  /** text of every line after the code and separator */
  lines: string[]
  /** the whole reply as sent, lines joined with \n */
  raw: string
}

/**
 * A line-oriented SMTP client over a real socket. `cmd` sends one line and resolves with the next
 * complete reply (multi-line replies joined). Replies are read in order, so pipelining works by
 * writing several lines and then awaiting `reply()` that many times.
 */
export class RawSmtp {
  private buffer = ''
  private readonly replies: Reply[] = []
  private waiters: {resolve: (r: Reply) => void; reject: (e: Error) => void}[] = []
  private pending: string[] = []
  private socket: Socket | TLSSocket
  private closedError?: Error

  private constructor(socket: Socket | TLSSocket) {
    this.socket = socket
    this.attach(socket)
  }

  /** `localAddress` (plain connections) picks the client's loopback address (127.0.0.2 …) */
  static async open(port: number, options: {tls?: boolean; localAddress?: string} = {}): Promise<RawSmtp> {
    const {localAddress} = options
    const socket: Socket | TLSSocket = options.tls
      ? tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false})
      : netConnect({host: '127.0.0.1', port, localAddress})
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    const client = new RawSmtp(socket)
    const greeting = await client.reply()
    expect(greeting.code, greeting.raw).toBe(220)
    return client
  }

  get secure(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted === true
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.setEncoding('utf8')
    socket.on('data', this.onData)
    socket.on('error', (err) => this.fail(err))
    socket.on('close', () => this.fail(new Error(`connection closed; unparsed: ${JSON.stringify(this.buffer)}`)))
  }

  private fail(err: Error): void {
    this.closedError ??= err
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w.reject(err)
  }

  private readonly onData = (chunk: string): void => {
    this.buffer += chunk
    let nl: number
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '')
      this.buffer = this.buffer.slice(nl + 1)
      this.pending.push(line)
      if (/^\d{3}(?: |$)/.test(line)) {
        const lines = this.pending
        this.pending = []
        const reply: Reply = {code: Number(line.slice(0, 3)), lines: lines.map((l) => l.slice(4)), raw: lines.join('\n')}
        const waiter = this.waiters.shift()
        if (waiter) waiter.resolve(reply)
        else this.replies.push(reply)
      }
    }
  }

  reply(timeoutMs = 10_000): Promise<Reply> {
    const ready = this.replies.shift()
    if (ready) return Promise.resolve(ready)
    if (this.closedError) return Promise.reject(this.closedError)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within ${timeoutMs} ms`)), timeoutMs)
      this.waiters.push({
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      })
    })
  }

  write(data: string | Buffer): void {
    this.socket.write(data)
  }

  cmd(line: string): Promise<Reply> {
    this.write(line + '\r\n')
    return this.reply()
  }

  /** EHLO, returning the keyword lines (greeting line dropped) */
  async ehlo(name = 'client.test'): Promise<string[]> {
    const r = await this.cmd(`EHLO ${name}`)
    expect(r.code, r.raw).toBe(250)
    return r.lines.slice(1)
  }

  async starttls(): Promise<void> {
    const r = await this.cmd('STARTTLS')
    expect(r.code, r.raw).toBe(220)
    const plain = this.socket
    plain.off('data', this.onData)
    plain.removeAllListeners('close')
    plain.removeAllListeners('error')
    const secure = await upgradeToTls(plain)
    this.socket = secure
    this.attach(secure)
  }

  /** AUTH PLAIN in one line; returns the reply */
  authPlain(user: string, password: string): Promise<Reply> {
    return this.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`)
  }

  /** Sends DATA, the message (dot-stuffed here) and the final dot; returns [DATA reply, final reply]. */
  async data(message: string | Buffer): Promise<[Reply, Reply?]> {
    const go = await this.cmd('DATA')
    if (go.code !== 354) return [go]
    const text = Buffer.isBuffer(message) ? message.toString('latin1') : message
    const stuffed = text.replace(/\r?\n/g, '\r\n').replace(/^\./gm, '..')
    this.write(Buffer.from(stuffed + (stuffed.endsWith('\r\n') ? '' : '\r\n') + '.\r\n', Buffer.isBuffer(message) ? 'latin1' : 'utf8'))
    return [go, await this.reply()]
  }

  async quit(): Promise<void> {
    try {
      await this.cmd('QUIT')
    } catch {
      // already closed
    }
    this.socket.destroy()
  }

  close(): void {
    this.socket.destroy()
  }
}

/** `code` and the enhanced status code at the start of the text, e.g. "550 5.1.1" */
export const codeOf = (r: Reply): string => `${r.code} ${(r.lines.at(-1) ?? '').split(' ')[0]}`

export async function cli(args: string[], dataDir: string, input?: string): Promise<string> {
  const r = await runCli(args, {dataDir, input})
  if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}

export interface UserSpec {
  address: string
  password?: string
  quota?: string
}

/** `domain add` for each domain, then `user add` for each user (in this process: ../helpers/test-store.ts) */
export const setupUsers = (dataDir: string, domains: string[], users: UserSpec[]): Promise<void> => addDomainsAndUsers(dataDir, domains, users)

/** Opens the data dir's LMDB store read-only, runs `fn`, closes it (LMDB-only files; the matrix's use ../helpers/test-store.ts). */
export async function withStore<T>(dataDir: string, fn: (store: Store) => T | Promise<T>): Promise<T> {
  const store = openStore(dataDir, {readOnly: true})
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

/** the data dir's store counts, on the run's backend (../helpers/backend.ts) */
export const counts = (dataDir: string): Promise<StoreCounts> => withTestStore(dataDir, (s) => storeCounts(s), {readOnly: true})

export interface ListedMessage {
  uid: number
  folder: string
  from: string
  to: string[]
  subject: string
  size: number
  flags: string[]
}

/**
 * What `message list USER [--folder F] --json` prints, through the function that command runs, in
 * this process (the command itself: test/e2e/cli-listing.test.ts, cli-pg-store.test.ts).
 */
export const listMessages = (dataDir: string, user: string, folder = 'INBOX'): Promise<ListedMessage[]> =>
  withTestStore(dataDir, async (s) => JSON.parse(JSON.stringify(await listMessageViews(s.mail, await existingUser(s, user), folder))) as ListedMessage[], {readOnly: true})

/** What `message show USER UID --raw` prints, decoded UTF-8 (in this process, as listMessages) */
export const showRaw = (dataDir: string, user: string, uid: number): Promise<string> =>
  withTestStore(dataDir, async (s) => (await getMessage(s.mail, await existingUser(s, user), 'INBOX', uid)).raw.toString('utf8'), {readOnly: true})

/**
 * Runs a Python 3 script with arguments (and `input` on its stdin); the script prints one JSON
 * document on stdout. `python`: another interpreter than the python3 on PATH.
 */
export function runPython<T = any>(script: string, args: (string | number)[], options: {python?: string; input?: Buffer} = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.python ?? 'python3', ['-c', script, ...args.map(String)], {stdio: 'pipe'})
    child.stdin.end(options.input)
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return reject(new Error(`python exited ${code}:\n${err}\n${out}`))
      try {
        resolve(JSON.parse(out) as T)
      } catch {
        reject(new Error(`python printed no JSON:\n${out}\n${err}`))
      }
    })
  })
}

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}

/** The header block of a stored message (up to the first blank line), split into unfolded fields. */
export function headerFields(raw: string): string[] {
  const end = raw.search(/\r?\n\r?\n/)
  const block = end === -1 ? raw : raw.slice(0, end)
  return block.split(/\r?\n(?![ \t])/)
}

/** the final reply to a message: accepted or refused */
export interface Sent {
  code: number
  response: string
}

/**
 * Sends `raw` with nodemailer to 127.0.0.1:`port` (no TLS) with this envelope; resolves with the
 * final reply, whether the message was accepted or refused. `localAddress` picks the client's
 * loopback address (127.0.0.2 …).
 */
export async function sendRaw(
  port: number,
  envelope: {from: string; to: string[]},
  raw: string | Buffer,
  options: {helo?: string; auth?: {user: string; pass: string}; localAddress?: string} = {},
): Promise<Sent> {
  const transport = nodemailer.createTransport({
    host: '127.0.0.1',
    port,
    secure: false,
    ignoreTLS: true,
    name: options.helo ?? 'client.remote.test',
    ...(options.auth ? {auth: options.auth} : {}),
    ...(options.localAddress ? {localAddress: options.localAddress} : {}),
  } as Parameters<typeof nodemailer.createTransport>[0])
  try {
    const info = await transport.sendMail({envelope, raw})
    return {code: Number(info.response.slice(0, 3)), response: info.response}
  } catch (err) {
    const e = err as {responseCode?: number; response?: string; message: string}
    if (!e.responseCode) throw err
    return {code: e.responseCode, response: e.response ?? e.message}
  } finally {
    transport.close()
  }
}

/** the last message with this Subject in the user's INBOX or Junk (in that order): its folder and bytes, read over IMAP */
export async function storedBySubject(imapPort: number, user: {address: string; password: string}, subject: string): Promise<{folder: string; raw: string} | undefined> {
  const client = new ImapFlow({host: '127.0.0.1', port: imapPort, secure: false, doSTARTTLS: false, auth: {user: user.address, pass: user.password}, logger: false} as ImapFlowOptions)
  await client.connect()
  try {
    for (const folder of ['INBOX', 'Junk']) {
      const lock = await client.getMailboxLock(folder)
      try {
        const uids = (await client.search({header: {subject}}, {uid: true})) || []
        if (!uids.length) continue
        const m = await client.fetchOne(String(uids.at(-1)), {source: true}, {uid: true})
        if (m && m.source) return {folder, raw: m.source.toString('utf8')}
      } finally {
        lock.release()
      }
    }
    return undefined
  } finally {
    await client.logout()
  }
}

/** serve's JSON log lines (its stdout) with this message */
export const logLines = (output: string, msg: string): Record<string, unknown>[] =>
  output
    .split('\n')
    .filter((line) => line.includes(`"msg":"${msg}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>)

/** one sample of a /metrics family, by some of its labels (0 when absent) */
export async function metricSample(port: number, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
  return line ? Number(line.split(' ').pop()) : 0
}
