/**
 * tag SELECT mailbox [(CONDSTORE | QRESYNC (uidvalidity modseq [known-uids]))] (RFC 3501 §6.3.1,
 * RFC 7162 §3.1.8, §3.2.5); EXAMINE is the read-only form
 */
import {summaryOf} from '../../mailstore/mailbox-view.js'
import {SEPARATOR} from '../../mailstore/folder-rules.js'
import {astr, formatRanges} from '../format.js'
import {encodeMailboxName} from '../mutf7.js'
import {numberOf} from '../args.js'
import {ParseError, type Node} from '../parser.js'
import {isSequenceSet, parseSequenceSet, type Range} from '../sequence.js'
import {SelectedMailbox} from '../selected.js'
import {recentRange, type CommandHandler, type Session} from '../session.js'
import {intersect, missingUids} from '../vanished.js'

interface Resync {
  uidValidity: number
  modseq: number
  knownUids?: Range[]
}

/** QRESYNC (uidvalidity modseq [known-uids [seq-match-data]]); the seq-match data may be ignored (RFC 7162 §3.2.5) */
function parseResync(session: Session, node: Node | undefined): Resync {
  if (!session.qresync) throw new ParseError('QRESYNC must be enabled first (ENABLE QRESYNC)')
  if (node?.type !== 'list' || node.items.length < 2) throw new ParseError('QRESYNC needs (uidvalidity modseq [known-uids])')
  const [validity, modseq, known] = node.items
  const resync: Resync = {uidValidity: numberOf(validity, 'uidvalidity'), modseq: numberOf(modseq, 'mod-sequence')}
  if (known?.type === 'atom' && isSequenceSet(known.value)) resync.knownUids = parseSequenceSet(known.value)
  return resync
}

export const select = (readOnly: boolean): CommandHandler => ({
  states: ['authenticated', 'selected'],
  async run(session, {args, name}) {
    const folderName = args.mailbox()
    let resync: Resync | undefined
    if (args.remaining) {
      const params = args.list('select parameters')
      for (let i = 0; i < params.length; i++) {
        const p = params[i]!
        const what = p.type === 'atom' ? p.value.toUpperCase() : ''
        if (what === 'CONDSTORE') session.enableCondstore()
        else if (what === 'QRESYNC') resync = parseResync(session, params[++i])
        else throw new ParseError(`${name}: unknown select parameter`)
      }
    }
    args.end()
    // the client learns where the previous folder's updates end (RFC 7162 §7; harmless to others)
    if (session.selected) session.write('* OK [CLOSED] Previous folder closed\r\n')
    // a SELECT that fails leaves no folder selected (RFC 3501 §6.3.1)
    session.select(undefined)
    const view = await session.bus.call('mailstore.view', {user: session.user!, name: folderName})
    const {folder, records} = view
    const recent = await recentRange(session.bus, folder.id, folder.uidNext, readOnly)
    const selected = new SelectedMailbox(folder.id, folder.name, folder.uidValidity, readOnly, view, recent)
    const {firstUnseen} = summaryOf(view)
    for (const line of selected.flagsResponses()) session.write(line)
    session.write(`* ${records.length} EXISTS\r\n`)
    // RFC 9051 §6.3.2: no RECENT, and the folder's name in a LIST response
    if (session.rev2) session.write(`* LIST () "${SEPARATOR}" ${astr(encodeMailboxName(folder.name))}\r\n`)
    else session.write(`* ${selected.recentCount} RECENT\r\n`)
    if (firstUnseen) session.write(`* OK [UNSEEN ${firstUnseen}] First unseen\r\n`)
    session.write(`* OK [UIDVALIDITY ${folder.uidValidity}] UIDs valid\r\n* OK [UIDNEXT ${folder.uidNext}] Predicted next UID\r\n`)
    session.write(`* OK [HIGHESTMODSEQ ${folder.highestModseq}] Highest\r\n`)
    session.select(selected)
    if (resync && resync.uidValidity === folder.uidValidity) {
      const gone = missingUids(records, folder.uidNext)
      const vanished = resync.knownUids ? intersect(gone, resync.knownUids, folder.uidNext - 1) : gone
      if (vanished.length) session.write(`* VANISHED (EARLIER) ${formatRanges(vanished)}\r\n`)
      for (let i = 0; i < records.length; i++) {
        if (records[i]!.modseq > resync.modseq) session.write(selected.flagsUpdate(i + 1, records[i]!))
      }
    }
    return {code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${name} completed`}
  },
})

export const SELECT = select(false)
