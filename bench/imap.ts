/**
 * IMAP benchmarks, each against a reference measured in the same run. The load generator is a
 * raw-socket IMAP client (below): it scans replies for the tagged completion and skips literals
 * by their byte count, so the client costs little next to the server it measures.
 *
 * 1. A 100,000-message INBOX (filled straight into the store before `serve` starts, and as
 *    Maildir files into the Dovecot peer): SELECT (first, which loads the folder, then repeated),
 *    `UID FETCH 1:* (UID FLAGS)`, `FETCH 1:* (UID FLAGS)` and `SEARCH UNSEEN` after one STORE
 *    marked 10 % \Seen; medians of 5.
 * 1b. (part `sort`, ./imap-sort.ts) SORT (DATE), SORT (SUBJECT), THREAD REFERENCES and THREAD
 *    ORDEREDSUBJECT of the same 100,000 messages (nine in ten reply to the tenth before them).
 * 2. `FETCH 1:* BODY.PEEK[]` over 2,000 messages of 50 KiB: MB/s against Dovecot and against a
 *    plain loopback socket that sends the same bytes (the ceiling).
 * 3. 10 concurrent clients for BENCH_IMAP_SECONDS (15) s: cycles of login, SELECT, FETCH
 *    (FLAGS BODY.PEEK[HEADER]) of 3, STORE a flag, APPEND, expunge it, LOGOUT; then the same on
 *    persistent sessions (no login/logout). mailbox and Dovecot, cycles/s.
 * 4. Memory per idle connection: 1,000 logged-in connections in IDLE on a selected INBOX of
 *    1,000 messages; RSS delta of `serve` / 1000, against a plain Node net server holding 1,000
 *    idle sockets and the PSS delta of Dovecot's processes.
 * 5. quota (./imap-quota.ts): GETQUOTAROOT INBOX and STATUS (DELETED DELETED-STORAGE) on the
 *    100,000-message user, mailbox only.
 * 6. `compress`: benchmark 2's FETCH with COMPRESS=DEFLATE active (bench/imap-compress.ts): MB/s
 *    of message bytes and compressed bytes on the wire, against Dovecot with its imap_zlib plugin
 *    (enabled in the peer's rendered config for this run), both at deflate level 6.
 * 7. `esearch` (./imap-search.ts): ESEARCH on the 100,000-message INBOX, `SEARCH RETURN (COUNT MIN
 *    MAX) UNSEEN` (goal < 30 ms) and `UID SEARCH RETURN (ALL) UNDELETED`; medians of 5.
 * 8. append (./imap-append.ts): APPEND of 100 small messages one by one, as one MULTIAPPEND,
 *    and as CATENATE messages (a URL plus new text), against Dovecot.
 * 9. `consistency` (bench/imap-consistency.ts): the randomized multi-session consistency check
 *    for BENCH_IMAP_CONSISTENCY_SECONDS (120) s on mailbox, then on Dovecot; operations,
 *    responses checked, violations (must be 0).
 * 10. `esort` (./imap-esort.ts): ESORT on the 100,000-message INBOX, `SORT RETURN (COUNT MIN MAX)
 *    (DATE)` and `UID SORT RETURN (PARTIAL 1:50) (REVERSE DATE)`, and what keeping that list live
 *    costs after another session's STORE: the NOOP bringing a CONTEXT=SORT update, against a
 *    NOOP plus a new SORT on both servers (Dovecot has no CONTEXT=SORT); medians of 5.
 *
 * The Dovecot peer (../shared/peer) runs when postfix and dovecot are installed and we are root.
 */
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {setTimeout as sleep} from 'node:timers/promises'
import {fileURLToPath} from 'node:url'
import {constants as zlib, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw} from 'node:zlib'
import argon2 from 'argon2'
import {HASH_OPTIONS} from '../src/auth/password.js'
import {addDomain} from '../src/directory/domains.js'
import {addUser} from '../src/directory/users.js'
import {analyzeMessage} from '../src/mailstore/analyze.js'
import {putBlob} from '../src/store/lmdb-blobs.js'
import {appendEntries} from '../src/store/lmdb-messages.js'
import {mailboxKey} from '../src/store/keys.js'
import {openStore, type Store} from '../src/store/store.js'
import {BENCH_QUOTA, benchQuota} from './imap-quota.js'
import {benchCompress} from './imap-compress.js'
import {benchEsearch} from './imap-search.js'
import {benchEsort} from './imap-esort.js'
import {benchAppend} from './imap-append.js'
import {benchSort} from './imap-sort.js'
import {freePort, startServe, which} from './serve.js'
import {benchConsistency} from './imap-consistency.js'
import {fig, type FigureValue, higher, lower, median, report, tempDir, timed} from './util.js'

export const BIG_FOLDER = Number(process.env.BENCH_IMAP_MESSAGES ?? 100_000)
const BODIES = Number(process.env.BENCH_IMAP_BODIES ?? 2000)
const BODY_SIZE = Number(process.env.BENCH_IMAP_BODY_SIZE ?? 50 * 1024)
const CLIENTS = Number(process.env.BENCH_IMAP_CLIENTS ?? 10)
const SECONDS = Number(process.env.BENCH_IMAP_SECONDS ?? 15)
const IDLE_CONNS = Number(process.env.BENCH_IMAP_CONNS ?? 1000)
const SMALL_FOLDER = 1000
/** the folder whose headers `BODY.PEEK[HEADER]` fetches (part `headers`) */
const HEADERS = Number(process.env.BENCH_IMAP_HEADERS ?? 10_000)
export const RUNS = 5
/** BENCH_IMAP_ONLY=folder,bodies,headers,compress,cycles,memory,quota,esearch,append,sort,consistency,esort runs only those parts */
const ONLY = (process.env.BENCH_IMAP_ONLY ?? '').split(',').filter(Boolean)
const want = (part: string) => !ONLY.length || ONLY.includes(part)
/** BENCH_PEER_DIR: where the peer is when this checkout is not next to ../shared (a worktree) */
const PEER = process.env.BENCH_PEER_DIR ?? fileURLToPath(new URL('../../shared/peer/', import.meta.url))
export const DOMAIN = 'example.test'
export const PW = 'pw'
/** the Dovecot peer's users (../shared/peer/peer-config/users.passwd) */
const PEER_PW = 'secret'

// ---------------------------------------------------------------------------------------------
// the raw IMAP client

interface Reply {
  /** the tagged completion line */
  line: string
  untagged: number
  /** untagged lines (first line of each response), when collected */
  lines: string[]
  /** bytes received while the command ran */
  bytes: number
  ms: number
  /** time until the first byte of the reply */
  firstByteMs: number
}

interface Pending {
  tag: string
  collect: boolean
  lines: string[]
  untagged: number
  bytesAtStart: number
  start: bigint
  firstByte?: bigint
  resolve: (r: Reply) => void
  reject: (e: Error) => void
  /** IDLE: settles on the continuation request */
  onContinue?: () => void
}

export class Imap {
  /** bytes that came over the socket (compressed ones after COMPRESS) */
  wireBytes = 0
  /** after COMPRESS DEFLATE (RFC 4978): what comes is inflated, what goes deflated */
  private inflate?: InflateRaw
  private deflate?: DeflateRaw
  /** compressed bytes waiting while the inflater works: handed over together, so small TCP reads do not each cost a zlib job */
  private toInflate: Buffer[] = []
  private inflating = false
  private partial: Buffer[] = []
  private literalLeft = 0
  private afterLiteral = false
  private pending?: Pending
  private greeted?: {resolve: () => void; reject: (e: Error) => void}
  private received = 0
  private next = 1
  private error?: Error

