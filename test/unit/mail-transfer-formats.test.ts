/**
 * The file formats of `mailbox import` / `export` without a store: mbox splitting and `>From `
 * escaping both ways, From_ line dates, the bad inputs reported per message, Maildir++ names,
 * Maildir file names and flags, line ends, and that what the writers write reads back as it was.
 */
import {mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it, vi} from 'vitest'
import {formatEta, progressReporter} from '../../src/cli/progress.js'
import {formatSize} from '../../src/size.js'
import {flagsOfMaildirInfo, flagsOfMboxFields, maildirInfoOf, mboxFieldsOf} from '../../src/mail-transfer/flags.js'
import type {SourceItem, SourceMessage} from '../../src/mail-transfer/items.js'
import {toFileForm, toStoredForm} from '../../src/mail-transfer/line-ends.js'
import {folderOfMaildirDir, maildirDirOfFolder} from '../../src/mail-transfer/maildir-names.js'
import {listMaildirTree, readMaildirTree} from '../../src/mail-transfer/maildir-reader.js'
import {MaildirFolderWriter} from '../../src/mail-transfer/maildir-writer.js'
import {fromLine, fromLineDate, readMbox, type MboxVariant} from '../../src/mail-transfer/mbox-reader.js'
import {MboxWriter} from '../../src/mail-transfer/mbox-writer.js'
import {takeFields} from '../../src/mail-transfer/message-check.js'

