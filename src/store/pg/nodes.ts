/**
 * The cluster's node registry in PostgreSQL (the `nodes` table): each node registers at start
 * (its id, host, listeners, version), heartbeats every few seconds and deregisters at a clean
 * stop. `peers()` sorts the rows into live nodes (heartbeat within `staleAfterMs`) and stale ones
 * (a node that died or hangs), and deletes the rows of nodes silent for `removeAfterMs`: whoever
 * looks first after that bound cleans up, so a `kill -9`ed node does not stay listed forever.
 *
 * Every time here is the database's (`now()`), never a node's: machines' clocks are not compared.
 * A node whose row was removed while it was only paused (a long GC, a suspended VM) finds that out
 * at its next heartbeat and registers again.
 */
import {hostname} from 'node:os'
import {randomBytes} from 'node:crypto'
import type pg from 'pg'
import {MailboxError} from '../../errors.js'

export interface NodeTimings {
  /** how often a node heartbeats (default 5 s) */
  heartbeatMs: number
  /** a node whose last heartbeat is older is listed as stale (default 20 s: three missed beats and some) */
  staleAfterMs: number
  /** a node whose last heartbeat is older is removed from the registry (default 10 min) */
  removeAfterMs: number
}

export const DEFAULT_NODE_TIMINGS: NodeTimings = {heartbeatMs: 5_000, staleAfterMs: 20_000, removeAfterMs: 10 * 60_000}

/** bounds on what a node writes about itself: the row is read by every node's `status` */
export const NODE_LIMITS = {idChars: 128, hostChars: 255, versionChars: 64, listenersBytes: 8192}

export interface NodeInfo {
  id: string
  host: string
  /** what the node serves, e.g. `{smtp: ['127.0.0.2:25'], imap: [...]}`: any JSON, at most NODE_LIMITS.listenersBytes */
  listeners: unknown
  version?: string
}

export interface NodeRow extends NodeInfo {
  startedAt: Date
  heartbeat: Date
  /** milliseconds since the last heartbeat, by the database's clock */
  silentMs: number
}

export interface Peers {
  /** heartbeat within staleAfterMs (this node included), by id */
  live: NodeRow[]
  /** silent for longer, not removed yet */
  stale: NodeRow[]
  /** ids of nodes this call removed (silent for removeAfterMs) */
  removed: string[]
}

/** a node id unique enough for a cluster: host, process and a random part */
export function newNodeId(host = hostname()): string {
  return `${host.slice(0, 80)}-${process.pid}-${randomBytes(4).toString('hex')}`
}

function checkedListeners(info: NodeInfo): string {
  const check = (what: string, value: string | undefined, max: number) => {
    if (value !== undefined && (value.length === 0 || value.length > max)) throw new MailboxError('invalid', `a node's ${what} must be 1 to ${max} characters`)
  }
  check('id', info.id, NODE_LIMITS.idChars)
  check('host', info.host, NODE_LIMITS.hostChars)
  check('version', info.version, NODE_LIMITS.versionChars)
  const json = JSON.stringify(info.listeners ?? {})
  if (Buffer.byteLength(json) > NODE_LIMITS.listenersBytes) {
    throw new MailboxError('invalid', `a node's listeners take ${Buffer.byteLength(json)} bytes as JSON, more than ${NODE_LIMITS.listenersBytes}`)
  }
  return json
}

/** Registers (or re-registers, after a restart under the same id) a node: started and heartbeat now. */
export async function registerNode(db: pg.Pool | pg.ClientBase, info: NodeInfo): Promise<void> {
  const listeners = checkedListeners(info)
  await db.query(
    `INSERT INTO nodes (id, host, listeners, version, started_at, heartbeat) VALUES ($1, $2, $3, $4, now(), now())
     ON CONFLICT (id) DO UPDATE SET host = EXCLUDED.host, listeners = EXCLUDED.listeners, version = EXCLUDED.version,
       started_at = now(), heartbeat = now()`,
    [info.id, info.host, listeners, info.version ?? null],
  )
}

/** The node is alive. False when its row is gone (removed as stale by a peer): register again. */
export async function heartbeatNode(db: pg.Pool | pg.ClientBase, id: string): Promise<boolean> {
  const {rowCount} = await db.query('UPDATE nodes SET heartbeat = now() WHERE id = $1', [id])
  return rowCount === 1
}

