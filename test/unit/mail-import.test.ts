/**
 * The import loop and export (src/mail-transfer/import.ts, export.ts) on both store backends:
 * folders made as needed (special-use names as the store makes them), many messages per commit,
 * reruns and interrupted runs without duplicates, the quota, and export then import into another
 * user giving every message back byte for byte with its flags and internal date, both formats.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {analyzeMessage} from '../../src/mailstore/analyze.js'
import {exportMail, type ExportFormat} from '../../src/mail-transfer/export.js'
import {importMail} from '../../src/mail-transfer/import.js'
import type {SourceItem} from '../../src/mail-transfer/items.js'
import {openSource} from '../../src/mail-transfer/source.js'
import type {MailboxStore} from '../../src/store/backend.js'
import {openStoreBackend} from '../../src/store/open.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

const dirs: string[] = []
afterAll(() => dirs.forEach((d) => rmSync(d, {recursive: true, force: true})))
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mbx-import-'))
  dirs.push(d)
  return d
}

const msg = (i: number, extra = ''): Buffer => Buffer.from(`Message-ID: <m${i}@example.com>\r\nSubject: message ${i}\r\n\r\nbody ${i}${extra}\r\n`)
const item = (folder: string, raw: Buffer, flags: string[] = [], internalDate?: number): SourceItem => ({kind: 'message', folder, raw, flags, ...(internalDate ? {internalDate} : {}), where: `test ${folder}`})

/** every folder of a user: name → [raw, flags sorted, internal date] in UID order */
async function contents(store: MailboxStore, user: string) {
  const out: Record<string, [string, string[], number][]> = {}
  for (const f of await store.mail.folders(user)) {
    if (!f.messages) continue
    out[f.name] = await Promise.all((await store.mail.messages(f.id)).map(async (m) => [(await store.mail.blob(m.blobId))!.toString('latin1'), [...m.flags].sort(), m.internalDate] as [string, string[], number]))
  }
  return out
}

