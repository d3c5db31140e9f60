/**
 * The control socket server: the bus, exposed to the CLI and the dashboard (see ./protocol.ts).
 */
import {chmodSync, unlinkSync} from 'node:fs'
import {createServer, type Server, type Socket} from 'node:net'
import type {Bus, BusEvent} from '../bus.js'
import {isMailboxError} from '../errors.js'
import {listenOn} from '../listen.js'
import type {Logger} from '../log.js'
import {CONTROL_ACTIONS, MAX_LINE_BYTES, PROTOCOL_VERSION, lineSplitter, maxRequestBytes, requestIdOf, type ControlRequest, type ControlResponse} from './protocol.js'

const EVENT_PATTERN = /^(\*|[a-z]+\.\*|[a-z]+\.[a-z.]+)$/
/** a subscriber that does not read its events is dropped once this much is buffered for it */
const MAX_SUBSCRIBER_BACKLOG = 4 * 1024 * 1024

export class ControlServer {
  private server?: Server
  private readonly sockets = new Set<Socket>()

  constructor(
    private readonly bus: Bus,
    private readonly path: string,
    private readonly log: Logger,
    options: {maxMessageSize?: number} = {},
  ) {
    this.maxMessageSize = options.maxMessageSize
    this.maxRequest = options.maxMessageSize === undefined ? MAX_LINE_BYTES : maxRequestBytes(options.maxMessageSize)
  }

  /** the longest request line read (see maxRequestBytes); a longer one is refused, its bytes skipped */
  private readonly maxRequest: number
  private readonly maxMessageSize?: number

  private tooLarge(): string {
    const hint = this.maxMessageSize === undefined ? '' : ` (a message sent through the server may be at most ${this.maxMessageSize} bytes: smtp.maxMessageSize)`
    return `request too large: more than ${this.maxRequest} bytes${hint}`
  }

  get connections(): number {
    return this.sockets.size
  }

  async start(): Promise<void> {
    try {
      unlinkSync(this.path) // left behind by a crashed server; the pid lock says we own the dir
    } catch {}
    const server = createServer((socket) => this.accept(socket))
    // create the socket file owner-only from the start: no window where others could connect
    const umask = process.umask(0o177)
    try {
      await listenOn(server, 'control', {path: this.path})
    } finally {
      process.umask(umask)
    }
    chmodSync(this.path, 0o600)
    this.server = server
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
    this.server = undefined
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket)
    const unsubscribes: (() => void)[] = []
    const send = (message: object) => {
      if (!socket.writable) return
      if (socket.writableLength > MAX_SUBSCRIBER_BACKLOG) return void socket.destroy()
      socket.write(JSON.stringify(message) + '\n')
    }
    const reply = (id: ControlRequest['id'] | null, result: {body: unknown} | {error: {code: string; message: string}}) =>
      send({id, ...('body' in result ? {ok: true, body: result.body} : {ok: false, error: result.error})} as ControlResponse)

    // Requests are handled as they come; while those waiting or in flight hold more than one
    // request's worth of bytes, reading pauses, so a connection holds at most about two maximal
    // requests at once. Each request starts on its own turn of the event loop: a client that
    // pipelines fifty injections in one chunk must not hold every IMAP and SMTP session up for
    // the time of all fifty (each parses a message before its first await).
    let inflight = 0
    const waiting: string[] = []
    let starting = false
    const startNext = () => {
      const line = waiting.shift()
      if (line === undefined) return void (starting = false)
      void run(line)
      setImmediate(startNext)
    }
    const onLine = (line: string) => {
      inflight += line.length
      if (inflight > this.maxRequest) socket.pause()
      waiting.push(line)
      if (!starting) {
        starting = true
        setImmediate(startNext)
      }
    }
    const run = async (line: string) => {
      try {
        await handle(line)
      } finally {
        inflight -= line.length
        if (inflight <= this.maxRequest && socket.isPaused()) socket.resume()
      }
    }
    const handle = async (line: string) => {
      let request: ControlRequest
      try {
        request = JSON.parse(line) as ControlRequest
        if (typeof request !== 'object' || request === null || typeof request.action !== 'string') throw new Error('no action')
      } catch {
        return reply(null, {error: {code: 'invalid', message: 'malformed request: expected {"id", "action", "version", "body"}'}})
      }
      const {id, action} = request
      const version = request.version ?? PROTOCOL_VERSION
      if (action === 'subscribe') {
        const events = (request.body as {events?: unknown} | undefined)?.events ?? ['*']
        if (!Array.isArray(events) || !events.every((e) => typeof e === 'string' && EVENT_PATTERN.test(e))) {
          return reply(id, {error: {code: 'invalid', message: 'subscribe: events must be names like "auth.failed", "auth.*" or "*"'}})
        }
        for (const pattern of events as string[]) {
          unsubscribes.push(this.bus.subscribe(pattern as '*', (e: BusEvent) => send({event: e.event, time: e.time, body: e.body})))
        }
        return reply(id, {body: {subscribed: events}})
      }
      if (action === 'ping') return reply(id, {body: {pong: true}})
      const supported = CONTROL_ACTIONS[action as keyof typeof CONTROL_ACTIONS]
      if (supported === undefined || !this.bus.has(action)) {
        return reply(id, {error: {code: 'unknown-action', message: `unknown action ${action}`}})
      }
      if (version !== supported) {
        return reply(id, {error: {code: 'unsupported-version', message: `${action} speaks version ${supported}, not ${version}`}})
      }
      try {
        reply(id, {body: await this.bus.call(action, (request.body ?? {}) as never)})
      } catch (err) {
        if (isMailboxError(err)) return reply(id, {error: {code: err.code, message: err.message}})
        this.log.error({err, action}, 'control action failed')
        reply(id, {error: {code: 'internal', message: 'internal error'}})
      }
    }

    socket.on(
      'data',
      lineSplitter(
        onLine,
        (head) => reply(requestIdOf(head), {error: {code: 'too-large', message: this.tooLarge()}}),
        this.maxRequest,
      ),
    )
    socket.on('error', () => {})
    socket.on('close', () => {
      for (const off of unsubscribes) off()
      this.sockets.delete(socket)
    })
  }
}
