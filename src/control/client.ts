/**
 * A client of the control socket, for the CLI and the dashboard. `connectControl` resolves to
 * undefined when no server listens on the data dir, so callers can fall back to the store alone.
 */
import {connect, type Socket} from 'node:net'
import type {Action, Reply, Request} from '../bus.js'
import {MailboxError, type ErrorCode} from '../errors.js'
import {MAX_REPLY_BYTES, PROTOCOL_VERSION, controlSocketPath, lineSplitter, type ControlEvent, type ControlResponse} from './protocol.js'

export class ControlClient {
  private nextId = 1
  private readonly pending = new Map<number, {resolve: (v: unknown) => void; reject: (e: Error) => void}>()
  private readonly eventListeners = new Set<(e: ControlEvent) => void>()
  private closedError?: Error

  constructor(private readonly socket: Socket) {
    socket.on(
      'data',
      lineSplitter(
        (line) => this.onLine(line),
        () => socket.destroy(new Error('control: reply line too long')),
        MAX_REPLY_BYTES,
      ),
    )
    socket.on('error', (err) => (this.closedError = err))
    socket.on('close', () => {
      const err = this.closedError ?? new MailboxError('unavailable', 'control connection closed')
      for (const {reject} of this.pending.values()) reject(err)
      this.pending.clear()
    })
  }

  get closed(): boolean {
    return this.socket.destroyed
  }

  onClose(listener: () => void): void {
    this.socket.on('close', listener)
  }

  call<A extends Action>(action: A, body: Request<A>, version = PROTOCOL_VERSION): Promise<Reply<A>> {
    return this.request(action, body, version) as Promise<Reply<A>>
  }

  /** Streams bus events matching the patterns (`*`, `queue.*`, `auth.failed`). */
  async subscribe(events: string[], listener: (e: ControlEvent) => void): Promise<void> {
    this.eventListeners.add(listener)
    await this.request('subscribe', {events}, PROTOCOL_VERSION)
  }

  request(action: string, body: unknown, version: number): Promise<unknown> {
    if (this.socket.destroyed) return Promise.reject(new MailboxError('unavailable', 'control connection closed'))
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, {resolve, reject})
      this.socket.write(JSON.stringify({id, action, version, body}) + '\n')
    })
  }

  close(): void {
    this.socket.end()
    this.socket.destroy()
  }

  private onLine(line: string): void {
    let message: ControlResponse | ControlEvent
    try {
      message = JSON.parse(line) as ControlResponse | ControlEvent
    } catch {
      return
    }
    if ('event' in message) {
      for (const l of this.eventListeners) l(message)
      return
    }
    if (message.id === null && !message.ok) {
      // an error the server could not tie to a request (a malformed line): every request waiting fails with it
      const err = new MailboxError(message.error.code as ErrorCode, message.error.message)
      for (const {reject} of this.pending.values()) reject(err)
      this.pending.clear()
      return
    }
    const waiter = typeof message.id === 'number' ? this.pending.get(message.id) : undefined
    if (!waiter) return
    this.pending.delete(message.id as number)
    if (message.ok) waiter.resolve(message.body)
    else waiter.reject(new MailboxError(message.error.code as ErrorCode, message.error.message))
  }
}

/** Connects to the server of a data dir, or resolves undefined when none is running there. */
export function connectControl(dataDir: string, timeoutMs = 2000): Promise<ControlClient | undefined> {
  return new Promise((resolve, reject) => {
    const socket = connect(controlSocketPath(dataDir))
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new MailboxError('unavailable', `the server on ${dataDir} did not answer within ${timeoutMs} ms`))
    }, timeoutMs)
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve(new ControlClient(socket))
    })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined)
      else reject(new MailboxError('unavailable', `cannot reach the server on ${dataDir}: ${err.code ?? err.message}`))
    })
  })
}