  private constructor(readonly socket: Socket) {
    socket.setNoDelay(true)
    const fail = (err: Error) => {
      this.error ??= err
      this.greeted?.reject(err)
      this.greeted = undefined
      this.pending?.reject(err)
      this.pending = undefined
    }
    socket.on('error', fail)
    socket.on('close', () => fail(new Error('connection closed')))
  }

  /**
   * The client reads into one buffer of its own (net's `onread`) instead of a new Buffer per read:
   * 100 MB replies in 64 KiB Buffers made the client's V8 run mark-compacts of 2-12 ms, on both
   * cores, in the middle of the next command's first-byte window, whichever server it measured.
   */
  static connect(port: number): Promise<Imap> {
    let imap!: Imap
    const socket = connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.allocUnsafe(256 * 1024),
        callback: (n: number, buffer: Uint8Array) => {
          imap.onRead(Buffer.from(buffer.buffer, buffer.byteOffset, n))
          return true
        },
      },
    })
    imap = new Imap(socket)
    return new Promise((resolve, reject) => {
      imap.greeted = {resolve: () => resolve(imap), reject}
    })
  }

  /** Sends `TAG text` (with `literal` as a LITERAL+ literal) and resolves on a tagged OK; NO/BAD reject. */
  run(text: string, options: {literal?: Buffer; collect?: boolean} = {}): Promise<Reply> {
    if (this.error) return Promise.reject(this.error)
    if (this.pending) return Promise.reject(new Error('bench client: one command at a time'))
    const tag = `T${this.next++}`
    const {literal, collect = false} = options
    return new Promise((resolve, reject) => {
      this.pending = {tag, collect, lines: [], untagged: 0, bytesAtStart: this.received, start: process.hrtime.bigint(), resolve, reject}
      if (literal) this.send(Buffer.concat([Buffer.from(`${tag} ${text} {${literal.length}+}\r\n`), literal, Buffer.from('\r\n')]))
      else this.send(`${tag} ${text}\r\n`)
    })
  }

  /** `chunk` is the read buffer, overwritten by the next read: what is kept is copied */
  private onRead(chunk: Buffer): void {
    this.wireBytes += chunk.length
    if (this.inflate) this.feed(Buffer.from(chunk))
    else this.onData(chunk)
  }

  private feed(chunk: Buffer): void {
    this.toInflate.push(chunk)
    if (!this.inflating) this.pump()
  }

  private pump(): void {
    this.inflating = this.toInflate.length > 0
    if (this.inflating) this.inflate!.write(Buffer.concat(this.toInflate.splice(0)), () => this.pump())
  }

  private send(data: string | Buffer): void {
    if (!this.deflate) return void this.socket.write(data)
    this.deflate.write(data)
    this.deflate.flush(zlib.Z_SYNC_FLUSH)
  }

  /** COMPRESS DEFLATE; from its tagged OK on, both directions are raw deflate (the client's level: zlib's default, 6) */
  async compress(): Promise<void> {
    await this.run('COMPRESS DEFLATE')
    this.inflate = createInflateRaw()
    this.inflate.on('data', (chunk: Buffer) => this.onData(chunk))
    this.inflate.on('error', (err) => this.socket.destroy(err))
    this.deflate = createDeflateRaw()
    this.deflate.pipe(this.socket)
  }

  login(user: string, password: string): Promise<Reply> {
    return this.run(`LOGIN "${user}" "${password}"`)
  }

  /** Starts IDLE; resolves once the server said "+ idling". */
  idle(): Promise<void> {
    return new Promise((resolve, reject) => {
      void this.run('IDLE').catch(reject)
      if (this.pending) this.pending.onContinue = resolve
    })
  }

  async logout(): Promise<void> {
    await this.run('LOGOUT').catch(() => {})
    this.socket.destroy()
  }

  destroy(): void {
    this.socket.destroy()
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length
    if (this.pending && this.pending.firstByte === undefined) this.pending.firstByte = process.hrtime.bigint()
    let i = 0
    while (i < chunk.length) {
      if (this.literalLeft > 0) {
        const n = Math.min(this.literalLeft, chunk.length - i)
        this.literalLeft -= n
        i += n
        if (this.literalLeft === 0) this.afterLiteral = true
        continue
      }
      const nl = chunk.indexOf(10, i)
      if (nl < 0) {
        this.partial.push(Buffer.from(chunk.subarray(i)))
        return
      }
      let line = chunk.subarray(i, nl + 1)
      if (this.partial.length) {
        this.partial.push(line)
        line = Buffer.concat(this.partial)
        this.partial = []
      }
      i = nl + 1
      this.onLine(line)
    }
  }

  private onLine(line: Buffer): void {
    const continuation = this.afterLiteral
    this.afterLiteral = false
    const n = line.length
    // a line ending in {N}\r\n announces N literal bytes
    if (n >= 4 && line[n - 3] === 0x7d) {
      let j = n - 4
      let size = 0
      let mult = 1
      while (j >= 0 && line[j]! >= 0x30 && line[j]! <= 0x39) {
        size += (line[j]! - 0x30) * mult
        mult *= 10
        j--
      }
      if (j >= 0 && line[j] === 0x7b && j < n - 4) {
        this.literalLeft = size
        if (size === 0) this.afterLiteral = true
      }
    }
    if (continuation) return
    if (this.greeted) {
      const text = line.toString('latin1')
      const greeted = this.greeted
      this.greeted = undefined
      if (text.startsWith('* OK')) greeted.resolve()
      else greeted.reject(new Error(`greeting: ${text.trim()}`))
      return
    }
    const p = this.pending
    if (!p) return
    if (line[0] === 0x2a) {
      p.untagged++
      if (p.collect) p.lines.push(line.toString('latin1').trimEnd())
      return
    }
    if (line[0] === 0x2b) {
      p.onContinue?.()
      return
    }
    const text = line.toString('latin1').trimEnd()
    if (!text.startsWith(p.tag + ' ')) return
    this.pending = undefined
    const status = text.slice(p.tag.length + 1, p.tag.length + 3)
    if (status !== 'OK') return p.reject(new Error(`server answered: ${text.slice(0, 200)}`))
    const now = process.hrtime.bigint()
    p.resolve({line: text, untagged: p.untagged, lines: p.lines, bytes: this.received - p.bytesAtStart, ms: Number(now - p.start) / 1e6, firstByteMs: Number((p.firstByte ?? now) - p.start) / 1e6})
  }
}

// ---------------------------------------------------------------------------------------------
// workloads: the same bytes for both servers

/** the i-th small message (about 700 bytes), CRLF */
export function smallMessage(i: number): Buffer {
  const date = new Date(Date.UTC(2024, 0, 1) + i * 60_000).toUTCString().replace('GMT', '+0000')
  const body = Array.from({length: 6}, (_, k) => `Line ${k} of message ${i}: the quick brown fox jumps over the lazy dog.`).join('\r\n')
  return Buffer.from(
    `From: Sender ${i % 97} <sender${i % 97}@example.net>\r\nTo: List <list@example.org>\r\nSubject: Bench message number ${i}\r\n` +
      `Date: ${date}\r\nMessage-ID: <${i}.bench@example.net>\r\n${i % 10 ? `References: <${i - (i % 10)}.bench@example.net>\r\n` : ''}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`,
  )
}

