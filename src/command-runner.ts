/**
 * Runs a line-protocol session's commands (POP3, ManageSieve) one at a time, in order. While one
 * runs the socket is paused, and a client that does not read its replies is waited for (`drain`)
 * before the next command, so a pipelining client costs at most one read's worth of commands in
 * and about one reply out. The session frames what it reads into `queue` and calls `kick()`.
 */
import type {Socket} from 'node:net'
import type {Logger} from './log.js'
import {drained} from './session-socket.js'

/** replies waiting for a slow reader beyond this pause the next command */
const MAX_BACKLOG = 1024 * 1024

export interface RunnerHost<T> {
  /** the connection's socket now (it changes at STARTTLS) */
  socket(): Socket
  /** false once the session is closed or stopping: what is queued is dropped */
  live(): boolean
  handle(input: T): Promise<void>
  /** a command threw: log it and answer with an internal error */
  failed(err: unknown): void
}

export class CommandRunner<T> {
  readonly queue: T[] = []
  /** the run under way */
  running?: Promise<void>

  constructor(private readonly host: RunnerHost<T>) {}

  /**
   * Listens to the session's socket (again after STARTTLS): what it reads, its close, and
   * inactivity — which is never while a command of its runs (a password check under load): our
   * reply restarts the timer. Waiting for a client that does not read its replies is inactivity.
   */
  listen(socket: Socket, idleTimeoutMs: number, on: {data(chunk: Buffer): void; idle(): void; close(): void}, log: Logger): void {
    socket.setTimeout(idleTimeoutMs)
    socket.on('timeout', () => {
      if (this.running && socket.writableLength <= MAX_BACKLOG) return
      log.debug('idle timeout')
      on.idle()
    })
    socket.on('data', on.data)
    socket.on('error', (err) => log.debug({err: err.message}, 'connection error'))
    socket.on('close', on.close)
  }

  /** runs what is queued, unless a run is under way (it takes the new commands too) */
  kick(): void {
    if (this.queue.length === 0 || this.running) return
    this.host.socket().pause()
    this.running = this.run().finally(() => {
      this.running = undefined
      if (this.host.live()) this.host.socket().resume()
    })
  }

  private async run(): Promise<void> {
    let input: T | undefined
    while (this.host.live() && (input = this.queue.shift()) !== undefined) {
      try {
        await this.host.handle(input)
      } catch (err) {
        this.host.failed(err)
      }
      const socket = this.host.socket()
      if (socket.writableLength > MAX_BACKLOG) await drained(socket)
    }
  }
}
