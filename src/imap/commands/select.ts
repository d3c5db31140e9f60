/** tag SELECT mailbox (RFC 3501 §6.3.1); EXAMINE is the read-only form */
import {summaryOf} from '../../mailstore/mailbox-view.js'
import {flagList} from '../format.js'
import {ParseError} from '../parser.js'
import {SelectedMailbox} from '../selected.js'
import type {CommandHandler} from '../session.js'

const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft']

export const select = (readOnly: boolean): CommandHandler => ({
  states: ['authenticated', 'selected'],
  async run(session, {args, name}) {
    const folderName = args.mailbox()
    if (args.remaining) {
      for (const p of args.list('select parameters')) {
        if (p.type !== 'atom' || p.value.toUpperCase() !== 'CONDSTORE') throw new ParseError(`${name}: the only select parameter supported is CONDSTORE`)
        session.enableCondstore()
      }
    }
    args.end()
    // a SELECT that fails leaves no folder selected (RFC 3501 §6.3.1)
    session.select(undefined)
    const view = await session.bus.call('mailstore.view', {user: session.user!, name: folderName})
    const {folder, records} = view
    let recent: [number, number] | undefined
    if (!readOnly) {
      const {firstRecent} = await session.bus.call('mailstore.claimRecent', {mailboxId: folder.id, uidNext: folder.uidNext})
      recent = [firstRecent, folder.uidNext]
    }
    const selected = new SelectedMailbox(folder.id, folder.name, folder.uidValidity, readOnly, view, recent)
    const {firstUnseen, keywords} = summaryOf(view)
    const flags = [...SYSTEM_FLAGS, ...keywords]
    session.write(`* FLAGS ${flagList(flags)}\r\n`)
    session.write(`* OK [PERMANENTFLAGS ${flagList(readOnly ? [] : [...flags, '\\*'])}] Flags permitted\r\n`)
    session.write(`* ${records.length} EXISTS\r\n* ${selected.recentCount} RECENT\r\n`)
    if (firstUnseen) session.write(`* OK [UNSEEN ${firstUnseen}] First unseen\r\n`)
    session.write(`* OK [UIDVALIDITY ${folder.uidValidity}] UIDs valid\r\n* OK [UIDNEXT ${folder.uidNext}] Predicted next UID\r\n`)
    session.write(`* OK [HIGHESTMODSEQ ${folder.highestModseq}] Highest\r\n`)
    session.select(selected)
    return {code: readOnly ? 'READ-ONLY' : 'READ-WRITE', text: `${name} completed`}
  },
})

export const SELECT = select(false)
