/**
 * Reads a Maildir (cur/new/tmp) or a Maildir++ tree of them (Dovecot's layout, see
 * ./maildir-names.ts), one message file at a time.
 *
 * Per file: the flags from the name's info (`:2,FRS`, ./flags.ts) with the folder's
 * dovecot-keywords file; the internal date from the file's mtime (Dovecot's rule: delivery sets
 * it, `touch` after the fact is how a Maildir user fixes a date); a size the name states
 * (`,S=` Dovecot, the file's size) must be the file's, else the file was cut or changed. tmp/
 * holds deliveries in progress and is not read.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {join} from 'node:path'
import {normalizeFolderName, SEPARATOR} from '../mailstore/folder-rules.js'
import {readDovecotKeywords} from './dovecot-keywords.js'
import {flagsOfMaildirInfo} from './flags.js'
import type {ReadOptions, SourceItem} from './items.js'
import {toStoredForm} from './line-ends.js'
import {folderOfMaildirDir} from './maildir-names.js'
import {oversized, refusalOf} from './message-check.js'

export interface MaildirFolder {
  /** the target folder, or the reason the directory's name is no folder name */
  folder: string
  refused?: string
  dir: string
  /** message files, relative to dir (`cur/…`, `new/…`), in delivery order; bytes: a name need not be UTF-8 */
  files: Buffer[]
}

const isDir = (path: string | Buffer) => {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

export const isMaildir = (dir: string): boolean => isDir(join(dir, 'cur')) || isDir(join(dir, 'new'))

/** the leading number of a Maildir unique name is its delivery time: that order, then the name's */
const byDelivery = (a: Buffer, b: Buffer) => {
  const ta = parseInt(a.toString('latin1', 4, 24), 10)
  const tb = parseInt(b.toString('latin1', 4, 24), 10)
  return ta !== tb && Number.isFinite(ta) && Number.isFinite(tb) ? ta - tb : Buffer.compare(a, b)
}

function messageFiles(dir: string): Buffer[] {
  const files: Buffer[] = []
  for (const sub of ['new', 'cur']) {
    let names: Buffer[]
    try {
      names = readdirSync(join(dir, sub), {encoding: 'buffer'})
    } catch {
      continue
    }
    for (const name of names) if (name[0] !== 0x2e) files.push(Buffer.concat([Buffer.from(`${sub}/`), name]))
  }
  return files.sort(byDelivery)
}

/** The folders of the Maildir or Maildir++ tree at `root`: the root itself as `base`, `.X.Y` as `base/X/Y` (or `X/Y` when base is INBOX). */
export function listMaildirTree(root: string, base: string): MaildirFolder[] {
  const folders: MaildirFolder[] = [{folder: base, dir: root, files: messageFiles(root)}]
  const entries = readdirSync(root, {encoding: 'buffer'})
  for (const entry of entries.sort(Buffer.compare)) {
    if (entry[0] !== 0x2e || entry.length < 2 || (entry.length === 2 && entry[1] === 0x2e)) continue
    const path = Buffer.concat([Buffer.from(root + '/'), entry])
    if (!isDir(Buffer.concat([path, Buffer.from('/cur')])) && !isDir(Buffer.concat([path, Buffer.from('/new')]))) continue
    const dir = join(root, entry.toString('utf8'))
    let folder: string
    try {
      const name = folderOfMaildirDir(entry)
      folder = normalizeFolderName(base === 'INBOX' ? name : `${base}${SEPARATOR}${name}`)
    } catch (err) {
      folders.push({folder: entry.toString('utf8'), refused: `folder name ${JSON.stringify(entry.toString('utf8'))} refused: ${(err as Error).message}`, dir, files: []})
      continue
    }
    folders.push({folder, dir, files: messageFiles(dir)})
  }
  return folders
}

/** The messages of the listed folders, each file read as its turn comes. */
export function* readMaildirTree(folders: MaildirFolder[], options: ReadOptions): Generator<SourceItem> {
  for (const f of folders) {
    if (f.refused) {
      yield {kind: 'refused', folder: f.folder, where: f.dir, reason: f.refused}
      continue
    }
    const keywords = readDovecotKeywords(f.dir)
    for (const file of f.files) yield readMessageFile(f, file, keywords, options)
  }
}

function readMessageFile(f: MaildirFolder, file: Buffer, keywords: Map<number, string>, options: ReadOptions): SourceItem {
  const path = Buffer.concat([Buffer.from(`${f.dir}/`), file])
  const where = path.toString()
  const refused = (reason: string): SourceItem => ({kind: 'refused', folder: f.folder, where, reason})
  // the flags and sizes in a name are ASCII; the rest of it may be any bytes
  const name = file.toString('latin1', 4)
  const colon = name.indexOf(':2,')
  const info = colon === -1 ? '' : name.slice(colon + 3)
  const stated = /,S=(\d+)/.exec(colon === -1 ? name : name.slice(0, colon))
  let raw: Buffer
  let mtime: number
  try {
    const stat = statSync(path)
    if (!stat.isFile()) return refused('not a file')
    mtime = stat.mtimeMs
    if (stat.size > options.maxSize) return refused(oversized(stat.size, options.maxSize))
    if (stated && Number(stated[1]) !== stat.size) return refused(`truncated or changed: its name says ${stated[1]} bytes, the file has ${stat.size}`)
    raw = readFileSync(path)
  } catch (err) {
    return refused(`unreadable: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  options.onBytes?.(raw.length)
  const why = refusalOf(raw, options.maxSize)
  if (why) return refused(why)
  return {kind: 'message', folder: f.folder, raw: toStoredForm(raw), flags: flagsOfMaildirInfo(info, (i) => keywords.get(i)), internalDate: Math.floor(mtime), where}
}
