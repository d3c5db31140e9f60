/**
 * FETCH and UID FETCH (RFC 3501 §6.4.5). Flags, UIDs, dates and sizes come from the folder's
 * in-memory view; ENVELOPE and BODYSTRUCTURE from what delivery stored; body sections are slices
 * of the stored message written straight to the socket. BINARY sections (RFC 3516) are decoded
 * parts, sent as literal8 (`~{n}`) when they hold a NUL. A body fetch without .PEEK sets \Seen
 * (in one commit for the whole command) and the new flags go out with the data. The set may be
 * `$` (RFC 5182); the PARTIAL modifier (RFC 9394) pages through the messages named.
 */
import {indexOfUid} from '../../mailstore/mailbox-view.js'
import {parseMessage} from '../../mime/structure.js'
import type {BlobInfoRecord, MessageRecord} from '../../store/records.js'
import {formatDateTime, numberOf} from '../args.js'
import {bodyStructure, envelope, formatRanges} from '../format.js'
import {ParseError, type Node} from '../parser.js'
import {binarySectionBytes, parseBinarySection, parseSection, byteRange, sectionBytes, UnknownCteError, type SectionSpec} from '../sections.js'
import {ImapError, type CommandHandler} from '../session.js'
import {parsePartial, partialOf, type PartialRange} from '../search/results.js'
import {ReplyBatch} from '../reply-batch.js'
import {resolveCommandSet} from '../sequence.js'
import {intersect, missingUids} from '../vanished.js'

type Item =
  | {kind: 'UID' | 'FLAGS' | 'INTERNALDATE' | 'RFC822.SIZE' | 'ENVELOPE' | 'BODYSTRUCTURE' | 'BODY' | 'MODSEQ'}
  | {kind: 'section'; name: string; peek: boolean; section: SectionSpec; partial?: [number, number]; binary?: 'content' | 'size'}

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
      if (n.name === 'BINARY.SIZE') {
        if (n.partial) throw new ParseError('BINARY.SIZE takes no partial range')
        return {kind: 'section', name: 'BINARY.SIZE', peek: true, section: parseBinarySection(n.section), binary: 'size'}
      }
      if (n.name === 'BINARY' || n.name === 'BINARY.PEEK') {
        return {kind: 'section', name: 'BINARY', peek: n.name === 'BINARY.PEEK', section: parseBinarySection(n.section), binary: 'content', ...(n.partial ? {partial: n.partial} : {})}
      }
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

/**
 * The size of a reply batch (./reply-batch.ts): what a slow client can hold up per FETCH, besides
 * one literal. The socket write is most of a whole-body FETCH's time (68 % of serve's CPU samples,
 * the server thread at 100 % and the client at 35-40 %), and the kernel moves bytes faster in
 * bigger writes: 2,000 x 50 KiB went out at a median 1.93 GB/s with 256 KiB batches, 2.21 with
 * 512 KiB and 2.46 with 1 MiB (ten FETCHes five times each, one client on loopback); against
 * Dovecot, 1.9-2.2x instead of 0.96-2.05x (`BENCH_IMAP_ONLY=bodies npm run bench -- imap`).
 */
const BATCH = 1024 * 1024

