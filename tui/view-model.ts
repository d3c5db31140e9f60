/**
 * Pure functions from data to what the panes show: no blessed, no I/O, so they are unit-tested
 * without a terminal. Widgets never fetch data; sources never touch widgets.
 */
import type {ControlEvent} from '../src/control/protocol.js'
import type {UserView} from '../src/directory/users.js'
import type {SieveSummary} from '../src/sieve-scripts/summary.js'
import {attemptText} from '../src/queue/attempt-text.js'
import {formatSize} from '../src/size.js'
import {QUEUE_STATES} from '../src/status.js'
import type {DeliveryAttemptRecord, MailboxRecord, QueueEntry, QueueState} from '../src/store/records.js'
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
    // several nodes on one PostgreSQL store: the queue below is the cluster's; who shares it
    const live = s.cluster?.nodes.filter((n) => n.state === 'live').length ?? 0
    const stale = (s.cluster?.nodes.length ?? 0) - live
    const cluster = s.cluster ? ` · cluster: ${live} live${stale ? `, ${stale} stale` : ''} (${s.cluster.nodes.map((n) => n.host).join(' ')})` : ''
    return `mailbox ${s.version} on ${s.hostname} · live · up ${formatAge(s.uptimeSeconds * 1000)} · ${listeners} · conns: ${conns}${cluster}`
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

/** The counts on one line, for short terminals; the waiting priorities only when they fit in `width`. */
export function countsLine(entries: QueueEntry[], width: number): string {
  const {byState, byPriority, total} = queueCounts(entries)
  const line = [...QUEUE_STATES.map((s) => `${s} ${byState[s]}`), `total ${total}`].join('  ')
  const waiting = `  waiting h/d/b ${byPriority.high}/${byPriority.default}/${byPriority.bulk}`
  return line.length + waiting.length <= width ? line + waiting : line
}

const BARS = '▁▂▃▄▅▆▇█'
export function sparkline(values: number[], width: number): string {
  const tail = values.slice(-width)
  const max = Math.max(1, ...tail)
  return tail.map((v) => (v === 0 ? ' ' : BARS[Math.min(BARS.length - 1, Math.floor((v / max) * (BARS.length - 1)))])).join('')
}

/**
 * `state` (the default) puts what needs an admin first: deferred, failed, held, then what is
 * moving, delivered last; within a state the soonest next attempt first.
 */
export type QueueSort = 'state' | 'next' | 'attempts' | 'created'
export const QUEUE_SORTS: QueueSort[] = ['state', 'next', 'attempts', 'created']
export const QUEUE_FILTERS: (QueueState | 'all')[] = ['all', ...QUEUE_STATES]
const STATE_RANK: Record<QueueState, number> = {deferred: 0, failed: 1, held: 2, sending: 3, queued: 4, delivered: 5}

export const QUEUE_HEADER = ['ID', 'STATE', 'TRY', 'NEXT', 'FROM', 'TO', 'LAST ERROR']
/** from this many columns on, LAST ERROR shows the reply text; below, the reply code */
export const WIDE_COLUMNS = 120
/** the shortest id suffix shown: the CLI accepts any unique suffix (or prefix) of an id */
export const MIN_ID_CHARS = 10

const COMPARE: Record<QueueSort, (a: QueueEntry, b: QueueEntry) => number> = {
  state: (a, b) => STATE_RANK[a.state] - STATE_RANK[b.state] || a.nextAttemptAt - b.nextAttemptAt,
  next: (a, b) => a.nextAttemptAt - b.nextAttemptAt,
  attempts: (a, b) => b.attempts - a.attempts,
  created: (a, b) => b.createdAt - a.createdAt,
}