let noise: string | undefined
/** the i-th ~`size`-byte message: a header and 76-column lines of base64 text */
function bigMessage(i: number, size: number): Buffer {
  noise ??= randomBytes(96 * 1024).toString('base64')
  const header = `From: Sender <sender@example.net>\r\nTo: List <list@example.org>\r\nSubject: Big bench message ${i}\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <big${i}.bench@example.net>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n`
  const lines: string[] = []
  let left = size - header.length
  let at = (i * 7919) % (noise.length - 100)
  while (left > 0) {
    const len = Math.min(76, Math.max(1, left - 2))
    if (at + len > noise.length) at = 0
    lines.push(noise.slice(at, at + len))
    at += len
    left -= len + 2
  }
  return Buffer.from(header + lines.join('\r\n') + '\r\n')
}

const appendMessage = (i: number) => Buffer.from(`From: client@example.net\r\nTo: List <list@example.org>\r\nSubject: Appended ${i}\r\nMessage-ID: <app${i}.bench@example.net>\r\n\r\nA small appended message.\r\n${'x'.repeat(400)}\r\n`)

/** Fills a user's INBOX straight into the store: one blob each, a few thousand per commit. */
export function fillStore(store: Store, user: string, count: number, make: (i: number) => Buffer): void {
  const BATCH = 5000
  const t0 = Date.UTC(2024, 0, 1)
  for (let from = 0; from < count; from += BATCH) {
    const raws = Array.from({length: Math.min(BATCH, count - from)}, (_, k) => make(from + k))
    const analyses = raws.map((raw) => analyzeMessage(raw))
    store.transact(() => {
      const inbox = store.mailboxes.get(mailboxKey(user, 'INBOX'))
      if (!inbox) throw new Error(`no INBOX for ${user}`)
      const entries = raws.map((raw, k) => ({blobId: putBlob(store, raw, {analysis: analyses[k]!}, 1), size: raw.length, internalDate: t0 + (from + k) * 60_000}))
      appendEntries(store, inbox, entries)
    })
  }
}

/**
 * Writes Maildir files straight into a peer user's mail location (Dovecot indexes them on the
 * first SELECT). Names carry the order (seconds), size and virtual size (the files are CRLF
 * already, so both are equal): Dovecot gives UID i+1 to message i, as mailbox does.
 */
function fillMaildir(peerRoot: string, user: string, count: number, make: (i: number) => Buffer): void {
  const maildir = join(peerRoot, 'dovecot-data', 'example.com', user, 'Maildir')
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, sub), {recursive: true})
  const base = 1_700_000_000
  for (let i = 0; i < count; i++) {
    const raw = make(i)
    writeFileSync(join(maildir, 'cur', `${base + i}.M${i}P1.bench,S=${raw.length},W=${raw.length}:2,`), raw)
  }
}

// ---------------------------------------------------------------------------------------------
// processes: mailbox serve, the peer, reference servers; all stopped in `finally` (and on ^C)

export interface Target {
  name: string
  port: number
  /** the server process, when it is one (mailbox) */
  pid?: number
  /** users for benchmarks 1..4 */
  users: {big: string; bodies: string; headers: string; cycles: string; idle: string[]}
  password: string
}

/** what must not outlive the benchmark: killed synchronously on ^C (normal runs stop each in `finally`) */
const live = new Set<() => void>()

/** registers an emergency kill; the returned function stops the thing for good (idempotent) */
function guard<T>(kill: () => void, stop: () => T): () => T | undefined {
  let stopped = false
  live.add(kill)
  return () => {
    if (stopped) return undefined
    stopped = true
    live.delete(kill)
    return stop()
  }
}

function onSignal(signal: NodeJS.Signals): void {
  for (const kill of [...live].reverse()) {
    try {
      kill()
    } catch {
      // best effort on the way out
    }
  }
  process.exit(signal === 'SIGINT' ? 130 : 143)
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** starts `serve` (on `store`, a postgres:// URL, when given) with IMAP on a free port and waits until IMAP accepts connections */
export async function serveImap(dataDir: string, extra: string[] = [], store?: string): Promise<{pid: number; port: number; stop: () => Promise<void>}> {
  const port = await freePort()
  // the domain and users were made in-process before the fill
  const served = await startServe(dataDir, await freePort(), {users: [], ...(store ? {store} : {})}, ['--allow-insecure-auth', '--imap-port', String(port), ...extra])
  const stop = guard(
    () => served.child.kill('SIGKILL'),
    async () => {
      if (!exited(served.child)) await served.stop()
    },
  )
  try {
    const deadline = Date.now() + 10_000
    for (;;) {
      try {
        ;(await Imap.connect(port)).destroy()
        break
      } catch (err) {
        if (Date.now() > deadline) throw err
        await sleep(50)
      }
    }
  } catch (err) {
    await stop()
    throw err
  }
  return {pid: served.child.pid!, port, stop: async () => void (await stop())}
}

/** a small Node program in a child process; resolves with the port it prints */
async function nodeChild(script: string, args: string[] = [], nodeArgs: string[] = []): Promise<{child: ChildProcess; pid: number; port: number; stop: () => void}> {
  const child = spawn(process.execPath, [...nodeArgs, '-e', script, ...args], {stdio: ['ignore', 'pipe', 'inherit', 'ipc']})
  const stop = guard(
    () => child.kill('SIGKILL'),
    () => void child.kill('SIGKILL'),
  )
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('exit', (code) => reject(new Error(`reference server exited (${code})`)))
    })
    return {child, pid: child.pid!, port, stop: () => void stop()}
  } catch (err) {
    stop()
    throw err
  }
}

interface Peer {
  root: string
  stop: () => void
}

function startPeer(): Peer | string {
  if (!existsSync(PEER)) return 'skipped: ../shared/peer not found'
  if (!which('postfix') || !which('dovecot')) return 'skipped: apt-get install postfix dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd'
  if (process.getuid?.() !== 0) return 'skipped: the peer scripts must run as root'
  // the peer's daemons drop to their own users: the root must be traversable (mkdtemp gives 0700)
  const root = mkdtempSync(join(tmpdir(), 'mbx-peer-'))
  chmodSync(root, 0o755)
  const env = {...process.env, PEER_ROOT: root}
  const stopPeer = () => {
    spawnSync(join(PEER, 'peer-stop.sh'), [], {env, stdio: 'ignore'})
    rmSync(root, {recursive: true, force: true})
  }
  const stop = guard(stopPeer, stopPeer)
  const start = spawnSync(join(PEER, 'peer-start.sh'), ['--fresh'], {env, encoding: 'utf8'})
  if (start.status !== 0) {
    stop()
    return `peer did not start: ${(start.stderr || start.stdout).trim().slice(-300)}`
  }
  return {root, stop: () => void stop()}
}

// ---------------------------------------------------------------------------------------------

export {median}
const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] ?? NaN
export const ms = (x: number, digits = 1) => `${x.toFixed(digits)} ms`
export const goal = (value: number, limit: number) => (value < limit ? 'met' : 'MISSED')
/** time ratio: below 1 mailbox is faster */
export const timeRatio = (a: number, b: number | undefined): FigureValue => (b ? lower(a / b, {note: '(mailbox / Dovecot time; < 1: mailbox faster)'}) : 'n/a')

/** a memory figure of /proc/PID/status in kB */
const memKb = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
const rssKb = (pid: number) => memKb(pid, 'VmRSS')