export const FETCH: CommandHandler = {
  states: ['selected'],
  holdsExpunges: true,
  async run(session, ctx) {
    const selected = session.selected!
    const user = session.user!
    const {ranges, indexes: named} = resolveCommandSet(ctx.args.atom('sequence set'), selected.uids, ctx.uid, selected.savedResult)
    const items = parseFetchItems(ctx.args.node('data items'))
    // CONDSTORE (RFC 7162 §3.1.4): (CHANGEDSINCE modseq) keeps only messages changed since then;
    // QRESYNC adds VANISHED to UID FETCH: which of the UIDs asked for are gone (§3.2.6)
    let changedSince: number | undefined
    let vanished = false
    let partial: PartialRange | undefined
    if (ctx.args.remaining) {
      const modifiers = ctx.args.list('fetch modifiers')
      if (!modifiers.length) throw new ParseError('FETCH: empty modifier list')
      for (let i = 0; i < modifiers.length; i++) {
        const m = modifiers[i]!
        const name = m.type === 'atom' ? m.value.toUpperCase() : ''
        if (name === 'CHANGEDSINCE') changedSince = numberOf(modifiers[++i], 'CHANGEDSINCE')
        else if (name === 'VANISHED') vanished = true
        else if (name === 'PARTIAL' && !partial) partial = parsePartial(modifiers[++i])
        else throw new ParseError('FETCH: unknown or repeated modifier')
      }
      if (vanished && changedSince === undefined) throw new ParseError('FETCH: VANISHED needs CHANGEDSINCE')
      if (vanished && (!ctx.uid || !session.qresync)) throw new ParseError('FETCH: VANISHED needs UID FETCH and ENABLE QRESYNC')
      if (changedSince !== undefined && !items.some((i) => i.kind === 'MODSEQ')) items.push({kind: 'MODSEQ'})
    }
    ctx.args.end()
    if (items.some((i) => i.kind === 'MODSEQ')) session.enableCondstore()
    if (ctx.uid && !items.some((i) => i.kind === 'UID')) items.unshift({kind: 'UID'})
    const needsRaw = items.some((i) => i.kind === 'section')
    // BODY[], RFC822 and the whole message's HEADER/TEXT are found in the stored bytes; a part
    // needs the MIME offsets stored at delivery
    const needsInfo = items.some((i) => i.kind === 'ENVELOPE' || i.kind === 'BODYSTRUCTURE' || i.kind === 'BODY' || (i.kind === 'section' && i.section.path.length))
    const binaries = items.filter((i) => i.kind === 'section' && i.binary)
    const marksSeen = !selected.readOnly && items.some((i) => i.kind === 'section' && !i.peek)

    let view = await session.bus.call('mailstore.view', {user, mailboxId: selected.mailboxId})
    let records = view.records
    // PARTIAL (RFC 9394 §3.2) pages through the messages the command would return otherwise
    const indexes = partial ? partialOf(fetchable(named, selected.uids, records, changedSince), partial) : named
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

    const batch = new ReplyBatch(session, BATCH)
    // the usual BODY[] / RFC822 alone: the message bytes are copied from the store into the batch
    const sections = items.filter((i) => i.kind === 'section')
    const only = sections.length === 1 ? sections[0]! : undefined
    const direct = !needsInfo && only?.kind === 'section' && !only.binary && !only.partial && !only.section.path.length && !only.section.specifier
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
      if (needsRaw && !direct) raw = await session.bus.call('mailstore.blobBytes', {blobId: record.blobId})
      if (needsInfo) info = await session.bus.call('mailstore.blobInfo', {blobId: record.blobId})
      // decoded before the response starts: a part that cannot be decoded fails the command, and
      // the responses already complete go out first
      let decoded: Map<Item, Buffer> | undefined
      try {
        if (binaries.length) decoded = decodeBinaries(binaries, raw!, info)
      } catch (err) {
        batch.write()
        throw err
      }
      let wroteFlags = false
      let text = `* ${seq} FETCH (`
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
            add(`ENVELOPE ${envelope(info?.envelope ?? (await structureOf(session, record)).envelope, session.names.utf8)}`)
            break
          case 'BODYSTRUCTURE':
          case 'BODY':
            add(`${item.kind} ${bodyStructure(info?.structure ?? (await structureOf(session, record)).root, item.kind === 'BODYSTRUCTURE', session.names.utf8)}`)
            break
          case 'section': {
            if (item.binary === 'size') {
              add(`BINARY.SIZE[${item.section.label}] ${decoded!.get(item)!.length}`)
              break
            }
            let label = item.name === 'BODY' || item.name === 'BINARY' ? `${item.name}[${item.section.label}]` : item.name
            if (direct) {
              // the stored size is the literal's; a blob of another size goes the ordinary way
              if (await batch.blob(`${text}${sep}${label} {${record.size}}\r\n`, record.blobId, record.size, nulTo0x80)) {
                text = ''
                sep = ' '
                break
              }
              raw = await session.bus.call('mailstore.blobBytes', {blobId: record.blobId})
            }
            const whole = !item.section.path.length && !item.section.specifier
            let bytes = item.binary ? decoded!.get(item)! : whole ? raw! : sectionBytes(raw!, item.section.path.length ? (info?.structure ?? parseMessage(raw!).root) : undefined, item.section)
            if (item.partial) {
              bytes = byteRange(bytes, item.partial)
              label += `<${item.partial[0]}>`
            }
            // RFC 3516 §4.3: decoded data holding a NUL can only be sent as a literal8 (8-bit data
            // without one goes as a plain literal, as the RFC asks; Dovecot sends any 8-bit data as
            // a literal8). A plain literal may not hold a NUL at all (RFC 3501 §4.3), so a message
            // APPENDed with NULs shows 0x80 in their place under BODY[], the size unchanged
            // (Dovecot re-encodes such a part in base64 instead, which changes the size)
            const nul = bytes.includes(0)
            if (nul && !item.binary) bytes = nulTo0x80(Buffer.from(bytes))
            add(`${label} ${nul && item.binary ? '~' : ''}{${bytes.length}}\r\n`)
            batch.text(text)
            batch.bytes(bytes)
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
      batch.text(text + ')\r\n')
      if (batch.due) await batch.flush()
    }
    batch.write()
  },
}

/** the indexes whose messages FETCH would return: still in the view and, with CHANGEDSINCE, changed since */
function fetchable(indexes: number[], uids: readonly number[], records: MessageRecord[], changedSince: number | undefined): number[] {
  return indexes.filter((i) => {
    const record = records[indexOfUid(records, uids[i]!)]
    return record !== undefined && (changedSince === undefined || record.modseq > changedSince)
  })
}

/** NULs replaced by 0x80, in place */
function nulTo0x80(bytes: Buffer): Buffer {
  for (let i = bytes.indexOf(0); i !== -1; i = bytes.indexOf(0, i + 1)) bytes[i] = 0x80
  return bytes
}

/** the decoded bytes of each BINARY item of one message; NO [UNKNOWN-CTE] for a part that cannot be decoded */
function decodeBinaries(items: Item[], raw: Buffer, info: BlobInfoRecord | undefined): Map<Item, Buffer> {
  let root = info?.structure
  const out = new Map<Item, Buffer>()
  for (const item of items) {
    if (item.kind !== 'section') continue
    try {
      out.set(item, binarySectionBytes(raw, (root ??= parseMessage(raw).root), item.section.path))
    } catch (err) {
      if (err instanceof UnknownCteError) throw new ImapError('NO', err.message, 'UNKNOWN-CTE')
      throw err
    }
  }
  return out
}

async function structureOf(session: import('../session.js').Session, record: MessageRecord) {
  return parseMessage(await session.bus.call('mailstore.blobBytes', {blobId: record.blobId}))
}
