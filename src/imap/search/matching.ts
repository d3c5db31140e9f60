/**
 * Evaluating a parsed search program over the selected folder. Keys on flags, sizes, dates and
 * numbers run over the folder's in-memory view (so `SEARCH UNSEEN` over 100,000 messages is one
 * pass); header keys read the stored header, BODY the decoded body text cached by the mailstore
 * and TEXT both.
 *
 * Dates follow RFC 3501 §6.4.4 "disregarding time and timezone" the way Dovecot does: SENT*
 * compare the day written in the Date header (its own zone, not converted to UTC), BEFORE/ON/SINCE
 * the internal date's day in the server's local time zone.
 */
import {decodeWords} from '../../mime/base-subject.js'
import {parseHeader} from '../../mime/header.js'
import type {MessageRecord} from '../../store/records.js'
import {inRanges, lowerBound, mergeRanges} from '../sequence.js'
import type {Session} from '../session.js'
import type {Key, SearchKey} from './keys.js'

interface Needs {
  header: boolean
  text: boolean
  sent: boolean
  recent: boolean
}

function needsOf(key: Key, needs: Needs = {header: false, text: false, sent: false, recent: false}): Needs {
  switch (key.op) {
    case 'recent':
    case 'new':
      needs.recent = true
      break
    case 'header':
      needs.header = true
      break
    case 'text':
      needs.header = needs.text = true
      break
    case 'body':
      needs.text = true
      break
    case 'date':
      if (key.sent) needs.sent = true
      break
    case 'not':
      needsOf(key.key, needs)
      break
    case 'or':
      needsOf(key.a, needs)
      needsOf(key.b, needs)
      break
    case 'and':
      key.keys.forEach((k) => needsOf(k, needs))
      break
  }
  return needs
}

/** does the program contain a MODSEQ key (RFC 7162 §3.1.5: the reply then names the highest MODSEQ) */
export function usesModseq(key: Key): boolean {
  if (key.op === 'modseq') return true
  if (key.op === 'not') return usesModseq(key.key)
  if (key.op === 'or') return usesModseq(key.a) || usesModseq(key.b)
  if (key.op === 'and') return key.keys.some(usesModseq)
  return false
}

interface Candidate {
  seq: number
  record: MessageRecord
  recent: boolean
  header?: {key: string; value: string}[]
  text?: string
  /** the Date header's day as written (UTC midnight of that calendar day) */
  sent?: number
}