function mulberry32(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export async function benchImap(): Promise<void> {
  const {dir, cleanup} = tempDir('mbx-bench-imap-')
  const removeDir = guard(cleanup, cleanup)
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  let peer: Peer | undefined
  let served: {pid: number; port: number; stop: () => Promise<void>} | undefined
  try {
    // ---- setup: mailbox store (before serve), peer Maildirs
    const dataDir = join(dir, 'data')
    const big = want('folder') || want('quota') || want('esearch') || want('sort') || want('esort') ? BIG_FOLDER : 0
    const bodies = want('bodies') || want('compress') ? BODIES : 0
    const headers = want('headers') ? HEADERS : 0
    const setup = await timed(async () => {
      const store = openStore(dataDir)
      try {
        await addDomain(store, DOMAIN)
        for (const u of ['alice', 'bob', 'carol', 'erin']) await addUser(store, {address: `${u}@${DOMAIN}`, password: PW, ...(u === 'alice' && want('quota') ? {quota: BENCH_QUOTA} : {})})
        // alice's logins are not what is measured (only carol's are, in benchmark 3); a cheap hash lets
        // benchmark 4 open many sessions on her 100k folder quickly
        await cheapPassword(store, `alice@${DOMAIN}`)
        fillStore(store, `alice@${DOMAIN}`, big, smallMessage)
        fillStore(store, `bob@${DOMAIN}`, bodies, (i) => bigMessage(i, BODY_SIZE))
        fillStore(store, `carol@${DOMAIN}`, SMALL_FOLDER, smallMessage)
        fillStore(store, `erin@${DOMAIN}`, headers, smallMessage)
      } finally {
        await store.close()
      }
    })
    console.log(
      `  setup: mailbox store filled in ${(setup.ms / 1000).toFixed(1)} s (alice ${big} small, bob ${bodies} x ${BODY_SIZE} B, carol ${SMALL_FOLDER} small; openStore + analyzeMessage + putBlob/appendEntries, 5000 per commit, before serve starts)`,
    )

    const peerOrWhy = startPeer()
    let filledAt = 0
    if (typeof peerOrWhy === 'string') {
      console.log(`  Dovecot peer: ${peerOrWhy}`)
    } else {
      peer = peerOrWhy
      const root = peer.root
      const fill = await timed(() => {
        fillMaildir(root, 'test', big, smallMessage)
        fillMaildir(root, 'test1', bodies, (i) => bigMessage(i, BODY_SIZE))
        for (const u of ['test2', 'test3', 'test4']) fillMaildir(root, u, SMALL_FOLDER, smallMessage)
        fillMaildir(root, 'test5', headers, smallMessage)
        const chown = spawnSync('chown', ['-R', 'mail:mail', join(root, 'dovecot-data', 'example.com')], {encoding: 'utf8'})
        if (chown.status !== 0) throw new Error(`chown: ${chown.stderr}`)
      })
      filledAt = Date.now()
      console.log(`  setup: Dovecot Maildirs written in ${(fill.ms / 1000).toFixed(1)} s (the same messages as files in Maildir/cur of test, test1, test2..4@example.com; Dovecot indexes them on first SELECT)`)
    }

    served = await serveImap(dataDir)
    const mbx: Target = {name: 'mailbox', port: served.port, pid: served.pid, password: PW, users: {big: `alice@${DOMAIN}`, bodies: `bob@${DOMAIN}`, headers: `erin@${DOMAIN}`, cycles: `carol@${DOMAIN}`, idle: [`dave@${DOMAIN}`]}}
    const dov: Target | undefined = peer && {
      name: 'Dovecot',
      port: 10143,
      password: PEER_PW,
      users: {big: 'test@example.com', bodies: 'test1@example.com', headers: 'test5@example.com', cycles: 'test2@example.com', idle: ['test3@example.com', 'test4@example.com']},
    }

    if (want('folder')) await benchBigFolder(mbx, dov, filledAt)
    if (want('sort')) await benchSort(mbx, dov, BIG_FOLDER, filledAt)
    if (want('bodies')) await benchBodies(mbx, dov, dir)
    if (want('headers')) await benchHeaders(mbx, dov)
    if (want('compress')) await benchCompress(mbx, dov, peer?.root, BODIES)
    if (want('cycles')) await benchCycles(mbx, dov)
    if (want('append')) await benchAppend(mbx, dov)
    if (want('quota')) await benchQuota(mbx, big)
    if (want('esearch')) await benchEsearch(mbx, dov, filledAt)
    if (want('consistency')) await benchConsistency([mbx, ...(dov ? [dov] : [])].map((t) => ({name: t.name, port: t.port, user: t.users.cycles, password: t.password})))
    if (want('esort')) await benchEsort(mbx, dov, filledAt)
    const onBigFolder = want('memory') && want('folder') ? await idleOnBigFolder(mbx) : undefined
    await served.stop()

    if (want('memory')) await benchIdleMemory(dir, dov, peer?.root, onBigFolder)
  } finally {
    await served?.stop()
    peer?.stop()
    removeDir()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}

// ---------------------------------------------------------------------------------------------
// 1. the 100k-message folder

export interface BigFolderFigures {
  firstSelect: number
  reselect: number
  freshSelect: number
  store: number
  uidFetch: number
  fetch: number
  search: number
  fetchBytes: number
  searchHits: number
}

/** the 100k-folder workload on `t`'s big user, whose INBOX holds `count` messages */
export async function bigFolder(t: Target, count = BIG_FOLDER): Promise<BigFolderFigures> {
  const c = await Imap.connect(t.port)
  try {
    await c.login(t.users.big, t.password)
    const first = await c.run('SELECT INBOX', {collect: true})
    const exists = Number(first.lines.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean))
    if (exists !== count) throw new Error(`${t.name}: INBOX has ${exists} messages, expected ${count}`)
    const reselects: number[] = []
    for (let i = 0; i < RUNS; i++) reselects.push((await c.run('SELECT INBOX')).ms)
    const seen = Math.round(count / 10)
    const store = await c.run(`STORE 1:${seen} +FLAGS.SILENT (\\Seen)`)
    const uidFetch: number[] = []
    const fetch: number[] = []
    let fetchBytes = 0
    for (let i = 0; i < RUNS; i++) {
      const r = await c.run('UID FETCH 1:* (UID FLAGS)')
      if (r.untagged < count) throw new Error(`${t.name}: UID FETCH returned ${r.untagged} responses`)
      uidFetch.push(r.ms)
      fetchBytes = r.bytes
    }
    for (let i = 0; i < RUNS; i++) fetch.push((await c.run('FETCH 1:* (UID FLAGS)')).ms)
    const search: number[] = []
    let searchHits = 0
    for (let i = 0; i < RUNS; i++) {
      const r = await c.run('SEARCH UNSEEN', {collect: true})
      search.push(r.ms)
      searchHits = (r.lines.find((l) => l.startsWith('* SEARCH')) ?? '').split(' ').length - 2
    }
    if (searchHits !== count - seen) throw new Error(`${t.name}: SEARCH UNSEEN found ${searchHits}, expected ${count - seen}`)
    await c.logout()
    // what a client that connects to an already indexed/loaded folder sees
    const fresh: number[] = []
    for (let i = 0; i < RUNS; i++) {
      const f = await Imap.connect(t.port)
      try {
        await f.login(t.users.big, t.password)
        fresh.push((await f.run('SELECT INBOX')).ms)
        await f.logout()
      } finally {
        f.destroy()
      }
    }
    return {
      firstSelect: first.ms,
      reselect: median(reselects),
      freshSelect: median(fresh),
      store: store.ms,
      uidFetch: median(uidFetch),
      fetch: median(fetch),
      search: median(search),
      fetchBytes,
      searchHits,
    }
  } finally {
    c.destroy()
  }
}

async function benchBigFolder(mbx: Target, dov: Target | undefined, filledAt: number): Promise<void> {
  const m = await bigFolder(mbx)
  let d: BigFolderFigures | undefined
  let why = ''
  if (dov) {
    // Dovecot distrusts a Maildir changed within the last second or so and rescans it on every sync
    await sleep(Math.max(0, filledAt + 2000 - Date.now()))
    try {
      d = await bigFolder(dov)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  } else why = 'skipped (no peer)'
  const row = (label: string, key: keyof BigFolderFigures, limit?: number): [string, FigureValue][] => {
    const a = m[key]
    const b = d?.[key]
    return [
      [`${label}: mailbox`, fig(a, 'ms', limit ? ` (goal < ${limit} ms: ${goal(a, limit)})` : '', 1)],
      [`${label}: Dovecot`, b === undefined ? why : ms(b)],
      [`${label}: ratio`, timeRatio(a, b)],
    ]
  }
  report(
    'folder',
    `${BIG_FOLDER.toLocaleString('en')}-message INBOX (messages of ~${smallMessage(BIG_FOLDER >> 1).length} B), one client; medians of ${RUNS} runs except the first SELECT and the STORE; time until the tagged OK`,
    Object.fromEntries([
      [
        'workload',
        `LOGIN, SELECT (first: loads the folder), ${RUNS}x SELECT again, STORE 1:${BIG_FOLDER / 10} +FLAGS.SILENT (\\Seen), ${RUNS}x UID FETCH 1:* (UID FLAGS), ${RUNS}x FETCH 1:* (UID FLAGS), ${RUNS}x SEARCH UNSEEN, LOGOUT; then ${RUNS}x (connect, LOGIN, SELECT, LOGOUT)`,
      ],
      ['fill', `mailbox: ${BIG_FOLDER} messages straight into the store; Dovecot: the same ${BIG_FOLDER} files written into Maildir/cur`],
      ...row('first SELECT (cold)', 'firstSelect'),
      ...row('SELECT again, same session', 'reselect', 20),
      ...row('SELECT in a new session', 'freshSelect', 20),
      ...row('STORE 10% \\Seen (once)', 'store'),
      ...row('UID FETCH 1:* (UID FLAGS)', 'uidFetch', 300),
      ...row('FETCH 1:* (UID FLAGS)', 'fetch', 300),
      ...row('SEARCH UNSEEN', 'search', 50),
      ['FETCH reply size (mailbox / Dovecot)', `${(m.fetchBytes / 1e6).toFixed(2)} MB / ${d ? (d.fetchBytes / 1e6).toFixed(2) + ' MB' : 'n/a'}`],
      ['SEARCH UNSEEN hits', `${m.searchHits}`],
      ['note', "Dovecot's re-SELECT in the same session re-reads its Maildir uidlist (strace: ~550 preads a SELECT); a new session does not"],
    ]),
  )
}

// ---------------------------------------------------------------------------------------------
// 2. full bodies

interface BodyFigures {
  mbps: number
  bytes: number
  runs: number[]
  /** median time to the first byte of the reply */
  firstByteMs: number
  ms: number
  /** the same median after the server answered STEADY_COMMANDS more (see fetchRuns), when asked */
  steadyFirstByteMs?: number
}

/**
 * Commands a server answers between the timed runs and the steady-state ones. The first byte of
 * the FETCH after a 100 MB one is mostly the per-command path (framing, parsing, the sequence set,
 * the folder, the first message: ~250 functions with Node's) run with the caches just evicted by
 * that reply, and after a handful of commands still in V8's interpreter, as only in a server's
 * first minutes. On a warm server one NOOP in between took it from 0.32 to 0.23 ms and a 1-3 ms
 * wait did not; an idle of 1-2 ms before a command cost 0.04 ms, so how far mailbox writes ahead
 * of the client (1.8-3.4 MB queued, Dovecot 0.25 MB) is not the cause. In six runs at f999769 (five `BENCH_IMAP_ONLY=bodies,headers npm run bench --
 * imap` and a full `npm run bench`) mailbox's first byte was 1.8-2.5x Dovecot's fresh, and after
 * these commands 0.9-1.3x in four runs and 2.4x and 2.6x in two; Dovecot's was 0.25-0.34 ms. The
 * SMTP benchmark warms its server with 1,000 messages for the same reason; here both are printed.
 */
const STEADY_COMMANDS = Number(process.env.BENCH_IMAP_STEADY_COMMANDS ?? 3000)

async function bodies(port: number, login?: {user: string; password: string}): Promise<BodyFigures> {
  // a client reading one message at a time, the way most mail clients fetch bodies
  return fetchRuns(port, login, 'FETCH 1:* BODY.PEEK[]', BODIES, login && ((i) => `FETCH ${(i % BODIES) + 1} BODY.PEEK[]`))
}

/**
 * A warm-up, then RUNS times the same `command`, which must return at least `expected` responses;
 * with `steady`, then STEADY_COMMANDS of `steady(i)` and RUNS times `command` again for its first byte.
 */
async function fetchRuns(port: number, login: {user: string; password: string} | undefined, command: string, expected: number, steady?: (i: number) => string): Promise<BodyFigures> {
  const c = await Imap.connect(port)
  try {
    if (login) {
      await c.login(login.user, login.password)
      await c.run('SELECT INBOX')
    }
    const warm = await c.run(command)
    if (warm.untagged < expected) throw new Error(`${command} returned ${warm.untagged} responses, expected ${expected}`)
    const runs: number[] = []
    const firstBytes: number[] = []
    const times: number[] = []
    let bytes = 0
    for (let i = 0; i < RUNS; i++) {
      const r = await c.run(command)
      bytes = r.bytes
      runs.push(r.bytes / 1e6 / (r.ms / 1000))
      firstBytes.push(r.firstByteMs)
      times.push(r.ms)
    }
    let steadyFirstByteMs: number | undefined
    if (steady) {
      for (let i = 0; i < STEADY_COMMANDS; i++) await c.run(steady(i))
      const steadyFirstBytes: number[] = []
      for (let i = 0; i < RUNS; i++) steadyFirstBytes.push((await c.run(command)).firstByteMs)
      steadyFirstByteMs = median(steadyFirstBytes)
    }
    await c.logout()
    return {mbps: median(runs), bytes, runs, firstByteMs: median(firstBytes), ms: median(times), ...(steadyFirstByteMs !== undefined ? {steadyFirstByteMs} : {})}
  } finally {
    c.destroy()
  }
}

/** first-byte times of the same small FETCH with both servers in the same state (see benchBodies) */
interface FirstByteStates {
  /** right after a NOOP: caches warm, the server's thread just ran */
  warm: number
  /** 5 ms after a NOOP: the server's thread slept */
  idle: number
}

const IDLE_MS = 5
const STATE_ROUNDS = 11

async function firstByteStates(port: number, login: {user: string; password: string}): Promise<FirstByteStates> {
  const c = await Imap.connect(port)
  try {
    await c.login(login.user, login.password)
    await c.run('SELECT INBOX')
    await c.run('FETCH 1 BODY.PEEK[]')
    const warm: number[] = []
    const idle: number[] = []
    for (let i = 0; i < STATE_ROUNDS; i++) {
      await c.run('NOOP')
      warm.push((await c.run('FETCH 1 BODY.PEEK[]')).firstByteMs)
      await c.run('NOOP')
      await sleep(IDLE_MS)
      idle.push((await c.run('FETCH 1 BODY.PEEK[]')).firstByteMs)
    }
    await c.logout()
    return {warm: median(warm), idle: median(idle)}
  } finally {
    c.destroy()
  }
}

/** a loopback server that answers any command line with the same FETCH bytes (read from a file) in one write, then a tagged OK */
const SINK = `
const {createServer} = require('node:net')
const data = require('node:fs').readFileSync(process.argv[process.argv.length - 1])
const server = createServer((s) => {
  s.setNoDelay(true)
  s.on('error', () => {})
  s.write('* OK sink ready\\r\\n')
  let buf = ''
  s.on('data', (d) => {
    buf += d
    let nl
    while ((nl = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      const tag = line.split(' ')[0]
      if (/ LOGOUT/i.test(line)) { s.end('* BYE\\r\\n' + tag + ' OK bye\\r\\n'); return }
      s.write(data)
      s.write(tag + ' OK done\\r\\n')
    }
  })
})
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

async function benchBodies(mbx: Target, dov: Target | undefined, dir: string): Promise<void> {
  const rssBefore = mbx.pid ? memKb(mbx.pid, 'VmRSS') : 0
  const m = await bodies(mbx.port, {user: mbx.users.bodies, password: mbx.password})
  const peak = mbx.pid ? memKb(mbx.pid, 'VmHWM') : 0
  const mStates = await firstByteStates(mbx.port, {user: mbx.users.bodies, password: mbx.password})
  let d: BodyFigures | undefined
  let dStates: FirstByteStates | undefined
  let why = 'skipped (no peer)'
  if (dov) {
    try {
      d = await bodies(dov.port, {user: dov.users.bodies, password: dov.password})
      dStates = await firstByteStates(dov.port, {user: dov.users.bodies, password: dov.password})
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  // the ceiling: the same reply bytes from a plain Node socket in its own process
  const file = join(dir, 'fetch-reply.bin')
  const pieces: Buffer[] = []
  for (let i = 0; i < BODIES; i++) {
    const raw = bigMessage(i, BODY_SIZE)
    pieces.push(Buffer.from(`* ${i + 1} FETCH (BODY[] {${raw.length}}\r\n`), raw, Buffer.from(')\r\n'))
  }
  writeFileSync(file, Buffer.concat(pieces))
  const sink = await nodeChild(SINK, [file])
  let s: BodyFigures
  try {
    s = await bodies(sink.port)
  } finally {
    sink.stop()
  }
  const fmt = (r: BodyFigures) => fig(r.mbps, 'MB/s', `(runs ${r.runs.map((x) => x.toFixed(0)).join(', ')}; first byte after ${ms(r.firstByteMs)} of ${ms(r.ms)})`, 0)
  /** two first-byte times side by side, Dovecot's when it was measured */
  const both = (mailbox: number, dovecot: number | undefined) => `mailbox ${ms(mailbox, 2)}` + (dovecot !== undefined ? `, Dovecot ${ms(dovecot, 2)}` : '')
  report('bodies', `FETCH 1:* BODY.PEEK[] of ${BODIES} messages of ${BODY_SIZE} B, one client; bytes received until the tagged OK / time, median of ${RUNS} after a warm-up`, {
    'reply size (mailbox)': `${(m.bytes / 1e6).toFixed(1)} MB`,
    'mailbox': fmt(m),
    'Dovecot': d ? fmt(d) : why,
    'ceiling: plain Node socket, same bytes': fmt(s),
    'ratio mailbox / Dovecot (throughput)': d ? higher(m.mbps / d.mbps, {goal: 1}) : 'n/a',
    'ratio mailbox / Dovecot (first byte time)': d ? lower(m.firstByteMs / d.firstByteMs, {goal: 2}) : 'n/a',
    [`first byte after ${STEADY_COMMANDS.toLocaleString('en')} more commands (FETCH n BODY.PEEK[], one message each)`]: both(m.steadyFirstByteMs!, d?.steadyFirstByteMs),
    'ratio mailbox / Dovecot (first byte, steady state)': d?.steadyFirstByteMs !== undefined ? lower(m.steadyFirstByteMs! / d.steadyFirstByteMs, {goal: 2}) : 'n/a',
    'ratio mailbox / ceiling': higher(m.mbps / s.mbps),
    // the first byte above comes right after a 100 MB reply, with each server in whatever state its
    // own reply left it; the same small FETCH with both in the same state, warm and after a sleep:
    'first byte of FETCH 1 BODY.PEEK[] right after a NOOP': both(mStates.warm, dStates?.warm),
    'ratio mailbox / Dovecot (first byte, both warm)': dStates ? lower(mStates.warm / dStates.warm) : 'n/a',
    [`first byte of FETCH 1 BODY.PEEK[] ${IDLE_MS} ms after a NOOP`]: both(mStates.idle, dStates?.idle),
    'ratio mailbox / Dovecot (first byte, both idle)': dStates ? lower(mStates.idle / dStates.idle) : 'n/a',
    'mailbox serve memory': `VmRSS ${(rssBefore / 1024).toFixed(0)} MiB before, peak (VmHWM) ${(peak / 1024).toFixed(0)} MiB after`,
  })
}

async function benchHeaders(mbx: Target, dov: Target | undefined): Promise<void> {
  const command = 'FETCH 1:* BODY.PEEK[HEADER]'
  const m = await fetchRuns(mbx.port, {user: mbx.users.headers, password: mbx.password}, command, HEADERS)
  let d: BodyFigures | undefined
  let why = 'skipped (no peer)'
  if (dov) {
    try {
      d = await fetchRuns(dov.port, {user: dov.users.headers, password: dov.password}, command, HEADERS)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  const fmt = (r: BodyFigures) => fig(r.ms, 'ms', `(${r.mbps.toFixed(0)} MB/s; runs ${r.runs.map((x) => x.toFixed(0)).join(', ')} MB/s; first byte after ${ms(r.firstByteMs)})`, 1)
  report('headers', `${command} of ${HEADERS.toLocaleString('en')} small messages, one client; time until the tagged OK, median of ${RUNS} after a warm-up`, {
    'reply size (mailbox / Dovecot)': `${(m.bytes / 1e6).toFixed(2)} MB / ${d ? (d.bytes / 1e6).toFixed(2) + ' MB' : 'n/a'}`,
    'mailbox': fmt(m),
    'Dovecot': d ? fmt(d) : why,
    'ratio mailbox / Dovecot (throughput)': d ? higher(m.mbps / d.mbps, {goal: 1}) : 'n/a',
    'ratio mailbox / Dovecot (first byte time)': d ? lower(m.firstByteMs / d.firstByteMs, {goal: 2}) : 'n/a',
  })
}

// ---------------------------------------------------------------------------------------------
// 3. concurrent clients

interface CycleFigures {
  cycles: number
  perSecond: number
  errors: number
  firstError?: string
  loginMs?: number
  cycleMs: number
  cycleP90: number
}

async function cycles(t: Target, withLogin: boolean, seed: number): Promise<CycleFigures> {
  const rnd = mulberry32(seed)
  const pick = (n: number) => 1 + Math.floor(rnd() * n)
  let done = 0
  let errors = 0
  let firstError: string | undefined
  const logins: number[] = []
  const cycleTimes: number[] = []
  let appended = 0
  const deadline = Date.now() + SECONDS * 1000

  const body = async (c: Imap) => {
    const sel = await c.run('SELECT INBOX', {collect: true})
    const exists = Number(sel.lines.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean)) || 1
    await c.run(`FETCH ${[pick(exists), pick(exists), pick(exists)].join(',')} (FLAGS BODY.PEEK[HEADER])`)
    await c.run(`STORE ${pick(exists)} ${rnd() < 0.5 ? '+' : '-'}FLAGS.SILENT (\\Flagged)`)
    const app = await c.run('APPEND INBOX (\\Seen)', {literal: appendMessage(appended++)})
    const uid = /APPENDUID \d+ (\d+)/.exec(app.line)?.[1]
    if (!uid) throw new Error(`no APPENDUID in ${app.line}`)
    await c.run(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`)
    await c.run(`UID EXPUNGE ${uid}`)
  }
  const client = async () => {
    let c: Imap | undefined
    try {
      if (!withLogin) {
        c = await Imap.connect(t.port)
        await c.login(t.users.cycles, t.password)
      }
      while (Date.now() < deadline) {
        const start = process.hrtime.bigint()
        try {
          if (withLogin) {
            c = await Imap.connect(t.port)
            logins.push((await c.login(t.users.cycles, t.password)).ms)
          }
          await body(c!)
          if (withLogin) {
            await c!.run('LOGOUT')
            c!.destroy()
          }
          done++
          cycleTimes.push(Number(process.hrtime.bigint() - start) / 1e6)
        } catch (err) {
          errors++
          firstError ??= (err as Error).message
          c?.destroy()
          if (!withLogin) {
            c = await Imap.connect(t.port)
            await c.login(t.users.cycles, t.password)
          }
        }
      }
      if (!withLogin) await c!.logout()
    } finally {
      c?.destroy()
    }
  }
  const {ms: elapsed} = await timed(() => Promise.all(Array.from({length: CLIENTS}, client)))
  return {cycles: done, perSecond: done / (elapsed / 1000), errors, firstError, loginMs: logins.length ? median(logins) : undefined, cycleMs: median(cycleTimes), cycleP90: quantile(cycleTimes, 0.9)}
}

