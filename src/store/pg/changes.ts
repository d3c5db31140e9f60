/**
 * The change signal between nodes sharing one PostgreSQL store: LISTEN/NOTIFY.
 *
 * Sending: a transaction that changes something other nodes cache or show collects what it
 * changed in a `ChangeSignals` and sends it just before COMMIT (`signalledTransaction`). NOTIFY
 * inside a transaction is delivered only once it commits, and never when it rolls back, so a
 * signal never runs ahead of the data. One notification per folder per transaction, carrying the
 * folder's final HIGHESTMODSEQ (read from the row the transaction holds locked), however many
 * messages it touched; PostgreSQL also folds identical notifications of one transaction into one.
 * A transaction touching more than `MAX_FOLDER_SIGNALS` folders sends one `resync` instead.
 *
 * Receiving: one dedicated connection per node (`ChangeListener`, a `pg.Client` outside the pool:
 * LISTEN belongs to a session). Payloads are small JSON, parsed defensively: a bad one is logged
 * and ignored. When the connection drops it reconnects with back-off and then emits `resync`:
 * notifications sent meanwhile are lost, so subscribers catch up from the database by MODSEQ
 * (./catch-up.ts) instead of trusting the stream.
 *
 * The channel is per schema (`mailbox.<schema>`): NOTIFY is database-wide, and two stores in
 * two schemas of one database must not hear each other.
 */
import pg from 'pg'
import {MailboxError} from '../../errors.js'
import {silentLogger, type Logger} from '../../log.js'
import type {ChangeFeed, StoreChange} from '../backend.js'
import {ChangeEmitter} from '../change-feed.js'
import {transaction, type TransactionOptions} from './connect.js'

/** What a node hears: `StoreChange` of ../backend.ts (`store.changes`). */
export type {StoreChange}

/** folders one transaction signals one by one; more send one `resync` (a bulk change: a user's removal, a store copy) */
export const MAX_FOLDER_SIGNALS = 1000
/** a payload larger than this is not ours: ignored (PostgreSQL's own limit is 8000 bytes) */
export const MAX_PAYLOAD_BYTES = 1024
/** the longest channel name PostgreSQL keeps (NAMEDATALEN - 1) */
const MAX_CHANNEL_BYTES = 63

/** the channel of the store in the session's schema, as SQL (evaluated by the sender's session) */
const CHANNEL_SQL = `'mailbox.' || current_schema()`

/** What one transaction changed; `send` turns it into notifications, inside the transaction. */
export class ChangeSignals {
  private readonly folders = new Set<number>()
  /** folders this transaction deleted: their row is gone, so their last state is sent as it was */
  private readonly gone = new Map<number, {user: string; highestModseq: number}>()
  private dueAt: number | undefined
  private directoryVersion: number | undefined
  private directoryChanged = false
  private captureChanged = false
  private readonly sieveUsers = new Set<string>()
  private readonly certificates = new Set<string>()

  /** a folder's messages, flags or counts changed (its HIGHESTMODSEQ is read at send) */
  folder(id: number): void {
    this.folders.add(id)
  }

  /** a folder was deleted (sessions on it learn that it is gone when they look it up) */
  folderGone(id: number, user: string, highestModseq: number): void {
    this.folders.delete(id)
    this.gone.set(id, {user, highestModseq})
  }

  /** a queue entry became due at `dueAt` (the earliest of a transaction is sent) */
  queue(dueAt: number): void {
    this.dueAt = this.dueAt === undefined ? dueAt : Math.min(this.dueAt, dueAt)
  }

  directory(version?: number): void {
    this.directoryChanged = true
    if (version !== undefined) this.directoryVersion = Math.max(this.directoryVersion ?? 0, version)
  }

  capture(): void {
    this.captureChanged = true
  }

  /** a user's Sieve scripts changed */
  sieve(user: string): void {
    this.sieveUsers.add(user)
  }

  /** the certificate kept under `name` was put or removed */
  certificate(name: string): void {
    this.certificates.add(name)
  }

  /** Sends the signals on `client`, inside its open transaction: delivered at COMMIT, dropped at ROLLBACK. */
  async send(client: pg.ClientBase): Promise<void> {
    const payloads: string[] = []
    if (this.folders.size + this.gone.size > MAX_FOLDER_SIGNALS) payloads.push(JSON.stringify({k: 'r'}))
    else {
      for (const [f, {user, highestModseq}] of this.gone) payloads.push(JSON.stringify({k: 'm', f, m: highestModseq, u: user}))
      if (this.folders.size > 0) {
        await client.query(
          `SELECT pg_notify(${CHANNEL_SQL}, json_build_object('k', 'm', 'f', id, 'm', highest_modseq, 'u', user_address)::text)
             FROM folders WHERE id = ANY($1::bigint[])`,
          [[...this.folders]],
        )
      }
    }
    if (this.dueAt !== undefined) payloads.push(JSON.stringify({k: 'q', d: this.dueAt}))
    if (this.directoryChanged) payloads.push(JSON.stringify(this.directoryVersion === undefined ? {k: 'd'} : {k: 'd', v: this.directoryVersion}))
    if (this.captureChanged) payloads.push(JSON.stringify({k: 'c'}))
    for (const u of this.sieveUsers) payloads.push(JSON.stringify({k: 's', u}))
    for (const n of this.certificates) payloads.push(JSON.stringify({k: 't', n}))
    if (payloads.length) await client.query(`SELECT pg_notify(${CHANNEL_SQL}, p) FROM unnest($1::text[]) AS p`, [payloads])
  }
}

