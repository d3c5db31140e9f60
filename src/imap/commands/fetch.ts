/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5). Flags, UIDs, dates and sizes come from the folder's
 * in-memory view; ENVELOPE and BODYSTRUCTURE from what delivery stored; body sections are slices
 * of the stored message written straight to the socket. A body fetch without .PEEK sets \Seen
 * (in one commit for the whole command) and the new flags go out with the data.
 */
import {indexOfUid} from '../../mailstore/mailbox-view.js'
import {parseMessage} from '../../mime/structure.js'
import type {BlobInfoRecord, MessageRecord} from '../../store/records.js'
import {formatDateTime, numberOf} from '../args.js'
import {bodyStructure, envelope, formatRanges} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {parseSection, sectionBytes, type SectionSpec} from '../sections.js'
import type {CommandHandler} from '../session.js'
import {parseSequenceSet, resolveSet} from '../sequence.js'
import {intersect, missingUids} from '../vanished.js'

type Item =
  | {kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'MODSEQ'}
  | {kind: 'section'; name: string; peek: boolean; section: SectionSpec; partial?: [number, number]}

const MACROS: Record<string, string[]> = {
  ALL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE'],
  FAST: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE'],
  FULL: ['FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODY'],
}

const SIMPLE = new Set(['UID', 'FLAGS', 'INTERNALDATE', 'RFC822.SIZE', 'ENVELOPE', 'BODYSTRUCTURE', 'BODY', 'MODSEQ'])

/** RFC822, RFC822.HEADER and RFC822.TEXT are BODY sections with their own names in the reply */
const RFC822: Record<string, {peek: boolean; specifier: string}> = {
  RFC822: {peek: false, specifier: ''},
  'RFC822.HEADER': {peek: true, specifier: 'HEADER'},
  'RFC822.TEXT': {peek: false, specifier: 'TEXT'},
}

export function parseFetchItems(node: Node): Item[] {
  if (node.type === 'atom' && MACROS[node.value.toUpperCase()]) return MACROS[node.value.toUpperCase()]!.map((kind) => ({kind}) as Item)
  const nodes = node.type === 'list' ? node.items : [node]
  if (!nodes.length) throw new ParseError('FETCH needs at least one data item')
  return nodes.map((n): Item => {
    if (n.type === 'section') {
      if (n.name !== 'BODY' && n.name !== 'BODY.PEEK') throw new ParseError(`${n.name} is not supported`)
      return {kind: 'section', name: 'BODY', peek: n.name === 'BODY.PEEK', section: parseSection(n.section), ...(n.partial ? {partial: n.partial} : {})}
    }
    if (n.type !== 'atom') throw new ParseError('Bad FETCH data item')
    const name = n.value.toUpperCase()
    if (SIMPLE.has(name)) return {kind: name} as Item
    const rfc = RFC822[name]
    if (rfc) return {kind: 'section', name, peek: rfc.peek, section: {path: [], specifier: rfc.specifier, label: ''}}
    throw new ParseError(`Unknown FETCH data item ${name.slice(0, 30)}`)
  })
}

/** write buffered text once it reaches this size, and let the socket drain */
const BATCH = 64 * 1024

