/**
 * What `mailbox status` says about the cluster of a PostgreSQL store: the nodes in its registry
 * (src/store/pg/nodes.ts), live and stale, with what each listens on and its version. Reading it
 * also removes nodes silent for long (`peers()`): whoever looks first cleans up after a `kill -9`.
 */
import {formatTime} from './cli/table.js'
import type {MailboxStore} from './store/backend.js'
import {isPgStore} from './store/open.js'
import {DEFAULT_NODE_TIMINGS, peers, type NodeRow, type NodeTimings} from './store/pg/nodes.js'

export interface NodeStatus {
  id: string
  host: string
  /** by listener name, as the node registered them (`{smtp: ['127.0.0.2:2525'], …}`) */
  listeners: unknown
  version?: string
  /** epoch ms, by the database's clock */
  startedAt: number
  heartbeatAt: number
  silentMs: number
  state: 'live' | 'stale'
}

export interface ClusterStatus {
  /** the store's URL without its password */
  store: string
  /** live nodes first, each group by id */
  nodes: NodeStatus[]
}

const nodeStatus = (row: NodeRow, state: NodeStatus['state']): NodeStatus => ({
  id: row.id,
  host: row.host,
  listeners: row.listeners,
  ...(row.version !== undefined ? {version: row.version} : {}),
  startedAt: row.startedAt.getTime(),
  heartbeatAt: row.heartbeat.getTime(),
  silentMs: row.silentMs,
  state,
})

/** the registry of a PostgreSQL store; undefined for LMDB (one process, no registry) */
export async function clusterStatus(store: MailboxStore, timings: Pick<NodeTimings, 'staleAfterMs' | 'removeAfterMs'> = DEFAULT_NODE_TIMINGS): Promise<ClusterStatus | undefined> {
  if (!isPgStore(store)) return undefined
  const {live, stale} = await peers(store.pool, timings)
  return {store: store.path, nodes: [...live.map((n) => nodeStatus(n, 'live')), ...stale.map((n) => nodeStatus(n, 'stale'))]}
}

/** the lines `status` prints for it */
export function renderCluster(cluster: ClusterStatus): string[] {
  const live = cluster.nodes.filter((n) => n.state === 'live').length
  const lines = [`store:     ${cluster.store}`, `nodes:     ${live} live, ${cluster.nodes.length - live} stale`]
  for (const n of cluster.nodes) {
    // the database's clock only: the nodes' clocks are not compared
    const seen = n.state === 'live' ? `started ${formatTime(n.startedAt)}` : `silent ${Math.round(n.silentMs / 1000)}s`
    lines.push(`node:      ${n.id} (${n.state}, ${n.host}${n.version ? `, mailbox ${n.version}` : ''}, ${seen})`)
    const listeners = typeof n.listeners === 'object' && n.listeners !== null ? Object.entries(n.listeners as Record<string, unknown>) : []
    for (const [name, addresses] of listeners) lines.push(`           ${name.padEnd(10)} ${Array.isArray(addresses) ? addresses.join(', ') : String(addresses)}`)
  }
  return lines
}
