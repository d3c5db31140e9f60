/**
 * mbsync (isync, the Debian package) against a real `serve`: a two-way sync of every folder of a
 * user into a local Maildir and back. The first run pulls everything (bytes checked against
 * what the server holds); then both sides change — local: a message marked seen, one deleted,
 * one written, a new folder; server: one flagged, one expunged — and the second run must carry
 * every change across. A third run finds nothing to do.
 *
 * mbsync always writes an `X-TUID` header into the messages it copies, whatever the server
 * supports (isync's sync.c adds it for every new message; it is how it finds them again when a
 * server does not answer APPENDUID). What this server must spare it is the fallback: with
 * UIDPLUS, mbsync never searches for its TUIDs (`UID FETCH … BODY.PEEK[HEADER.FIELDS (X-TUID)]`)
 * and never loses track of a message. The protocol trace (-Dn) is checked for that.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {mbsyncRemote, PASSWORD, PY_PRELUDE, python, run, smtpDeliver, snapshot, startSyncServer, subjectOf, tempDir, USER, type SnapshotMessage, type SyncServer} from './imap-sync-helpers.js'

const MBSYNC = 'mbsync'
const hasMbsync = onPath(MBSYNC)

let server: SyncServer
let home: string
let maildir: string

async function writeConfig(): Promise<void> {
  writeFileSync(
    join(home, '.mbsyncrc'),
    [
      ...(await mbsyncRemote(server.imap, USER, PASSWORD)),
      '',
      'MaildirStore local',
      `Path ${maildir}/`,
      `Inbox ${maildir}/INBOX`,
      'SubFolders Verbatim',
      '',
      'Channel mail',
      'Far :remote:',
      'Near :local:',
      'Patterns *',
      'Create Both',
      'Expunge Both',
      'SyncState *',
      '',
    ].join('\n'),
    {mode: 0o600},
  )
}

interface SyncRun {
  code: number
  output: string
}

/** `mbsync -a` with the network trace on (-Dn): commands sent and responses received */
async function mbsync(): Promise<SyncRun> {
  const r = await run(MBSYNC, ['-Dn', '-a'], {env: {HOME: home}, timeoutMs: 20_000})
  return {code: r.code, output: r.stdout + r.stderr}
}

/** no sign that mbsync had to fall back on its TUIDs, nor any error or warning except the expected cleartext one */
function expectCleanRun(r: SyncRun): void {
  expect(r.code, r.output).toBe(0)
  expect(r.output).not.toMatch(/HEADER\.FIELDS \(X-TUID\)/i)
  expect(r.output).not.toMatch(/lost track|TUID lost|TUID matched/i)
  const problems = r.output.split('\n').filter((l) => /error|warning|fail|unexpected/i.test(l) && !/Password is being sent in the clear/.test(l))
  expect(problems).toEqual([])
}

/** the commands mbsync sent, as [tag, command line] (pipelined ones are traced with an "(n in progress)" prefix) */
function commands(r: SyncRun): [string, string][] {
  return [...r.output.matchAll(/^(?:\(\d+ in progress\) )?>>> (\d+) (.*)$/gm)].map((m) => [m[1]!, m[2]!])
}

/** the tagged responses to the APPENDs in a trace */
function appendResponses(r: SyncRun): string[] {
  const tags = commands(r).filter(([, c]) => c.startsWith('APPEND ')).map(([tag]) => tag)
  return tags.map((tag) => new RegExp(`^${tag} (OK|NO|BAD) .*$`, 'm').exec(r.output)?.[0] ?? `${tag}: no response`)
}

interface LocalMessage {
  folder: string
  path: string
  /** file name without the :2,flags suffix */
  base: string
  flags: string
  raw: Buffer
}

