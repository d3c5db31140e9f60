/**
 * What PATH holds, for `mailbox import`: an mbox file, a Maildir or Maildir++ tree, or a
 * directory of mbox files (one per folder, named FOLDER.mbox, sub-folders in sub-directories:
 * what `mailbox export --format mbox` writes). `auto` tells them apart by the file system.
 */
import {readdirSync, statSync} from 'node:fs'
import {join, relative} from 'node:path'
import {MailboxError} from '../errors.js'
import {INBOX, normalizeFolderName, SEPARATOR} from '../mailstore/folder-rules.js'
import type {ReadOptions, SourceItem} from './items.js'
import {isMaildir, listMaildirTree, readMaildirTree} from './maildir-reader.js'
import {readMbox, type MboxVariant} from './mbox-reader.js'

export const IMPORT_FORMATS = ['auto', 'mbox', 'maildir'] as const
export type ImportFormat = (typeof IMPORT_FORMATS)[number]

export interface ImportSource {
  format: 'mbox' | 'maildir'
  /** what progress counts: bytes of mbox files, or message files */
  unit: 'bytes' | 'messages'
  total: number
  items: AsyncIterable<SourceItem>
}

export interface SourceOptions extends ReadOptions {
  format: ImportFormat
  /** the target folder of a single mbox or Maildir; the parent of a tree's folders (default: INBOX, the tree's at the top) */
  folder?: string
  variant: MboxVariant | 'auto'
  onVariant?: (file: string, variant: MboxVariant) => void
}

const MBOX_SUFFIX = '.mbox'

export function openSource(path: string, options: SourceOptions): ImportSource {
  let stat
  try {
    stat = statSync(path)
  } catch (err) {
    throw new MailboxError('not-found', `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`)
  }
  const base = options.folder !== undefined ? normalizeFolderName(options.folder) : INBOX
  if (stat.isFile()) {
    if (options.format === 'maildir') throw new MailboxError('invalid', `${path} is a file, not a Maildir directory`)
    return mboxSource([{path, folder: base, size: stat.size}], options)
  }
  if (!stat.isDirectory()) throw new MailboxError('invalid', `${path} is neither a file nor a directory`)
  if (options.format !== 'mbox' && isMaildir(path)) {
    const folders = listMaildirTree(path, base)
    const total = folders.reduce((n, f) => n + f.files.length, 0)
    return {format: 'maildir', unit: 'messages', total, items: toAsync(readMaildirTree(folders, options))}
  }
  if (options.format === 'maildir') throw new MailboxError('invalid', `${path} is no Maildir: it has neither cur/ nor new/`)
  const files = mboxFiles(path, path, options.folder !== undefined ? base : undefined)
  if (!files.length) throw new MailboxError('invalid', `${path} holds no Maildir (cur/, new/) and no *${MBOX_SUFFIX} files`)
  return mboxSource(files, options)
}

/** FOLDER.mbox files under `dir`, sub-directories as sub-folders */
function mboxFiles(root: string, dir: string, base: string | undefined): {path: string; folder: string; size: number}[] {
  const out: {path: string; folder: string; size: number}[] = []
  for (const entry of readdirSync(dir, {withFileTypes: true}).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) out.push(...mboxFiles(root, path, base))
    else if (entry.isFile() && entry.name.endsWith(MBOX_SUFFIX)) {
      const name = relative(root, path).slice(0, -MBOX_SUFFIX.length).split('/').join(SEPARATOR)
      out.push({path, folder: base ? `${base}${SEPARATOR}${name}` : name, size: statSync(path).size})
    }
  }
  return out
}

function mboxSource(files: {path: string; folder: string; size: number}[], options: SourceOptions): ImportSource {
  async function* items(): AsyncGenerator<SourceItem> {
    for (const f of files) {
      try {
        yield* readMbox(f.path, f.folder, options.variant, {...options, onVariant: (v) => options.onVariant?.(f.path, v)})
      } catch (err) {
        // one file of a directory that is no mbox is refused; a single file given is the user's mistake: an error
        if (files.length === 1 || !(err instanceof MailboxError)) throw err
        yield {kind: 'refused', folder: f.folder, where: f.path, reason: err.message}
      }
    }
  }
  return {format: 'mbox', unit: 'bytes', total: files.reduce((n, f) => n + f.size, 0), items: items()}
}

async function* toAsync<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items
}