/**
 * `transaction()` with change signals: `fn` records what it changed in `signals`, which are sent
 * after `fn` and before COMMIT. A retried attempt starts with fresh signals.
 */
export function signalledTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient, signals: ChangeSignals) => Promise<T>, options?: TransactionOptions): Promise<T> {
  return transaction(
    pool,
    async (client) => {
      const signals = new ChangeSignals()
      const result = await fn(client, signals)
      await signals.send(client)
      return result
    },
    options,
  )
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** A notification's payload as a change, or undefined for anything that is not one of ours. */
export function parseChange(payload: string | undefined): StoreChange | undefined {
  if (payload === undefined || payload.length > MAX_PAYLOAD_BYTES) return undefined
  let p: unknown
  try {
    p = JSON.parse(payload)
  } catch {
    return undefined
  }
  if (typeof p !== 'object' || p === null) return undefined
  const o = p as Record<string, unknown>
  switch (o.k) {
    case 'm':
      if (isCount(o.f) && isCount(o.m) && typeof o.u === 'string' && o.u.length <= 320) return {kind: 'mailbox', user: o.u, mailboxId: o.f, highestModseq: o.m}
      return undefined
    case 'q':
      return isCount(o.d) ? {kind: 'queue', dueAt: o.d} : undefined
    case 'd':
      if (o.v === undefined) return {kind: 'directory'}
      return isCount(o.v) ? {kind: 'directory', version: o.v} : undefined
    case 'c':
      return {kind: 'capture'}
    case 's':
      return typeof o.u === 'string' && o.u.length <= 320 ? {kind: 'sieve', user: o.u} : undefined
    case 't':
      return typeof o.n === 'string' && o.n.length <= 253 ? {kind: 'certificate', name: o.n} : undefined
    case 'r':
      return {kind: 'resync'}
    default:
      return undefined
  }
}

export interface ChangeListenerOptions {
  /** first pause before reconnecting (default 100 ms); doubles per failed attempt */
  reconnectMinMs?: number
  /** longest pause between reconnect attempts (default 5 s) */
  reconnectMaxMs?: number
  /** how often the connection is checked with a query, so a silently dead one is noticed (default 10 s) */
  checkEveryMs?: number
  /** a connect or check taking longer counts as a lost connection (default 10 s) */
  timeoutMs?: number
}

export const DEFAULT_LISTENER_OPTIONS: Required<ChangeListenerOptions> = {reconnectMinMs: 100, reconnectMaxMs: 5_000, checkEveryMs: 10_000, timeoutMs: 10_000}

type Subscriber = (change: StoreChange) => void

/**
 * A node's ear: one LISTEN connection, kept open until `stop()`. `start()` resolves once it
 * listens (and rejects when the first connect fails: the store is not usable then either); after
 * that, a lost connection is re-opened for as long as it takes, each success followed by a
 * `resync`. Subscribers are called synchronously, in order; one that throws is logged and does
 * not stop the others.
 */
export class ChangeListener {
  private readonly options: Required<ChangeListenerOptions>
  private readonly subscribers = new Set<Subscriber>()
  private client: pg.Client | undefined
  private channel: string | undefined
  private pid: number | undefined
  private stopped = false
  private retryTimer: NodeJS.Timeout | undefined
  private checkTimer: NodeJS.Timeout | undefined
  private nextDelayMs: number
  /** counts for status and tests */
  readonly stats = {notifications: 0, ignored: 0, reconnects: 0}

  constructor(
    private readonly url: string,
    options: ChangeListenerOptions = {},
    private readonly log: Logger = silentLogger,
  ) {
    this.options = {...DEFAULT_LISTENER_OPTIONS, ...options}
    this.nextDelayMs = this.options.reconnectMinMs
  }

  /** calls `fn` for every change heard from now on; returns the unsubscribe */
  subscribe(fn: Subscriber): () => void {
    this.subscribers.add(fn)
    return () => void this.subscribers.delete(fn)
  }

  /** the server process id of the listen connection (undefined while reconnecting): for tests and status */
  get backendPid(): number | undefined {
    return this.pid
  }

  async start(): Promise<void> {
    await this.connect()
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.retryTimer)
    clearInterval(this.checkTimer)
    const client = this.client
    this.client = undefined
    this.pid = undefined
    await client?.end().catch(() => {})
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: 'mailbox-listen',
      connectionTimeoutMillis: this.options.timeoutMs,
      query_timeout: this.options.timeoutMs,
      keepAlive: true,
    })
    let lost = false
    const onLost = (err?: Error) => {
      if (lost) return
      lost = true
      void client.end().catch(() => {})
      if (this.client !== client || this.stopped) return
      this.client = undefined
      this.pid = undefined
      clearInterval(this.checkTimer)
      this.log.warn({err: err ?? new Error('connection ended')}, 'store change listener lost its connection; reconnecting')
      this.scheduleReconnect()
    }
    // registered before connecting: a connection error emitted without a listener would end the process
    client.on('error', onLost)
    client.on('end', () => onLost())
    client.on('notification', (message) => this.heard(message.payload))
    try {
      await client.connect()
      const {rows} = await client.query("SELECT 'mailbox.' || current_schema() AS channel, pg_backend_pid() AS pid")
      const channel: string = rows[0].channel
      if (Buffer.byteLength(channel) > MAX_CHANNEL_BYTES) throw new MailboxError('invalid', `the store's schema name is too long for a change channel (${channel})`)
      await client.query(`LISTEN ${client.escapeIdentifier(channel)}`)
      if (this.stopped) throw new Error('stopped')
      this.channel = channel
      this.pid = rows[0].pid
    } catch (err) {
      lost = true
      await client.end().catch(() => {})
      throw err
    }
    this.client = client
    this.checkTimer = setInterval(() => {
      client.query('SELECT 1').catch((err: Error) => onLost(err))
    }, this.options.checkEveryMs)
    this.checkTimer.unref()
  }

  private scheduleReconnect(): void {
    const delay = this.nextDelayMs * (0.5 + Math.random() / 2)
    this.nextDelayMs = Math.min(this.options.reconnectMaxMs, this.nextDelayMs * 2)
    this.retryTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.nextDelayMs = this.options.reconnectMinMs
          this.stats.reconnects++
          this.log.info({channel: this.channel}, 'store change listener reconnected; subscribers resync')
          this.emit({kind: 'resync'})
        },
        (err: Error) => {
          if (this.stopped) return
          this.log.warn({err, retryInMs: Math.round(this.nextDelayMs)}, 'store change listener cannot reconnect yet')
          this.scheduleReconnect()
        },
      )
    }, delay)
    this.retryTimer.unref()
  }

  private heard(payload: string | undefined): void {
    const change = parseChange(payload)
    if (!change) {
      this.stats.ignored++
      // the first, then one in a thousand: a flood of foreign notifications must not flood the log
      if (this.stats.ignored % 1000 === 1) {
        this.log.warn({payload: payload?.slice(0, 100), bytes: payload?.length, ignored: this.stats.ignored}, 'store change listener ignored a notification it cannot read')
      }
      return
    }
    this.stats.notifications++
    this.emit(change)
  }

  private emit(change: StoreChange): void {
    for (const fn of this.subscribers) {
      try {
        fn(change)
      } catch (err) {
        this.log.error({err, change: change.kind}, 'a store change subscriber failed')
      }
    }
  }
}

