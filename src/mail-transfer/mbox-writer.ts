/**
 * Writes one folder as an mboxrd file (see ./mbox-reader.ts): a From_ line with the internal
 * date (and MBOXRD_SENDER, so our import knows the variant), the message with LF lines
 * (./line-ends.ts), its flags as Status / X-Status / X-Keywords fields at the end of its header
 * (an import takes them out again), `>` added to every `>*From ` line, and an empty line.
 * Written to FILE.tmp, fsynced and renamed at the end: a file named .mbox is complete, a crash too.
 */
import {closeSync, fsyncSync, openSync, renameSync, writeFileSync} from 'node:fs'
import {dirname} from 'node:path'
import {fsyncDir} from '../fsync.js'
import {mboxFieldsOf} from './flags.js'
import {toFileForm} from './line-ends.js'
import {fromLine, MBOXRD_SENDER} from './mbox-reader.js'

export class MboxWriter {
  private readonly fd: number
  private readonly tmp: string

  constructor(private readonly path: string) {
    this.tmp = `${path}.tmp`
    this.fd = openSync(this.tmp, 'wx')
  }

  write(stored: Buffer, flags: string[], internalDate: number): void {
    let text = toFileForm(stored).toString('latin1')
    if (/^>*From /m.test(text)) text = text.replace(/^(>*From )/gm, '>$1')
    const fields = mboxFieldsOf(flags)
    const crlf = !text.includes('\n') || /\r\n/.test(text) ? '\r\n' : '\n'
    const end = headerEnd(text)
    const fieldText = crlf === '\n' ? fields : fields.replace(/\n/g, '\r\n')
    text = end === -1 ? text + (text.endsWith('\n') || !text ? '' : crlf) + fieldText : text.slice(0, end) + fieldText + text.slice(end)
    if (!text.endsWith('\n')) text += '\n'
    // writeFileSync, not writeSync: it writes on after a short write (a disk filling up), where writeSync would leave the message cut
    writeFileSync(this.fd, `${fromLine(MBOXRD_SENDER, internalDate)}\n${text}\n`, 'latin1')
  }

  close(): void {
    try {
      fsyncSync(this.fd)
    } finally {
      closeSync(this.fd)
    }
    renameSync(this.tmp, this.path)
    fsyncDir(dirname(this.path))
  }
}

/** the offset of the empty line that ends the header, or -1 */
function headerEnd(text: string): number {
  if (text.startsWith('\n') || text.startsWith('\r\n')) return 0
  const m = /\r?\n(\r?\n)/.exec(text)
  return m ? m.index + m[0].length - m[1]!.length : -1
}
