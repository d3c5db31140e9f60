/**
 * Helpers for the matcher suites: a line-based client of the matcher protocol over a raw socket
 * (every line kept, so tests can wait for one verb while others arrive), and mail sending.
 */
import {connect, type Socket} from 'node:net'
import nodemailer from 'nodemailer'
import type Mail from 'nodemailer/lib/mailer/index.js'
import {expect} from 'vitest'

export interface Line {
  verb: string
  body: any
  raw: string
}

export function parseLine(raw: string): Line {
  const space = raw.indexOf(' ')
  const verb = space === -1 ? raw : raw.slice(0, space)
  const rest = space === -1 ? '' : raw.slice(space + 1)
  return {verb, body: rest ? JSON.parse(rest) : undefined, raw}
}

export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

export class LineClient {
  /** lines received and not yet taken by next()/waitFor() */
  private inbox: Line[] = []
  private buffer = ''
  private wake: (() => void)[] = []
  /** every PING the server sent (answered automatically when autoPong is set) */
  pings = 0
  closed = false
  readonly whenClosed: Promise<void>

  private constructor(
    readonly socket: Socket,
    private readonly autoPong: boolean,
  ) {
    socket.setEncoding('utf8')
    socket.on('error', () => {})
    this.whenClosed = new Promise((resolve) =>
      socket.on('close', () => {
        this.closed = true
        this.notify()
        resolve()
      }),
    )
    socket.on('data', (chunk: string) => {
      this.buffer += chunk
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const raw = this.buffer.slice(0, nl).replace(/\r$/, '')
        this.buffer = this.buffer.slice(nl + 1)
        if (raw === 'PING') {
          this.pings++
          if (this.autoPong) {
            this.send('PONG')
            continue
          }
        }
        this.inbox.push(parseLine(raw))
      }
      this.notify()
    })
  }

  /** `localAddress` (another 127.x address) makes the connection come from elsewhere, for per-address limits */
  static async open(port: number, options: {autoPong?: boolean; localAddress?: string; host?: string} = {}): Promise<LineClient> {
    const socket = connect({host: options.host ?? '127.0.0.1', port, ...(options.localAddress ? {localAddress: options.localAddress} : {})})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve())
      socket.once('error', reject)
    })
    return new LineClient(socket, options.autoPong ?? false)
  }

  /** connect, expect HELLO, OLLEH version 1 (with `token` if given), expect OKAY */
  static async ready(port: number, options: {autoPong?: boolean; localAddress?: string; token?: string; host?: string} = {}): Promise<LineClient> {
    const c = await LineClient.open(port, options)
    expect((await c.next()).raw).toBe('HELLO')
    c.send(`OLLEH ${JSON.stringify({version: 1, ...(options.token ? {token: options.token} : {})})}`)
    expect((await c.next()).raw).toBe('OKAY')
    return c
  }

  private notify(): void {
    const wake = this.wake
    this.wake = []
    for (const w of wake) w()
  }

  send(line: string): void {
    if (!this.socket.destroyed) this.socket.write(line + '\n')
  }

  write(data: string): void {
    if (!this.socket.destroyed) this.socket.write(data)
  }

  /** the first unread line that satisfies `pred`, removed from the inbox */
  async waitFor(pred: (l: Line) => boolean, timeoutMs = 5000, what = 'a matching line'): Promise<Line> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.inbox.findIndex(pred)
      if (i >= 0) return this.inbox.splice(i, 1)[0]!
      if (this.closed) throw new Error(`connection closed while waiting for ${what}; unread: ${this.unread()}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no ${what} within ${timeoutMs} ms; unread: ${this.unread()}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake.push(() => (clearTimeout(timer), resolve()))
      })
    }
  }

  /** the next unread line, whatever it is */
  next(timeoutMs = 5000): Promise<Line> {
    return this.waitFor(() => true, timeoutMs, 'line')
  }

  /** fails if a line satisfying `pred` arrives (or is already unread) within `ms` */
  async none(pred: (l: Line) => boolean, ms: number, what = 'line'): Promise<void> {
    try {
      const l = await this.waitFor(pred, ms)
      throw new Error(`unexpected ${what}: ${l.raw.slice(0, 300)}`)
    } catch (err) {
      if ((err as Error).message.startsWith('unexpected')) throw err
    }
  }

  unread(): string {
    return JSON.stringify(this.inbox.map((l) => l.raw.slice(0, 200)))
  }

  /** MATCH spec → its match_id (from MATCHPUT) */
  async match(spec: Record<string, unknown>): Promise<string> {
    this.send(`MATCH ${JSON.stringify(spec)}`)
    const put = await this.waitFor((l) => l.verb === 'MATCHPUT' || l.verb === 'ERROR', 5000, 'MATCHPUT')
    expect(put.verb, put.raw).toBe('MATCHPUT')
    expect(put.body.match_id).toMatch(UUID)
    return put.body.match_id as string
  }

  /** the GOTEMAIL for `matchId`; answers OKAY as a client should */
  async gotEmail(matchId: string, timeoutMs = 5000): Promise<any> {
    const l = await this.waitFor((x) => x.verb === 'GOTEMAIL' && x.body?.match_id === matchId, timeoutMs, `GOTEMAIL for ${matchId}`)
    this.send('OKAY')
    return l.body.email
  }

  /** resolves true once the server closed the connection, false if it did not within timeoutMs */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const r = await Promise.race([this.whenClosed.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))])
    clearTimeout(timer)
    return r
  }

  destroy(): void {
    this.socket.destroy()
  }
}

export function transport(port: number, pool = false) {
  return nodemailer.createTransport({host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...(pool ? {pool: true, maxConnections: 5} : {})})
}

/** one message through a fresh connection; resolves to nodemailer's info */
export async function sendMail(port: number, mail: Mail.Options) {
  const t = transport(port)
  try {
    return await t.sendMail({from: 'app@svc.test', ...(mail.text === undefined && mail.html === undefined ? {text: 'hello'} : {}), ...mail})
  } finally {
    t.close()
  }
}

/** the queue id from a "250 Ok: queued as ID" response */
export const queuedId = (response: string): string => /queued as (\S+)/.exec(response)?.[1] ?? ''

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
