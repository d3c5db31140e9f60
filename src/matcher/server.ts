/**
 * The matcher: test runners connect over TCP, register one-shot patterns and are told when a
 * matching mail arrives (the gost protocol of seed 000, version 1). Each message is one line:
 *
 *   S: HELLO                         C: OLLEH {"version": 1, "token": "…"}
 *   S: OKAY                          (UNSUPPORTED and close for any other version;
 *                                     ERROR and close when a token is required and missing or wrong)
 *   C: MATCH {"to": "bob@x.test", "subject": "/reset/i", "timeout_s": 30, "since_s": 60}
 *   S: MATCHPUT {"match_id": "…"}
 *   S: GOTEMAIL {"match_id": "…", "email": {…}}   C: OKAY
 *   S: EXPIRED {"match_id": "…"}                  C: OKAY
 *   PING / PONG either way; C: QUIT closes. A bad line gets ERROR {"message": "…"}.
 *
 * A match fires once, for the first mail that matches after it was registered — or, with
 * `since_s`, for the first stored mail of the last N seconds. The server PINGs idle clients and
 * drops one that does not answer.
 *
 * Bounded whatever a client does: connections in total and per address, the time from connect to
 * a successful OLLEH, pending matches per connection and in total, line length, output backlog;
 * a refused connection is gone within 2 s; patterns run on RE2 (../pattern.ts), and
 * lines and the matching of a mail against every pending match are processed in slices that
 * yield to the event loop, so SMTP, IMAP and POP3 keep answering.
 */
import {randomUUID} from 'node:crypto'
import {createServer, type Server, type Socket} from 'node:net'
import {StringDecoder} from 'node:string_decoder'
import {setImmediate as nextTurn} from 'node:timers/promises'
import type {Actor, Bus, BusEvent} from '../bus.js'
import {ConnectionLimits, type ConnectionCounts} from '../connection-limits.js'
import {refuseConnection} from '../socket-close.js'
import {isMailboxError} from '../errors.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import type {ListenerInfo} from '../status.js'
import type {BlobInfoRecord} from '../store/records.js'
import {buildEmail} from './email.js'
import {compileMatch, type Candidate, type MatchSpec} from './match.js'
import {tokensEqual} from './token.js'

export const PROTOCOL_VERSION = 1

/** config key `matcher` */
export interface MatcherConfig {
  maxLineBytes: number
  maxMatchesPerConnection: number
  /** pending matches of all connections together */
  maxPendingMatches: number
  maxConnections: number
  maxConnectionsPerIp: number
  /** how often an idle client is PINGed */
  pingIntervalMs: number
  /** how long a PING may go unanswered before the client is dropped */
  pingTimeoutMs: number
  /** how long a client has from connecting to a successful OLLEH (the token check) */
  helloTimeoutMs: number
  /** the shared secret a client sends in OLLEH; required when set, and generated when bound beyond loopback (./token.ts) */
  token?: string
}

export const DEFAULT_MATCHER_CONFIG: MatcherConfig = {
  maxLineBytes: 64 * 1024,
  maxMatchesPerConnection: 100,
  maxPendingMatches: 300,
  maxConnections: 200,
  maxConnectionsPerIp: 100,
  pingIntervalMs: 30_000,
  pingTimeoutMs: 10_000,
  helloTimeoutMs: 10_000,
}

/** work done in one go before yielding to the event loop (other connections, other protocols) */
const SLICE_MS = 10

/** For a loop over many items: `await due()` after each item yields to the event loop once SLICE_MS of work has been done. */
function slicer(): () => Promise<void> {
  let start = Date.now()
  return async () => {
    if (Date.now() - start < SLICE_MS) return
    await nextTurn()
    start = Date.now()
  }
}

/** how long a refused connection may take to close before it is destroyed */
const REFUSED_LINGER_MS = 2000

/** a client that does not read is dropped once this much output waits for it */
const MAX_BACKLOG = 64 * 1024 * 1024

interface Match {
  id: string
  spec: MatchSpec
  conn: Connection
  timer: NodeJS.Timeout
}

interface Connection {
  socket: Socket
  ready: boolean
  /** complete lines not yet handled; the socket is paused while there are any */
  lines: string[]
  handling: boolean
  matches: Set<string>
  awaitingPong?: NodeJS.Timeout
  ping?: NodeJS.Timeout
  /** until OLLEH succeeds: a client without the token cannot hold a slot by answering PINGs */
  hello?: NodeJS.Timeout
}

