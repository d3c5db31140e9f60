/**
 * Pure functions from data to what the panes show: no blessed, no I/O, so they are unit-tested
 * without a terminal. Widgets never fetch data; sources never touch widgets.
 */
import type {ControlEvent} from '../src/control/protocol.js'
import type {UserView} from '../src/directory/users.js'
import {formatSize} from '../src/size.js'
import {QUEUE_STATES} from '../src/status.js'
import type {MailboxRecord, QueueEntry, QueueState} from '../src/store/records.js'
import type {LiveState} from './sources/live.js'

export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`
}

export function headerText(state: LiveState, dataDir: string, now = Date.now()): string {
  if (state.kind === 'live') {
    const s = state.status
    // the totals only; the per-listener and per-address detail is for `status --json`
    const conns = Object.entries(s.connections)
      .filter(([, v]) => typeof v === 'number')
      .map(([k, v]) => `${k} ${v}`)
      .join(' · ')
    const listeners = s.listeners.filter((l) => l.name !== 'control').map((l) => `${l.name} ${l.address.replace(/^127\.0\.0\.1:/, ':')}`).join(' ')
    return `mailbox ${s.version} on ${s.hostname} · live · up ${formatAge(s.uptimeSeconds * 1000)} · ${listeners} · conns: ${conns}`
  }
  if (state.kind === 'connecting') return `mailbox · connecting to the server in ${dataDir}…`
  const retry = Math.max(0, Math.ceil((state.retryAt - now) / 1000))
  const why = state.reason === 'server not running' ? '' : `${state.reason}; `
  return `mailbox · server not running (${why}retry in ${retry}s) · showing the store in ${dataDir}`
}

export function queueCounts(entries: QueueEntry[]): {byState: Record<QueueState, number>; byPriority: Record<string, number>; total: number} {
  const byState = Object.fromEntries(QUEUE_STATES.map((s) => [s, 0])) as Record<QueueState, number>
  const byPriority: Record<string, number> = {high: 0, default: 0, bulk: 0}
  for (const e of entries) {
    byState[e.state]++
    if (e.state !== 'delivered' && e.state !== 'failed') byPriority[e.priority] = (byPriority[e.priority] ?? 0) + 1
  }
  return {byState, byPriority, total: entries.length}
}

export function countsText(entries: QueueEntry[]): string {
  const {byState, byPriority, total} = queueCounts(entries)
  return [
    ...QUEUE_STATES.map((s) => `${s.padEnd(10)}${String(byState[s]).padStart(6)}`),
    `${'total'.padEnd(10)}${String(total).padStart(6)}`,
    `waiting h/d/b: ${byPriority.high}/${byPriority.default}/${byPriority.bulk}`,
  ].join('\n')
}

const BARS = '▁▂▃▄▅▆▇█'
export function sparkline(values: number[], width: number): string {
  const tail = values.slice(-width)
  const max = Math.max(1, ...tail)
  return tail.map((v) => (v === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])).join('')
}

export type QueueSort = 'next' | 'attempts' | 'created'
export const QUEUE_FILTERS: (QueueState | 'all')[] = ['all', ...QUEUE_STATES]

export const QUEUE_HEADER = ['ID', 'STATE', 'TRY', 'NEXT', 'FROM', 'TO', 'LAST ERROR']

export function queueRows(entries: QueueEntry[], filter: QueueState | 'all', sort: QueueSort, now = Date.now()): {rows: string[][]; ids: string[]} {
  const shown = entries
    .filter((e) => filter === 'all' || e.state === filter)
    .sort((a, b) => (sort === 'attempts' ? b.attempts - a.attempts : sort === 'created' ? b.createdAt - a.createdAt : a.nextAttemptAt - b.nextAttemptAt))
  return {
    ids: shown.map((e) => e.id),
    rows: shown.map((e) => [
      e.id.slice(-10),
      e.state,
      String(e.attempts),
      e.state === 'queued' || e.state === 'deferred' ? (e.nextAttemptAt <= now ? 'now' : `in ${formatAge(e.nextAttemptAt - now)}`) : '',
      e.from || '<>',
      e.recipients.map((r) => r.address).join(','),
      (e.lastError ?? '').replace(/\s+/g, ' ').slice(0, 50),
    ]),
  }
}

export const USER_HEADER = ['ADDRESS', 'STATE', 'MESSAGES', 'USED', 'QUOTA', 'USE%']
export function userRows(users: UserView[]): string[][] {
  return users.map((u) => [
    u.address,
    u.disabled ? 'disabled' : 'enabled',
    String(u.messages),
    formatSize(u.used),
    u.quota ? formatSize(u.quota) : 'unlimited',
    u.quota ? `${Math.round((u.used / u.quota) * 100)}%` : '',
  ])
}

export const FOLDER_HEADER = ['FOLDER', 'USE', 'MESSAGES', 'UNSEEN', 'SIZE']
export function folderRows(folders: MailboxRecord[]): string[][] {
  return folders.map((f) => [f.name, f.specialUse ?? (f.noselect ? '\\Noselect' : ''), String(f.messages), String(f.unseen), formatSize(f.size)])
}

/** One line for the event tail, or undefined for events not worth a line. */
export function eventLine(e: ControlEvent): string | undefined {
  const b = e.body as Record<string, unknown>
  const t = new Date(e.time).toISOString().slice(11, 19)
  switch (e.event) {
    case 'mail.received':
      return `${t} received ${b.id} from ${b.mailFrom || '<>'} to ${(b.rcptTo as string[]).join(',')} "${String(b.subject).slice(0, 40)}"`
    case 'queue.delivered':
      return `${t} delivered ${b.id} to ${(b.recipients as string[]).join(',')}`
    case 'queue.deferred':
      return `${t} deferred ${b.id}: ${b.lastError ?? ''}`
    case 'queue.failed':
      return `${t} FAILED ${b.id}: ${b.lastError ?? ''}`
    case 'queue.bounced':
      return `${t} bounce to ${b.to} for ${(b.recipients as string[]).join(',')}`
    case 'auth.failed':
      return `${t} auth failure ${b.username} from ${b.remoteAddress} (${b.protocol}, ${b.reason})`
    case 'server.stopping':
      return `${t} server stopping`
    default:
      return undefined
  }
}
