/**
 * The rules of folder names and their order (RFC 3501 §6.3, see ./folders.ts for the rest),
 * pure: both store backends and the IMAP commands apply them.
 */
import {MailboxError} from '../errors.js'
import type {MailboxRecord, SpecialUse} from '../store/records.js'

export const SEPARATOR = '/'
export const INBOX = 'INBOX'
export const JUNK = 'Junk'
const MAX_NAME_BYTES = 512

export const DEFAULT_FOLDERS: {name: string; specialUse?: SpecialUse}[] = [
  {name: INBOX},
  {name: 'Sent', specialUse: '\\Sent'},
  {name: 'Drafts', specialUse: '\\Drafts'},
  {name: 'Trash', specialUse: '\\Trash'},
  {name: JUNK, specialUse: '\\Junk'},
  {name: 'Archive', specialUse: '\\Archive'},
]

/** Canonical folder name, or `invalid`. Names are UTF-8 here; IMAP's modified UTF-7 is the IMAP layer's business. */
export function normalizeFolderName(input: string): string {
  let name = input.normalize('NFC')
  if (name.endsWith(SEPARATOR)) name = name.slice(0, -1) // "foo/" declares intent to create children
  const bad = (why: string) => new MailboxError('invalid', `invalid folder name ${JSON.stringify(input)}: ${why}`)
  if (!name) throw bad('empty')
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw bad('too long')
  if (/[\u0000-\u001f\u007f*%]/.test(name)) throw bad('control characters and * % are not allowed')
  const parts = name.split(SEPARATOR)
  if (parts.some((p) => p === '')) throw bad('empty hierarchy level')
  if (parts.some((p) => p === '.' || p === '..')) throw bad('"." and ".." are not folder names')
  if (parts[0]!.toUpperCase() === INBOX) parts[0] = INBOX
  return parts.join(SEPARATOR)
}

export const parentsOf = (name: string): string[] => {
  const parts = name.split(SEPARATOR)
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join(SEPARATOR))
}
export const isInferior = (name: string, of: string) => name.startsWith(of + SEPARATOR)

/** INBOX first, then by name in byte order (the order mail clients show) */
export const byFolderOrder = (a: {name: string}, b: {name: string}): number =>
  a.name === INBOX ? -1 : b.name === INBOX ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0

export interface Usage {
  messages: number
  size: number
  folders: number
}

/** What `folders` hold together (one user's: listFolders). */
export function usageOfFolders(folders: Iterable<MailboxRecord>): Usage {
  const usage = {messages: 0, size: 0, folders: 0}
  for (const f of folders) addUsage(usage, f)
  return usage
}

/** counts one folder into `usage` */
export const addUsage = (usage: Usage, f: MailboxRecord): void => {
  usage.messages += f.messages
  usage.size += f.size
  usage.folders++
}
