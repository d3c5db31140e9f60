/**
 * UTF8=ACCEPT (RFC 6855) on the wire: ENABLE UTF8=ACCEPT; from then on mailbox names go out as
 * UTF-8 quoted strings (LIST, LSUB, STATUS, SELECT's LIST of a rev2 session) and come in as UTF-8,
 * a name that looks like modified UTF-7 being taken as it is written; SEARCH with CHARSET is BAD
 * (§3), SORT with a charset other than UTF-8 too (erratum 4029); APPEND's `UTF8 (literal8)` (§4)
 * stores a message with raw UTF-8 header fields, whose ENVELOPE a UTF-8 session gets as UTF-8
 * quoted strings and a rev1 session as literals. A rev1 session on the same folders keeps
 * modified UTF-7, and NOTIFY's folder events follow the session's spelling. Python's imaplib (ENABLE UTF8=ACCEPT switches it to UTF-8 commands) lists,
 * creates and selects UTF-8 names.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {python, PY_PRELUDE} from './imap-sync-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const raw = new RawConnections()
let server: ImapServer

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
}, 30_000)

afterAll(async () => {
  raw.closeAll()
  await server?.stop()
})

/** a session of alice's, with UTF8=ACCEPT enabled or not */
const login = (utf8: boolean) => raw.login(server.ports.imap, alice, utf8 ? 'UTF8=ACCEPT' : undefined)

/** the message of RFC 6532 kind: UTF-8 in the header fields themselves */
const utf8Message = Buffer.from(
  ['From: Jörg Müller <joerg@example.test>', 'To: 李雷 <li@example.test>', 'Subject: Grüße aus 台北', 'Date: Mon, 1 Jan 2024 10:00:00 +0000', 'Message-ID: <utf8-1@example.test>', '', 'Hallo.', ''].join('\r\n'),
)

/** `tag APPEND folder UTF8 (~{n+}…)`: the RFC 6855 §4 form, with a LITERAL+ literal8 */
async function appendUtf8(c: Awaited<ReturnType<typeof login>>, folder: string, message: Buffer) {
  const tag = 'U' + Math.random().toString(36).slice(2, 8)
  c.write(Buffer.concat([Buffer.from(`${tag} APPEND ${folder} UTF8 (~{${message.length}+}\r\n`), message, Buffer.from(')\r\n')]))
  return c.tagged(tag)
}