/**
 * `store.changes` (../backend.ts) of a PostgreSQL store: one `ChangeListener` for the store,
 * started by the first `on` (a CLI command that never listens opens no listen connection). A
 * first connect that fails is tried again every `retryMs` (logged), followed by a `resync`; after
 * that, the listener's own reconnects emit `resync` too.
 */
export class PgChangeFeed implements ChangeFeed {
  private readonly emitter: ChangeEmitter
  private readonly listener: ChangeListener
  /** pause before another first connect */
  private readonly retryMs: number
  private started: Promise<void> | undefined
  private retryTimer: NodeJS.Timeout | undefined
  private closed = false

  constructor(
    url: string,
    private readonly log: Logger = silentLogger,
    options: ChangeListenerOptions & {retryMs?: number} = {},
  ) {
    this.emitter = new ChangeEmitter()
    this.emitter.onListenerError = (err, change) => log.error({err, change: change.kind}, 'a store change listener failed')
    this.listener = new ChangeListener(url, options, log)
    this.listener.subscribe((change) => this.emitter.emit(change))
    this.retryMs = options.retryMs ?? DEFAULT_LISTENER_OPTIONS.reconnectMaxMs
  }

  on(listener: (change: StoreChange) => void): () => void {
    const off = this.emitter.on(listener)
    this.start(false)
    return off
  }

  /** resolves once the listen connection listens, or its first attempt failed (then it is retried) */
  ready(): Promise<void> {
    this.start(false)
    return this.started!
  }

  private start(afterFailure: boolean): void {
    if (this.started || this.closed) return
    this.started = this.listener.start().then(
      () => {
        if (afterFailure) this.emitter.emit({kind: 'resync'})
      },
      (err: unknown) => {
        if (this.closed) return
        this.log.warn({err, retryInMs: this.retryMs}, 'store change listener cannot connect yet')
        this.retryTimer = setTimeout(() => {
          this.started = undefined
          this.start(true)
        }, this.retryMs)
        this.retryTimer.unref()
      },
    )
  }

  async close(): Promise<void> {
    this.closed = true
    clearTimeout(this.retryTimer)
    await this.listener.stop()
  }
}
