/**
 * Writes folders as a Maildir++ tree (Dovecot's layout, ./maildir-names.ts): INBOX in DEST's
 * cur/new/tmp, every other folder in `.Name.Sub` with a `maildirfolder` file. A message goes to
 * tmp/ and is renamed into cur/ (the Maildir rule: cur/ holds whole files only), named
 * `TIME.M<uid>V<uidvalidity>.mailbox,S=<file size>,W=<CRLF size>:2,<flags>` with its internal
 * date as the file's mtime; keywords get letters in the folder's dovecot-keywords file.
 */
import {closeSync, mkdirSync, openSync, renameSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {crlfInfo} from '../mime/crlf.js'
import {INBOX} from '../mailstore/folder-rules.js'
import {KeywordLetters} from './dovecot-keywords.js'
import {maildirInfoOf} from './flags.js'
import {toFileForm} from './line-ends.js'
import {maildirDirOfFolder} from './maildir-names.js'

export class MaildirFolderWriter {
  readonly dir: string
  private readonly keywords = new KeywordLetters()

  constructor(
    root: string,
    folder: string,
    private readonly uidValidity: number,
  ) {
    this.dir = folder === INBOX ? root : join(root, maildirDirOfFolder(folder))
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(this.dir, sub), {recursive: true})
    if (folder !== INBOX) writeFileSync(join(this.dir, 'maildirfolder'), '')
  }

  write(stored: Buffer, flags: string[], internalDate: number, uid: number): void {
    const file = toFileForm(stored)
    const info = maildirInfoOf(flags, (k) => this.keywords.letterOf(k))
    const name = `${Math.floor(internalDate / 1000)}.M${uid}V${this.uidValidity}.mailbox,S=${file.length},W=${crlfInfo(stored).size}:2,${info}`
    const tmp = join(this.dir, 'tmp', name)
    const fd = openSync(tmp, 'wx')
    try {
      // writes on after a short write (a disk filling up): writeSync would leave a cut file to be renamed into cur/
      writeFileSync(fd, file)
    } finally {
      closeSync(fd)
    }
    const date = new Date(internalDate)
    utimesSync(tmp, date, date)
    renameSync(tmp, join(this.dir, 'cur', name))
  }

  close(): void {
    this.keywords.write(this.dir)
  }
}