/** what one login costs mailbox on this machine: argon2id verifies with the server's parameters, here in-process */
async function argonCost(): Promise<{one: number; concurrentMs: number}> {
  const hash = await argon2.hash(PW, HASH_OPTIONS)
  const one: number[] = []
  for (let i = 0; i < 3; i++) one.push((await timed(() => argon2.verify(hash, PW))).ms)
  const {ms: concurrentMs} = await timed(() => Promise.all(Array.from({length: CLIENTS}, () => argon2.verify(hash, PW))))
  return {one: median(one), concurrentMs}
}

async function benchCycles(mbx: Target, dov: Target | undefined): Promise<void> {
  const argon = await argonCost()
  const run = async (t: Target | undefined, withLogin: boolean) => {
    if (!t) return 'skipped (no peer)'
    try {
      return await cycles(t, withLogin, withLogin ? 1 : 2)
    } catch (err) {
      return `failed: ${(err as Error).message}`
    }
  }
  const ml = await run(mbx, true)
  const dl = await run(dov, true)
  const mp = await run(mbx, false)
  const dp = await run(dov, false)
  const fmt = (f: CycleFigures | string) =>
    typeof f === 'string'
      ? f
      : fig(f.perSecond, 'cycles/s', `(${f.cycles} cycles; cycle median ${ms(f.cycleMs)}, p90 ${ms(f.cycleP90)}${f.loginMs !== undefined ? `, median LOGIN ${ms(f.loginMs)}` : ''}${f.errors ? `; ${f.errors} errors, first: ${f.firstError}` : ''})`, 1)
  const ratio = (a: CycleFigures | string, b: CycleFigures | string) => (typeof a === 'string' || typeof b === 'string' ? 'n/a' : higher(a.perSecond / b.perSecond))
  report('cycles', `${CLIENTS} concurrent clients on one user's INBOX of ${SMALL_FOLDER} small messages, ${SECONDS} s each; cycles completed per second`, {
    workload: 'SELECT INBOX, FETCH 3 random (FLAGS BODY.PEEK[HEADER]), STORE 1 random +/-FLAGS.SILENT (\\Flagged), APPEND ~0.5 KB (LITERAL+), UID STORE it \\Deleted, UID EXPUNGE it',
    'with login (connect, LOGIN … LOGOUT)': 'plain LOGIN over loopback (mailbox: --allow-insecure-auth; argon2id m=64MiB t=3 p=4)',
    '  mailbox': fmt(ml),
    '  Dovecot': fmt(dl),
    '  ratio mailbox / Dovecot': ratio(ml, dl),
    '  argon2id verify, same parameters': `${ms(argon.one)} alone; ${CLIENTS} at once ${ms(argon.concurrentMs)} (a ceiling of ${((CLIENTS * 1000) / argon.concurrentMs).toFixed(1)} logins/s on this machine)`,
    'persistent sessions (one LOGIN per client)': '',
    '  mailbox ': fmt(mp),
    '  Dovecot ': fmt(dp),
    '  ratio mailbox / Dovecot ': ratio(mp, dp),
  })
}

