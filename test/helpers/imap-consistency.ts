/**
 * A randomized multi-session consistency check of an IMAP server (issue #17): several raw
 * sessions of one user work on the same few folders at once (STORE of system flags and keywords
 * in every mode, some .SILENT; APPEND with keywords; COPY; MOVE; EXPUNGE; UID EXPUNGE; FETCH
 * with and without \Seen; SEARCH; NOOP; IDLE bursts; now and then a new SELECT or EXAMINE), while
 * a client-side model per session checks every untagged response against what that session was
 * told before:
 *
 * - a keyword appears in a FETCH only after a FLAGS response listed it (RFC 3501 §7.2.6), FLAGS
 *   never drops a keyword the session was told a message carries, PERMANENTFLAGS is `()` when
 *   read-only;
 * - sequence numbers are valid: EXPUNGE and FETCH name a message the session knows (n ≤ exists),
 *   EXISTS never shrinks and is never `* 0 EXISTS` outside SELECT, UIDs learned stay ascending
 *   and agree with what was learned before (so EXISTS and EXPUNGE came in a consistent order);
 * - no EXPUNGE while answering FETCH, STORE or SEARCH by sequence number (RFC 3501 §7.4.1);
 * - MODSEQ never goes down for a message, and moves when its flags change (RFC 7162);
 * - a message is \Recent for at most one read-write selection (RFC 3501 §2.3.2);
 * - every command completes (no BAD, no NO where none is due, no BYE);
 * - at the end each session's model (UIDs in order, flags) equals a fresh EXAMINE's answer.
 *
 * The driver speaks plain IMAP4rev1 + CONDSTORE and nothing of mailbox's own, so it runs against
 * Dovecot as well: zero violations there is how the model itself is checked. Used by
 * test/e2e/imap-consistency.test.ts (seconds) and bench/imap-consistency.ts (minutes). The
 * operations are drawn from a seeded generator (./random.ts); the interleaving of the sessions
 * is up to the machine, so a seed names the workload, not one exact history.
 */
import {connect, type Socket} from 'node:net'
import {seeded} from './random.js'

export interface ConsistencyOptions {
  port: number
  host?: string
  user: string
  password: string
  seed: number
  /** how long the random phase runs */
  durationMs: number
  /** concurrent sessions (default 5: one of them read-only, two with CONDSTORE) */
  sessions?: number
  /** folders worked on (default 3), created fresh under a name unique to the run */
  folders?: number
  /** messages appended to each folder before the sessions start (default 8) */
  initialMessages?: number
  /** sees every command sent and response read, by session number (to investigate a violation) */
  trace?: (session: number, line: string) => void
}

export interface ConsistencyResult {
  seed: number
  /** random operations completed (the catch-up FETCHes they needed not counted) */
  operations: number
  /** untagged responses checked */
  responses: number
  /** distinct keywords the run brought in */
  keywords: number
  /** what went wrong: one line each, the first 50 (see `violationCount`) */
  violations: string[]
  violationCount: number
  /** operations by kind */
  byKind: Record<string, number>
}

/** a response item: an atom, string or literal as text, or a parenthesized list */
type Item = string | Item[]

const COMMAND_TIMEOUT_MS = 30_000
/** new keywords brought in over a whole run at most: FLAGS lists every one of them */
const MAX_NEW_KEYWORDS = 60
/** a folder's size above which the sessions stop adding to it */
const MAX_FOLDER = 40
const SYSTEM_FLAGS = ['\\Seen', '\\Flagged', '\\Answered', '\\Deleted', '\\Draft']
const KEYWORDS = ['$K1', '$K2', '$K3', '$Work', 'Later']

// ---------------------------------------------------------------------------------------------
// the wire: one connection, commands in turn, untagged responses handed over as they arrive

interface Tagged {
  status: string
  text: string
}

