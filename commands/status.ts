import {MailboxCommand} from '../src/cli/base-command.js'
import {formatTime} from '../src/cli/table.js'
import {connectControl} from '../src/control/client.js'
import {formatSize} from '../src/size.js'
import type {AcmeNameStatus, AcmeStatus} from '../src/acme/manager.js'
import type {AuthStats} from '../src/auth/actor.js'
import {QUEUE_STATES, storeCounts, type ServerStatus, type StoreCounts} from '../src/status.js'
import {storeExists} from '../src/store/store.js'
import {clusterStatus, renderCluster, type ClusterStatus} from '../src/cluster-status.js'
import {resolve} from 'node:path'

/** stopped: the store's counts, or null when the data dir holds no store (nothing is created to look) */
type Status = ServerStatus | {running: false; dataDir: string; counts: StoreCounts | null} | PgStatus

/** a PostgreSQL store (--store), this machine's server not running: the cluster's nodes and the store's counts */
interface PgStatus {
  running: false
  dataDir: string
  counts: StoreCounts
  cluster: ClusterStatus
}

/** LSB's "program is not running" status code */
const NOT_RUNNING = 3

export default class Status_ extends MailboxCommand {
  static override summary = 'Show whether the server runs, its listeners, and what the store holds.'
  static override description = `Exits 0 when the server runs and ${NOT_RUNNING} when it does not (as LSB init scripts and systemctl status do), so monitoring can check it without reading the output.`
  static override examples = ['<%= config.bin %> status', '<%= config.bin %> status --json']

  async run(): Promise<Status> {
    const {flags} = await this.parse(Status_)
    const dataDir = resolve(flags['data-dir'])
    const client = await connectControl(dataDir)
    let status: Status
    if (client) {
      try {
        status = await client.call('server.status', {})
      } finally {
        client.close()
      }
    } else if (flags.store !== undefined) {
      const store = await this.openStore(dataDir, {readOnly: true})
      status = {running: false, dataDir, counts: await storeCounts(store), cluster: (await clusterStatus(store))!}
    } else {
      status = {running: false, dataDir, counts: storeExists(dataDir) ? await storeCounts(await this.openStore(dataDir)) : null}
    }
    this.say(render(status))
    if (!status.running) process.exitCode = NOT_RUNNING
    return status
  }
}

function render(s: Status): string {
  const c = s.counts
  if (!c) return ['server:    not running', `data dir:  ${s.dataDir} (no mailbox store here: create one with mailbox init, mailbox serve or mailbox domain add)`].join('\n')
  const queue = QUEUE_STATES.filter((q) => c.queue[q]).map((q) => `${q} ${c.queue[q]}`).join(', ') || 'empty'
  const lines = s.running
    ? [
        `server:    running (pid ${s.pid}, mailbox ${s.version}, up ${s.uptimeSeconds}s since ${formatTime(s.startedAt)})`,
        `hostname:  ${s.hostname}`,
        ...s.listeners.map((l) => `listen:    ${l.name.padEnd(10)} ${l.address}`),
        ...authLines(s.auth),
        ...(s.certificates ?? []).map((c) => `cert:      ${c.name.padEnd(24)} ${c.notAfter.slice(0, 10)}, ${plural(c.daysLeft, 'day')} left (${c.source})${c.default ? '' : ` ${c.names.join(',')}`}`),
        ...(s.acme ? acmeLines(s.acme) : []),
        ...(s.cluster ? renderCluster(s.cluster) : []),
      ]
    : 'cluster' in s && s.cluster
      ? ['server:    not running (here)', ...renderCluster(s.cluster)]
      : ['server:    not running']
  return [
    ...lines,
    `data dir:  ${s.dataDir}`,
    `domains:   ${c.domains}`,
    `users:     ${c.users} (aliases ${c.aliases})`,
    `messages:  ${c.messages} (${formatSize(c.messageBytes)}) in ${c.folders} folders`,
    `queue:     ${queue}`,
  ].join('\n')
}

function authLines(a: AuthStats): string[] {
  const window = `${Math.round(a.windowMs / 60_000)}m`
  const t = a.totals
  return [
    `auth:      ${a.failures} failed logins in the last ${window} from ${plural(a.addresses, 'address', 'addresses')} ` +
      `(${a.blockedAddresses} blocked, ${a.slowedAddresses} slowed); ${plural(a.lockedUsers, 'user')} refusing unfamiliar addresses`,
    `           since start: ${t.succeeded} logged in, ${t.failed} failed, ${t.throttled} throttled, ${t.disabled} disabled`,
    ...a.top.map((s) => `           ${s.address.padEnd(24)} ${s.failures} failures, ${s.blocked ? 'blocked' : `next answer after ${s.delayMs} ms`}`),
  ]
}

/** one line per name: its certificate's state, and for a failed order the error and the next attempt */
function acmeLines(a: AcmeStatus): string[] {
  const line = (n: AcmeNameStatus) => {
    const until = n.notAfter ? `, valid until ${formatTime(n.notAfter)}` : ''
    if (n.state === 'failed') return `${n.state} ${n.failures}x${until}: ${n.lastError}; next attempt ${formatTime(n.nextAttemptAt!)}`
    return `${n.state}${until}${n.renewAt ? `, renewed from ${formatTime(n.renewAt)}` : ''}`
  }
  return [`acme:      ${a.directory} (${a.challenge})`, ...a.names.map((n) => `           ${n.name.padEnd(32)} ${line(n)}`)]
}

const plural = (n: number, one: string, many = one + 's') => `${n} ${n === 1 ? one : many}`