/** a mail's address lists are matched on their first this-many entries (each value on its first PATTERN_LIMITS.maxTextLength characters) */
export const MAX_ADDRESSES_MATCHED = 100

function candidateOf(info: BlobInfoRecord): Candidate {
  return {
    mailFrom: info.mailFrom ?? '',
    rcptTo: (info.rcptTo ?? []).slice(0, MAX_ADDRESSES_MATCHED),
    from: info.summary?.from ?? '',
    to: (info.summary?.to ?? []).slice(0, MAX_ADDRESSES_MATCHED),
    subject: info.summary?.subject ?? '',
  }
}

/** how far back a sweep for other nodes' mail starts before the previous one began */
const SWEEP_MARGIN_MS = 5_000
/** blob ids remembered as tested (about 40 bytes each) */
const MAX_TESTED = 10_000

export class MatcherServer implements Actor {
  readonly name = 'matcher'
  private server?: Server
  private readonly matches = new Map<string, Match>()
  private readonly connections = new Set<Connection>()
  private readonly connectionLimits: ConnectionLimits
  private unsubscribe: (() => void)[] = []
  private address = ''
  /** blobs already tested against the open matches (bounded: the oldest are forgotten first) */
  private readonly tested = new Set<string>()
  /** the sweep for mail other nodes stored: running, and asked again while it ran */
  private sweeping = false
  private sweepAgain = false
  /** where the next sweep starts (epoch ms of blob ids), a margin before the last one began */
  private sweptFrom = Date.now()

  constructor(
    private readonly bus: Bus,
    private readonly options: {bind: string; port: number; config: MatcherConfig},
    private readonly log: Logger,
  ) {
    this.connectionLimits = new ConnectionLimits(options.config, ['matcher'])
  }

  get listeners(): ListenerInfo[] {
    return this.server ? [{name: 'matcher', address: this.address}] : []
  }

  /** the connection limiter's own counts, as the other front-ends report theirs */
  get connectionCounts(): ConnectionCounts {
    return this.connectionLimits.counts()
  }