class Wire {
  /** receives every untagged response (literals inline, as latin1) as it arrives, IDLE included */
  onUntagged: (text: string) => void = () => {}
  onClose: () => void = () => {}
  private buffer: Buffer = Buffer.alloc(0)
  private pending: Buffer[] = []
  private literalLeft = 0
  private readonly waiting = new Map<string, (t: Tagged) => void>()
  private continuation?: () => void
  private tags = 0
  closed = false

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => {})
    socket.on('close', () => {
      this.closed = true
      for (const resolve of this.waiting.values()) resolve({status: 'CLOSED', text: 'connection closed'})
      this.waiting.clear()
      this.onClose()
    })
  }

  static async open(host: string, port: number): Promise<Wire> {
    const socket = connect({host, port})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    const wire = new Wire(socket)
    const greeting = await new Promise<string>((resolve) => (wire.onUntagged = resolve))
    wire.onUntagged = () => {}
    if (!/^\* (OK|PREAUTH) /.test(greeting)) throw new Error(`greeting: ${greeting}`)
    return wire
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk
    for (;;) {
      if (this.literalLeft) {
        const take = Math.min(this.literalLeft, this.buffer.length)
        if (!take) return
        this.pending.push(this.buffer.subarray(0, take))
        this.buffer = this.buffer.subarray(take)
        this.literalLeft -= take
        continue
      }
      const lf = this.buffer.indexOf(0x0a)
      if (lf < 0) return
      const line = this.buffer.subarray(0, lf + 1)
      this.buffer = this.buffer.subarray(lf + 1)
      this.pending.push(line)
      const literal = /\{(\d+)\}\r\n$/.exec(line.toString('latin1'))
      if (literal) {
        this.literalLeft = Number(literal[1])
        continue
      }
      const text = Buffer.concat(this.pending).toString('latin1').replace(/\r\n$/, '')
      this.pending = []
      this.dispatch(text)
    }
  }

  private dispatch(text: string): void {
    if (text.startsWith('* ')) return this.onUntagged(text)
    if (text.startsWith('+')) {
      const go = this.continuation
      this.continuation = undefined
      return go?.()
    }
    const space = text.indexOf(' ')
    const resolve = this.waiting.get(text.slice(0, space))
    if (!resolve) return this.onUntagged(`(stray) ${text}`)
    this.waiting.delete(text.slice(0, space))
    const m = /^(\S+) ?(.*)$/s.exec(text.slice(space + 1))!
    resolve({status: m[1]!.toUpperCase(), text: m[2]!})
  }

  private tagged(tag: string): Promise<Tagged> {
    if (this.closed) return Promise.resolve({status: 'CLOSED', text: 'connection closed'})
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(tag)
        resolve({status: 'TIMEOUT', text: `no tagged reply within ${COMMAND_TIMEOUT_MS} ms`})
      }, COMMAND_TIMEOUT_MS)
      this.waiting.set(tag, (t) => {
        clearTimeout(timer)
        resolve(t)
      })
    })
  }

  command(command: string): Promise<Tagged> {
    const tag = `c${++this.tags}`
    const reply = this.tagged(tag)
    this.socket.write(`${tag} ${command}\r\n`)
    return reply
  }

  /** APPEND with a synchronizing literal (every server has those) */
  async append(folder: string, flags: string[], message: string): Promise<Tagged> {
    const tag = `c${++this.tags}`
    const reply = this.tagged(tag)
    const ready = new Promise<void>((resolve) => (this.continuation = resolve))
    this.socket.write(`${tag} APPEND ${folder} (${flags.join(' ')}) {${Buffer.byteLength(message)}}\r\n`)
    const early = await Promise.race([ready.then(() => undefined), reply])
    if (early) return early
    this.socket.write(`${message}\r\n`)
    return reply
  }

  /** IDLE for `ms`, then DONE */
  async idle(ms: number): Promise<Tagged> {
    const tag = `c${++this.tags}`
    const reply = this.tagged(tag)
    const ready = new Promise<void>((resolve) => (this.continuation = resolve))
    this.socket.write(`${tag} IDLE\r\n`)
    const early = await Promise.race([ready.then(() => undefined), reply])
    if (early) return early
    await new Promise((resolve) => setTimeout(resolve, ms))
    this.socket.write('DONE\r\n')
    return reply
  }

  close(): void {
    this.socket.destroy()
  }
}

// ---------------------------------------------------------------------------------------------
// reading responses

/** the items of a parenthesized list starting at `s[at]` ('('), and the index after its ')' */
function readList(s: string, at: number): [Item[], number] {
  const items: Item[] = []
  let i = at + 1
  while (i < s.length) {
    const c = s[i]!
    if (c === ' ') i++
    else if (c === ')') return [items, i + 1]
    else if (c === '(') {
      const [list, next] = readList(s, i)
      items.push(list)
      i = next
    } else if (c === '"') {
      let text = ''
      for (i++; i < s.length && s[i] !== '"'; i++) text += s[i] === '\\' ? s[++i] : s[i]
      items.push(text)
      i++
    } else if (c === '{') {
      const m = /^\{(\d+)\}\r\n/.exec(s.slice(i, i + 24))!
      const start = i + m[0].length
      items.push(s.slice(start, start + Number(m[1])))
      i = start + Number(m[1])
    } else {
      // an atom; a section such as BODY[HEADER.FIELDS (SUBJECT)] keeps its brackets' content
      let j = i
      let depth = 0
      while (j < s.length && (depth > 0 || (s[j] !== ' ' && s[j] !== ')' && s[j] !== '('))) {
        if (s[j] === '[') depth++
        else if (s[j] === ']') depth--
        j++
      }
      items.push(s.slice(i, j))
      i = j
    }
  }
  throw new Error(`unbalanced list in ${s.slice(0, 200)}`)
}

