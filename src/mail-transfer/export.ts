/**
 * `mailbox export`: a user's folders (or one) as a Maildir++ tree or a directory of mbox files
 * (FOLDER.mbox, sub-folders in sub-directories), each message as stored with its flags and
 * internal date (./maildir-writer.ts, ./mbox-writer.ts). Read through `store.mail`, folder by
 * folder, one message's bytes at a time. DEST must be new or empty: a second export into the
 * same place would mix two states of the mailbox.
 */
import {existsSync, mkdirSync, readdirSync, statSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {MailboxError} from '../errors.js'
import {normalizeFolderName} from '../mailstore/folder-rules.js'
import type {MailboxStore} from '../store/backend.js'
import type {MailboxRecord} from '../store/records.js'
import {MaildirFolderWriter} from './maildir-writer.js'
import {MboxWriter} from './mbox-writer.js'

export const EXPORT_FORMATS = ['mbox', 'maildir'] as const
export type ExportFormat = (typeof EXPORT_FORMATS)[number]

export interface ExportSummary {
  user: string
  format: ExportFormat
  dest: string
  messages: number
  bytes: number
  folders: {name: string; messages: number; path: string}[]
  /** entries whose bytes are gone from the store (a damaged store: `mailbox verify`) */
  missing: {folder: string; uid: number}[]
  seconds: number
}

export interface ExportOptions {
  format: ExportFormat
  folder?: string
  /** called with the messages written so far and the total */
  progress?: (done: number, total: number) => void
}

export async function exportMail(store: MailboxStore, user: string, dest: string, options: ExportOptions): Promise<ExportSummary> {
  const started = Date.now()
  if (existsSync(dest)) {
    if (!statSync(dest).isDirectory()) throw new MailboxError('invalid', `${dest} is not a directory: export into a new or empty directory`)
    if (readdirSync(dest).length) throw new MailboxError('exists', `${dest} is not empty: export into a new or empty directory`)
  }
  let folders = (await store.mail.folders(user)).filter((f) => !f.noselect)
  if (options.folder !== undefined) {
    const name = normalizeFolderName(options.folder)
    folders = folders.filter((f) => f.name === name)
    if (!folders.length) throw new MailboxError('not-found', `${user} has no folder ${JSON.stringify(name)}`)
  }
  mkdirSync(dest, {recursive: true})
  const total = folders.reduce((n, f) => n + f.messages, 0)
  const summary: ExportSummary = {user, format: options.format, dest, messages: 0, bytes: 0, folders: [], missing: [], seconds: 0}
  for (const folder of folders) {
    const path = await exportFolder(store, folder, dest, options.format, summary, () => options.progress?.(summary.messages, total))
    summary.folders.push({name: folder.name, messages: folder.messages, path})
  }
  options.progress?.(summary.messages, Math.max(total, summary.messages))
  summary.seconds = (Date.now() - started) / 1000
  return summary
}

async function exportFolder(store: MailboxStore, folder: MailboxRecord, dest: string, format: ExportFormat, summary: ExportSummary, progress: () => void): Promise<string> {
  const path = format === 'mbox' ? join(dest, `${folder.name}.mbox`) : dest
  if (format === 'mbox') mkdirSync(dirname(path), {recursive: true})
  const writer = format === 'mbox' ? new MboxWriter(path) : new MaildirFolderWriter(dest, folder.name, folder.uidValidity)
  for (const m of await store.mail.messages(folder.id)) {
    const raw = await store.mail.blob(m.blobId)
    if (!raw) {
      summary.missing.push({folder: folder.name, uid: m.uid})
      continue
    }
    if (writer instanceof MboxWriter) writer.write(raw, m.flags, m.internalDate)
    else writer.write(raw, m.flags, m.internalDate, m.uid)
    summary.messages++
    summary.bytes += raw.length
    progress()
  }
  writer.close()
  return writer instanceof MboxWriter ? path : writer.dir
}