// ---------------------------------------------------------------------------------------------
// 4. memory per idle connection


/** PSS (and RSS) of the Dovecot master and its children, in kB */
function dovecotMemory(peerRoot: string): {pss: number; rss: number; processes: number} {
  const master = Number(readFileSync(join(peerRoot, 'dovecot-run', 'master.pid'), 'utf8').trim())
  let pss = 0
  let rss = 0
  let processes = 0
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (Number(entry) !== master && ppid !== master) continue
      const rollup = readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8')
      pss += Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0)
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0)
      processes++
    } catch {
      // the process went away
    }
  }
  return {pss, rss, processes}
}

/** opens `n` connections: LOGIN, SELECT INBOX, IDLE (or just the greeting when `users` is empty); 20 at a time */
async function openIdle(port: number, n: number, users: string[], password: string, conns: Imap[]): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({length: 20}, async () => {
      while (next < n) {
        const i = next++
        const c = await Imap.connect(port)
        conns.push(c)
        if (!users.length) continue
        await c.login(users[i % users.length]!, password)
        await c.run('SELECT INBOX')
        await c.idle()
      }
    }),
  )
}

/** a plain Node server holding idle sockets; on an IPC "mem" it collects garbage and reports process.memoryUsage() */
const REFERENCE_SERVER = `
const server = require('node:net').createServer((s) => {
  s.setNoDelay(true)
  s.on('error', () => {})
  s.on('data', () => {})
  s.write('* OK ready\\r\\n')
})
process.on('message', () => { gc(); gc(); process.send(process.memoryUsage()) })
server.listen(0, '127.0.0.1', () => console.log(server.address().port))
`