/** FETCH data items by name (upper case) */
function fetchItems(payload: string): Map<string, Item> {
  const [list] = readList(payload, payload.indexOf('('))
  const items = new Map<string, Item>()
  for (let i = 0; i + 1 < list.length; i += 2) items.set(String(list[i]).toUpperCase(), list[i + 1]!)
  return items
}

const isKeyword = (flag: string) => !flag.startsWith('\\')
const lower = (flags: Iterable<string>) => new Set([...flags].map((f) => f.toLowerCase()))
const sameSet = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((x) => b.has(x))
const showFlags = (flags: Set<string>) => `(${[...flags].sort().join(' ')})`

// ---------------------------------------------------------------------------------------------
// the model

interface Run {
  violations: string[]
  violationCount: number
  responses: number
  /** folder → UID → the read-write selection (session:epoch) that saw it as \Recent */
  recentOwner: Map<string, Map<number, string>>
  newKeywords: number
  rand: () => number
  folders: string[]
  trace?: (session: number, line: string) => void
}

/** One session and what its client knows. */
class ModelSession {
  folder?: string
  /** a new selection of the same folder gets a new epoch (\Recent belongs to a selection) */
  epoch = 0
  /** UIDs by sequence number - 1; undefined: announced by EXISTS, UID not fetched yet */
  uids: (number | undefined)[] = []
  /** flags by UID (lower case, without \Recent) */
  readonly flags = new Map<number, Set<string>>()
  readonly modseq = new Map<number, number>()
  /**
   * messages whose flags the client worked out itself from a .SILENT STORE, with the MODSEQ the
   * STORE's reply gave (CONDSTORE): another session's change under it must be told unasked
   */
  readonly guessed = new Map<number, number | undefined>()
  /** keywords (lower case) of the last FLAGS response */
  announced = new Set<string>()
  /** a SELECT/EXAMINE is being answered */
  selecting = false
  /** answering a FETCH, STORE or SEARCH by sequence number: no EXPUNGE allowed */
  holdExpunge = false
  /** the command whose response is being read, for the violation text */
  current = ''
  /** sequence numbers in the last SEARCH response */
  searchHits: number[] = []
  loggingOut = false

  constructor(
    readonly id: number,
    readonly readOnly: boolean,
    readonly condstore: boolean,
    readonly wire: Wire,
    private readonly run: Run,
  ) {
    wire.onUntagged = (text) => this.untagged(text)
    wire.onClose = () => {
      if (!this.loggingOut) this.violation('the connection closed')
    }
  }

  violation(what: string, line?: string): void {
    const run = this.run
    run.violationCount++
    if (run.violations.length < 50) run.violations.push(`session ${this.id}${this.readOnly ? ' (read-only)' : ''} on ${this.folder ?? '-'}, during "${this.current}": ${what}${line ? ` — ${line.slice(0, 300)}` : ''}`)
  }

  get exists(): number {
    return this.uids.length
  }

  /** checks one untagged response and brings the model along */
  private untagged(line: string): void {
    this.run.responses++
    this.run.trace?.(this.id, line)
    const numbered = /^\* (\d+) (EXISTS|EXPUNGE|RECENT|FETCH)\b ?(.*)$/is.exec(line)
    if (numbered) {
      const n = Number(numbered[1])
      const kind = numbered[2]!.toUpperCase()
      if (kind === 'EXISTS') return this.existsResponse(n, line)
      if (kind === 'EXPUNGE') return this.expungeResponse(n, line)
      if (kind === 'RECENT') {
        if (n > this.exists) this.violation(`RECENT ${n} above EXISTS ${this.exists}`, line)
        return
      }
      return this.fetchResponse(n, numbered[3]!, line)
    }
    let m: RegExpExecArray | null
    if ((m = /^\* FLAGS (\(.*\))$/i.exec(line))) {
      const [flags] = readList(m[1]!, 0)
      const keywords = lower((flags as string[]).filter(isKeyword))
      for (const [uid, set] of this.flags) {
        // flags the client worked out itself may be wrong (a message expunged meanwhile), not the server
        if (this.selecting) break
        if (this.guessed.has(uid)) continue
        for (const f of set) if (isKeyword(f) && !keywords.has(f)) this.violation(`FLAGS no longer lists ${f}, which UID ${uid} still carries`, line)
      }
      this.announced = keywords
    } else if ((m = /^\* OK \[PERMANENTFLAGS (\(.*?\))\]/i.exec(line))) {
      const [flags] = readList(m[1]!, 0)
      const permanent = lower(flags as string[])
      if (this.readOnly && permanent.size) this.violation('PERMANENTFLAGS of a read-only selection is not ()', line)
      if (!this.readOnly) {
        if (!permanent.has('\\*')) this.violation('PERMANENTFLAGS lacks \\*', line)
        for (const k of this.announced) if (!permanent.has(k)) this.violation(`PERMANENTFLAGS lacks the announced ${k}`, line)
      }
    } else if ((m = /^\* SEARCH\b(.*)$/i.exec(line))) {
      const numbers = m[1]!.trim().split(/\s+/).filter((x) => /^\d+$/.test(x)).map(Number)
      if (!/^UID /i.test(this.current)) for (const n of numbers) if (n < 1 || n > this.exists) this.violation(`SEARCH names message ${n} of ${this.exists}`, line)
      this.searchHits = numbers
    } else if (/^\* BYE\b/i.test(line)) {
      if (!this.loggingOut) this.violation('BYE', line)
    } else if (/^\* (BAD|NO)\b/i.test(line) || /^\(stray\)/.test(line)) {
      this.violation('unexpected response', line)
    } else if (/^\* VANISHED\b/i.test(line)) {
      this.violation('VANISHED without QRESYNC enabled', line)
    }
  }

