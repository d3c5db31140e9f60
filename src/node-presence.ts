/**
 * A node in a cluster sharing a PostgreSQL store: its id, and its presence in the store's node
 * registry (src/store/pg/nodes.ts) while `serve` runs, with what it listens on, so `status` on any
 * node names its peers. An LMDB store has no registry: one process serves it.
 */
import {createHash} from 'node:crypto'
import type {Logger} from './log.js'
import type {ListenerInfo} from './status.js'
import type {MailboxStore} from './store/backend.js'
import {isPgStore} from './store/open.js'
import {NODE_LIMITS, NodePresence, type NodeTimings} from './store/pg/nodes.js'
import {VERSION} from './version.js'

/**
 * The default node id: the host name and a hash of the data dir, the same across restarts (a
 * restarted node takes its row back instead of leaving a stale one) and different for two nodes
 * on one machine.
 */
export function nodeIdOf(host: string, dataDir: string): string {
  const hash = createHash('sha256').update(dataDir).digest('hex').slice(0, 8)
  return `${host.slice(0, NODE_LIMITS.idChars - 9)}-${hash}`
}

/** what a node serves, by listener name (`{smtp: ['127.0.0.2:2525'], …}`); the control socket is the machine's own */
export function listenersByName(listeners: ListenerInfo[]): Record<string, string[]> {
  const byName: Record<string, string[]> = {}
  for (const {name, address} of listeners) if (name !== 'control') (byName[name] ??= []).push(address)
  return byName
}

export interface NodeSettings {
  nodeId?: string | undefined
  hostname: string
  dataDir: string
  listeners: ListenerInfo[]
  timings?: Partial<NodeTimings>
}

/** Registers the node and keeps it beating, for a PostgreSQL store; undefined for LMDB. Stop it before the store closes. */
export async function startNodePresence(store: MailboxStore, settings: NodeSettings, log: Logger): Promise<NodePresence | undefined> {
  if (!isPgStore(store)) return undefined
  const id = settings.nodeId ?? nodeIdOf(settings.hostname, settings.dataDir)
  const presence = new NodePresence(store.pool, {id, host: settings.hostname, listeners: listenersByName(settings.listeners), version: VERSION}, settings.timings, (err) =>
    log.warn({err, node: id}, 'node heartbeat failed; trying again at the next beat'),
  )
  await presence.start()
  log.info({node: id, store: store.path}, 'registered in the store as a node')
  return presence
}