export const FETCH: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, ctx) {
    const selected = session.selected!
    const user = session.user!
    const ranges = parseSequenceSet(ctx.args.atom('sequence set'))
    const indexes = resolveSet(ranges, selected.uids, ctx.uid)
    const items = parseFetchItems(ctx.args.node('data items'))
    // CONDSTORE (RFC 7162 §3.1.4): (CHANGEDSINCE modseq) keeps only messages changed since then;
    // QRESYNC adds VANISHED to UID FETCH: which of the UIDs asked for are gone (§3.2.6)
    let changedSince: number | undefined
    let vanished = false
    if (ctx.args.remaining) {
      const modifiers = ctx.args.list('fetch modifiers')
      for (let i = 0; i < modifiers.length; i++) {
        const m = modifiers[i]!
        const name = m.type === 'atom' ? m.value.toUpperCase() : ''
        if (name === 'CHANGEDSINCE') changedSince = numberOf(modifiers[++i], 'CHANGEDSINCE')
        else if (name === 'VANISHED') vanished = true
        else throw new ParseError('FETCH: unknown modifier')
      }
      if (changedSince === undefined) throw new ParseError('FETCH: modifiers need CHANGEDSINCE')
      if (vanished && (!ctx.uid || !session.qresync)) throw new ParseError('FETCH: VANISHED needs UID FETCH and ENABLE QRESYNC')
      if (!items.some((i) => i.kind === 'MODSEQ')) items.push({kind: 'MODSEQ'})
    }
    ctx.args.end()
    if (items.some((i) => i.kind === 'MODSEQ')) session.enableCondstore()
    if (ctx.uid && !items.some((i) => i.kind === 'UID')) items.unshift({kind: 'UID'})
    const needsRaw = items.some((i) => i.kind === 'section')
    // BODY[] and RFC822 are the stored bytes as they are; every other section needs the MIME offsets
    const needsInfo = items.some(
      (i) => i.kind === 'ENVELOPE' || i.kind === 'BODYSTRUCTURE' || i.kind === 'BODY' || (i.kind === 'section' && (i.section.path.length || i.section.specifier)),
    )
    const marksSeen = !selected.readOnly && items.some((i) => i.kind === 'section' && !i.peek)

    let view = await session.bus.call('mailstore.view', {user, mailboxId: selected.mailboxId})
    let records = view.records
    const flagsChanged = new Set<number>()
    if (marksSeen) {
      const unseen = indexes.map((i) => selected.uids[i]!).filter((uid) => {
        const r = records[indexOfUid(records, uid)]
        return r && !r.flags.includes('\\Seen')
      })
      if (unseen.length) {
        const {updated} = await session.bus.call('mailstore.setFlags', {user, mailboxId: selected.mailboxId, uids: unseen, mode: 'add', flags: ['\\Seen']})
        // the FETCH replies below carry the new flags
        selected.noteOwnChange(updated, {told: true})
        updated.forEach((r) => flagsChanged.add(r.uid))
        view = await session.bus.call('mailstore.view', {user, mailboxId: selected.mailboxId})
        records = view.records
      }
    }
    // a keyword new to the client is announced before a FETCH shows it (RFC 3501 §7.2.6)
    for (const line of selected.announceKeywords(view)) session.write(line)

    if (vanished) {
      const {uidNext} = view.folder
      const gone = intersect(missingUids(records, uidNext), ranges, uidNext - 1)
      if (gone.length) session.write(`* VANISHED (EARLIER) ${formatRanges(gone)}\r\n`)
    }

    let text = ''
    /** bytes written since the socket was last allowed to flush */
    let unflushed = 0
    // the positions and the view's records are both in UID order: walk them side by side
    let r = 0
    for (const i of indexes) {
      // a client that hung up mid-FETCH: stop reading messages for nobody
      if (session.isClosed) return
      const uid = selected.uids[i]!
      const seq = i + 1
      while (r < records.length && records[r]!.uid < uid) r++
      const record = records[r]
      // a message expunged by another session that this one has not been told about yet
      if (!record || record.uid !== uid) continue
      if (changedSince !== undefined && record.modseq <= changedSince) continue
      let raw: Buffer | undefined
      let info: BlobInfoRecord | undefined
      if (needsRaw) raw = await session.bus.call('mailstore.blobBytes', {blobId: record.blobId})
      if (needsInfo) info = await session.bus.call('mailstore.blobInfo', {blobId: record.blobId})
      let wroteFlags = false
      text += `* ${seq} FETCH (`
      let sep = ''
      const add = (item: string) => {
        text += sep + item
        sep = ' '
      }
      for (const item of items) {
        switch (item.kind) {
          case 'UID':
            add(`UID ${record.uid}`)
            break
          case 'FLAGS':
            wroteFlags = true
            add(`FLAGS ${selected.flagsOf(record)}`)
            break
          case 'INTERNALDATE':
            add(`INTERNALDATE "${formatDateTime(record.internalDate)}"`)
            break
          case 'RFC822.SIZE':
            add(`RFC822.SIZE ${record.size}`)
            break
          case 'MODSEQ':
            add(`MODSEQ (${record.modseq})`)
            break
          case 'ENVELOPE':
            add(`ENVELOPE ${envelope(info?.envelope ?? (await structureOf(session, record)).envelope)}`)
            break
          case 'BODYSTRUCTURE':
          case 'BODY':
            add(`${item.kind} ${bodyStructure(info?.structure ?? (await structureOf(session, record)).root, item.kind === 'BODYSTRUCTURE')}`)
            break
          case 'section': {
            const whole = !item.section.path.length && !item.section.specifier
            let bytes = whole ? raw! : sectionBytes(raw!, info?.structure ?? parseMessage(raw!).root, item.section)
            let label = item.name === 'BODY' ? `BODY[${item.section.label}]` : item.name
            if (item.partial) {
              const [start, length] = item.partial
              bytes = bytes.subarray(Math.min(start, bytes.length), Math.min(bytes.length, start + length))
              label += `<${start}>`
            }
            add(`${label} {${bytes.length}}\r\n`)
            // the literal goes out as its own write: a slice of the stored bytes, not a copy
            session.write(text)
            session.write(bytes)
            unflushed += text.length + bytes.length
            text = ''
            break
          }
        }
      }
      if (flagsChanged.has(uid)) {
        if (!wroteFlags) add(`FLAGS ${selected.flagsOf(record)}`)
        if (selected.showModseq && !items.some((i) => i.kind === 'UID')) add(`UID ${record.uid}`)
        if (selected.showModseq && !items.some((i) => i.kind === 'MODSEQ')) add(`MODSEQ (${record.modseq})`)
      }
      text += ')\r\n'
      if (unflushed + text.length >= BATCH) {
        session.write(text)
        text = ''
        unflushed = 0
        await session.drain()
      }
    }
    if (text) session.write(text)
  },
}

async function structureOf(session: import('../session.js').Session, record: MessageRecord) {
  return parseMessage(await session.bus.call('mailstore.blobBytes', {blobId: record.blobId}))
}