/** every message file of a Maildir folder (new/ and cur/), sorted by subject */
function localMessages(folder: string): LocalMessage[] {
  const out: LocalMessage[] = []
  for (const sub of ['new', 'cur']) {
    const dir = join(maildir, folder, sub)
    if (!existsSync(dir)) continue
    for (const name of readdirSync(dir)) {
      const m = /^(.*?)(?::2,([A-Z]*))?$/.exec(name)!
      out.push({folder, path: join(dir, name), base: m[1]!, flags: m[2] ?? '', raw: readFileSync(join(dir, name))})
    }
  }
  return out.sort((a, b) => (subjectOf(a.raw) ?? '').localeCompare(subjectOf(b.raw) ?? ''))
}

const bySubject = (list: LocalMessage[], subject: string): LocalMessage => {
  const found = list.filter((m) => subjectOf(m.raw) === subject)
  expect(found.map((m) => m.path), subject).toHaveLength(1)
  return found[0]!
}

const TUID_LINE = /^X-TUID: [A-Za-z0-9+/]{12}\r?\n/m

/** the message with mbsync's one X-TUID line taken out of its header (it must be there exactly once, at the end of the header) */
function withoutTuid(raw: Buffer): string {
  const text = raw.toString('latin1')
  const end = /\r?\n(?=\r?\n)/.exec(text)!
  const header = text.slice(0, end.index + end[0].length)
  expect(header.match(/^X-TUID: /gm) ?? [], text).toHaveLength(1)
  expect(header, 'X-TUID is the last field').toMatch(/X-TUID: [A-Za-z0-9+/]{12}\r?\n$/)
  return text.replace(TUID_LINE, '')
}

const toLf = (raw: Buffer) => raw.toString('latin1').replace(/\r\n/g, '\n')
const toCrlf = (text: string) => text.replace(/\r?\n/g, '\r\n')
const subjects = (messages: SnapshotMessage[]) => messages.map((m) => subjectOf(m.raw))

/** every message of the server side equals its Maildir copy: CRLF → LF, plus the X-TUID line */
function expectSameMessages(remote: SnapshotMessage[], local: LocalMessage[]): void {
  expect(local.map((m) => subjectOf(m.raw)).sort()).toEqual(subjects(remote).sort())
  for (const r of remote) {
    const l = bySubject(local, subjectOf(r.raw)!)
    expect(withoutTuid(l.raw), subjectOf(r.raw)).toBe(toLf(r.raw))
  }
}

/** server flags as Maildir letters */
const maildirFlags = (flags: string[]) =>
  flags
    .map((f) => ({'\\Draft': 'D', '\\Flagged': 'F', '\\Answered': 'R', '\\Seen': 'S', '\\Deleted': 'T'})[f] ?? '')
    .sort()
    .join('')

const SMTP_ONE = 'From: Sender <sender@example.net>\r\nTo: alice@example.test\r\nSubject: smtp one\r\nMessage-ID: <smtp-one@example.net>\r\n\r\n.leading dot\r\n..two dots\r\nend\r\n'
const SMTP_TWO = 'From: Sender <sender@example.net>\r\nTo: alice@example.test\r\nSubject: smtp two\r\nMessage-ID: <smtp-two@example.net>\r\n\r\nsecond\r\n'

/** APPENDs the server-side messages; argv: imapPort user password */
const SEED_SCRIPT =
  PY_PRELUDE +
  String.raw`
M = connect()
def m(subject, body, extra=''):
    return ('From: Appender <appender@example.org>\r\nTo: alice@example.test\r\nSubject: %s\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n%s' % (subject, extra, body)).encode('utf-8')
ok(M.append('INBOX', None, None, m('appended three', 'Gr\u00fc\u00dfe aus K\u00f6ln \u2014 \u65e5\u672c\u8a9e\r\n')))
ok(M.append('INBOX', None, None, m('appended four', 'four\r\n')))
ok(M.append('Archive', r'(\Seen)', '"01-Feb-2024 10:00:00 +0000"', m('archived five', 'old news\r\n')))
ok(M.append('Archive', None, '"02-Feb-2024 10:00:00 +0000"', m('archived six', 'older news\r\n')))
M.logout()
print(json.dumps({}))
`