  private existsResponse(n: number, line: string): void {
    if (!this.folder && !this.selecting) return this.violation('EXISTS without a selected folder', line)
    if (n < this.exists) return this.violation(`EXISTS went down from ${this.exists}`, line)
    if (n === 0 && !this.selecting) return this.violation('"* 0 EXISTS" outside SELECT', line)
    while (this.uids.length < n) this.uids.push(undefined)
  }

  private expungeResponse(n: number, line: string): void {
    if (this.holdExpunge) this.violation('EXPUNGE while answering a FETCH, STORE or SEARCH by sequence number', line)
    if (n < 1 || n > this.exists) return this.violation(`EXPUNGE of message ${n} of ${this.exists}`, line)
    const [uid] = this.uids.splice(n - 1, 1)
    if (uid !== undefined) {
      this.flags.delete(uid)
      this.modseq.delete(uid)
      this.guessed.delete(uid)
    }
  }

  private fetchResponse(n: number, payload: string, line: string): void {
    if (n < 1 || n > this.exists) return this.violation(`FETCH for message ${n} of ${this.exists}`, line)
    let items: Map<string, Item>
    try {
      items = fetchItems(payload)
    } catch (err) {
      return this.violation(`FETCH does not parse: ${(err as Error).message}`, line)
    }
    let uid = this.uids[n - 1]
    const uidItem = items.get('UID')
    if (uidItem !== undefined) {
      const told = Number(uidItem)
      if (uid !== undefined && uid !== told) return this.violation(`message ${n} is UID ${uid} for the client, the FETCH says ${told}`, line)
      if (uid === undefined) {
        // UIDs ascend with sequence numbers: a new one fits between its known neighbours
        let before = 0
        for (let i = n - 2; i >= 0; i--) if (this.uids[i] !== undefined) ((before = this.uids[i]!), (i = -1))
        let after = Infinity
        for (let i = n; i < this.uids.length; i++) if (this.uids[i] !== undefined) ((after = this.uids[i]!), (i = this.uids.length))
        if (!(told > before && told < after)) this.violation(`UID ${told} at message ${n} is not between its neighbours ${before} and ${after}`, line)
        this.uids[n - 1] = uid = told
      }
    }
    const flagsItem = items.get('FLAGS')
    const modseqItem = items.get('MODSEQ')
    let flags: Set<string> | undefined
    if (flagsItem !== undefined) {
      if (!Array.isArray(flagsItem)) return this.violation('FLAGS is not a list', line)
      const all = lower(flagsItem as string[])
      for (const f of all) if (isKeyword(f) && !this.announced.has(f)) this.violation(`keyword ${f} in a FETCH before a FLAGS response listed it`, line)
      if (all.has('\\recent') && !this.readOnly && uid !== undefined) this.recentSeen(uid, line)
      all.delete('\\recent')
      flags = all
    }
    if (uid === undefined) return
    const known = this.flags.get(uid)
    const modseq = modseqItem === undefined ? undefined : Number((modseqItem as Item[])[0])
    const guessed = this.guessed.has(uid)
    const guessModseq = this.guessed.get(uid)
    if (modseq !== undefined) {
      const before = this.modseq.get(uid)
      if (before !== undefined && modseq < before) this.violation(`MODSEQ of UID ${uid} went down from ${before}`, line)
      if (!guessed && before !== undefined && modseq === before && flags && known && !sameSet(flags, known)) {
        this.violation(`flags of UID ${uid} changed from ${showFlags(known)} with the same MODSEQ ${modseq}`, line)
      }
      this.modseq.set(uid, modseq)
      // the reply of a CONDSTORE .SILENT STORE: the MODSEQ its flags have
      if (guessed && !flags) this.guessed.set(uid, modseq)
    }
    if (!flags) return
    if (guessed) {
      this.guessed.delete(uid)
      // flags other than the client worked out, at the MODSEQ of its own STORE, that it only
      // learns because it asked: the server never told it what lay under its change
      if (guessModseq !== undefined && modseq === guessModseq && known && !sameSet(flags, known) && /^(UID )?FETCH /i.test(this.current)) {
        this.violation(`UID ${uid} has ${showFlags(flags)} after this session's .SILENT STORE, which it worked out as ${showFlags(known)} and was not told otherwise`, line)
      }
    }
    this.flags.set(uid, flags)
  }