interface Extent {
  messages: number
  maxUid: number
  /** the saved result's UIDs, ascending */
  saved: readonly number[]
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

/**
 * The calendar day a Date header names, as written: `Mon, 1 Jan 2024 23:30:00 -0500` is 1 Jan
 * whatever the zone (RFC 5322 §3.3, with the obsolete two- and three-digit years of §4.3).
 * Undefined when the value is not a date.
 */
export function sentDay(value: string | undefined): number | undefined {
  if (!value) return undefined
  const m = /^\s*(?:[a-z]+\s*,\s*)?(\d{1,2})\s+([a-z]{3})[a-z]*\s+(\d{2,4})(?!\d)/i.exec(value.replace(/\([^()]*\)/g, ' '))
  const month = m ? MONTHS.indexOf(m[2]!.toLowerCase()) : -1
  if (!m || month < 0) return undefined
  let year = Number(m[3])
  if (m[3]!.length === 2) year += year < 50 ? 2000 : 1900
  else if (m[3]!.length === 3) year += 1900
  return Date.UTC(year, month, Number(m[1]))
}

/** the day of an instant in the server's local time zone, as UTC midnight of that calendar day */
export function localDay(ms: number): number {
  const d = new Date(ms)
  return Date.UTC(d.getFullYear(), d.getMonth(), d.getDate())
}

/** flags and keywords compare case-insensitively (RFC 3501 §2.3.2) */
function hasFlag(flags: readonly string[], lower: string): boolean {
  for (const f of flags) if (f.length === lower.length && f.toLowerCase() === lower) return true
  return false
}

const contains = (haystack: string, needle: string) => haystack.toLowerCase().includes(needle.toLowerCase())

function matches(key: Key, c: Candidate, extent: Extent): boolean {
  switch (key.op) {
    case 'all':
      return true
    case 'flag':
      return hasFlag(c.record.flags, (key.lower ??= key.flag.toLowerCase())) === key.set
    case 'recent':
      return c.recent === key.set
    case 'new':
      return c.recent && !c.record.flags.includes('\\Seen')
    case 'seq':
      // merged once per SEARCH: a set of thousands of ranges is then a binary search per message
      return inRanges((key.merged ??= mergeRanges(key.ranges, extent.messages)), c.seq)
    case 'uid':
      return inRanges((key.merged ??= mergeRanges(key.ranges, extent.maxUid)), c.record.uid)
    case 'saved':
      return extent.saved[lowerBound(extent.saved, c.record.uid)] === c.record.uid
    case 'not':
      return !matches(key.key, c, extent)
    case 'or':
      return matches(key.a, c, extent) || matches(key.b, c, extent)
    case 'and':
      return key.keys.every((k) => matches(k, c, extent))
    case 'larger':
      return c.record.size > key.size
    case 'smaller':
      return c.record.size < key.size
    case 'date': {
      const day = key.sent ? c.sent : localDay(c.record.internalDate)
      if (day === undefined) return false
      return key.cmp === 'before' ? day < key.day : key.cmp === 'on' ? day === key.day : day >= key.day
    }
    case 'header':
      return (c.header ?? []).some((f) => f.key === key.field && contains(f.value, key.value))
    case 'modseq':
      return c.record.modseq >= key.modseq
    case 'body':
      return contains(c.text ?? '', key.value)
    case 'text':
      return contains(c.text ?? '', key.value) || (c.header ?? []).some((f) => contains(`${f.key}: ${f.value}`, key.value))
  }
}

async function load(session: Session, c: Candidate, needs: Needs): Promise<void> {
  if (needs.header || needs.sent) {
    const {raw, info} = await session.bus.call('mailstore.blob', {id: c.record.blobId})
    c.sent = sentDay(info.envelope?.date)
    if (needs.header) {
      const end = info.structure?.bodyStart ?? raw.length
      c.header = parseHeader(raw.toString('utf8', 0, end)).map((f) => ({key: f.key, value: decodeWords(f.value)}))
    }
  }
  if (needs.text) c.text = (await session.bus.call('mailstore.searchText', {blobId: c.record.blobId})).text
}

/** A message a search found: its sequence number in the session and its record. */
export interface Found {
  seq: number
  record: MessageRecord
}

/**
 * The selected folder's messages matching `key`, ascending; undefined when the session closed
 * while the search read messages. A MODSEQ key turns CONDSTORE on (RFC 7162 §3.1.5).
 */
export async function findMessages(session: Session, key: SearchKey): Promise<Found[] | undefined> {
  const selected = session.selected!
  const needs = needsOf(key)
  const loads = needs.header || needs.text || needs.sent
  const {records} = await session.bus.call('mailstore.view', {user: session.user!, mailboxId: selected.mailboxId})
  const uids = selected.uids
  const extent: Extent = {messages: uids.length, maxUid: uids.length ? uids[uids.length - 1]! : 0, saved: selected.savedResult}
  const found: Found[] = []
  if (usesModseq(key)) session.enableCondstore()
  // the session's UIDs and the view's records are both ascending: walk them side by side
  let r = 0
  // without loads one candidate is reused: 100,000 messages are then one pass without allocations
  let c: Candidate = {seq: 0, record: records[0]!, recent: false}
  for (let i = 0; i < uids.length; i++) {
    const u = uids[i]!
    while (r < records.length && records[r]!.uid < u) r++
    const record = records[r]
    if (!record || record.uid !== u) continue
    if (loads) {
      if (session.isClosed) return undefined
      c = {seq: i + 1, record, recent: false}
      await load(session, c, needs)
    } else {
      c.seq = i + 1
      c.record = record
    }
    c.recent = needs.recent && selected.isRecent(u)
    if (matches(key, c, extent)) found.push({seq: i + 1, record})
  }
  return found
}