const dir = mkdtempSync(join(tmpdir(), 'mbx-xfer-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
let n = 0
const file = (text: string | Buffer) => {
  const path = join(dir, `f${n++}`)
  writeFileSync(path, text)
  return path
}

async function all(items: AsyncIterable<SourceItem> | Iterable<SourceItem>): Promise<SourceItem[]> {
  const out: SourceItem[] = []
  for await (const item of items) out.push(item)
  return out
}
const mbox = (path: string, variant: MboxVariant | 'auto' = 'auto', maxSize = 1 << 20) => all(readMbox(path, 'INBOX', variant, {maxSize}))
const texts = (items: SourceItem[]) => items.map((i) => (i.kind === 'message' ? i.raw.toString('latin1') : `refused: ${i.reason}`))

describe('mbox reading', () => {
  it('splits at From_ lines after an empty line only, drops the separator line, and makes LF lines CRLF', async () => {
    const path = file('From a@b Thu Jan  1 00:00:00 1970\nSubject: one\n\nbody\nFrom here, not a separator\n\nFrom c@d Sat Jan  3 10:20:30 2004\nSubject: two\n\nx\n\n')
    expect(texts(await mbox(path))).toEqual(['Subject: one\r\n\r\nbody\r\nFrom here, not a separator\r\n', 'Subject: two\r\n\r\nx\r\n'])
  })

  it('takes the internal date from the From_ line (UTC, or the zone it names)', async () => {
    expect(fromLineDate('From a@b Sat Jan  3 10:20:30 2004')).toBe(Date.UTC(2004, 0, 3, 10, 20, 30))
    expect(fromLineDate('From a@b Sat Jan  3 10:20:30 2004 +0200')).toBe(Date.UTC(2004, 0, 3, 8, 20, 30))
    expect(fromLineDate('From a@b Sat Jan 3 10:20 2004')).toBe(Date.UTC(2004, 0, 3, 10, 20))
    expect(fromLineDate('From a@b no date')).toBeUndefined()
    const t = Date.UTC(2021, 10, 9, 8, 7, 6)
    expect(fromLineDate(fromLine('x@y', t))).toBe(t)
    const [item] = await mbox(file(`${fromLine('x@y', t)}\nSubject: a\n\nb\n`))
    expect((item as SourceMessage).internalDate).toBe(t)
  })

  it('unescapes >From lines as mboxo (one > off exactly ">From ") or mboxrd (one > off every ">+From ")', async () => {
    const body = 'From a@b Thu Jan  1 00:00:00 1970\nSubject: s\n\n>From 1\n>>From 2\n>>>From 3\n'
    expect(texts(await mbox(file(body), 'mboxo'))[0]).toBe('Subject: s\r\n\r\nFrom 1\r\n>>From 2\r\n>>>From 3\r\n')
    expect(texts(await mbox(file(body), 'mboxrd'))[0]).toBe('Subject: s\r\n\r\nFrom 1\r\n>From 2\r\n>>From 3\r\n')
    // auto: mboxo, unless the file is one of our exports
    expect(texts(await mbox(file(body)))[0]).toBe('Subject: s\r\n\r\nFrom 1\r\n>>From 2\r\n>>>From 3\r\n')
  })

  it('reads flags from Status / X-Status / X-Keywords and takes those fields out of the message', async () => {
    const [item] = await mbox(file('From a@b Thu Jan  1 00:00:00 1970\nSubject: s\nStatus: RO\nX-Status: AFD\nX-Keywords: $Label1, work\nX-UID: 7\n\nhi\n'))
    expect(item).toMatchObject({kind: 'message', flags: ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '$Label1', 'work']})
    expect((item as SourceMessage).raw.toString()).toBe('Subject: s\r\n\r\nhi\r\n')
    expect(flagsOfMboxFields({status: 'O'})).toEqual([])
  })

  it('ignores Content-Length: a wrong one does not move the split', async () => {
    const items = await mbox(file('From a@b Thu Jan  1 00:00:00 1970\nContent-Length: 3\nSubject: a\n\nlong body\nmore\n\nFrom a@b Thu Jan  1 00:00:00 1970\nSubject: b\n\nx\n'))
    expect(texts(items)).toEqual(['Content-Length: 3\r\nSubject: a\r\n\r\nlong body\r\nmore\r\n', 'Subject: b\r\n\r\nx\r\n'])
  })

  it('reports bad messages one by one: truncated, no message, over the size limit; the good ones still come', async () => {
    const big = 'x'.repeat(3000)
    const path = file(`From a@b Thu Jan  1 00:00:00 1970\nSubject: ok\n\n1\n\nFrom a@b Thu Jan  1 00:00:00 1970\n${big}\n\nFrom a@b Thu Jan  1 00:00:00 1970\nSubject: big\n\n${big}\n\nFrom a@b Thu Jan  1 00:00:00 1970\nSubject: cut\n\nhalf a li`)
    const items = await mbox(path, 'auto', 2000)
    expect(texts(items)).toEqual([
      'Subject: ok\r\n\r\n1\r\n',
      'refused: over the size limit (2.9K > 2K)',
      'refused: over the size limit (2.9K > 2K)',
      'refused: truncated: the file ends inside this message',
    ])
    expect(items[2]).toMatchObject({where: expect.stringMatching(/ at byte \d+$/)})
  })

  it('refuses a file that is no mbox as a whole', async () => {
    await expect(mbox(file('Subject: hi\n\nnot an mbox\n'))).rejects.toThrow(/is not an mbox file/)
    await expect(mbox(file(Buffer.from([0, 1, 2, 3, 0xff])))).rejects.toThrow(/is not an mbox file/)
    expect(await mbox(file(''))).toEqual([])
  })

  it('reads a line longer than MAX_HELD_LINE as body text, copying it once (not held whole while it grows)', async () => {
    const line = 'x'.repeat(8 * 1024 * 1024)
    const path = file(`From a@b Thu Jan  1 00:00:00 1970\nSubject: long\n\nFrom ${line}\n\nFrom a@b Thu Jan  1 00:00:00 1970\nSubject: next\n\nb\n`)
    const concat = vi.spyOn(Buffer, 'concat')
    try {
      const items = await mbox(path, 'auto', 16 * 1024 * 1024)
      expect(items.map((i) => i.kind)).toEqual(['message', 'message'])
      expect((items[0] as SourceMessage).raw.equals(Buffer.from(`Subject: long\r\n\r\nFrom ${line}\r\n`))).toBe(true)
      expect(texts(items)[1]).toBe('Subject: next\r\n\r\nb\r\n')
      // a partial line carried from chunk to chunk would be copied again with every 1 MiB read
      const copied = concat.mock.calls.reduce((n, [list]) => n + (list as Buffer[]).reduce((m, b) => m + b.length, 0), 0)
      expect(copied).toBeLessThan(2 * line.length)
    } finally {
      concat.mockRestore()
    }
    // over the size limit it is only counted; cut inside it, the message is truncated; before any From_ line, no mbox
    expect(texts(await mbox(path, 'auto', 1 << 20))).toEqual(['refused: over the size limit (8M > 1M)', 'Subject: next\r\n\r\nb\r\n'])
    expect(texts(await mbox(file(`From a@b Thu Jan  1 00:00:00 1970\nSubject: cut\n\n${line}`), 'auto', 16 * 1024 * 1024))).toEqual(['refused: truncated: the file ends inside this message'])
    await expect(mbox(file(line))).rejects.toThrow(/is not an mbox file/)
  })

  it('keeps CRLF messages as they are and finds the split in them', async () => {
    const path = file('From a@b Thu Jan  1 00:00:00 1970\r\nSubject: a\r\n\r\nb\r\n\r\nFrom a@b Thu Jan  1 00:00:00 1970\r\nSubject: c\r\n\r\nd\r\n')
    expect(texts(await mbox(path))).toEqual(['Subject: a\r\n\r\nb\r\n', 'Subject: c\r\n\r\nd\r\n'])
  })
})

describe('mbox writing', () => {
  it('writes mboxrd that reads back byte for byte, with flags and dates, whatever the From lines', async () => {
    const path = join(dir, 'w.mbox')
    const messages = [
      {raw: 'Subject: a\r\n\r\nFrom x\r\n>From y\r\n>>From z\r\n', flags: ['\\Seen', '\\Flagged', 'work'], date: Date.UTC(2020, 1, 2, 3, 4, 5)},
      {raw: 'Subject: b\r\n\r\nends with blank lines\r\n\r\n\r\n', flags: [], date: Date.UTC(2001, 0, 1)},
      {raw: 'Subject: c\n\nbare LF\r\nmixed\n', flags: ['\\Draft', '\\Answered', '\\Deleted'], date: Date.UTC(1999, 11, 31, 23, 59, 59)},
    ]
    const w = new MboxWriter(path)
    for (const m of messages) w.write(Buffer.from(m.raw), m.flags, m.date)
    w.close()
    expect(readdirSync(dir)).not.toContain('w.mbox.tmp')
    const items = (await mbox(path)) as SourceMessage[]
    expect(items.map((i) => i.raw.toString())).toEqual(messages.map((m) => m.raw))
    expect(items.map((i) => i.internalDate)).toEqual(messages.map((m) => m.date))
    expect(items.map((i) => [...i.flags].sort())).toEqual(messages.map((m) => [...m.flags].sort()))
    expect(mboxFieldsOf(['\\Seen'])).toBe('Status: RO\n')
  })
})

describe('Maildir', () => {
  it('maps flag letters both ways (P is $Forwarded, T is \\Deleted, a–z keywords)', () => {
    const keywords = ['$Junk', 'work']
    expect(flagsOfMaildirInfo('DFPRSTab', (i) => keywords[i])).toEqual(['\\Draft', '\\Flagged', '$Forwarded', '\\Answered', '\\Seen', '\\Deleted', '$Junk', 'work'])
    expect(flagsOfMaildirInfo('Sz', () => undefined)).toEqual(['\\Seen'])
    expect(maildirInfoOf(['\\Seen', 'work', '\\Answered', '$Forwarded', '\\Deleted'], (k) => (k === 'work' ? 'a' : undefined))).toBe('PRSTa')
  })

  it('names folders as Dovecot does: dots between levels, modified UTF-7, a dot inside a level as &AC4-', () => {
    expect(folderOfMaildirDir(Buffer.from('.Lists.foo'))).toBe('Lists/foo')
    expect(folderOfMaildirDir(Buffer.from('.Caf&AOk-'))).toBe('Café')
    expect(maildirDirOfFolder('Café/v1.2')).toBe('.Caf&AOk-.v1&AC4-2')
    expect(folderOfMaildirDir(Buffer.from(maildirDirOfFolder('Café/v1.2')))).toBe('Café/v1.2')
    expect(() => folderOfMaildirDir(Buffer.from([0x2e, 0x43, 0xe9]))).toThrow()
  })

  it('reads a Maildir++ tree: folders, flags, keywords, mtime as internal date, S= checked, tmp/ and non-messages', async () => {
    const root = join(dir, 'tree')
    const mk = (sub: string) => ['cur', 'new', 'tmp'].forEach((d) => mkdirSync(join(root, sub, d), {recursive: true}))
    mk('')
    mk('.Lists.foo')
    mkdirSync(join(root, Buffer.from([0x2e, 0x42, 0xe9, 0x64]).toString('latin1')))
    writeFileSync(join(root, '.Lists.foo', 'dovecot-keywords'), '0 $Label1\n1 todo\n')
    writeFileSync(join(root, 'new', '1000.a.host'), 'Subject: new one\n\nx\n')
    writeFileSync(join(root, 'cur', '999.b.host,S=21:2,RS'), 'Subject: cur one\n\nyy\n')
    writeFileSync(join(root, 'cur', '1001.c.host,S=99:2,S'), 'Subject: cut\n\n')
    writeFileSync(join(root, 'cur', '1002.d.host:2,'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a]))
    writeFileSync(join(root, 'tmp', '1003.e.host'), 'Subject: in progress\n\n')
    // a file name that is no UTF-8 is still a message
    writeFileSync(Buffer.concat([Buffer.from(join(root, 'cur', '1004.')), Buffer.from([0xff, 0xfe]), Buffer.from('.host:2,F')]), 'Subject: odd name\n\nz\n')
    writeFileSync(join(root, '.Lists.foo', 'cur', '5.f.host:2,Fb'), 'Subject: listed\r\n\r\nz\r\n')
    utimesSync(join(root, 'cur', '999.b.host,S=21:2,RS'), 1234567, 1234567)
    const folders = listMaildirTree(root, 'INBOX')
    expect(folders.map((f) => f.folder)).toEqual(['INBOX', 'Lists/foo'])
    const items = await all(readMaildirTree(folders, {maxSize: 1 << 20}))
    expect(items.map((i) => [i.folder, i.kind === 'message' ? i.flags : i.reason])).toEqual([
      ['INBOX', ['\\Answered', '\\Seen']],
      ['INBOX', []],
      ['INBOX', 'truncated or changed: its name says 99 bytes, the file has 14'],
      ['INBOX', 'not a message (it does not start with a header field)'],
      ['INBOX', ['\\Flagged']],
      ['Lists/foo', ['\\Flagged', 'todo']],
    ])
    expect((items[0] as SourceMessage).internalDate).toBe(1234567000)
    expect((items[0] as SourceMessage).raw.toString()).toBe('Subject: cur one\r\n\r\nyy\r\n')
  })

  it('refuses a folder whose directory name is no UTF-8, with the reason', async () => {
    const root = join(dir, 'badname')
    for (const d of ['cur', 'new']) mkdirSync(join(root, d), {recursive: true})
    const bad = Buffer.concat([Buffer.from(root + '/'), Buffer.from([0x2e, 0x42, 0xe9, 0x64])])
    mkdirSync(bad)
    mkdirSync(Buffer.concat([bad, Buffer.from('/cur')]))
    const items = await all(readMaildirTree(listMaildirTree(root, 'INBOX'), {maxSize: 1 << 20}))
    expect(items).toEqual([expect.objectContaining({kind: 'refused', reason: expect.stringMatching(/folder name .* refused/)})])
  })

  it('writes files that read back byte for byte with flags, keywords and dates', async () => {
    const root = join(dir, 'out')
    const w = new MaildirFolderWriter(root, 'Work/2024', 7)
    const date = Date.UTC(2015, 5, 6, 7, 8, 9)
    w.write(Buffer.from('Subject: a\r\n\r\nb\r\n'), ['\\Seen', '$Forwarded', 'todo', '\\Deleted'], date, 1)
    w.close()
    expect(readdirSync(join(root, '.Work.2024', 'cur'))).toEqual([`${date / 1000}.M1V7.mailbox,S=14,W=17:2,PSTa`])
    expect(readFileSync(join(root, '.Work.2024', 'dovecot-keywords'), 'utf8')).toBe('0 todo\n')
    const items = (await all(readMaildirTree(listMaildirTree(root, 'INBOX'), {maxSize: 1 << 20}))) as SourceMessage[]
    expect(items.map((i) => [i.folder, i.raw.toString(), i.flags.sort(), i.internalDate])).toEqual([['Work/2024', 'Subject: a\r\n\r\nb\r\n', ['$Forwarded', '\\Deleted', '\\Seen', 'todo'], date]])
  })
})

