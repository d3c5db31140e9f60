/**
 * Helpers for the dashboard suite: a private tmux server (one socket per test file, killed in
 * afterAll) to run the real `mailbox dashboard` in a pseudo-terminal, type into it and read the
 * screen back; a receiving SMTP server that answers 451 while told to; and parsers for the
 * panes of a captured screen.
 */
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {SMTPServer} from 'smtp-server'
import {afterAll, beforeAll, expect} from 'vitest'
import {mailboxCommand, runJson} from '../helpers/cli.js'
import {addDomainsAndUsers} from '../helpers/test-store.js'
import {send as sendMessage} from './queue-helpers.js'

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------------
// tmux

/** Selected list rows are drawn with a blue background (SGR 44, or 48;5;4 on some terminals). */
const SELECTED = /\x1b\[(?:[\d;]*;)?(?:44|48;5;4)(?:;[\d;]*)?m/
const ANSI = /\x1b\[[\d;?]*[a-zA-Z]/g

export interface WaitOptions {
  timeoutMs?: number
  /** what the wait is for, for the failure message */
  what?: string
}

export class Tmux {
  readonly socket = `mbx-test-${process.pid}-${randomBytes(4).toString('hex')}`
  private sessions = 0

  constructor() {
    // no skipping: without tmux these tests fail, here and on CI, and say why
    beforeAll(async () => {
      await this.tmux(['-V']).catch((err: Error) => {
        throw new Error(`the dashboard tests need tmux (apt-get install tmux): ${err.message}`)
      })
    })
    afterAll(async () => {
      await this.tmux(['kill-server']).catch(() => undefined)
      // the server leaves its socket file behind
      rmSync(join(process.env.TMUX_TMPDIR || '/tmp', `tmux-${process.getuid?.() ?? 0}`, this.socket), {force: true})
    })
  }

  /** Runs one tmux command on the private socket; resolves to its stdout. Async: the test process serves SMTP meanwhile. */
  tmux(args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      // without $TMUX: a test run from inside tmux must not talk to (or nest in) the user's server
      execFile('tmux', ['-L', this.socket, ...args], {encoding: 'utf8', timeout: 10_000, env: {...process.env, TMUX: undefined}}, (err, stdout, stderr) => {
        if (err) reject(new Error(`tmux ${args.join(' ')}: ${err.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
  }

  /**
   * Starts `mailbox dashboard --data-dir DIR` in a new detached session of the given size. When the
   * dashboard exits the pane prints `DASH-EXIT <code>` and stays open a minute so it can be read.
   */
  async startDashboard(dataDir: string, size: {width: number; height: number} = {width: 120, height: 36}): Promise<Session> {
    const name = `dash${++this.sessions}`
    const mailbox = mailboxCommand()
    const env = Object.entries({NCURSES_NO_UTF8_ACS: '1', ...mailbox.env}).map(([k, v]) => `${k}='${v}'`)
    const argv = [mailbox.file, ...mailbox.args].map((a) => `'${a}'`)
    const command = `env ${env.join(' ')} ${argv.join(' ')} dashboard --data-dir '${dataDir}'; echo DASH-EXIT $?; sleep 60`
    await this.tmux(['new-session', '-d', '-s', name, '-x', String(size.width), '-y', String(size.height), command])
    return new Session(this, name)
  }
}

export class Session {
  constructor(
    readonly tmux: Tmux,
    readonly name: string,
  ) {}

  /** The visible screen as plain text, one string per line. */
  async screen(): Promise<string> {
    return this.tmux.tmux(['capture-pane', '-p', '-t', this.name])
  }

  /** The visible screen with its colours (SGR escapes). */
  async screenAnsi(): Promise<string> {
    return this.tmux.tmux(['capture-pane', '-p', '-e', '-t', this.name])
  }

  /** A tmux format about the pane, e.g. `#{alternate_on}`. */
  async format(format: string): Promise<string> {
    return (await this.tmux.tmux(['display-message', '-p', '-t', this.name, format])).trim()
  }

  /** Named keys (Enter, Escape, Up, C-c, single characters), one send-keys call each with a pause, so ESC never merges with the next key. */
  async keys(...keys: string[]): Promise<void> {
    for (const key of keys) {
      await this.tmux.tmux(['send-keys', '-t', this.name, key])
      await sleep(key === 'Escape' ? 250 : 60)
    }
  }

  /** Literal text (no key names), in one send-keys call. */
  async type(text: string): Promise<void> {
    await this.tmux.tmux(['send-keys', '-t', this.name, '-l', text])
    await sleep(60)
  }

  /** Polls the screen until `check` passes; returns that screen, or fails with the last one seen. */
  async waitFor(check: string | RegExp | ((screen: string) => boolean), options: WaitOptions = {}): Promise<string> {
    const timeoutMs = options.timeoutMs ?? 8000
    const test = typeof check === 'string' ? (s: string) => s.includes(check) : check instanceof RegExp ? (s: string) => check.test(s) : check
    const what = options.what ?? String(check)
    const deadline = Date.now() + timeoutMs
    let last = ''
    for (;;) {
      last = await this.screen()
      if (test(last)) return last
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${last}`)
      await sleep(100)
    }
  }

  /** Waits until the dashboard has drawn its first frame (header and footer). */
  ready(timeoutMs = 10_000): Promise<string> {
    return this.waitFor((s) => /^ mailbox /.test(s) && s.includes('1 queue 2 users 3 folders'), {timeoutMs, what: 'the first frame'})
  }

  /** The highlighted (selected) line of the screen as plain text, or undefined when none is. */
  async selectedLine(): Promise<string | undefined> {
    return (await this.screenAnsi())
      .split('\n')
      .find((l) => SELECTED.test(l))
      ?.replace(ANSI, '')
  }

  /**
   * Moves the selection of the focused table onto the row containing `text` (j / k, one at a
   * time, checking the highlight after each). Fails when no visible row contains it.
   */
  async select(text: string, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const lines = (await this.screenAnsi()).split('\n')
      const target = lines.findIndex((l) => l.replace(ANSI, '').includes(text))
      const selected = lines.findIndex((l) => SELECTED.test(l))
      if (target >= 0 && target === selected) return
      if (Date.now() > deadline) throw new Error(`could not select the row with ${text} (row ${target}, selected ${selected}):\n${lines.map((l) => l.replace(ANSI, '')).join('\n')}`)
      if (target >= 0 && selected >= 0) await this.keys(target > selected ? 'j' : 'k')
      else await sleep(100)
    }
  }

  /** q, then waits for the dashboard to exit 0 and closes the pane. */
  async quit(): Promise<void> {
    await this.keys('q')
    await this.waitFor('DASH-EXIT 0')
    await this.kill()
  }

  async kill(): Promise<void> {
    await this.tmux.tmux(['kill-session', '-t', this.name]).catch(() => undefined)
  }
}

// ---------------------------------------------------------------------------------------------
// reading a captured screen

export const BOX_DRAWING = /[\u2500-\u257f]/

/**
 * The lines inside the box whose top border starts with `┌─ ${title}` (e.g. "queue ─", "events",
 * "queue entries"), with its side borders cut off. The box may sit beside others on the same rows.
 */
export function boxLines(screen: string, title: string): string[] {
  const lines = screen.split('\n')
  const top = lines.findIndex((l) => l.includes(`┌─ ${title}`))
  if (top < 0) return []
  const left = lines[top]!.indexOf(`┌─ ${title}`)
  const right = lines[top]!.indexOf('┐', left)
  const out: string[] = []
  for (let i = top + 1; i < lines.length; i++) {
    const row = lines[i]!
    if (row[left] === '└') break
    out.push(row.slice(left + 1, right < 0 ? undefined : right))
  }
  return out
}

/** The queue-counts box as numbers: {queued, sending, deferred, held, delivered, failed, total}. */
export function queueCountsOnScreen(screen: string): Record<string, number> {
  const counts: Record<string, number> = {}
  // a box of one count a line on tall terminals, one line of them all on short ones
  for (const line of boxLines(screen, 'queue ─')) {
    for (const m of line.matchAll(/(?:^|\s)(queued|sending|deferred|held|delivered|failed|total)\s+(\d+)(?=\s|$)/g)) counts[m[1]!] = Number(m[2])
  }
  return counts
}

export const headerLine = (screen: string) => screen.split('\n')[0] ?? ''
export const footerLine = (screen: string) => screen.replace(/\n+$/, '').split('\n').at(-1) ?? ''

// ---------------------------------------------------------------------------------------------
// receiving SMTP server

export interface Received {
  from: string
  to: string[]
  raw: string
}

/**
 * An SMTP server on 127.0.0.1 that answers RCPT TO with 451 `failText` while `failing` is set,
 * 550 for the addresses in `refuse`, and accepts otherwise.
 */
export class Receiver {
  failing = false
  failText = '4.3.0 dashboard test says try again later'
  readonly refuse = new Set<string>()
  readonly messages: Received[] = []
  rcptCount = 0

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(): Promise<Receiver> {
    let self: Receiver | undefined
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS', 'AUTH'],
      logger: false,
      disableReverseLookup: true,
      banner: 'dashboard test receiver',
      onRcptTo: (address, _session, callback) => {
        self!.rcptCount++
        const refused = self!.refuse.has(address.address)
        if (!self!.failing && !refused) return callback()
        const err = new Error(refused ? '5.1.1 no such user here' : self!.failText) as Error & {responseCode: number}
        err.responseCode = refused ? 550 : 451
        callback(err)
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = []
        stream.on('data', (c: Buffer) => chunks.push(c))
        stream.on('end', () => {
          self!.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw: Buffer.concat(chunks).toString('latin1'),
          })
          callback(null, 'Ok: queued by the dashboard test receiver')
        })
      },
    })
    server.on('error', () => {})
    const port = await new Promise<number>((resolve, reject) => {
      server.server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve((server.server.address() as {port: number}).port))
    })
    self = new Receiver(server, port)
    return self
  }

  close(): Promise<void> {
    for (const c of this.server.connections) c._socket.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

export function message(subject: string, to = 'bob@example.net'): string {
  return `From: Alice <alice@example.com>\nTo: <${to}>\nSubject: ${subject}\nMessage-ID: <${subject.replace(/\W+/g, '-')}@example.com>\n\nHello,\nthis is ${subject}.\n`
}

// ---------------------------------------------------------------------------------------------
// the store, the CLI and the screen, as the dashboard tests use them

export interface ListedEntry {
  id: string
  state: string
  attempts: number
  nextAttemptAt: number
  recipients: string[]
}

/** A domain, alice@example.com, and a config whose first retry is 10 minutes out; returns the config path. */
export async function setupStore(dataDir: string): Promise<string> {
  await addDomainsAndUsers(dataDir, ['example.com'], [{address: 'alice@example.com', password: 'alice-Passw0rd'}])
  // first retry 10 minutes out: a deferred entry stays deferred until the test retries it
  const config = join(dirname(dataDir), 'config.json')
  writeFileSync(config, JSON.stringify({queue: {retry: {scheduleMs: [600_000], maxLifetimeMs: 432_000_000}}}))
  return config
}

export async function send(dataDir: string, subject: string, to: string): Promise<string> {
  const reply = await sendMessage(dataDir, 'alice@example.com', [to], message(subject, to))
  expect(reply.queued).toHaveLength(1)
  return reply.queued[0]!
}

export const queueList = (dataDir: string) => runJson<ListedEntry[]>(['queue', 'list'], {dataDir})

export async function waitUntil<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 8000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await check()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}

export const isLive = (s: string) => headerLine(s).includes('· live ·')
export const tableText = (s: string) => boxLines(s, 'queue entries').join('\n')
export const eventsText = (s: string) => boxLines(s, 'events').join('\n')
/** the table row (inside the borders) for an entry, by the id tail the table shows */
export const rowOf = (s: string, id: string) => boxLines(s, 'queue entries').find((l) => l.includes(id.slice(-10)))

