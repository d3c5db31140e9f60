/**
 * The live server, seen through its control socket: an event stream plus a status poll
 * (self-rescheduling, so polls never overlap; pm2's monit does the same). A lost connection is
 * retried with backoff; `state` says which of connecting / live / down the dashboard should show.
 */
import {EventEmitter} from 'node:events'
import {connectControl, type ControlClient} from '../../src/control/client.js'
import type {ControlEvent} from '../../src/control/protocol.js'
import type {ServerStatus} from '../../src/status.js'

export type LiveState = {kind: 'connecting'} | {kind: 'live'; status: ServerStatus} | {kind: 'down'; retryAt: number; reason: string}

export interface LiveSourceEvents {
  state: [LiveState]
  event: [ControlEvent]
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000]

export class LiveSource extends EventEmitter<LiveSourceEvents> {
  state: LiveState = {kind: 'connecting'}
  private client?: ControlClient
  private timer?: NodeJS.Timeout
  private failures = 0
  private stopped = false

  constructor(
    private readonly dataDir: string,
    private readonly pollMs = 1000,
  ) {
    super()
  }

  start(): void {
    void this.connect()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.client?.close()
  }

  /** the live connection, for actions that must go through the server */
  get connection(): ControlClient | undefined {
    return this.state.kind === 'live' ? this.client : undefined
  }

  private set(state: LiveState): void {
    this.state = state
    this.emit('state', state)
  }

  private async connect(): Promise<void> {
    if (this.stopped) return
    try {
      const client = await connectControl(this.dataDir, 2000)
      if (!client) return this.down('server not running')
      this.client = client
      client.onClose(() => {
        if (this.client === client && !this.stopped) this.down('connection lost')
      })
      await client.subscribe(['*'], (e) => this.emit('event', e))
      this.failures = 0
      await this.poll()
    } catch (err) {
      this.down((err as Error).message)
    }
  }

  private async poll(): Promise<void> {
    const client = this.client
    if (!client || this.stopped) return
    try {
      this.set({kind: 'live', status: await client.call('server.status', {})})
      this.timer = setTimeout(() => void this.poll(), this.pollMs)
    } catch (err) {
      if (this.client === client) this.down((err as Error).message)
    }
  }

  private down(reason: string): void {
    this.client?.close()
    this.client = undefined
    clearTimeout(this.timer)
    if (this.stopped) return
    const wait = BACKOFF_MS[Math.min(this.failures++, BACKOFF_MS.length - 1)]!
    this.set({kind: 'down', retryAt: Date.now() + wait, reason})
    this.timer = setTimeout(() => void this.connect(), wait)
  }
}