/** The entries the table shows, in its order; ties broken by id so equal rows never swap places between refreshes. */
export function sortEntries(entries: readonly QueueEntry[], filter: QueueState | 'all', sort: QueueSort): QueueEntry[] {
  const compare = COMPARE[sort]
  return entries.filter((e) => filter === 'all' || e.state === filter).sort((a, b) => compare(a, b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
}

/**
 * For each id, the shortest suffix (at least `min` characters) that no other id starts or ends
 * with: a form `mailbox queue show|retry|… ID` resolves to this entry and no other.
 */
export function shortIds(ids: readonly string[], min = MIN_ID_CHARS): Map<string, string> {
  const out = new Map<string, string>()
  let open = [...new Set(ids)]
  for (let n = min; open.length; n++) {
    // how many ids end / start with each n-character string
    const ends = new Map<string, number>()
    const starts = new Map<string, number>()
    for (const id of ids) {
      const tail = id.slice(-n)
      ends.set(tail, (ends.get(tail) ?? 0) + 1)
      if (id.length >= n) starts.set(id.slice(0, n), (starts.get(id.slice(0, n)) ?? 0) + 1)
    }
    open = open.filter((id) => {
      const tail = id.slice(-n)
      const others = (ends.get(tail) ?? 0) - 1 + (starts.get(tail) ?? 0) - (id.startsWith(tail) ? 1 : 0)
      if (others > 0 && n < id.length) return true
      out.set(id, tail)
      return false
    })
  }
  return out
}

/** shortIds of a list of entries, kept while the list is the same (it is re-read once a second, drawn every 300 ms) */
const shortIdCache = new WeakMap<readonly QueueEntry[], Map<string, string>>()
function shortIdsOf(entries: readonly QueueEntry[]): Map<string, string> {
  let short = shortIdCache.get(entries)
  if (!short) shortIdCache.set(entries, (short = shortIds(entries.map((e) => e.id))))
  return short
}

/** The reply code of an error ("451 4.3.0"), or the system error ("ECONNREFUSED"), or its first word. */
export function errorCode(text: string | undefined): string {
  const t = oneLine(text)
  const smtp = /^(\d{3})(?:[ -](\d\.\d{1,3}\.\d{1,3}))?(?=\s|-|$)/.exec(t)
  if (smtp) return smtp[2] ? `${smtp[1]} ${smtp[2]}` : smtp[1]!
  const sys = /\b(E[A-Z]{3,})\b/.exec(t)
  if (sys) return sys[1]!
  return clip(t.split(' ')[0] ?? '', 12)
}

const oneLine = (text: string | undefined) => (text ?? '').replace(/\s+/g, ' ').trim()

/** Cut to `width` characters, the last one an ellipsis when something was cut. */
export function clip(text: string, width: number): string {
  if (text.length <= width) return text
  const chars = [...text]
  if (chars.length <= width) return text
  return width <= 0 ? '' : chars.slice(0, width - 1).join('') + '…'
}

/**
 * Widths for columns that share `budget` characters: each gets its natural width if it fits,
 * and the ones that do not share what the narrower ones leave (water-filling).
 */
export function shareWidths(natural: readonly number[], budget: number): number[] {
  const out = [...natural]
  let left = Math.max(0, budget)
  const order = natural.map((w, i) => ({w, i})).sort((a, b) => a.w - b.w)
  order.forEach(({w, i}, k) => {
    const share = Math.floor(left / (order.length - k))
    out[i] = Math.min(w, share)
    left -= out[i]!
  })
  return out
}

export interface QueueTable {
  header: string[]
  rows: string[][]
  /** the full id of each row, in order */
  ids: string[]
}

/**
 * The queue table for a terminal `columns` wide: cells are cut so the whole row fits inside the
 * table's border (blessed's listtable gives up its width for good when a row is wider). On wide
 * terminals LAST ERROR is the reply text, otherwise its code; the detail view has it whole.
 */
export function queueRows(entries: readonly QueueEntry[], filter: QueueState | 'all', sort: QueueSort, now = Date.now(), columns = WIDE_COLUMNS): QueueTable {
  const shown = sortEntries(entries, filter, sort)
  const short = shortIdsOf(entries)
  const wide = columns >= WIDE_COLUMNS
  const rows = shown.map((e) => [
    short.get(e.id) ?? e.id,
    e.state,
    String(e.attempts),
    e.state === 'queued' || e.state === 'deferred' ? (e.nextAttemptAt <= now ? 'now' : `in ${formatAge(e.nextAttemptAt - now)}`) : '',
    e.from || '<>',
    e.recipients.map((r) => r.address).join(','),
    wide ? oneLine(e.lastError) : errorCode(e.lastError),
  ])
  // blessed: border 2 + one space between columns (6) = 8; the rest is for cells
  const all = [QUEUE_HEADER, ...rows]
  // a loop, not Math.max(...cells): a queue of 200,000 entries would overflow the stack. UTF-16
  // length: never less than the characters shown, so a row measured this way still fits
  const natural = QUEUE_HEADER.map((_, i) => all.reduce((max, r) => Math.max(max, r[i]!.length), 0))
  const fixed = natural.slice(0, 4).reduce((a, b) => a + b, 0)
  const flexible = shareWidths(natural.slice(4), columns - 8 - fixed)
  const widths = [...natural.slice(0, 4), ...flexible]
  const fit = (row: string[]) => row.map((cell, i) => clip(cell, widths[i]!))
  return {header: fit(QUEUE_HEADER), rows: rows.map(fit), ids: shown.map((e) => e.id)}
}

/**
 * Which entry to select after the rows changed (refresh, re-sort, filter, an action): the one
 * selected before if it is still shown, else its nearest neighbour from before (the next one
 * down, else up) that still is, else the first row.
 */
export function reselect(selected: string | undefined, previous: readonly string[], ids: readonly string[]): string | undefined {
  if (!ids.length) return undefined
  const present = new Set(ids)
  if (selected === undefined) return ids[0]
  if (present.has(selected)) return selected
  const at = previous.indexOf(selected)
  if (at >= 0) {
    for (let i = at + 1; i < previous.length; i++) if (present.has(previous[i]!)) return previous[i]
    for (let i = at - 1; i >= 0; i--) if (present.has(previous[i]!)) return previous[i]
  }
  return ids[0]
}

/**
 * Heights in the queue screen's pane (the terminal less header and footer). Tall terminals get
 * the counts box beside the sparklines and a 6-line event tail; shorter ones a one-line counts
 * strip, no sparklines and a 3-line event tail, then no tail, then no strip: the table keeps the
 * room (at 80×24, 11 rows).
 */
export interface QueueLayout {
  /** full: counts box and sparklines, 10 lines; line: one-line counts, 3; none: 0 */
  summary: 'full' | 'line' | 'none'
  summaryHeight: number
  eventsHeight: number
  tableTop: number
  tableHeight: number
}
export function queueLayout(paneHeight: number): QueueLayout {
  const layout = (summary: QueueLayout['summary'], summaryHeight: number, eventsHeight: number): QueueLayout => ({
    summary,
    summaryHeight,
    eventsHeight,
    tableTop: summaryHeight,
    tableHeight: Math.max(3, paneHeight - summaryHeight - eventsHeight),
  })
  // a table of at least 12 lines (9 rows) before anything else gets room
  if (paneHeight >= 10 + 6 + 12) return layout('full', 10, 6)
  if (paneHeight >= 3 + 5 + 12) return layout('line', 3, 5)
  if (paneHeight >= 3 + 12) return layout('line', 3, 0)
  return layout('none', 0, 0)
}

/** The detail view of one entry: the envelope, the last error whole (however long, every line of it) and each attempt's transcript. */
export function entryDetail(e: QueueEntry, attempts: readonly DeliveryAttemptRecord[]): string[] {
  const time = (ms: number) => new Date(ms).toISOString()
  const error = (e.lastError ?? '').split(/\r?\n/).filter((l) => l.trim())
  return [
    `id        ${e.id}`,
    `state     ${e.state} (${e.priority})   attempts ${e.attempts}`,
    `from      ${e.from || '<>'}`,
    ...e.recipients.map((r) => `to        ${r.address}  ${r.state}  ${r.lastError ?? ''}`),
    `created   ${time(e.createdAt)}`,
    `next      ${time(e.nextAttemptAt)}`,
    ...error.map((l, i) => `${i ? '          ' : 'last error'} ${l}`),
    ...attempts.flatMap((a) => ['', ...attemptText(a, time)]),
  ]
}

export const USER_HEADER = ['ADDRESS', 'STATE', 'MESSAGES', 'USED', 'QUOTA', 'USE%', 'SIEVE', 'VACATION']
/** `sieve`: each user's active script and vacation (absent: not read, the columns stay empty) */
export function userRows(users: UserView[], sieve?: Map<string, SieveSummary>): string[][] {
  return users.map((u) => {
    const s = sieve?.get(u.address)
    return [
      u.address,
      u.disabled ? 'disabled' : 'enabled',
      String(u.messages),
      formatSize(u.used),
      u.quota ? formatSize(u.quota) : 'unlimited',
      u.quota ? `${Math.round((u.used / u.quota) * 100)}%` : '',
      s?.script ?? '',
      s ? (s.vacation ? 'on' : 'off') : '',
    ]
  })
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