/** talks to a Node inspector: two full GCs, then the process's pid and memoryUsage() as JSON on stdout */
const INSPECTOR_CLIENT = `
const ws = new WebSocket(process.argv[process.argv.length - 1])
let id = 0
const send = (method, params = {}) => new Promise((resolve, reject) => {
  const my = ++id
  const on = (e) => {
    const m = JSON.parse(e.data)
    if (m.id !== my) return
    ws.removeEventListener('message', on)
    if (m.error) reject(new Error(m.error.message)); else resolve(m.result)
  }
  ws.addEventListener('message', on)
  ws.send(JSON.stringify({id: my, method, params}))
})
ws.onopen = async () => {
  try {
    await send('HeapProfiler.collectGarbage')
    await send('HeapProfiler.collectGarbage')
    const r = await send('Runtime.evaluate', {expression: 'JSON.stringify({pid: process.pid, ...process.memoryUsage()})', returnByValue: true})
    console.log(r.result.value)
  } catch (err) { console.error(err.message); process.exitCode = 1 }
  ws.close()
}
ws.onerror = () => { console.error('inspector connection failed'); process.exit(1) }
`

interface Mem {
  /** VmRSS, kB */
  rss: number
  /** V8 heap used + external (Buffers), kB, after forced full GCs; undefined when they could not be forced */
  heap?: number
}

/**
 * Forces full GCs in a running `serve` through its inspector (SIGUSR1 opens it on 127.0.0.1:9229)
 * and reads its heap; undefined when the inspector is not reachable or belongs to another process.
 */
