/**
 * `mailbox import` / `mailbox export` against the real binary, with mail written by other
 * programs: an mbox by Python's `mailbox` module with tricky `From ` lines, a Maildir++ tree built
 * by hand as Dovecot keeps one (keywords file, mUTF-7 names, flags, mtimes), and a Maildir that
 * mbsync pulled from a running `mailbox` server. Bad input is reported per message with exit 1;
 * an import killed halfway is completed by a rerun without duplicates; an IDLE session of a
 * running server sees imported mail arrive.
 */
import {spawn, spawnSync} from 'node:child_process'
import {mkdirSync, readdirSync, utimesSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {mailboxCommand, runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {storeEnv} from '../helpers/backend.js'
import {withTestStore} from '../helpers/test-store.js'
import {addUser, cloneDataDir, ok} from './fixtures.js'
import {connectFlow, deliver, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {mbsyncRemote, python, run, tempDir} from './imap-sync-helpers.js'

const ALICE = 'alice@example.com'
const BOB = 'bob@example.com'
let template: string
beforeAll(async () => {
  template = tempDataDir()
  await ok(['domain', 'add', 'example.com'], template)
  await addUser(template, ALICE)
  await addUser(template, BOB)
})

/** name → [raw, flags sorted, internal date] in UID order, of the folders holding mail */
async function contents(dataDir: string, user: string): Promise<Record<string, {raw: string; flags: string[]; date: number}[]>> {
  return withTestStore(
    dataDir,
    async ({mail}) => {
      const out: Record<string, {raw: string; flags: string[]; date: number}[]> = {}
      for (const f of await mail.folders(user)) {
        if (!f.messages) continue
        // one read at a time: a PostgreSQL pool would time out tens of thousands of them at once
        const list: {raw: string; flags: string[]; date: number}[] = (out[f.name] = [])
        for (const m of await mail.messages(f.id)) list.push({raw: (await mail.blob(m.blobId))!.toString('latin1'), flags: [...m.flags].sort(), date: m.internalDate})
      }
      return out
    },
    {readOnly: true},
  )
}

describe('an mbox written by Python', () => {
  it('imports every message with the bodies Python wrote (read as mboxo), flags from Status, dates from the From_ line; a rerun skips all', async () => {
    const dataDir = await cloneDataDir(template)
    const dir = tempDir()
    const path = join(dir, 'py.mbox')
    const bodies = await python<string[]>(
      String.raw`
import mailbox, sys, json, email.message
mb = mailbox.mbox(sys.argv[1])
bodies = []
for i in range(4):
    m = email.message.EmailMessage()
    m['From'] = 'sender@example.net'
    m['Subject'] = 'tricky %d' % i
    m['Message-ID'] = '<tricky%d@example.net>' % i
    body = 'line\nFrom the start of a line\n>From quoted once\n>>From quoted twice\nFrom  two spaces\n\nFrom after a blank line\n' + 'x' * i + '\n'
    m.set_content(body)
    mm = mailbox.mboxMessage(m)
    mm.set_from('sender@example.net', (2019, 3, 4 + i, 5, 6, 7, 0, 0, 0))
    mm.set_flags('RA' if i == 1 else ('F' if i == 2 else ''))
    mb.add(mm)
    bodies.append(body)
mb.flush()
mb.close()
print(json.dumps(bodies))
`,
      [path],
    )
    const imported = await runJson(['import', ALICE, path, '--folder', 'From Python'], {dataDir})
    expect(imported).toMatchObject({imported: 4, duplicates: 0, refused: 0, format: 'mbox', variants: {[path]: 'mboxo'}})
    const held = (await contents(dataDir, ALICE))['From Python']!
    expect(held).toHaveLength(4)
    for (const [i, m] of held.entries()) {
      const body = m.raw.split('\r\n\r\n').slice(1).join('\r\n\r\n')
      // mboxo cannot tell an escaped "From " from a ">From " the author wrote: both read back as "From "
      expect(body).toBe(bodies[i]!.replace(/^>From /gm, 'From ').replace(/\n/g, '\r\n'))
      expect(m.raw).not.toMatch(/^(Status|X-Status):/im)
      expect(m.date).toBe(Date.UTC(2019, 2, 4 + i, 5, 6, 7))
    }
    expect(held.map((m) => m.flags)).toEqual([[], ['\\Answered', '\\Seen'], ['\\Flagged'], []])
    const again = await runJson(['import', ALICE, path, '--folder', 'From Python'], {dataDir})
    expect(again).toMatchObject({imported: 0, duplicates: 4, refused: 0})
  })
})

describe('a Maildir++ tree as Dovecot keeps it', () => {
  it('imports folders (. levels, modified UTF-7), flags, keywords from dovecot-keywords, mtimes as internal dates', async () => {
    const dataDir = await cloneDataDir(template)
    const root = join(tempDir(), 'Maildir')
    const folder = (name: string) => {
      for (const d of ['cur', 'new', 'tmp']) mkdirSync(join(root, name, d), {recursive: true})
      if (name) writeFileSync(join(root, name, 'maildirfolder'), '')
      return join(root, name)
    }
    /** as Dovecot names them: the file size in S=, the CRLF size in W= */
    const put = (dir: string, name: string, text: string, date: number) => {
      name = name.replace('{S}', `,S=${text.length},W=${text.length + text.split('\n').length - 1}`)
      writeFileSync(join(dir, name), text)
      utimesSync(join(dir, name), date / 1000, date / 1000)
    }
    const inbox = folder('')
    const sent = folder('.Sent')
    const lists = folder('.Lists.foo')
    const cafe = folder('.Caf&AOk-')
    writeFileSync(join(lists, 'dovecot-keywords'), '0 $Label1\n1 todo\n2 NonJunk\n')
    writeFileSync(join(root, 'dovecot-uidlist'), '3 V1 N1\n')
    writeFileSync(join(root, 'subscriptions'), 'V\t2\n\nSent\n')
    const t = (d: number) => Date.UTC(2020, 0, d, 12)
    put(join(inbox, 'new'), '1577880000.M1P1.host{S}', 'Subject: unread\n\nnew mail\n', t(1))
    put(join(inbox, 'cur'), '1577966400.M2P1.host{S}:2,RS', 'Subject: read\n\nanswered\n', t(2))
    put(join(sent, 'cur'), '1578052800.M3P1.host:2,PS', 'Subject: sent\n\nforwarded\n', t(3))
    put(join(lists, 'cur'), '1578139200.M4P1.host:2,FTac', 'Subject: list\n\nflagged, deleted, $Label1, NonJunk\n', t(4))
    put(join(lists, 'cur'), '1578225600.M5P1.host:2,Db', 'Subject: draft\n\ntodo\n', t(5))
    put(join(cafe, 'cur'), '1578312000.M6P1.host:2,', 'Subject: caf\n\n\n', t(6))
    const summary = await runJson(['import', ALICE, root], {dataDir})
    expect(summary).toMatchObject({imported: 6, refused: 0, format: 'maildir'})
    const held = await contents(dataDir, ALICE)
    const view = Object.fromEntries(Object.entries(held).map(([name, list]) => [name, list.map((m) => [m.raw.split('\r\n')[0], m.flags, m.date])]))
    expect(view).toEqual({
      INBOX: [
        ['Subject: unread', [], t(1)],
        ['Subject: read', ['\\Answered', '\\Seen'], t(2)],
      ],
      Sent: [['Subject: sent', ['$Forwarded', '\\Seen'], t(3)]],
      'Lists/foo': [
        ['Subject: list', ['$Label1', 'NonJunk', '\\Deleted', '\\Flagged'], t(4)],
        ['Subject: draft', ['\\Draft', 'todo'], t(5)],
      ],
      'Café': [['Subject: caf', [], t(6)]],
    })
    expect(held['INBOX']![0]!.raw).toBe('Subject: unread\r\n\r\nnew mail\r\n')
  })
})

describe('bad input', () => {
  it('is reported per message with its reason and exit 1; the good messages are stored whole, nothing in part', async () => {
    const dataDir = await cloneDataDir(template)
    const dir = tempDir()
    const mbox = join(dir, 'bad.mbox')
    const big = 'y'.repeat(5000)
    writeFileSync(
      mbox,
      `From a@b Mon Jan  1 00:00:00 2001\nSubject: good\n\nfine\n\nFrom a@b Mon Jan  1 00:00:00 2001\nSubject: big\n\n${big}\n\nFrom a@b Mon Jan  1 00:00:00 2001\n\x00\x01binary\n\nFrom a@b Mon Jan  1 00:00:00 2001\nSubject: cut\n\nthe disk filled up in the midd`,
    )
    const r = await runCli(['import', ALICE, mbox, '--max-size', '4K'], {dataDir})
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/imported 1 message\(s\).*0 skipped as already there, 3 refused/)
    expect(r.stdout).toMatch(/refused .*bad\.mbox at byte 55: over the size limit/)
    expect(r.stdout).toMatch(/refused .*bad\.mbox at byte \d+: not a message/)
    expect(r.stdout).toMatch(/refused .*bad\.mbox at byte \d+: truncated: the file ends inside this message/)
    expect(r.stderr).toBe('Error: 3 message(s) not imported (see above)\n')
    expect((await contents(dataDir, ALICE))['INBOX']!.map((m) => m.raw)).toEqual(['Subject: good\r\n\r\nfine\r\n'])

    const json = await runCli(['import', ALICE, mbox, '--max-size', '4K', '--json'], {dataDir})
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({imported: 0, duplicates: 1, refused: 3, refusals: [{reason: expect.stringMatching(/size limit/)}, {}, {}]})

    // a Maildir: a non-message file, a file cut short of the size its name states, a folder name that is no UTF-8
    const root = join(dir, 'md')
    for (const d of ['cur', 'new']) mkdirSync(join(root, d), {recursive: true})
    writeFileSync(join(root, 'cur', '1.a.h:2,S'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]))
    writeFileSync(join(root, 'cur', '2.b.h,S=400:2,S'), 'Subject: cut\n\n')
    writeFileSync(join(root, 'cur', '3.c.h:2,S'), 'Subject: whole\n\nyes\n')
    const bad = Buffer.concat([Buffer.from(`${root}/`), Buffer.from([0x2e, 0x4e, 0xe4, 0x6d, 0x65])])
    mkdirSync(bad)
    mkdirSync(Buffer.concat([bad, Buffer.from('/cur')]))
    const md = await runCli(['import', ALICE, root, '--folder', 'Old', '--json'], {dataDir})
    expect(md.code).toBe(1)
    const out = JSON.parse(md.stdout)
    expect(out).toMatchObject({imported: 1, refused: 3})
    expect(out.refusals.map((x: {reason: string}) => x.reason)).toEqual([
      'not a message (it does not start with a header field)',
      'truncated or changed: its name says 400 bytes, the file has 14',
      expect.stringMatching(/^folder name .* refused: /),
    ])
    expect((await contents(dataDir, ALICE))['Old']!.map((m) => m.raw)).toEqual(['Subject: whole\r\n\r\nyes\r\n'])
  })

  it('a file that is no mbox, a missing path, an unknown user: one error line, exit 1, nothing stored', async () => {
    const dataDir = await cloneDataDir(template)
    const dir = tempDir()
    writeFileSync(join(dir, 'notes.txt'), 'Dear diary,\n')
    for (const [args, pattern] of [
      [['import', ALICE, join(dir, 'notes.txt')], /^Error: .*notes\.txt is not an mbox file: it does not start with a "From " line\n$/],
      [['import', ALICE, join(dir, 'nothing')], /^Error: cannot read .*nothing: ENOENT\n$/],
      [['import', 'nobody@example.com', join(dir, 'notes.txt')], /^Error: no user nobody@example\.com\n$/],
      [['import', ALICE, dir], /^Error: .* holds no Maildir \(cur\/, new\/\) and no \*\.mbox files\n$/],
    ] as [string[], RegExp][]) {
      const r = await runCli(args, {dataDir})
      expect(r.code, r.stderr).toBe(1)
      expect(r.stderr).toMatch(pattern)
    }
    expect(await contents(dataDir, ALICE)).toEqual({})
  })
})

describe('export then import', () => {
  for (const format of ['maildir', 'mbox']) {
    it(`as ${format} into a new user: byte for byte, flags and internal dates kept`, async () => {
      const dataDir = await cloneDataDir(template)
      const dir = tempDir()
      const seed = join(dir, 'seed.mbox')
      const messages = Array.from({length: 12}, (_, i) => `From x@y Tue Feb  ${String(i + 1).padStart(2, ' ')} 10:00:00 2021\nSubject: m${i}\nStatus: ${i % 2 ? 'RO' : 'O'}\nX-Status: ${i % 3 ? 'F' : 'A'}\nX-Keywords: k${i % 4}\n\nbody\n>From quoted ${i}\n>>From twice\n`)
      writeFileSync(seed, messages.join('\n'))
      await runJson(['import', ALICE, seed, '--folder', 'Work/Q1'], {dataDir})
      await runJson(['import', ALICE, seed, '--folder', 'INBOX', '--mbox-variant', 'mboxrd'], {dataDir})
      const before = await contents(dataDir, ALICE)
      const dest = join(dir, 'out')
      const exported = await runJson(['export', ALICE, dest, '--format', format], {dataDir})
      expect(exported).toMatchObject({messages: 24, missing: []})
      const r = await runJson(['import', BOB, dest], {dataDir})
      expect(r).toMatchObject({imported: 24, refused: 0, format})
      expect(await contents(dataDir, BOB)).toEqual(before)
      expect(await runJson(['import', BOB, dest], {dataDir})).toMatchObject({imported: 0, duplicates: 24})
    })
  }
})

const hasPrlimit = onPath('prlimit')

describe('export on a full disk', () => {
  it.skipIf(missingOutsideCi(hasPrlimit))('fails (exit 1) and leaves no file under a final name that holds part of a message', async () => {
    requireInCi(hasPrlimit, 'prlimit (util-linux) is needed for this test')
    const dataDir = await cloneDataDir(template)
    const dir = tempDir()
    const seed = join(dir, 'seed.mbox')
    writeFileSync(seed, `From x@y Tue Feb  2 10:00:00 2021\nSubject: large\n\n${'z'.repeat(300_000)}\n`)
    await runJson(['import', ALICE, seed], {dataDir})
    const mailbox = mailboxCommand()
    const env = {...process.env, NO_COLOR: '1', ...mailbox.env, ...(await storeEnv(dataDir))}
    for (const format of ['mbox', 'maildir']) {
      const dest = join(dir, `out-${format}`)
      // a file size limit (EFBIG; Node ignores SIGXFSZ) cuts the message's one write short, as a disk filling up does
      const r = spawnSync('prlimit', ['--fsize=100000:', mailbox.file, ...mailbox.args, 'export', ALICE, dest, '--format', format, '--data-dir', dataDir], {env, encoding: 'utf8'})
      expect(r.status, r.stderr).toBe(1)
      expect(r.stderr).toMatch(/EFBIG|too large/i)
      if (format === 'mbox') expect(readdirSync(dest).filter((f) => f.endsWith('.mbox'))).toEqual([])
      else expect(readdirSync(join(dest, 'cur'))).toEqual([])
    }
  })
})

describe('an interrupted import', () => {
  it('killed after its first commits, then run again: every message once', async () => {
    const dataDir = await cloneDataDir(template)
    const path = join(tempDir(), 'many.mbox')
    const N = 30_000
    writeFileSync(path, Array.from({length: N}, (_, i) => `From a@b Mon Jan  1 00:00:00 2001\nMessage-ID: <n${i}@x>\nSubject: number ${i}\n\n${'text '.repeat(40)}\n`).join('\n'))
    const mailbox = mailboxCommand()
    const child = spawn(mailbox.file, [...mailbox.args, 'import', ALICE, path, '--data-dir', dataDir], {env: {...process.env, ...mailbox.env, ...(await storeEnv(dataDir))}, stdio: 'ignore'})
    const exited = new Promise((resolve) => child.on('exit', resolve))
    const inbox = () => withTestStore(dataDir, async ({mail}) => (await mail.folder(ALICE, 'INBOX'))!.messages, {readOnly: true})
    let seen = 0
    for (const start = Date.now(); Date.now() - start < 20_000 && !seen; ) {
      seen = await inbox()
      if (!seen) await new Promise((r) => setTimeout(r, 20))
    }
    child.kill('SIGKILL')
    await exited
    const before = await inbox()
    expect(before).toBeGreaterThan(0)
    expect(before, 'the import ended before it was killed: make N bigger').toBeLessThan(N)
    const r = await runJson(['import', ALICE, path], {dataDir})
    expect(r).toMatchObject({imported: N - before, duplicates: before, refused: 0})
    const subjects = (await contents(dataDir, ALICE))['INBOX']!.map((m) => /Subject: number (\d+)/.exec(m.raw)![1])
    expect(subjects).toEqual(Array.from({length: N}, (_, i) => String(i)))
  }, 120_000)
})

describe('with a running server', () => {
  let server: ImapServer
  beforeAll(async () => {
    server = await startImapServer()
  }, 30_000)
  afterAll(() => server?.stop())

  it('an IMAP IDLE session sees imported mail arrive', async () => {
    const alice = server.users[0]!
    const flow = await connectFlow(server, alice)
    try {
      await flow.mailboxOpen('INBOX')
      const events: {count: number}[] = []
      flow.on('exists', (e: {count: number}) => events.push(e))
      const idling = flow.idle()
      await new Promise((r) => setTimeout(r, 200))
      const path = join(tempDir(), 'live.mbox')
      writeFileSync(path, 'From a@b Mon Jan  1 00:00:00 2001\nSubject: live 1\n\none\n\nFrom a@b Mon Jan  1 00:00:00 2001\nSubject: live 2\n\ntwo\n')
      expect(await runJson(['import', alice.address, path], {dataDir: server.dataDir})).toMatchObject({imported: 2})
      for (const start = Date.now(); !events.length && Date.now() - start < 10_000; ) await new Promise((r) => setTimeout(r, 20))
      expect(events.at(-1)).toMatchObject({count: 2})
      void idling
      const last = await flow.fetchOne('*', {envelope: true})
      expect(last && last.envelope!.subject).toBe('live 2')
    } finally {
      await flow.logout().catch(() => {})
    }
  })
})

const hasMbsync = onPath('mbsync')

describe.skipIf(missingOutsideCi(hasMbsync))('a Maildir written by mbsync', () => {
  it('from a mailbox server, imported into another user: the same messages, bytes and flags', async () => {
    requireInCi(hasMbsync, 'mbsync (isync) is needed for this test')
    const server = await startImapServer()
    try {
      const [alice, bob] = server.users as [{address: string; password: string}, {address: string; password: string}]
      for (let i = 0; i < 5; i++) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `synced ${i}`}))
      const flow = await connectFlow(server, alice)
      await flow.mailboxCreate('Projects/2024')
      await flow.append('Projects/2024', simpleMessage({subject: 'appended'}), ['\\Flagged', 'todo'])
      await flow.messageFlagsAdd('1:2', ['\\Seen'])
      await flow.messageFlagsAdd('3', ['\\Answered'])
      await flow.logout()
      const home = tempDir()
      const maildir = join(home, 'Maildir')
      mkdirSync(maildir)
      writeFileSync(
        join(home, '.mbsyncrc'),
        [
          ...(await mbsyncRemote(server.ports.imap, alice.address, alice.password)),
          '',
          'MaildirStore local',
          `Inbox ${maildir}`,
          'SubFolders Maildir++',
          '',
          'Channel mail',
          'Far :remote:',
          'Near :local:',
          'Patterns *',
          'Create Near',
          'Sync Pull',
          'SyncState *',
          '',
        ].join('\n'),
        {mode: 0o600},
      )
      const r = await run('mbsync', ['-a'], {env: {HOME: home}, timeoutMs: 20_000})
      expect(r.code, r.stdout + r.stderr).toBe(0)
      expect(readdirSync(maildir)).toContain('.Projects.2024')
      const summary = await runJson(['import', bob.address, maildir], {dataDir: server.dataDir})
      expect(summary).toMatchObject({imported: 6, refused: 0})
      const [a, b] = [await contents(server.dataDir, alice.address), await contents(server.dataDir, bob.address)]
      const shape = (c: typeof a) => Object.fromEntries(Object.entries(c).map(([name, list]) => [name, list.map((m) => ({raw: m.raw, flags: m.flags.filter((f) => f !== 'todo')}))]))
      // mbsync adds its X-TUID field to every message it copies (see imap-mbsync.test.ts) and
      // keeps the standard flags only (no keywords); otherwise the bytes are the server's
      const tuids = Object.values(b).flatMap((list) => list.map((m) => m.raw.match(/^X-TUID: \S+\r\n/gm)?.length))
      expect(tuids).toEqual([1, 1, 1, 1, 1, 1])
      for (const list of Object.values(b)) for (const m of list) m.raw = m.raw.replace(/^X-TUID: \S+\r\n/m, '')
      expect(shape(b)).toEqual(shape(a))
    } finally {
      await server.stop()
    }
  }, 60_000)
})