describe('the rest', () => {
  it('converts line ends only where the way back gives the same bytes', () => {
    for (const s of ['a\r\nb\r\n', 'a\nb\n', 'a\r\nb\n', 'a\rb\r\n', 'no line end', '']) {
      expect(toStoredForm(toFileForm(Buffer.from(s))).toString()).toBe(s.includes('\r') || !s.includes('\n') ? s : s.replace(/\n/g, '\r\n'))
    }
    expect(toFileForm(Buffer.from('a\r\nb\r\n')).toString()).toBe('a\nb\n')
    expect(toStoredForm(Buffer.from('a\nb\n')).toString()).toBe('a\r\nb\r\n')
  })

  it('takes header fields out of the header only, folded lines with them', () => {
    const raw = Buffer.from('A: 1\nStatus: R\n  folded\nB: 2\n\nStatus: body\n')
    const {raw: out, values} = takeFields(raw, new Set(['status']))
    expect(out.toString()).toBe('A: 1\nB: 2\n\nStatus: body\n')
    expect(values.get('status')).toBe('R')
  })

  it('shows the rate and an ETA, in the format given, and a finished line once', () => {
    expect([formatEta(4.2), formatEta(185), formatEta(7700)]).toEqual(['5s', '3m05s', '2h08m'])
    vi.useFakeTimers({now: 0})
    try {
      const out: string[] = []
      const report = progressReporter('importing', {stream: {isTTY: false, write: (t: string) => out.push(t)} as unknown as NodeJS.WriteStream, everyMs: 0, eta: true, format: formatSize})
      vi.setSystemTime(10_000)
      report(10 * 1024 * 1024, 40 * 1024 * 1024, '(5 imported)')
      vi.setSystemTime(40_000)
      report(40 * 1024 * 1024, 40 * 1024 * 1024)
      // the last commit settling: the same finished counts again add no line
      report(40 * 1024 * 1024, 40 * 1024 * 1024, '(done)')
      expect(out).toEqual(['importing: 10M/40M (5 imported) (1M/s, ETA 30s)\n', 'importing: 40M/40M (1M/s)\n'])
    } finally {
      vi.useRealTimers()
    }
  })
})