  async start(): Promise<void> {
    if (!this.options.port) return
    this.unsubscribe = [
      this.bus.subscribe('mail.received', (e) => void this.onMail(e as BusEvent<'mail.received'>)),
      // on a store shared by several nodes, mail another node stored shows here as a folder change
      this.bus.subscribe('mailbox.changed', (e) => {
        if ((e as BusEvent<'mailbox.changed'>).body.elsewhere) void this.sweep()
      }),
    ]
    const server = createServer((socket) => this.accept(socket))
    await listenOn(server, 'matcher', {host: this.options.bind, port: this.options.port})
    server.on('error', (err) => this.log.warn({err}, 'matcher listener error'))
    this.server = server
    this.address = `${this.options.bind}:${this.options.port}`
  }

  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off()
    this.unsubscribe = []
    for (const conn of this.connections) this.drop(conn)
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server = undefined
  }

  private send(conn: Connection, verb: string, body?: unknown): void {
    if (conn.socket.destroyed) return
    if (conn.socket.writableLength > MAX_BACKLOG) return this.drop(conn)
    conn.socket.write(body === undefined ? `${verb}\n` : `${verb} ${JSON.stringify(body)}\n`)
  }

  private error(conn: Connection, message: string): void {
    this.send(conn, 'ERROR', {message})
  }

  /** idempotent; the connection's slot in connectionLimits is released by the socket's one 'close' */
  private drop(conn: Connection): void {
    conn.lines.length = 0
    clearTimeout(conn.awaitingPong)
    clearInterval(conn.ping)
    clearTimeout(conn.hello)
    for (const id of conn.matches) this.cancel(id)
    this.connections.delete(conn)
    conn.socket.destroy()
  }

  private cancel(id: string): Match | undefined {
    const match = this.matches.get(id)
    if (!match) return undefined
    clearTimeout(match.timer)
    this.matches.delete(id)
    match.conn.matches.delete(id)
    return match
  }

  private accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? ''
    socket.on('error', () => {})
    if (!this.connectionLimits.admit(socket, 'matcher').accepted) {
      const {maxConnections, maxConnectionsPerIp} = this.options.config
      this.log.info({remote: ip}, 'matcher connection refused: too many connections')
      const message = `too many matcher connections (at most ${maxConnections}, ${maxConnectionsPerIp} per address); try again later`
      // destroyed REFUSED_LINGER_MS later whatever the client does (an idle timeout would restart with every byte it sends)
      refuseConnection(socket, `ERROR ${JSON.stringify({message})}\n`, REFUSED_LINGER_MS)
      return
    }
    const conn: Connection = {socket, ready: false, lines: [], handling: false, matches: new Set()}
    this.connections.add(conn)
    socket.setNoDelay(true)
    const {pingIntervalMs, pingTimeoutMs, maxLineBytes, helloTimeoutMs} = this.options.config
    conn.hello = setTimeout(() => {
      this.log.info({remote: ip}, 'matcher client did not complete OLLEH in time, dropped')
      this.error(conn, `no successful OLLEH within ${helloTimeoutMs} ms`)
      conn.socket.end()
      this.drop(conn)
    }, helloTimeoutMs)
    conn.ping = setInterval(() => {
      if (conn.awaitingPong) return
      this.send(conn, 'PING')
      conn.awaitingPong = setTimeout(() => {
        this.log.info({remote: ip}, 'matcher client did not answer PING, dropped')
        this.drop(conn)
      }, pingTimeoutMs)
    }, pingIntervalMs)
    const decoder = new StringDecoder('utf8')
    let buffered = ''
    const tooLong = () => {
      this.error(conn, `line longer than ${maxLineBytes} bytes`)
      socket.end()
      this.drop(conn)
    }
    socket.on('data', (chunk: Buffer) => {
      buffered += decoder.write(chunk)
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).replace(/\r$/, '')
        buffered = buffered.slice(nl + 1)
        if (Buffer.byteLength(line) > maxLineBytes) return tooLong()
        conn.lines.push(line)
      }
      if (Buffer.byteLength(buffered) > maxLineBytes) return tooLong()
      void this.handleLines(conn)
    })
    socket.on('close', () => this.drop(conn))
    this.send(conn, 'HELLO')
  }

  /** one line per turn of the event loop, reading paused meanwhile: a burst of MATCH lines cannot hold the process */
  private async handleLines(conn: Connection): Promise<void> {
    if (conn.handling) return
    conn.handling = true
    conn.socket.pause()
    try {
      for (let line = conn.lines.shift(); line !== undefined; line = conn.lines.shift()) {
        this.onLine(conn, line)
        if (conn.socket.destroyed) return
        if (conn.lines.length) await nextTurn()
      }
    } finally {
      conn.handling = false
      if (!conn.socket.destroyed) conn.socket.resume()
    }
  }

  private onLine(conn: Connection, line: string): void {
    if (!line.trim()) return this.error(conn, 'empty line: send a command, e.g. PING')
    const space = line.indexOf(' ')
    const verb = (space === -1 ? line : line.slice(0, space)).toUpperCase()
    const rest = space === -1 ? '' : line.slice(space + 1).trim()
    let body: unknown
    if (rest) {
      try {
        body = JSON.parse(rest)
      } catch {
        return this.error(conn, `malformed JSON after ${verb}`)
      }
    }
    if (verb === 'PONG') {
      clearTimeout(conn.awaitingPong)
      conn.awaitingPong = undefined
      return
    }
    if (verb === 'PING') return this.send(conn, 'PONG')
    if (verb === 'QUIT') {
      conn.socket.end()
      return this.drop(conn)
    }
    if (!conn.ready) {
      if (verb !== 'OLLEH') return this.error(conn, 'say OLLEH {"version": 1} first')
      const version = (body as {version?: unknown} | undefined)?.version
      if (typeof version !== 'number') return this.error(conn, 'OLLEH takes {"version": N}')
      if (version !== PROTOCOL_VERSION) {
        this.send(conn, 'UNSUPPORTED')
        conn.socket.end()
        return this.drop(conn)
      }
      const refusal = this.checkToken((body as {token?: unknown}).token)
      if (refusal) {
        this.log.info({remote: conn.socket.remoteAddress}, 'matcher client refused: missing or wrong token')
        this.error(conn, refusal)
        conn.socket.end()
        return this.drop(conn)
      }
      conn.ready = true
      clearTimeout(conn.hello)
      return this.send(conn, 'OKAY')
    }
    if (verb === 'OKAY') return // the client's acknowledgement of GOTEMAIL / EXPIRED
    if (verb === 'MATCH') return void this.register(conn, body)
    this.error(conn, `unknown command ${verb.slice(0, 40)}`)
  }

  /** undefined when the client may go on, else why not */
  private checkToken(given: unknown): string | undefined {
    const expected = this.options.config.token
    if (expected === undefined) return undefined
    if (typeof given !== 'string' || given === '') return 'this matcher requires a token: OLLEH {"version": 1, "token": "…"} (mailbox watch --token)'
    return tokensEqual(given, expected) ? undefined : 'wrong matcher token'
  }

  private async register(conn: Connection, body: unknown): Promise<void> {
    // the caps first: compiling patterns is the costly part
    const {maxMatchesPerConnection, maxPendingMatches} = this.options.config
    if (conn.matches.size >= maxMatchesPerConnection) return this.error(conn, `at most ${maxMatchesPerConnection} open matches per connection`)
    if (this.matches.size >= maxPendingMatches) return this.error(conn, `the matcher holds its maximum of ${maxPendingMatches} open matches; try again later`)
    let spec: MatchSpec
    try {
      spec = compileMatch(body ?? {})
    } catch (err) {
      return this.error(conn, isMailboxError(err) ? err.message : 'invalid MATCH')
    }
    const id = randomUUID()
    const match: Match = {id, spec, conn, timer: setTimeout(() => this.expire(id), spec.timeoutS * 1000)}
    this.matches.set(id, match)
    conn.matches.add(id)
    this.send(conn, 'MATCHPUT', {match_id: id})
    if (spec.sinceS > 0) {
      const recent = await this.bus.call('mailstore.recent', {since: Date.now() - spec.sinceS * 1000})
      const due = slicer()
      for (const r of recent) {
        if (!this.matches.has(id)) return
        if (spec.test(candidateOf(r.info))) return this.fire(id, r.id)
        await due()
      }
    }
  }

  private expire(id: string): void {
    const match = this.cancel(id)
    if (!match) return
    this.send(match.conn, 'EXPIRED', {match_id: id})
    this.bus.publish('matcher.expired', {matchId: id})
  }

  /**
   * Tests the blobs stored since the last sweep (by any node) that this node has not tested yet:
   * a test runner's MATCH on one node sees mail that arrived on another. Sweeps do not overlap; a
   * change during one asks for one more. The start goes back SWEEP_MARGIN_MS, for blob ids made a
   * little earlier by a node whose commit landed later (or whose clock is a little behind).
   */
  private async sweep(): Promise<void> {
    if (this.matches.size === 0) return
    if (this.sweeping) return void (this.sweepAgain = true)
    this.sweeping = true
    try {
      do {
        this.sweepAgain = false
        const began = Date.now()
        const recent = await this.bus.call('mailstore.recent', {since: this.sweptFrom})
        this.sweptFrom = began - SWEEP_MARGIN_MS
        for (const r of recent) {
          if (this.matches.size === 0) break
          if (!this.tested.has(r.id)) await this.testAgainstMatches(r.id, r.info)
        }
      } while (this.sweepAgain)
    } catch (err) {
      this.log.warn({err}, 'matcher could not read recent mail')
    } finally {
      this.sweeping = false
    }
  }

  private remember(id: string): void {
    this.tested.add(id)
    if (this.tested.size > MAX_TESTED) this.tested.delete(this.tested.values().next().value!)
  }

  private async testAgainstMatches(id: string, info: BlobInfoRecord): Promise<void> {
    this.remember(id)
    const candidate = candidateOf(info)
    const due = slicer()
    for (const match of [...this.matches.values()]) {
      if (this.matches.has(match.id) && match.spec.test(candidate)) await this.fire(match.id, id)
      await due()
    }
  }

  private async onMail(e: BusEvent<'mail.received'>): Promise<void> {
    if (this.matches.size === 0) return this.remember(e.body.id)
    let info: BlobInfoRecord
    try {
      info = (await this.bus.call('mailstore.blob', {id: e.body.id})).info
    } catch {
      return
    }
    await this.testAgainstMatches(e.body.id, info)
  }

  /** One-shot: the match is removed before the (asynchronous) email is built. */
  private async fire(matchId: string, messageId: string): Promise<void> {
    const match = this.cancel(matchId)
    if (!match) return
    try {
      const {raw, info} = await this.bus.call('mailstore.blob', {id: messageId})
      const email = await buildEmail(messageId, raw, info, match.spec.raw)
      this.send(match.conn, 'GOTEMAIL', {match_id: matchId, email})
      this.bus.publish('matcher.matched', {matchId, messageId})
    } catch (err) {
      this.log.error({err, matchId, messageId}, 'matcher could not build the email')
      this.error(match.conn, `match ${matchId}: the message could not be read`)
    }
  }
}