/** server-side changes: \Flagged on "appended three", "appended four" deleted and expunged; argv: imapPort user password */
const SERVER_CHANGES_SCRIPT =
  PY_PRELUDE +
  String.raw`
M = connect()
ok(M.select('INBOX'))
def find(subject):
    data = ok(M.uid('SEARCH', 'HEADER', 'Subject', '"%s"' % subject))
    uids = data[0].split()
    assert len(uids) == 1, (subject, uids)
    return uids[0].decode()
ok(M.uid('STORE', find('appended three'), '+FLAGS', r'(\Flagged)'))
ok(M.uid('STORE', find('appended four'), '+FLAGS', r'(\Deleted)'))
expunged = ok(M.expunge())
M.logout()
print(json.dumps({'expunged': [x.decode() for x in expunged]}))
`

const LOCAL_NEW = 'From: Near Side <near@example.test>\nTo: alice@example.test\nSubject: written locally\nMessage-ID: <local-1@example.test>\n\nLocal body\n.dot line\nÜmlaut\n'
const LOCAL_PROJECT = 'From: Near Side <near@example.test>\nTo: alice@example.test\nSubject: project plan\n\nStep 1\n'

let afterFirst: Record<string, SnapshotMessage[]>
let afterSecond: Record<string, SnapshotMessage[]>

beforeAll(async () => {
  requireInCi(hasMbsync, 'mbsync (isync) is needed on PATH')
  if (!hasMbsync) return
  server = await startSyncServer()
  const dir = tempDir('mbx-mbsync-')
  home = join(dir, 'home')
  maildir = join(dir, 'Mail')
  mkdirSync(home)
  mkdirSync(maildir)
  await writeConfig()
  await smtpDeliver(server.smtp, USER, [SMTP_ONE, SMTP_TWO])
  await python(SEED_SCRIPT, [server.imap, USER, PASSWORD])
})

afterAll(async () => {
  await server?.stop()
})