  /** at most one read-write selection sees a message as \Recent */
  private recentSeen(uid: number, line: string): void {
    const key = `${this.id}:${this.epoch}`
    let owners = this.run.recentOwner.get(this.folder!)
    if (!owners) this.run.recentOwner.set(this.folder!, (owners = new Map()))
    const owner = owners.get(uid)
    if (owner === undefined) owners.set(uid, key)
    else if (owner !== key) this.violation(`UID ${uid} is \\Recent here and was for selection ${owner}`, line)
  }

  /** runs a command and checks its completion */
  async command(command: string, options: {hold?: boolean; allowNo?: RegExp} = {}): Promise<Tagged> {
    this.current = command
    this.holdExpunge = options.hold ?? false
    const t = await this.wire.command(command)
    this.holdExpunge = false
    this.check(t, options.allowNo)
    return t
  }

  check(t: Tagged, allowNo?: RegExp): void {
    this.run.trace?.(this.id, `${this.current} -> ${t.status} ${t.text}`)
    if (t.status === 'OK') return
    if (t.status === 'NO' && allowNo?.test(t.text)) return
    this.violation(`tagged ${t.status}`, t.text)
  }

  async select(folder: string): Promise<void> {
    this.folder = undefined
    this.selecting = true
    this.uids = []
    this.flags.clear()
    this.modseq.clear()
    this.guessed.clear()
    this.epoch++
    const verb = this.readOnly ? 'EXAMINE' : 'SELECT'
    const t = await this.command(`${verb} ${folder}${this.condstore ? ' (CONDSTORE)' : ''}`)
    this.selecting = false
    if (t.status === 'OK') this.folder = folder
    await this.learnUids()
  }

  /** FETCHes the UIDs (and flags) of messages announced by EXISTS and not known yet */
  async learnUids(): Promise<void> {
    const first = this.uids.indexOf(undefined)
    if (!this.folder || first < 0) return
    await this.command(`FETCH ${first + 1}:${this.exists} (UID FLAGS${this.condstore ? ' MODSEQ' : ''})`, {hold: true})
  }