/** A clean stop: the node leaves the registry at once. */
export async function deregisterNode(db: pg.Pool | pg.ClientBase, id: string): Promise<void> {
  await db.query('DELETE FROM nodes WHERE id = $1', [id])
}

interface Row {
  id: string
  host: string
  listeners: unknown
  version: string | null
  started_at: Date
  heartbeat: Date
  silent_ms: number
}

/**
 * The registry as of now: live and stale nodes, and the removal of those silent for longer than
 * `removeAfterMs` (one statement: a removed row is not also listed).
 */
export async function peers(db: pg.Pool | pg.ClientBase, timings: Pick<NodeTimings, 'staleAfterMs' | 'removeAfterMs'> = DEFAULT_NODE_TIMINGS): Promise<Peers> {
  const {rows} = await db.query<Row & {removed: boolean}>(
    `WITH gone AS (
       DELETE FROM nodes WHERE heartbeat < now() - $1 * interval '1 millisecond' RETURNING id
     )
     SELECT id, host, listeners, version, started_at, heartbeat,
            (extract(epoch FROM now() - heartbeat) * 1000)::bigint AS silent_ms, false AS removed
       FROM nodes WHERE id NOT IN (SELECT id FROM gone)
     UNION ALL
     SELECT id, '', 'null'::jsonb, NULL, now(), now(), 0, true FROM gone
     ORDER BY id`,
    [timings.removeAfterMs],
  )
  const result: Peers = {live: [], stale: [], removed: []}
  for (const row of rows) {
    if (row.removed) {
      result.removed.push(row.id)
      continue
    }
    const node: NodeRow = {
      id: row.id,
      host: row.host,
      listeners: row.listeners,
      ...(row.version !== null ? {version: row.version} : {}),
      startedAt: row.started_at,
      heartbeat: row.heartbeat,
      silentMs: Math.max(0, row.silent_ms),
    }
    ;(node.silentMs > timings.staleAfterMs ? result.stale : result.live).push(node)
  }
  return result
}

/**
 * A node's presence for as long as it runs: `start()` registers and heartbeats every
 * `heartbeatMs` (one beat at a time: a slow database never piles them up), `stop()` stops the
 * beats and deregisters. A failed beat is reported to `onError` and tried again at the next tick.
 */
export class NodePresence {
  private timer: NodeJS.Timeout | undefined
  private beating: Promise<void> | undefined
  private stopped = false
  readonly timings: NodeTimings

  constructor(
    private readonly pool: pg.Pool,
    readonly info: NodeInfo,
    timings: Partial<NodeTimings> = {},
    private readonly onError: (err: Error) => void = () => {},
  ) {
    this.timings = {...DEFAULT_NODE_TIMINGS, ...timings}
    const {heartbeatMs, staleAfterMs, removeAfterMs} = this.timings
    if (!(heartbeatMs > 0 && staleAfterMs > heartbeatMs && removeAfterMs >= staleAfterMs)) {
      throw new MailboxError('invalid', `node timings must satisfy 0 < heartbeat (${heartbeatMs}) < stale (${staleAfterMs}) <= remove (${removeAfterMs})`)
    }
    checkedListeners(info)
  }

  async start(): Promise<void> {
    await registerNode(this.pool, this.info)
    this.schedule()
  }

  /** the registry as this node sees it (removing long-silent nodes on the way) */
  peers(): Promise<Peers> {
    return peers(this.pool, this.timings)
  }

  private schedule(): void {
    if (this.stopped) return
    this.timer = setTimeout(() => {
      this.beating = this.beat().finally(() => {
        this.beating = undefined
        this.schedule()
      })
    }, this.timings.heartbeatMs)
    this.timer.unref()
  }

  private async beat(): Promise<void> {
    try {
      if (!(await heartbeatNode(this.pool, this.info.id)) && !this.stopped) await registerNode(this.pool, this.info)
    } catch (err) {
      this.onError(err as Error)
    }
  }

  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    await this.beating
    await deregisterNode(this.pool, this.info.id)
  }
}