async function serveHeap(pid: number): Promise<number | undefined> {
  process.kill(pid, 'SIGUSR1')
  let url: string | undefined
  for (let i = 0; i < 30 && !url; i++) {
    try {
      const list = (await (await fetch('http://127.0.0.1:9229/json/list')).json()) as {webSocketDebuggerUrl?: string}[]
      url = list[0]?.webSocketDebuggerUrl
    } catch {
      await sleep(100)
    }
  }
  if (!url) return undefined
  const out = spawnSync(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', INSPECTOR_CLIENT, url], {encoding: 'utf8', timeout: 20_000})
  try {
    const usage = JSON.parse(out.stdout) as {pid: number; heapUsed: number; external: number}
    return usage.pid === pid ? (usage.heapUsed + usage.external) / 1024 : undefined
  } catch {
    return undefined
  }
}

const serveMem = async (pid: number): Promise<Mem> => {
  const heap = await serveHeap(pid)
  return {rss: rssKb(pid), heap}
}

function childMem(child: ChildProcess): Promise<Mem> {
  return new Promise((resolve) => {
    child.once('message', (usage) => {
      const {heapUsed, external} = usage as NodeJS.MemoryUsage
      resolve({rss: rssKb(child.pid!), heap: (heapUsed + external) / 1024})
    })
    child.send('mem')
  })
}

interface MemDelta {
  before: Mem
  after: Mem
  n: number
}

async function measure(n: number, sample: () => Promise<Mem>, open: (conns: Imap[]) => Promise<void>): Promise<MemDelta> {
  const conns: Imap[] = []
  try {
    await sleep(1500)
    const before = await sample()
    await open(conns)
    await sleep(3000)
    const after = await sample()
    return {before, after, n}
  } finally {
    for (const c of conns) c.destroy()
  }
}

/** per-connection figures: RSS delta, and the heap delta after forced GCs */
function perConnection(m: MemDelta): {rss: number; heap?: number; text: string} {
  const rss = ((m.after.rss - m.before.rss) * 1024) / m.n / 1000
  const heap = m.before.heap !== undefined && m.after.heap !== undefined ? ((m.after.heap - m.before.heap) * 1024) / m.n / 1000 : undefined
  const text =
    `RSS delta ${rss.toFixed(1)} kB` +
    (heap !== undefined ? `, heap+external delta after forced GC ${heap.toFixed(1)} kB` : ', heap n/a (inspector not reachable)') +
    `   (RSS ${(m.before.rss / 1024).toFixed(0)} -> ${(m.after.rss / 1024).toFixed(0)} MiB)`
  return {rss, ...(heap !== undefined ? {heap} : {}), text}
}

/** replaces a user's password hash with a cheap argon2id one (m=1 MiB t=1 p=1): a login in about a millisecond */
export async function cheapPassword(store: Store, user: string): Promise<void> {
  const passwordHash = await argon2.hash(PW, {type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 1})
  await store.directory.updateUser(user, {passwordHash})
}

const BIG_IDLE_CONNS = 100

/** idle sessions on the 100k folder, in the server of benchmarks 1-3: what a session's own state costs on a big folder */
function idleOnBigFolder(t: Target): Promise<MemDelta> {
  return measure(
    BIG_IDLE_CONNS,
    () => serveMem(t.pid!),
    (conns) => openIdle(t.port, BIG_IDLE_CONNS, [t.users.big], t.password, conns),
  )
}

async function benchIdleMemory(dir: string, dov: Target | undefined, peerRoot: string | undefined, onBigFolder?: MemDelta): Promise<void> {
  // a fresh server: dave's password hash is a cheap argon2id (m=1 MiB t=1 p=1) so 1,000 logins take
  // seconds, not minutes; login cost is not what this measures
  const dataDir = join(dir, 'idle')
  const store = openStore(dataDir)
  try {
    await addDomain(store, DOMAIN)
    const user = `dave@${DOMAIN}`
    await addUser(store, {address: user, password: PW})
    await cheapPassword(store, user)
    fillStore(store, user, SMALL_FOLDER, smallMessage)
  } finally {
    await store.close()
  }
  const config = join(dir, 'idle-config.json')
  writeFileSync(config, JSON.stringify({imap: {maxConnectionsPerIp: IDLE_CONNS + 200, maxConnections: IDLE_CONNS + 200}}))
  const served = await serveImap(dataDir, ['--config', config])
  const users = [`dave@${DOMAIN}`]
  let m: MemDelta
  try {
    // warm-up: the code paths of login, SELECT and IDLE are compiled and the view loaded before the baseline
    const warm: Imap[] = []
    await openIdle(served.port, 50, users, PW, warm).finally(() => warm.forEach((c) => c.destroy()))
    m = await measure(IDLE_CONNS, () => serveMem(served.pid), (conns) => openIdle(served.port, IDLE_CONNS, users, PW, conns))
  } finally {
    await served.stop()
  }

  const ref = await nodeChild(REFERENCE_SERVER, [], ['--expose-gc'])
  let r: MemDelta
  try {
    const warm: Imap[] = []
    await openIdle(ref.port, 50, [], '', warm).finally(() => warm.forEach((c) => c.destroy()))
    r = await measure(IDLE_CONNS, () => childMem(ref.child), (conns) => openIdle(ref.port, IDLE_CONNS, [], '', conns))
  } finally {
    ref.stop()
  }

  let d: {pss: number; rss: number; processes: number} | string = 'skipped (no peer)'
  if (dov && peerRoot) {
    try {
      const conns: Imap[] = []
      try {
        const warm: Imap[] = []
        await openIdle(dov.port, 20, dov.users.idle, dov.password, warm).finally(() => warm.forEach((c) => c.destroy()))
        await sleep(1500)
        const before = dovecotMemory(peerRoot)
        await openIdle(dov.port, IDLE_CONNS, dov.users.idle, dov.password, conns)
        await sleep(3000)
        const after = dovecotMemory(peerRoot)
        d = {pss: after.pss - before.pss, rss: after.rss - before.rss, processes: after.processes - before.processes}
      } finally {
        for (const c of conns) c.destroy()
      }
    } catch (err) {
      d = `failed: ${(err as Error).message}`
    }
  }
  const per = (kb: number) => `${((kb * 1024) / IDLE_CONNS / 1000).toFixed(1)} kB`
  const mp = perConnection(m)
  const rp = perConnection(r)
  report('memory', `memory per idle connection: ${IDLE_CONNS} connections logged in, INBOX (${SMALL_FOLDER} messages) selected, in IDLE; deltas / ${IDLE_CONNS} after a 3 s settle`, {
    'mailbox serve': `${mp.text}   (goal <= 50 kB RSS: ${mp.rss <= 50 ? 'met' : 'MISSED'})`,
    'reference: plain Node net server, idle sockets': rp.text,
    'ratio mailbox / plain Node (RSS)': lower(mp.rss / rp.rss),
    'Dovecot PSS delta / connection': typeof d === 'string' ? d : `${per(d.pss)}   (RSS ${per(d.rss)}; ${d.processes} more processes: one imap process per connection)`,
    'ratio mailbox RSS / Dovecot PSS': typeof d === 'string' ? 'n/a' : lower((mp.rss * IDLE_CONNS * 1000) / 1024 / d.pss),
    ...(onBigFolder ? {[`mailbox, ${BIG_FOLDER / 1000}k-message INBOX selected`]: `${perConnection(onBigFolder).text}   (${BIG_IDLE_CONNS} connections in IDLE, the server of benchmarks 1-3)`} : {}),
  })
}