describe.skipIf(missingOutsideCi(hasMbsync))('mbsync (isync) ⇄ serve', () => {
  it('first sync pulls every folder and message into the Maildir, byte for byte', async () => {
    const r = await mbsync()
    expectCleanRun(r)
    expect(commands(r)[0]![1]).toBe('LOGIN <user> <pass>')

    afterFirst = await snapshot(server)
    expect(Object.keys(afterFirst).sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash'])
    expect(subjects(afterFirst.INBOX!)).toEqual(['smtp one', 'smtp two', 'appended three', 'appended four'])
    expect(subjects(afterFirst.Archive!)).toEqual(['archived five', 'archived six'])
    // mbsync only reads: nothing changed on the server, not even \Seen
    expect(afterFirst.INBOX!.map((m) => m.flags)).toEqual([[], [], [], []])

    for (const folder of ['Drafts', 'Junk', 'Sent', 'Trash']) {
      expect(existsSync(join(maildir, folder, 'cur')), folder).toBe(true)
      expect(localMessages(folder)).toEqual([])
    }
    const inbox = localMessages('INBOX')
    expectSameMessages(afterFirst.INBOX!, inbox)
    expect(inbox.map((m) => m.flags)).toEqual(['', '', '', ''])
    const archive = localMessages('Archive')
    expectSameMessages(afterFirst.Archive!, archive)
    expect(bySubject(archive, 'archived five').flags).toBe('S')
    expect(bySubject(archive, 'archived six').flags).toBe('')
    // the dot lines and the 8-bit body came through untouched
    expect(bySubject(inbox, 'smtp one').raw.toString()).toContain('\n\n.leading dot\n..two dots\nend\n')
    expect(bySubject(inbox, 'appended three').raw.toString()).toContain('\n\nGrüße aus Köln — 日本語\n')
  })

  it('second sync carries local and server changes both ways', async () => {
    // local: "smtp one" seen, "smtp two" deleted, a new message, a new folder with a message
    const inbox = localMessages('INBOX')
    const one = bySubject(inbox, 'smtp one')
    renameSync(one.path, join(maildir, 'INBOX', 'cur', `${one.base}:2,S`))
    rmSync(bySubject(inbox, 'smtp two').path)
    writeFileSync(join(maildir, 'INBOX', 'new', `1700000000.M1P1.near.test`), LOCAL_NEW)
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(maildir, 'Projects', sub), {recursive: true})
    writeFileSync(join(maildir, 'Projects', 'new', `1700000001.M2P1.near.test`), LOCAL_PROJECT)
    // server: "appended three" flagged, "appended four" expunged
    const changes = await python(SERVER_CHANGES_SCRIPT, [server.imap, USER, PASSWORD])
    expect(changes.expunged).toEqual(['4'])

    const r = await mbsync()
    expectCleanRun(r)
    // both new local messages went up with APPENDUID answers
    const appends = appendResponses(r)
    expect(appends).toHaveLength(2)
    for (const a of appends) expect(a).toMatch(/^\d+ OK \[APPENDUID \d+ \d+\] /)
    expect(commands(r).map(([, c]) => c)).toContain('CREATE "Projects"')

    afterSecond = await snapshot(server)
    expect(Object.keys(afterSecond).sort()).toEqual(['Archive', 'Drafts', 'INBOX', 'Junk', 'Projects', 'Sent', 'Trash'])
    const remote = afterSecond.INBOX!
    expect(subjects(remote)).toEqual(['smtp one', 'appended three', 'written locally'])
    expect(remote.map((m) => m.flags)).toEqual([['\\Seen'], ['\\Flagged'], []])
    // the messages that stayed kept their UIDs
    const uidOf = (list: SnapshotMessage[], s: string) => list.find((m) => subjectOf(m.raw) === s)!.uid
    expect(uidOf(remote, 'smtp one')).toBe(uidOf(afterFirst.INBOX!, 'smtp one'))
    expect(uidOf(remote, 'appended three')).toBe(uidOf(afterFirst.INBOX!, 'appended three'))
    // what mbsync stored is the local file, CRLF line ends, plus its X-TUID line
    const written = remote.find((m) => subjectOf(m.raw) === 'written locally')!
    expect(withoutTuid(written.raw)).toBe(Buffer.from(toCrlf(LOCAL_NEW)).toString('latin1'))
    expect(subjects(afterSecond.Projects!)).toEqual(['project plan'])
    expect(withoutTuid(afterSecond.Projects![0]!.raw)).toBe(toCrlf(LOCAL_PROJECT))
    expect(afterSecond.Archive).toEqual(afterFirst.Archive)

    // local: the server's flag arrived, the expunged message is gone, the new one is now synced
    const local = localMessages('INBOX')
    expect(local.map((m) => subjectOf(m.raw)).sort()).toEqual(['appended three', 'smtp one', 'written locally'])
    expect(bySubject(local, 'appended three').flags).toBe('F')
    expect(bySubject(local, 'smtp one').flags).toBe('S')
    expect(bySubject(local, 'written locally').base).toMatch(/^1700000000\.M1P1\.near\.test,U=\d+$/)
    expect(bySubject(local, 'written locally').raw.toString()).toBe(LOCAL_NEW)
    for (const m of remote) expect(bySubject(local, subjectOf(m.raw)!).flags, subjectOf(m.raw)).toBe(maildirFlags(m.flags))
    expect(localMessages('Projects').map((m) => m.base)).toEqual([expect.stringMatching(/,U=\d+$/)])
    expect(existsSync(join(maildir, 'Projects', '.mbsyncstate'))).toBe(true)
  })

  it('a third sync has nothing to do', async () => {
    const before = Object.fromEntries(['INBOX', 'Archive', 'Projects'].map((f) => [f, localMessages(f).map((m) => m.path)]))
    const r = await mbsync()
    expectCleanRun(r)
    const sent = commands(r).map(([, c]) => c)
    expect(sent.length).toBeGreaterThan(10)
    expect(sent.filter((c) => /^(APPEND|UID STORE|STORE|EXPUNGE|UID EXPUNGE|CREATE|DELETE|RENAME) /.test(c))).toEqual([])
    expect(await snapshot(server)).toEqual(afterSecond)
    for (const [folder, paths] of Object.entries(before)) expect(localMessages(folder).map((m) => m.path), folder).toEqual(paths)
  })
})