describe('UTF8=ACCEPT', () => {
  it('is advertised and enabled (RFC 5161 ENABLED)', async () => {
    const c = await login(false)
    expect((await c.command('CAPABILITY')).untagged[0]!.split(' ')).toContain('UTF8=ACCEPT')
    expect((await c.command('ENABLE utf8=accept')).untagged).toEqual(['* ENABLED UTF8=ACCEPT'])
  })

  it('names: UTF-8 both ways after ENABLE; a rev1 session on the same folders keeps modified UTF-7', async () => {
    const rev1 = await login(false)
    expect((await rev1.command('CREATE "&ZeVnLIqe-"')).status).toBe('OK')
    const c = await login(true)
    expect((await c.command('CREATE "Grüße/台北"')).status).toBe('OK')
    // a name that looks like modified UTF-7 is a UTF-8 name as it is written (RFC 9051 §5.1)
    expect((await c.command('CREATE "&AOQ-"')).status).toBe('OK')
    const notSpecial = (lines: string[]) => lines.filter((l) => !/\\(Archive|Drafts|Junk|Sent|Trash)\)/.test(l))
    expect(notSpecial((await c.command('LIST "" "*"')).untagged)).toEqual([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren) "/" "&AOQ-"',
      '* LIST (\\HasChildren) "/" "Grüße"',
      '* LIST (\\HasNoChildren) "/" "Grüße/台北"',
      '* LIST (\\HasNoChildren) "/" "日本語"',
    ])
    expect(notSpecial((await rev1.command('LIST "" "*"')).untagged)).toEqual([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren) "/" "&-AOQ-"',
      '* LIST (\\HasChildren) "/" "Gr&APwA3w-e"',
      '* LIST (\\HasNoChildren) "/" "Gr&APwA3w-e/&U,BTFw-"',
      '* LIST (\\HasNoChildren) "/" "&ZeVnLIqe-"',
    ])
    // patterns, STATUS, SUBSCRIBE/LSUB, SELECT, RENAME: the same spelling everywhere
    expect((await c.command('LIST "Grüße/" "%"')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" "Grüße/台北"'])
    expect((await c.command('STATUS "日本語" (MESSAGES UIDNEXT)')).untagged).toEqual(['* STATUS "日本語" (MESSAGES 0 UIDNEXT 1)'])
    expect((await c.command('SUBSCRIBE "Grüße/台北"')).status).toBe('OK')
    expect((await c.command('LSUB "" "Grüße/*"')).untagged).toEqual(['* LSUB () "/" "Grüße/台北"'])
    expect((await rev1.command('LSUB "" "Gr&APwA3w-e/*"')).untagged).toEqual(['* LSUB () "/" "Gr&APwA3w-e/&U,BTFw-"'])
    expect((await c.command('SELECT "日本語"')).tagged).toMatch(/ OK \[READ-WRITE\] /)
    expect((await c.command('RENAME "日本語" "日本"')).status).toBe('OK')
    expect((await rev1.command('LIST "" "&ZeVnLA-"')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" "&ZeVnLA-"'])
    // a literal works too; what is not a valid UTF-8 name (controls, RFC 6855 §3; undecodable bytes) is NO
    expect((await c.command(Buffer.concat([Buffer.from('CREATE {3+}\r\n'), Buffer.from([0x61, 0x01, 0x62])]))).tagged).toMatch(/ NO \[CANNOT\] /)
    expect((await c.command(Buffer.concat([Buffer.from('CREATE "bad'), Buffer.from([0xff, 0xfe]), Buffer.from('"')]))).tagged).toMatch(/ NO \[CANNOT\] /)
    // and the rev1 session still refuses what is not modified UTF-7
    expect((await rev1.command('CREATE "&Jjo"')).tagged).toMatch(/ NO \[CANNOT\] /)
  })

  it("NOTIFY: a UTF-8 session's SUBTREE takes a UTF-8 name, and folder events come back in UTF-8 (OLDNAME too)", async () => {
    const c = await login(true)
    const rev1 = await login(false)
    expect((await rev1.command('CREATE "&BBwEOARA-"')).status).toBe('OK')
    expect((await c.command('NOTIFY SET (SUBTREE "Мир" (MailboxName))')).status).toBe('OK')
    const lists = async () => (await c.command('NOOP')).untagged.filter((l) => l.startsWith('* LIST'))
    expect((await rev1.command('CREATE "&BBwEOARA-/&BDQEPgQ8-"')).status).toBe('OK')
    expect(await lists()).toEqual(['* LIST (\\HasNoChildren) "/" "Мир/дом"'])
    expect((await rev1.command('RENAME "&BBwEOARA-/&BDQEPgQ8-" "&BBwEOARA-/&BDQEPgQ8BDgEOg-"')).status).toBe('OK')
    expect(await lists()).toEqual(['* LIST (\\HasNoChildren) "/" "Мир/домик" ("OLDNAME" ("Мир/дом"))'])
    expect((await c.command('NOTIFY NONE')).status).toBe('OK')
  })

  it('SEARCH with CHARSET is BAD after ENABLE (RFC 6855 §3); SORT with a charset other than UTF-8 too', async () => {
    const c = await login(true)
    expect((await c.append('INBOX', simpleMessage({subject: 'Grüße'}))).status).toBe('OK')
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await c.command('SEARCH CHARSET UTF-8 SUBJECT "Grüße"')).status).toBe('BAD')
    expect((await c.command('SEARCH SUBJECT "Grüße"')).untagged).toEqual(['* SEARCH 1'])
    expect((await c.command('SORT (SUBJECT) US-ASCII ALL')).status).toBe('BAD')
    expect((await c.command('SORT (SUBJECT) UTF-8 SUBJECT "Grüße"')).untagged).toEqual(['* SORT 1'])
    // a session without UTF8=ACCEPT still may name its charset
    const rev1 = await login(false)
    expect((await rev1.command('SELECT INBOX')).status).toBe('OK')
    expect((await rev1.command('SEARCH CHARSET UTF-8 SUBJECT "Grüße"')).untagged).toEqual(['* SEARCH 1'])
  })

  it("APPEND's UTF8 (literal8) stores raw UTF-8 header fields; ENVELOPE is UTF-8 quoted for a UTF-8 session, literals for rev1", async () => {
    const rev1 = await login(false)
    expect((await rev1.command('CREATE Intl')).status).toBe('OK')
    // not before ENABLE (RFC 6855 §4)
    expect((await appendUtf8(rev1, 'Intl', utf8Message)).status).toBe('BAD')
    const c = await login(true)
    const done = await appendUtf8(c, 'Intl', utf8Message)
    expect(done.tagged).toMatch(/ OK \[APPENDUID \d+ 1\] APPEND completed$/)
    // only a literal8 is UTF8 data
    expect((await c.command('APPEND Intl UTF8 ("x")')).status).toBe('BAD')
    expect((await c.command('SELECT Intl')).status).toBe('OK')
    expect((await c.command('FETCH 1 (ENVELOPE BODY.PEEK[HEADER.FIELDS (SUBJECT)])')).untagged).toEqual([
      '* 1 FETCH (ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" "Grüße aus 台北" (("Jörg Müller" NIL "joerg" "example.test")) (("Jörg Müller" NIL "joerg" "example.test")) (("Jörg Müller" NIL "joerg" "example.test")) (("李雷" NIL "li" "example.test")) NIL NIL NIL "<utf8-1@example.test>") BODY[HEADER.FIELDS (SUBJECT)] {31}\r\nSubject: Grüße aus 台北\r\n\r\n)',
    ])
    expect((await rev1.command('SELECT Intl')).status).toBe('OK')
    const old = (await rev1.command('FETCH 1 ENVELOPE')).untagged
    expect(old).toEqual([
      '* 1 FETCH (ENVELOPE ("Mon, 1 Jan 2024 10:00:00 +0000" {18}\r\nGrüße aus 台北 (({13}\r\nJörg Müller NIL "joerg" "example.test")) (({13}\r\nJörg Müller NIL "joerg" "example.test")) (({13}\r\nJörg Müller NIL "joerg" "example.test")) (({6}\r\n李雷 NIL "li" "example.test")) NIL NIL NIL "<utf8-1@example.test>"))',
    ])
  })

  it("Python's imaplib: ENABLE UTF8=ACCEPT, then CREATE, LIST and SELECT with UTF-8 names", async () => {
    const out = await python<{enabled: string; created: string; list: string[]; select: string}>(
      PY_PRELUDE +
        String.raw`
M = imaplib.IMAP4('127.0.0.1', PORT, timeout=15)
M.login(USER, PASS)
typ, data = M.enable('UTF8=ACCEPT')
out = {'enabled': typ}
out['created'] = M.create('"Ünïcode/мир"')[0]
out['list'] = [d.decode('utf-8') for d in M.list('""', '"Ünïcode/*"')[1]]
out['select'] = M.select('"Ünïcode/мир"')[0]
M.logout()
print(json.dumps(out))
`,
      [server.ports.imap, alice.address, alice.password],
    )
    expect(out).toEqual({enabled: 'OK', created: 'OK', list: ['(\\HasNoChildren) "/" "Ünïcode/мир"'], select: 'OK'})
  })
})