function importCases(open: () => Promise<MailboxStore>) {
  let n = 0
  const withUser = async (quota = 0): Promise<{store: MailboxStore; user: string}> => {
    const store = await open()
    if (!(await store.directory.isLocalDomain('example.com'))) await store.directory.addDomain({record: {name: 'example.com', createdAt: Date.now()}, keys: []})
    const user = (await store.directory.addUser({address: `u${++n}@example.com`, passwordHash: '', quota})).address
    return {store, user}
  }

  it('makes folders as needed, commits in batches, and a rerun skips everything', async () => {
    const {store, user} = await withUser()
    const items = () => [
      ...Array.from({length: 25}, (_, i) => item('Lists/foo', msg(i), i % 2 ? ['\\Seen'] : [], Date.UTC(2010, 0, 1 + i))),
      item('Sent', msg(100), ['\\Seen', '$Forwarded']),
      item('INBOX', msg(101), ['\\Flagged', 'bad keyword(']),
    ]
    const first = await importMail(store, user, items(), {batchMessages: 10})
    expect(first).toMatchObject({imported: 27, duplicates: 0, refused: 0})
    expect(first.folders).toEqual([
      {name: 'Lists/foo', created: true, imported: 25, duplicates: 0},
      {name: 'Sent', created: false, imported: 1, duplicates: 0},
      {name: 'INBOX', created: false, imported: 1, duplicates: 0},
    ])
    const folders = await store.mail.folders(user)
    expect(folders.map((f) => f.name)).toContain('Lists/foo')
    expect(folders.find((f) => f.name === 'Sent')?.specialUse).toBe('\\Sent')
    const held = await contents(store, user)
    expect(held['Lists/foo']!.map((m) => m[0])).toEqual(Array.from({length: 25}, (_, i) => msg(i).toString('latin1')))
    expect(held['Lists/foo']![3]![2]).toBe(Date.UTC(2010, 0, 4))
    expect(held['INBOX']![0]![1]).toEqual(['\\Flagged'])
    expect(held['Sent']![0]![1]).toEqual(['$Forwarded', '\\Seen'])

    const again = await importMail(store, user, items(), {batchMessages: 10})
    expect(again).toMatchObject({imported: 0, duplicates: 27, refused: 0})
    expect(await contents(store, user)).toEqual(held)
  })

  it('imports a message the source holds twice twice, and a rerun skips both; an interrupted run is completed', async () => {
    const {store, user} = await withUser()
    const twice = [item('INBOX', msg(1)), item('INBOX', msg(1)), item('INBOX', msg(2))]
    expect(await importMail(store, user, twice)).toMatchObject({imported: 3})
    expect(await importMail(store, user, twice)).toMatchObject({imported: 0, duplicates: 3})

    // as if killed after the first commits: the first 7 of 20 are in
    const all = Array.from({length: 20}, (_, i) => item('Archive', msg(i, ' archived')))
    await importMail(store, user, all.slice(0, 7))
    expect(await importMail(store, user, all)).toMatchObject({imported: 13, duplicates: 7})
    expect((await contents(store, user))['Archive']!.map((m) => m[0])).toEqual(all.map((i) => (i as {raw: Buffer}).raw.toString('latin1')))
  })

  it('a message that differs in one byte is no duplicate', async () => {
    const {store, user} = await withUser()
    await importMail(store, user, [item('INBOX', msg(1))])
    const changed = Buffer.from(msg(1).toString().replace('body 1', 'body 2'))
    expect(await importMail(store, user, [item('INBOX', changed)])).toMatchObject({imported: 1, duplicates: 0})
  })

  it('over the quota: what fits is stored, the rest refused with the quota error, nothing in part', async () => {
    const size = msg(10).length
    const {store, user} = await withUser(size * 3 + 5)
    const summary = await importMail(store, user, Array.from({length: 6}, (_, i) => item('INBOX', msg(10 + i))), {batchMessages: 4})
    expect(summary).toMatchObject({imported: 3, refused: 3})
    expect(summary.refusals[0]!.reason).toMatch(/quota/i)
    expect((await store.mail.usage(user)).messages).toBe(3)
  })

  it('refusals of the source and bad folder names are reported, the rest imported', async () => {
    const {store, user} = await withUser()
    const summary = await importMail(store, user, [
      {kind: 'refused', folder: 'INBOX', where: 'x at byte 9', reason: 'truncated'},
      item('a//b', msg(1)),
      item('INBOX', msg(2)),
    ])
    expect(summary).toMatchObject({imported: 1, refused: 2})
    expect(summary.refusals.map((r) => r.reason)).toEqual(['truncated', expect.stringMatching(/invalid folder name/)])
  })

  for (const format of ['maildir', 'mbox'] as ExportFormat[]) {
    it(`export as ${format} then import into a new user: every message byte for byte, flags, internal dates`, async () => {
      const {store, user} = await withUser()
      const tricky = [
        'Subject: from lines\r\n\r\nFrom here\r\n>From there\r\n>>From everywhere\r\n',
        'Subject: blank end\r\n\r\nx\r\n\r\n\r\n',
        'Subject: bare LF\n\nmixed\r\nends\n',
        'Subject: no final line end\r\n\r\nlast',
        'Subject: header only\r\n',
      ]
      const raws = [...tricky, ...Array.from({length: 5}, (_, i) => msg(i).toString('latin1'))]
      const flagSets = [['\\Seen'], ['\\Answered', '\\Flagged', 'work'], ['\\Draft', '\\Deleted'], ['$Forwarded', '$Junk'], []]
      for (const [i, folder] of ['INBOX', 'Work/Café', 'Work/v1.2', 'Sent', 'INBOX'].entries()) {
        await store.mail.createFolder(user, folder).catch(() => undefined)
        const messages = raws.filter((_, j) => j % 5 === i).map((raw, j) => ({raw: Buffer.from(raw, 'latin1'), flags: flagSets[(i + j) % 5]!, internalDate: Date.UTC(2000 + i, j, 1, 2, 3, 4), analysis: analyzeMessage(Buffer.from(raw, 'latin1'))}))
        await store.mail.append({user, folder, messages})
      }
      const before = await contents(store, user)
      const dest = join(tempDir(), 'out')
      const exported = await exportMail(store, user, dest, {format})
      expect(exported.messages).toBe(raws.length)
      await expect(exportMail(store, user, dest, {format})).rejects.toThrow(/not empty/)
      const aFile = join(tempDir(), 'a-file')
      writeFileSync(aFile, '')
      await expect(exportMail(store, user, aFile, {format})).rejects.toThrow(/is not a directory: export into a new or empty directory/)

      const other = await withUser()
      const source = openSource(dest, {format: 'auto', variant: 'auto', maxSize: 1 << 20})
      expect(source.format).toBe(format)
      const summary = await importMail(other.store, other.user, source.items)
      expect(summary).toMatchObject({imported: raws.length, refused: 0})
      const after = await contents(other.store, other.user)
      // what cannot come back: a message without a final line end gets one in mbox; an LF-only one comes back CRLF
      const expected = structuredClone(before)
      for (const list of Object.values(expected)) {
        for (const m of list) {
          if (m[0] === 'Subject: no final line end\r\n\r\nlast' && format === 'mbox') m[0] += '\r\n'
        }
      }
      expect(after).toEqual(expected)
      // and again: all there already
      expect(await importMail(other.store, other.user, openSource(dest, {format: 'auto', variant: 'auto', maxSize: 1 << 20}).items)).toMatchObject({imported: 0, duplicates: raws.length})
    })
  }
}

describe('import and export on LMDB', () => {
  importCases(async () => openStoreBackend({dataDir: join(tempDir(), 'data'), create: true}))
})

describe.skipIf(skipWithoutPostgres)('import and export on PostgreSQL', () => {
  const server = usePostgres()
  importCases(async () => openStoreBackend({dataDir: tempDir(), store: await server().createSchema()}))
})
