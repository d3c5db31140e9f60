/**
 * Folder names in a Maildir++ tree (Dovecot's default layout): the folder `Lists/foo` is the
 * directory `.Lists.foo` beside the INBOX's cur/new/tmp, each level in IMAP's modified UTF-7
 * (Dovecot does not use UTF-8 there unless told). A `.` inside a level cannot be written as
 * itself, so an export writes it as `&AC4-`, its UTF-16 form, which reads back as `.`.
 */
import {decodeMailboxName, encodeMailboxName} from '../imap/mutf7.js'
import {SEPARATOR} from '../mailstore/folder-rules.js'

const DOT = '&AC4-'

/** `.Lists.foo` (as bytes from readdir) → `Lists/foo`; throws on names that are no UTF-8 or no modified UTF-7 */
export function folderOfMaildirDir(dirName: Buffer): string {
  const text = new TextDecoder('utf-8', {fatal: true}).decode(dirName)
  if (!text.startsWith('.') || text.length < 2) throw new Error('not a Maildir++ folder name')
  return text
    .slice(1)
    .split('.')
    .map((level) => level.split(DOT).map(decodeMailboxName).join('.'))
    .join(SEPARATOR)
}

/** `Lists/foo` → `.Lists.foo` */
export const maildirDirOfFolder = (folder: string): string =>
  '.' +
  folder
    .split(SEPARATOR)
    .map((level) => encodeMailboxName(level).replace(/\./g, DOT))
    .join('.')
