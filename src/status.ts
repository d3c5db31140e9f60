/** What `mailbox status` reports: store counts always, and live server facts when it runs. */
import type {AcmeStatus} from './acme/manager.js'
import type {AuthStats} from './auth/actor.js'
import type {ClusterStatus} from './cluster-status.js'
import type {QueueState} from './store/records.js'
import type {CertificateInfo} from './certs/inventory.js'
import type {MailboxStore} from './store/backend.js'

export {QUEUE_STATES} from './store/queue-rules.js'

export interface StoreCounts {
  domains: number
  users: number
  aliases: number
  folders: number
  messages: number
  messageBytes: number
  queue: Record<QueueState, number>
}

export interface ListenerInfo {
  name: string
  /** `host:port` for TCP, a path for the control socket */
  address: string
}

export interface ServerStatus {
  running: true
  pid: number
  version: string
  hostname: string
  dataDir: string
  startedAt: number
  uptimeSeconds: number
  listeners: ListenerInfo[]
  connections: ConnectionsStatus
  /** failed logins and the throttle: in the sliding window, and totals since the start */
  auth: AuthStats
  counts: StoreCounts
  /** a PostgreSQL store: the nodes sharing it (this one included) */
  cluster?: ClusterStatus
  /** the certificates served: the default pair first, then those kept in the store (src/certs/inventory.ts) */
  certificates?: CertificateInfo[]
  /** ACME on (acme.directory): each name's certificate, its state, last error and next attempt */
  acme?: AcmeStatus
}

/**
 * Open connections per front-end (`control`, `smtp`, `imap`, `pop3`, `managesieve`, `matcher`, `http`: numbers). For
 * smtp, imap, pop3, managesieve and the matcher these are the connection limiters' own counters (a connection counts from
 * accept to the close of its socket, refused ones included), with their detail beside them.
 */
export interface ConnectionsStatus {
  [frontEnd: string]: number | Record<string, number> | undefined
  /** per listener: smtp (MX), submission, smtps, imap, imaps, pop3, pop3s, managesieve, matcher (those that listen) */
  byListener?: Record<string, number>
  /** distinct remote addresses holding connections, per front-end (smtp, imap, pop3, managesieve, matcher) */
  addresses?: Record<string, number>
}

export async function storeCounts(store: MailboxStore): Promise<StoreCounts> {
  let folders = 0
  let messages = 0
  let messageBytes = 0
  for (const usage of (await store.mail.usageByUser()).values()) {
    folders += usage.folders
    messages += usage.messages
    messageBytes += usage.size
  }
  const queue = await store.queue.counts()
  return {
    ...(await store.directory.counts()),
    folders,
    messages,
    messageBytes,
    queue,
  }
}