  /**
   * What a .SILENT STORE does to the flags the client knows: it works them out itself (the
   * server's answer, if any, then overrides them). Without .SILENT a client knows only the flags
   * the reply's FETCH tells: a message another session expunged, that this one was not told about
   * yet, may get none (RFC 2180 §4.2: the STORE succeeds and changes nothing), and a guess would
   * have it carry keywords no message in the folder has, which FLAGS rightly does not list.
   */
  guessSilentStore(uids: number[], mode: StoreMode, flags: string[]): void {
    const change = lower(flags)
    for (const uid of uids) {
      const known = this.flags.get(uid)
      if (!known) continue
      this.guessed.set(uid, undefined)
      if (mode === '') this.flags.set(uid, new Set(change))
      else for (const f of change) mode === '+' ? known.add(f) : known.delete(f)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// the operations

const pick = <T>(rand: () => number, xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!
const between = (rand: () => number, a: number, b: number) => a + Math.floor(rand() * (b - a + 1))

function message(rand: () => number): string {
  const id = Math.floor(rand() * 1e12).toString(36)
  return `From: a@example.test\r\nTo: b@example.test\r\nSubject: m ${id}\r\nMessage-ID: <${id}@example.test>\r\n\r\nbody ${id}\r\n`
}

function someFlags(run: Run, rand: () => number): string[] {
  const out = new Set<string>()
  for (let k = between(rand, 1, 2); k > 0; k--) {
    const r = rand()
    if (r < 0.5) out.add(pick(rand, SYSTEM_FLAGS))
    else if (r < 0.9 || run.newKeywords >= MAX_NEW_KEYWORDS) out.add(pick(rand, KEYWORDS))
    else out.add(`$New${++run.newKeywords}`)
  }
  return [...out]
}

interface Targets {
  seqs: string
  uids: number[]
  uidSet: string
}

/** messages a..b the session knows: as a sequence set and as their UIDs */
function messagesOf(s: ModelSession, a: number, b: number): Targets {
  const uids = s.uids.slice(a - 1, b).filter((u): u is number => u !== undefined)
  return {seqs: a === b ? `${a}` : `${a}:${b}`, uids, uidSet: uids.join(',')}
}

/** 1–3 messages the session knows */
function targets(s: ModelSession, rand: () => number): Targets {
  const n = s.exists
  // half the time one of the first few messages: sessions working on the same messages at once
  const a = between(rand, 1, rand() < 0.5 ? Math.min(n, 4) : n)
  return messagesOf(s, a, Math.min(n, a + between(rand, 0, 2)))
}

type StoreMode = '+' | '-' | ''

/** STORE (by sequence number, or by UID when `byUid`) of `flags` on `t`, the model brought along */
async function store(s: ModelSession, t: Targets, byUid: boolean, mode: StoreMode, flags: string[], silent: boolean): Promise<string> {
  if (silent) s.guessSilentStore(t.uids, mode, flags)
  await s.command(`${byUid ? `UID STORE ${t.uidSet}` : `STORE ${t.seqs}`} ${mode}FLAGS${silent ? '.SILENT' : ''} (${flags.join(' ')})`, {hold: !byUid})
  return byUid ? 'uid store' : silent ? 'store silent' : 'store'
}

type Op = (s: ModelSession, run: Run, rand: () => number) => Promise<string | undefined>

/** COPY or MOVE (by sequence number or UID) of 1–3 messages to one of the folders, this one included */
async function copyOrMove(verb: 'COPY' | 'MOVE', s: ModelSession, run: Run, rand: () => number): Promise<string | undefined> {
  if (!s.exists) return undefined
  const {seqs, uids, uidSet} = targets(s, rand)
  const byUid = rand() < 0.5 && uids.length > 0
  await s.command(`${byUid ? `UID ${verb} ${uidSet}` : `${verb} ${seqs}`} ${pick(rand, run.folders)}`, {allowNo: /EXPUNGE/i})
  return `${byUid ? 'uid ' : ''}${verb.toLowerCase()}`
}

const OPS: {name: string; weight: number; writes?: boolean; run: Op}[] = [
  {
    name: 'store',
    weight: 30,
    writes: true,
    run: async (s, run, rand) => {
      if (!s.exists) return undefined
      const t = targets(s, rand)
      const byUid = rand() < 0.4 && t.uids.length > 0
      const mode = pick(rand, ['+', '+', '-', '-', ''] as const)
      const silent = rand() < 0.35
      return store(s, t, byUid, mode, someFlags(run, rand), silent)
    },
  },
  {
    name: 'append',
    weight: 10,
    run: async (s, run, rand) => {
      const folder = pick(rand, run.folders)
      const flags = rand() < 0.6 ? someFlags(run, rand) : []
      s.current = `APPEND ${folder} (${flags.join(' ')})`
      s.check(await s.wire.append(folder, flags, message(rand)))
      return 'append'
    },
  },
  {
    name: 'copy',
    weight: 6,
    run: (s, run, rand) => copyOrMove('COPY', s, run, rand),
  },
  {
    name: 'move',
    weight: 5,
    writes: true,
    run: (s, run, rand) => copyOrMove('MOVE', s, run, rand),
  },
  {
    name: 'expunge',
    weight: 4,
    writes: true,
    run: async (s, _run, rand) => {
      if (rand() < 0.5 || !s.exists) {
        await s.command('EXPUNGE')
        return 'expunge'
      }
      const {uidSet} = targets(s, rand)
      if (!uidSet) return undefined
      await s.command(`UID EXPUNGE ${uidSet}`)
      return 'uid expunge'
    },
  },
  {
    name: 'fetch',
    weight: 14,
    run: async (s, _run, rand) => {
      if (!s.exists) return undefined
      const r = rand()
      if (r < 0.35) await s.command(`FETCH 1:* (UID FLAGS${s.condstore ? ' MODSEQ' : ''})`, {hold: true})
      else if (r < 0.6) await s.command(`FETCH ${targets(s, rand).seqs} (FLAGS)`, {hold: true, allowNo: /EXPUNGE/i})
      else if (r < 0.8) await s.command(`UID FETCH ${Math.max(1, (s.uids.find((u) => u !== undefined) ?? 1) + between(rand, 0, 5))}:* (FLAGS)`)
      else {
        // a body fetch without .PEEK sets \Seen, and its answer carries the new flags
        await s.command(`FETCH ${targets(s, rand).seqs} (UID BODY[TEXT])`, {hold: true, allowNo: /EXPUNGE/i})
        return 'fetch body'
      }
      return 'fetch'
    },
  },
  {
    name: 'search',
    weight: 5,
    run: async (s, _run, rand) => {
      const byUid = rand() < 0.4
      await s.command(`${byUid ? 'UID SEARCH' : 'SEARCH'} ${pick(rand, ['UNSEEN', 'DELETED', 'KEYWORD $K1', 'FLAGGED', 'ALL', 'NOT SEEN KEYWORD $Work'])}`, {hold: !byUid})
      return byUid ? 'uid search' : 'search'
    },
  },
  {
    name: 'noop',
    weight: 8,
    run: async (s) => {
      await s.command('NOOP')
      return 'noop'
    },
  },
  {
    name: 'idle',
    weight: 5,
    run: async (s, _run, rand) => {
      s.current = 'IDLE'
      s.check(await s.wire.idle(between(rand, 30, 250)))
      return 'idle'
    },
  },
  {
    name: 'select',
    weight: 2,
    run: async (s, run, rand) => {
      await s.select(pick(rand, run.folders))
      return s.readOnly ? 'examine' : 'select'
    },
  },
]

async function loop(s: ModelSession, run: Run, rand: () => number, until: number, byKind: Record<string, number>): Promise<number> {
  const ops = OPS.filter((o) => !(o.writes && s.readOnly))
  const total = ops.reduce((n, o) => n + o.weight, 0)
  let done = 0
  while (Date.now() < until && !s.wire.closed) {
    let r = rand() * total
    const op = ops.find((o) => (r -= o.weight) < 0) ?? ops[0]!
    // keep folders small: past the limit, no more appends and copies to this session's folder
    if ((op.name === 'append' || op.name === 'copy') && s.exists > MAX_FOLDER) continue
    const kind = await op.run(s, run, rand)
    await s.learnUids()
    // a client thinks now and then: other sessions' changes land between its catch-up and its
    // next command, where a server's bookkeeping of what each session was told is tested hardest
    if (rand() < 0.3) await new Promise((resolve) => setTimeout(resolve, between(rand, 1, 25)))
    if (kind) {
      done++
      byKind[kind] = (byKind[kind] ?? 0) + 1
    }
  }
  return done
}

/** what a fresh EXAMINE says a folder holds: UIDs in order and their flags (lower case, without \Recent) */
async function truth(wire: Wire, folder: string): Promise<{uids: number[]; flags: Map<number, Set<string>>}> {
  const lines: string[] = []
  wire.onUntagged = (text) => lines.push(text)
  const examined = await wire.command(`EXAMINE ${folder}`)
  if (examined.status !== 'OK') throw new Error(`EXAMINE ${folder}: ${examined.text}`)
  lines.length = 0
  const fetched = await wire.command('UID FETCH 1:* (FLAGS)')
  if (fetched.status !== 'OK') throw new Error(`UID FETCH: ${fetched.text}`)
  const uids: number[] = []
  const flags = new Map<number, Set<string>>()
  for (const line of lines) {
    const m = /^\* \d+ FETCH (.*)$/is.exec(line)
    if (!m) continue
    const items = fetchItems(m[1]!)
    const uid = Number(items.get('UID'))
    const set = lower(items.get('FLAGS') as string[])
    set.delete('\\recent')
    uids.push(uid)
    flags.set(uid, set)
  }
  return {uids, flags}
}

type Server = Pick<ConsistencyOptions, 'port' | 'host' | 'user' | 'password'>

/** a logged-in connection, added to `wires` (closed by the caller) */
async function login(server: Server, wires: Wire[]): Promise<Wire> {
  const wire = await Wire.open(server.host ?? '127.0.0.1', server.port)
  wires.push(wire)
  const t = await wire.command(`LOGIN "${server.user}" "${server.password}"`)
  if (t.status !== 'OK') throw new Error(`LOGIN: ${t.text}`)
  return wire
}

/**
 * Quiet now: every session catches up (NOOP, and the UIDs of new messages), then its model (what
 * it was told, not what it could ask for now) must be the folder as a fresh session sees it.
 */
async function settle(sessions: ModelSession[], folders: string[], checker: Wire): Promise<void> {
  for (const s of sessions) {
    if (!s.folder) continue
    await s.command('NOOP')
    await s.learnUids()
  }
  for (const folder of folders) {
    const t = await truth(checker, folder)
    for (const s of sessions) {
      if (s.folder !== folder) continue
      s.current = 'the final comparison'
      if (s.uids.join(',') !== t.uids.join(',')) {
        s.violation(`UIDs ${s.uids.join(',')} where a fresh EXAMINE has ${t.uids.join(',')}`)
        continue
      }
      for (const uid of t.uids) {
        const mine = s.flags.get(uid)
        const real = t.flags.get(uid)!
        if (!mine || !sameSet(mine, real)) s.violation(`UID ${uid} has flags ${mine ? showFlags(mine) : '(unknown)'} for the client, ${showFlags(real)} in the folder`)
      }
    }
  }
  for (const s of sessions) s.loggingOut = true
}

const newRun = (rand: () => number, folders: string[], trace?: ConsistencyOptions['trace']): Run => ({violations: [], violationCount: 0, responses: 0, recentOwner: new Map(), newKeywords: 0, rand, folders, trace})

/** Runs the check; throws only when the set-up fails (violations are in the result). */
export async function runConsistency(options: ConsistencyOptions): Promise<ConsistencyResult> {
  const rand = seeded(options.seed)
  const prefix = `cons${options.seed % 100000}x${Date.now() % 100000}`
  const folders = Array.from({length: options.folders ?? 3}, (_, i) => `${prefix}${String.fromCharCode(97 + i)}`)
  const run = newRun(rand, folders, options.trace)
  const byKind: Record<string, number> = {}
  const wires: Wire[] = []
  try {
    const setup = await login(options, wires)
    for (const folder of folders) {
      const created = await setup.command(`CREATE ${folder}`)
      if (created.status !== 'OK') throw new Error(`CREATE ${folder}: ${created.text}`)
      for (let i = 0; i < (options.initialMessages ?? 8); i++) {
        const appended = await setup.append(folder, i % 3 ? [] : ['\\Seen', '$K1'], message(rand))
        if (appended.status !== 'OK') throw new Error(`APPEND: ${appended.text}`)
      }
    }
    const count = options.sessions ?? 5
    const sessions: ModelSession[] = []
    for (let i = 0; i < count; i++) {
      // the last session is read-only; the second and fourth use CONDSTORE
      sessions.push(new ModelSession(i + 1, i === count - 1, i % 2 === 1, await login(options, wires), run))
    }
    for (const s of sessions) await s.select(pick(rand, folders))
    const until = Date.now() + options.durationMs
    const done = await Promise.all(sessions.map((s, i) => loop(s, run, seeded(options.seed * 31 + i + 1), until, byKind)))
    await settle(sessions, folders, await login(options, wires))
    return {
      seed: options.seed,
      operations: done.reduce((a, b) => a + b, 0),
      responses: run.responses,
      keywords: KEYWORDS.length + run.newKeywords,
      violations: run.violations,
      violationCount: run.violationCount,
      byKind,
    }
  } finally {
    for (const wire of wires) wire.close()
  }
}

/** a session of a scripted history: the random run's model, driven step by step */
export interface ScriptedSession {
  select(folder: string): Promise<void>
  /** an IMAP command; a tagged reply other than OK is a violation */
  command(command: string): Promise<void>
  /** the random run's STORE of messages a..b (sequence numbers, or their UIDs when `byUid`), the model brought along */
  store(a: number, b: number, mode: StoreMode, flags: string[], options?: {silent?: boolean; byUid?: boolean}): Promise<void>
}

export interface Scripted {
  sessions: ScriptedSession[]
  /** the random run's end (every session catches up, its model compared with a fresh EXAMINE of `folders`); all violations, the connections closed */
  finish(folders: string[]): Promise<string[]>
}

/**
 * `count` read-write sessions checked by the model of the random run, for a regression test
 * that replays one interleaving the random run found: the run's interleaving is up to the
 * machine, a script's is fixed.
 */
export async function scripted(server: Server, count: number): Promise<Scripted> {
  const run = newRun(seeded(0), [])
  const wires: Wire[] = []
  const models: ModelSession[] = []
  try {
    for (let i = 0; i < count; i++) models.push(new ModelSession(i + 1, false, false, await login(server, wires), run))
  } catch (err) {
    for (const wire of wires) wire.close()
    throw err
  }
  const sessions = models.map(
    (s): ScriptedSession => ({
      select: (folder) => s.select(folder),
      command: async (command) => {
        await s.command(command)
        await s.learnUids()
      },
      store: async (a, b, mode, flags, options = {}) => {
        await store(s, messagesOf(s, a, b), options.byUid ?? false, mode, flags, options.silent ?? false)
        await s.learnUids()
      },
    }),
  )
  return {
    sessions,
    finish: async (folders) => {
      try {
        await settle(models, folders, await login(server, wires))
        return run.violations
      } finally {
        for (const wire of wires) wire.close()
      }
    },
  }
}
