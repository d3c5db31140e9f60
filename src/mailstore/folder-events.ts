/**
 * What a folder operation changed in a user's folder list, as `folder.changed` events (NOTIFY's
 * MailboxName, RFC 5465 §5.4), from the list before and after it. By id: a folder whose name
 * changed was renamed (its inferiors with it), one only after was created (missing parents
 * too), one only before was deleted, and one that became a \Noselect placeholder (or was revived
 * from one) changed its LIST attributes. INBOX's rename (RFC 3501 §6.3.5) hands INBOX's identity to the new name and starts
 * INBOX over: INBOX never went away, so that is the new name created.
 */
import type {FolderEvent, FolderShape} from '../bus.js'
import type {MailboxRecord} from '../store/records.js'
import {INBOX, isInferior} from './folder-rules.js'

export function folderEvents(user: string, before: readonly MailboxRecord[], after: readonly MailboxRecord[]): FolderEvent[] {
  const was = new Map(before.map((f) => [f.id, f]))
  const is = new Set(after.map((f) => f.id))
  const shape = (f: MailboxRecord): FolderShape => ({
    noselect: f.noselect === true,
    children: after.some((c) => isInferior(c.name, f.name)),
    ...(f.specialUse ? {specialUse: f.specialUse} : {}),
  })
  const events: FolderEvent[] = []
  for (const folder of after) {
    const old = was.get(folder.id)
    const event = {user, kind: 'name' as const, name: folder.name, folder: shape(folder), subscribed: folder.subscribed}
    if (!old) {
      if (folder.name !== INBOX) events.push(event)
    } else if (old.name !== folder.name) {
      events.push(old.name === INBOX ? event : {...event, oldName: old.name})
    } else if (Boolean(folder.noselect) !== Boolean(old.noselect)) {
      events.push(event)
    }
  }
  for (const old of before) if (!is.has(old.id)) events.push({user, kind: 'name', name: old.name, folder: null, subscribed: old.subscribed})
  return events
}
