/**
 * Python's imaplib against a real `serve`: login over plaintext (--allow-insecure-auth), IMAPS
 * and STARTTLS; CAPABILITY; folder commands (LIST, CREATE, RENAME, DELETE, STATUS); SELECT and
 * EXAMINE; literal APPEND with flags and a date; FETCH of every common item; SEARCH; STORE;
 * COPY; UID MOVE; EXPUNGE; CLOSE; and byte-exact round trips of awkward messages. Each scenario
 * is one Python script that asserts what it can and prints JSON for the rest.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {listMessages, showRaw} from './smtp-helpers.js'
import {PASSWORD, PY_PRELUDE, python, startSyncServer, USER, type SyncServer} from './imap-sync-helpers.js'

let server: SyncServer

beforeAll(async () => {
  server = await startSyncServer()
})

afterAll(async () => {
  await server?.stop()
})

/** argv: imapPort user password imapsPort */
const LOGIN_SCRIPT =
  PY_PRELUDE +
  String.raw`
import ssl, base64
IMAPS = int(sys.argv[4])
out = {}
ctx = ssl._create_unverified_context()

# plaintext, allowed by --allow-insecure-auth
M = imaplib.IMAP4('127.0.0.1', PORT, timeout=15)
out['greeting'] = M.welcome.decode()
out['preCaps'] = list(M.capabilities)
try:
    M.login(USER, 'wrong password')
    out['badLogin'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['badLogin'] = str(e)
out['state'] = M.state
typ, data = M.login(USER, PASS)
out['login'] = [typ, data[0].decode()]
out['postCaps'] = ok(M.capability())[0].decode().split()
out['noop'] = M.noop()[0]
typ, data = M.logout()
out['logout'] = [typ, data[0].decode()]

# implicit TLS
S = imaplib.IMAP4_SSL('127.0.0.1', IMAPS, ssl_context=ctx, timeout=15)
out['sslVersion'] = S.sock.version()
out['sslCaps'] = list(S.capabilities)
try:
    S._simple_command('STARTTLS')
    out['starttlsOnImaps'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['starttlsOnImaps'] = str(e)
# AUTHENTICATE PLAIN (imaplib sends the response after the "+" challenge)
typ, data = S.authenticate('PLAIN', lambda _: ('\0%s\0%s' % (USER, PASS)).encode())
out['sslAuth'] = [typ, data[0].decode()]
out['sslSelect'] = ok(S.select('INBOX'))[0].decode()
S.logout()

# STARTTLS on the plain port
T = imaplib.IMAP4('127.0.0.1', PORT, timeout=15)
typ, data = T.starttls(ssl_context=ctx)
out['starttls'] = [typ, data[0].decode() if data[0] else None]
out['tlsVersion'] = T.sock.version()
out['tlsCaps'] = list(T.capabilities)
typ, data = T.login(USER, PASS)
out['tlsLogin'] = typ
out['tlsList'] = [l.decode() for l in ok(T.list())]
T.logout()
print(json.dumps(out))
`

/** argv: imapPort user password */
const FOLDERS_SCRIPT =
  PY_PRELUDE +
  String.raw`
out = {}
M = connect()
out['list'] = [l.decode() for l in ok(M.list())]
out['delimiter'] = [l.decode() for l in ok(M.list('""', '""'))]
# an empty reference written as nothing at all (LIST  "") is a syntax error: a tagged BAD, not a hang
try:
    M.list('', '""')
    out['emptyReference'] = 'accepted'
except imaplib.IMAP4.error as e:
    out['emptyReference'] = str(e)
out['afterBad'] = M.noop()[0]
out['create'] = M.create('Projects/2024')[0]
out['createExisting'] = M.create('Projects/2024')
out['createExisting'] = [out['createExisting'][0], out['createExisting'][1][0].decode()]
out['createUnicode'] = M.create('"R&AOk-sum&AOk-s"')[0]  # "Résumés" in modified UTF-7
out['listProjects'] = [l.decode() for l in ok(M.list('""', 'Projects*'))]
out['listPercent'] = [l.decode() for l in ok(M.list('""', '%'))]
out['rename'] = M.rename('Projects/2024', 'Projects/2025')[0]
out['afterRename'] = [l.decode() for l in ok(M.list('Projects/', '*'))]
out['status'] = ok(M.status('Projects/2025', '(MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)'))[0].decode()
out['statusMissing'] = M.status('Nope', '(MESSAGES)')[0]
out['selectMissing'] = M.select('Nope')[0]
out['delete'] = M.delete('Projects/2025')[0]
out['deleteUnicode'] = M.delete('"R&AOk-sum&AOk-s"')[0]
out['deleteMissing'] = M.delete('Projects/2025')[0]
out['final'] = [l.decode() for l in ok(M.list('""', '*'))]
M.logout()
print(json.dumps(out))
`

/**
 * The message scenario: APPEND into a fresh folder, then every reading and changing command.
 * argv: imapPort user password
 */
const MESSAGES_SCRIPT =
  PY_PRELUDE +
  String.raw`
import datetime
out = {}
M = connect()
ok(M.create('Work'))
ok(M.create('Work/Done'))

def msg(subject, frm, mid, body, extra=''):
    return ('From: %s\r\nTo: Alice <alice@example.test>\r\nSubject: %s\r\nMessage-ID: <%s>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n%sMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s' % (frm, subject, mid, extra, body)).encode('utf-8')

tz2 = datetime.timezone(datetime.timedelta(hours=2))
msgs = [
    # (bytes, flags, date)
    (msg('Quarterly report', 'Bob Builder <bob@example.net>', 'q1@example.net', 'Numbers are up.\r\n'), r'(\Seen)', datetime.datetime(2023, 5, 6, 7, 8, 9, tzinfo=tz2)),
    (msg('Lunch?', 'Carol <carol@example.org>', 'lunch@example.org', 'Pizza at noon.\r\n'), r'(\Flagged $Important)', datetime.datetime(2024, 2, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)),
    (msg('=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?=', 'Dora <dora@example.org>', 'gruss@example.org', 'Viele Gr\u00fc\u00dfe.\r\n'), None, datetime.datetime(2024, 3, 1, 8, 30, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=-5)))),
    (msg('Re: Quarterly report', 'Bob Builder <bob@example.net>', 'q2@example.net', 'Indeed.\r\n', 'In-Reply-To: <q1@example.net>\r\n'), r'(\Answered)', datetime.datetime(2024, 4, 1, 0, 0, 0, tzinfo=datetime.timezone.utc)),
]
out['append'] = []
for raw, flags, date in msgs:
    typ, data = M.append('Work', flags, imaplib.Time2Internaldate(date), raw)
    out['append'].append([typ, data[0].decode()])

typ, data = M.select('Work')
out['select'] = [typ, data[0].decode()]
out['selectUntagged'] = {k: [x.decode() if isinstance(x, bytes) else x for x in v] for k, v in M.untagged_responses.items()}
out['selectState'] = M.state

# FETCH, one message at a time so the literal parts are easy to match
def fetch1(seq, items, uid=False):
    typ, data = (M.uid('FETCH', seq, items) if uid else M.fetch(seq, items))
    assert typ == 'OK', data
    return data

data = fetch1('1', '(RFC822.SIZE INTERNALDATE FLAGS UID)')
out['fetchMeta'] = data[0].decode()
sizes = []
for i in range(1, 5):
    d = fetch1(str(i), '(RFC822.SIZE INTERNALDATE)')[0].decode()
    size = int(re.search(r'RFC822.SIZE (\d+)', d).group(1))
    idate = re.search(r'INTERNALDATE "([^"]+)"', d).group(1)
    parsed = datetime.datetime.strptime(idate, '%d-%b-%Y %H:%M:%S %z')
    sizes.append({'size': size, 'expected': len(msgs[i - 1][0]), 'internaldate': idate, 'sameInstant': parsed == msgs[i - 1][2]})
out['sizes'] = sizes

data = fetch1('2', '(RFC822)')
out['rfc822Exact'] = data[0][1] == msgs[1][0]
out['rfc822Label'] = data[0][0].decode()
out['flagsAfterRfc822'] = fetch1('2', '(FLAGS)')[0].decode()

data = fetch1('4', '(BODY.PEEK[HEADER] BODY.PEEK[TEXT])')
hdr = msgs[3][0].split(b'\r\n\r\n', 1)[0] + b'\r\n\r\n'
out['headerExact'] = data[0][1] == hdr
out['peekText'] = data[1][1].decode()
out['flagsAfterPeek'] = fetch1('4', '(FLAGS)')[0].decode()
data = fetch1('4', '(BODY[TEXT])')
out['bodyText'] = data[0][1].decode()
out['flagsAfterBodyText'] = [x.decode() if isinstance(x, bytes) else x[0].decode() for x in data]

out['envelope'] = fetch1('4', '(ENVELOPE)')[0].decode()
out['bodystructure'] = fetch1('1', '(BODYSTRUCTURE)')[0].decode()

# UID FETCH: the answer carries the UID even when not asked for
typ, data = M.uid('SEARCH', None, 'ALL')
uids = [int(u) for u in data[0].split()]
out['uids'] = uids
out['uidFetch'] = [x.decode() for x in fetch1('%d:%d' % (uids[1], uids[2]), '(FLAGS)', uid=True)]

# SEARCH
def search(*criteria, charset=None):
    typ, data = M.search(charset, *criteria)
    assert typ == 'OK', data
    return [int(n) for n in data[0].split()]

def usearch(*criteria):
    typ, data = M.uid('SEARCH', *criteria)
    assert typ == 'OK', data
    return [int(n) for n in data[0].split()]

s = {}
s['all'] = search('ALL')
s['unseen'] = search('UNSEEN')
s['seen'] = search('SEEN')
s['from'] = search('FROM', 'bob@example.net')
s['fromName'] = search('FROM', '"Bob Builder"')
s['subject'] = search('SUBJECT', 'quarterly')
s['headerMessageId'] = search('HEADER', 'Message-ID', '<lunch@example.org>')
s['headerInReplyTo'] = search('HEADER', 'In-Reply-To', 'q1@example.net')
s['since'] = search('SINCE', '1-Feb-2024')
s['before'] = search('BEFORE', '1-Feb-2024')
s['on'] = search('ON', '01-Mar-2024')
s['notDeleted'] = search('NOT', 'DELETED')
s['or'] = search('OR', 'FLAGGED', 'ANSWERED')
s['orNested'] = search('OR', '(FROM carol SINCE 1-Jan-2024)', 'SUBJECT "Re:"')
s['keyword'] = search('KEYWORD', '$Important')
s['uidRange'] = search('UID', '%d:%d' % (uids[1], uids[2]))
s['uidSearchRange'] = usearch('UID', '%d:*' % uids[2])
s['body'] = search('BODY', 'pizza')
s['text'] = search('TEXT', 'carol@example.org')
M.literal = 'gr\u00fc\u00dfe'.encode('utf-8')
s['charsetLiteral'] = search('SUBJECT', charset='UTF-8')
M.literal = 'Gr\u00fc\u00dfe'.encode('utf-8')
s['charsetBodyLiteral'] = search('BODY', charset='UTF-8')
typ, data = M._simple_command('SEARCH', 'CHARSET', 'KOI8-R', 'ALL')
s['badCharset'] = [typ, data[0].decode()]
out['search'] = s

# STORE
st = {}
st['add'] = [x.decode() for x in ok(M.store('3', '+FLAGS', r'(\Seen \Flagged)'))]
st['remove'] = [x.decode() for x in ok(M.store('2', '-FLAGS', r'(\Flagged)'))]
st['replace'] = [x.decode() for x in ok(M.store('1', 'FLAGS', r'(\Answered $Done)'))]
st['silent'] = ok(M.store('4', '+FLAGS.SILENT', r'(\Deleted)'))
st['uidStore'] = [x.decode() for x in ok(M.uid('STORE', str(uids[0]), '+FLAGS', r'(\Seen)'))]
st['flags'] = [x.decode() for x in ok(M.fetch('1:4', '(FLAGS)'))]
st['notDeleted'] = search('NOT', 'DELETED')
st['deleted'] = search('DELETED')
st['unseenOrDeleted'] = search('OR', 'UNSEEN', 'DELETED')
out['store'] = st

# COPY with COPYUID, UID MOVE with an untagged COPYUID and EXPUNGE
typ, data = M.copy('1:2', 'Work/Done')
out['copy'] = [typ, data[0].decode()]
typ, data = M.uid('MOVE', str(uids[2]), 'Work/Done')
out['move'] = [typ, data[0].decode() if data[0] else None]
out['moveExpunge'] = [x.decode() for x in M.untagged_responses.pop('EXPUNGE', [])]
out['moveOk'] = [x.decode() for x in M.untagged_responses.pop('OK', []) if x]
out['afterMove'] = [x.decode() for x in ok(M.fetch('1:*', '(UID FLAGS)'))]
out['copyToMissing'] = M.copy('1', 'Nowhere')
out['copyToMissing'] = [out['copyToMissing'][0], out['copyToMissing'][1][0].decode()]

# EXPUNGE returns the expunged sequence numbers (message 3 is the old 4, \Deleted)
ok(M.store('1', '+FLAGS', r'(\Deleted)'))
out['expunge'] = [x.decode() for x in ok(M.expunge())]
out['afterExpunge'] = [x.decode() for x in ok(M.fetch('1:*', '(UID)'))]

# CLOSE expunges silently; EXAMINE is read-only
ok(M.store('1', '+FLAGS', r'(\Deleted)'))
typ, data = M.close()
out['close'] = typ
out['stateAfterClose'] = M.state
typ, data = M.select('Work/Done', readonly=True)
out['examine'] = [typ, data[0].decode()]
out['examineUntagged'] = {k: [x.decode() if isinstance(x, bytes) else x for x in v] for k, v in M.untagged_responses.items()}
out['examineStore'] = M.store('1', '+FLAGS', r'(\Deleted)')[0]
out['doneSubjects'] = [x[1].decode().strip() for x in ok(M.fetch('1:*', '(BODY.PEEK[HEADER.FIELDS (SUBJECT)])')) if isinstance(x, tuple)]
out['doneFlags'] = [x.decode() for x in ok(M.fetch('1:*', '(FLAGS)'))]
M.close()
out['statusWork'] = ok(M.status('Work', '(MESSAGES UNSEEN UIDNEXT)'))[0].decode()
out['statusDone'] = ok(M.status('Work/Done', '(MESSAGES UNSEEN RECENT)'))[0].decode()
typ, data = M.logout()
out['logout'] = typ
print(json.dumps(out))
`

/**
 * Awkward messages APPENDed and read back with FETCH BODY[]: every byte must come back.
 * argv: imapPort user password
 */
const EXACT_SCRIPT =
  PY_PRELUDE +
  String.raw`
out = {}
M = connect()
dots = (b'From: dots@example.net\r\nTo: alice@example.test\r\nSubject: dots\r\n\r\n'
        b'.\r\n..\r\n.leading dot\r\n..two dots\r\n. \r\nmiddle . dot\r\n.\r\n')
eight = ('From: J\u00fcrgen M\u00fcller <jm@example.de>\r\n'
         'To: \u00c5sa <asa@example.se>\r\n'
         'Subject: Gr\u00fc\u00dfe \u2014 \u65e5\u672c\u8a9e \U0001F600\r\n'
         'X-Folded: first line\r\n'
         '\tsecond line \u00e9\r\n'
         'MIME-Version: 1.0\r\n'
         'Content-Type: text/plain; charset=utf-8\r\n'
         'Content-Transfer-Encoding: 8bit\r\n'
         '\r\n'
         'K\u00f6rper mit Umlauten: \u00e4\u00f6\u00fc\r\n'
         '.dot and \u00fc\r\n'
         'no newline at the end').encode('utf-8')
binaryish = b'From: x@example.net\r\nSubject: latin1\r\n\r\n\xe9t\xe9 \xff\xfe and a tab\there\r\n'
out['results'] = []
for name, raw in [('dots', dots), ('eight', eight), ('binaryish', binaryish)]:
    typ, data = M.append('INBOX', None, None, raw)
    assert typ == 'OK', data
    uid = int(re.search(rb'APPENDUID \d+ (\d+)', data[0]).group(1))
    ok(M.select('INBOX'))
    typ, data = M.uid('FETCH', str(uid), '(RFC822.SIZE BODY.PEEK[])')
    assert typ == 'OK', data
    head, body = data[0]
    size = int(re.search(rb'RFC822.SIZE (\d+)', head).group(1))
    typ, data = M.uid('FETCH', str(uid), '(BODY.PEEK[HEADER] BODY.PEEK[TEXT])')
    header, text = data[0][1], data[1][1]
    out['results'].append({'name': name, 'uid': uid, 'exact': body == raw, 'size': size, 'len': len(raw),
                           'splitExact': header + text == raw, 'got': base64.b64encode(body).decode()})
M.literal = '\U0001F600'.encode('utf-8')
typ, data = M.uid('SEARCH', 'CHARSET', 'UTF-8', 'SUBJECT')
out['emojiSearch'] = data[0].decode()
M.logout()
print(json.dumps(out))
`

const args = () => [server.imap, USER, PASSWORD]

describe('python imaplib → serve', () => {
  it('logs in over plaintext (allowed), IMAPS and STARTTLS; CAPABILITY before and after', async () => {
    const r = await python(LOGIN_SCRIPT, [...args(), server.imaps])
    expect(r.greeting).toMatch(/^\* OK \[CAPABILITY IMAP4rev1 .*\] .* IMAP ready$/)
    for (const c of ['IMAP4REV1', 'STARTTLS', 'AUTH=PLAIN', 'AUTH=LOGIN', 'UIDPLUS', 'MOVE', 'IDLE', 'LITERAL+', 'SPECIAL-USE']) expect(r.preCaps).toContain(c)
    expect(r.preCaps).not.toContain('LOGINDISABLED')
    expect(r.badLogin).toMatch(/AUTHENTICATIONFAILED/)
    expect(r.state).toBe('NONAUTH')
    expect(r.login[0]).toBe('OK')
    expect(r.login[1]).toMatch(/^\[CAPABILITY IMAP4rev1 .*\] Logged in$/)
    expect(r.postCaps).toContain('IMAP4rev1')
    expect(r.postCaps).toContain('UIDPLUS')
    expect(r.postCaps.filter((c: string) => /^(AUTH=|STARTTLS|LOGINDISABLED)/.test(c))).toEqual([])
    expect(r.noop).toBe('OK')
    expect(r.logout[0]).toBe('BYE')

    expect(r.sslVersion).toMatch(/^TLSv1\.[23]$/)
    expect(r.sslCaps).not.toContain('STARTTLS')
    expect(r.sslCaps).toContain('AUTH=PLAIN')
    expect(r.starttlsOnImaps).toMatch(/BAD.*TLS is already active/)
    expect(r.sslAuth[0]).toBe('OK')
    expect(r.sslAuth[1]).toMatch(/Logged in$/)
    expect(r.sslSelect).toMatch(/^\d+$/)

    expect(r.starttls[0]).toBe('OK')
    expect(r.tlsVersion).toMatch(/^TLSv1\.[23]$/)
    expect(r.tlsCaps).not.toContain('STARTTLS')
    expect(r.tlsCaps).toContain('AUTH=PLAIN')
    expect(r.tlsLogin).toBe('OK')
    expect(r.tlsList).toContain('(\\HasNoChildren) "/" "INBOX"')
  })

  it('LIST, CREATE (nested, modified UTF-7), RENAME, STATUS, DELETE', async () => {
    const r = await python(FOLDERS_SCRIPT, args())
    expect(r.list).toEqual([
      '(\\HasNoChildren) "/" "INBOX"',
      '(\\HasNoChildren \\Archive) "/" "Archive"',
      '(\\HasNoChildren \\Drafts) "/" "Drafts"',
      '(\\HasNoChildren \\Junk) "/" "Junk"',
      '(\\HasNoChildren \\Sent) "/" "Sent"',
      '(\\HasNoChildren \\Trash) "/" "Trash"',
    ])
    expect(r.delimiter).toEqual(['(\\Noselect) "/" ""'])
    expect(r.emptyReference).toMatch(/^LIST command error: BAD /)
    expect(r.afterBad).toBe('OK')
    expect(r.create).toBe('OK')
    expect(r.createExisting[0]).toBe('NO')
    expect(r.createExisting[1]).toMatch(/^\[ALREADYEXISTS\] /)
    expect(r.createUnicode).toBe('OK')
    expect(r.listProjects).toEqual(['(\\HasChildren) "/" "Projects"', '(\\HasNoChildren) "/" "Projects/2024"'])
    expect(r.listPercent).toContain('(\\HasChildren) "/" "Projects"')
    expect(r.listPercent).toContain('(\\HasNoChildren) "/" "R&AOk-sum&AOk-s"')
    expect(r.listPercent.some((l: string) => l.includes('Projects/2024'))).toBe(false)
    expect(r.rename).toBe('OK')
    expect(r.afterRename).toEqual(['(\\HasNoChildren) "/" "Projects/2025"'])
    expect(r.status).toMatch(/^"Projects\/2025" \(MESSAGES 0 RECENT 0 UIDNEXT 1 UIDVALIDITY \d+ UNSEEN 0\)$/)
    expect(r.statusMissing).toBe('NO')
    expect(r.selectMissing).toBe('NO')
    expect(r.delete).toBe('OK')
    expect(r.deleteUnicode).toBe('OK')
    expect(r.deleteMissing).toBe('NO')
    // the parent created on the way stays; the deleted folders are gone
    expect(r.final).toContain('(\\HasNoChildren) "/" "Projects"')
    expect(r.final.some((l: string) => /2024|2025|R&AOk/.test(l))).toBe(false)
  })

  it('APPEND, SELECT/EXAMINE, FETCH, SEARCH, STORE, COPY, UID MOVE, EXPUNGE, CLOSE, STATUS', async () => {
    const r = await python(MESSAGES_SCRIPT, args())

    // APPEND: APPENDUID with one UIDVALIDITY and ascending UIDs from 1
    expect(r.append.map((a: string[]) => a[0])).toEqual(['OK', 'OK', 'OK', 'OK'])
    const appendUids = r.append.map((a: string[]) => /^\[APPENDUID (\d+) (\d+)\] /.exec(a[1])!)
    const uidValidity = appendUids[0][1]
    expect(appendUids.map((m: string[]) => m[1])).toEqual([uidValidity, uidValidity, uidValidity, uidValidity])
    expect(appendUids.map((m: string[]) => Number(m[2]))).toEqual([1, 2, 3, 4])

    // SELECT: EXISTS, RECENT, UIDVALIDITY, UIDNEXT, FLAGS, PERMANENTFLAGS, UNSEEN untagged
    expect(r.select).toEqual(['OK', '4'])
    expect(r.selectState).toBe('SELECTED')
    const u = r.selectUntagged
    expect(u.EXISTS).toEqual(['4'])
    expect(u.RECENT).toEqual(['4'])
    expect(u.UIDVALIDITY).toEqual([uidValidity])
    expect(u.UIDNEXT).toEqual(['5'])
    expect(u.UNSEEN).toEqual(['2'])
    expect(u.FLAGS[0]).toMatch(/^\(\\Answered \\Flagged \\Deleted \\Seen \\Draft .*\$Important.*\)$/)
    expect(u.PERMANENTFLAGS[0]).toContain('\\*')
    expect(u['READ-WRITE']).toEqual([''])

    // FETCH
    expect(r.fetchMeta).toBe(`1 (RFC822.SIZE ${r.sizes[0].expected} INTERNALDATE "06-May-2023 05:08:09 +0000" FLAGS (\\Seen \\Recent) UID 1)`)
    for (const s of r.sizes) {
      expect(s.size).toBe(s.expected)
      expect(s.sameInstant, s.internaldate).toBe(true)
    }
    expect(r.sizes.map((s: {internaldate: string}) => s.internaldate)).toEqual([
      '06-May-2023 05:08:09 +0000',
      '01-Feb-2024 12:00:00 +0000',
      '01-Mar-2024 13:30:00 +0000',
      '01-Apr-2024 00:00:00 +0000',
    ])
    expect(r.rfc822Exact).toBe(true)
    expect(r.rfc822Label).toMatch(/^2 \(RFC822 \{\d+\}$/)
    // RFC822 (not .PEEK) sets \Seen
    expect(r.flagsAfterRfc822).toBe('2 (FLAGS (\\Flagged $Important \\Seen \\Recent))')
    expect(r.headerExact).toBe(true)
    expect(r.peekText).toBe('Indeed.\r\n')
    expect(r.flagsAfterPeek).toBe('4 (FLAGS (\\Answered \\Recent))')
    expect(r.bodyText).toBe('Indeed.\r\n')
    // BODY[TEXT] sets \Seen and the new flags come with the data
    expect(r.flagsAfterBodyText.join('')).toMatch(/FLAGS \(\\Answered \\Seen \\Recent\)\)$/)
    expect(r.envelope).toBe(
      '4 (ENVELOPE ("Mon, 01 Jan 2024 10:00:00 +0000" "Re: Quarterly report" (("Bob Builder" NIL "bob" "example.net")) (("Bob Builder" NIL "bob" "example.net")) (("Bob Builder" NIL "bob" "example.net")) (("Alice" NIL "alice" "example.test")) NIL NIL "<q1@example.net>" "<q2@example.net>"))',
    )
    expect(r.bodystructure).toBe('1 (BODYSTRUCTURE ("TEXT" "PLAIN" ("CHARSET" "utf-8") NIL NIL "7BIT" 17 1 NIL NIL NIL NIL))')
    expect(r.uids).toEqual([1, 2, 3, 4])
    expect(r.uidFetch).toEqual(['2 (UID 2 FLAGS (\\Flagged $Important \\Seen \\Recent))', '3 (UID 3 FLAGS (\\Recent))'])

    // SEARCH
    const s = r.search
    expect(s.all).toEqual([1, 2, 3, 4])
    expect(s.unseen).toEqual([3])
    expect(s.seen).toEqual([1, 2, 4])
    expect(s.from).toEqual([1, 4])
    expect(s.fromName).toEqual([1, 4])
    expect(s.subject).toEqual([1, 4])
    expect(s.headerMessageId).toEqual([2])
    expect(s.headerInReplyTo).toEqual([4])
    expect(s.since).toEqual([2, 3, 4])
    expect(s.before).toEqual([1])
    expect(s.on).toEqual([3])
    expect(s.notDeleted).toEqual([1, 2, 3, 4])
    expect(s.or).toEqual([2, 4])
    expect(s.orNested).toEqual([2, 4])
    expect(s.keyword).toEqual([2])
    expect(s.uidRange).toEqual([2, 3])
    expect(s.uidSearchRange).toEqual([3, 4])
    expect(s.body).toEqual([2])
    expect(s.text).toEqual([2])
    expect(s.charsetLiteral).toEqual([3])
    expect(s.charsetBodyLiteral).toEqual([3])
    expect(s.badCharset[0]).toBe('NO')
    expect(s.badCharset[1]).toMatch(/^\[BADCHARSET \(UTF-8 US-ASCII\)\] /)

    // STORE
    const st = r.store
    expect(st.add).toEqual(['3 (FLAGS (\\Seen \\Flagged \\Recent))'])
    expect(st.remove).toEqual(['2 (FLAGS ($Important \\Seen \\Recent))'])
    expect(st.replace).toEqual(['1 (FLAGS (\\Answered $Done \\Recent))'])
    expect(st.silent).toEqual([null])
    expect(st.uidStore).toEqual(['1 (FLAGS (\\Answered $Done \\Seen \\Recent) UID 1)'])
    expect(st.flags).toEqual([
      '1 (FLAGS (\\Answered $Done \\Seen \\Recent))',
      '2 (FLAGS ($Important \\Seen \\Recent))',
      '3 (FLAGS (\\Seen \\Flagged \\Recent))',
      '4 (FLAGS (\\Answered \\Seen \\Deleted \\Recent))',
    ])
    expect(st.notDeleted).toEqual([1, 2, 3])
    expect(st.deleted).toEqual([4])
    expect(st.unseenOrDeleted).toEqual([4])

    // COPY and UID MOVE
    expect(r.copy[0]).toBe('OK')
    expect(r.copy[1]).toMatch(/^\[COPYUID \d+ 1:2 1:2\] COPY completed$/)
    expect(r.move[0]).toBe('OK')
    expect(r.moveExpunge).toEqual(['3'])
    expect(r.moveOk.some((l: string) => /^\[COPYUID \d+ 3 3\]/.test(l))).toBe(true)
    expect(r.afterMove).toEqual(['1 (UID 1 FLAGS (\\Answered $Done \\Seen \\Recent))', '2 (UID 2 FLAGS ($Important \\Seen \\Recent))', '3 (UID 4 FLAGS (\\Answered \\Seen \\Deleted \\Recent))'])
    expect(r.copyToMissing[0]).toBe('NO')
    expect(r.copyToMissing[1]).toMatch(/^\[TRYCREATE\] /)

    // EXPUNGE: messages 1 and 3 were \Deleted; each number is valid when it is sent
    expect(r.expunge).toEqual(['1', '2'])
    expect(r.afterExpunge).toEqual(['1 (UID 2)'])

    // CLOSE (expunged the last one silently), EXAMINE
    expect(r.close).toBe('OK')
    expect(r.stateAfterClose).toBe('AUTH')
    expect(r.examine).toEqual(['OK', '3'])
    expect(r.examineUntagged.EXISTS).toEqual(['3'])
    expect(r.examineUntagged.UIDNEXT).toEqual(['4'])
    expect(r.examineUntagged.UIDVALIDITY[0]).toMatch(/^\d+$/)
    expect(r.examineUntagged['READ-ONLY']).toEqual([''])
    expect(r.examineStore).toBe('NO')
    expect(r.doneSubjects).toEqual(['Subject: Quarterly report', 'Subject: Lunch?', 'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_K=C3=B6ln?='])
    // copies keep their flags; EXAMINE shows the unclaimed copies as \Recent but claims none (STATUS below still counts 3)
    expect(r.doneFlags).toEqual(['1 (FLAGS (\\Answered $Done \\Seen \\Recent))', '2 (FLAGS ($Important \\Seen \\Recent))', '3 (FLAGS (\\Seen \\Flagged \\Recent))'])
    expect(r.statusWork).toBe('"Work" (MESSAGES 0 UNSEEN 0 UIDNEXT 5)')
    expect(r.statusDone).toBe('"Work/Done" (MESSAGES 3 UNSEEN 0 RECENT 3)')
    expect(r.logout).toBe('BYE')

    // the store agrees
    const done = await listMessages(server.dataDir, USER, 'Work/Done')
    expect(done.map((m) => m.subject)).toEqual(['Quarterly report', 'Lunch?', 'Grüße aus Köln'])
    expect(await listMessages(server.dataDir, USER, 'Work')).toEqual([])
  })

  it('dot lines, 8-bit UTF-8 headers and non-UTF-8 bytes round-trip byte-exact through APPEND → FETCH BODY[]', async () => {
    const r = await python(EXACT_SCRIPT, args())
    for (const m of r.results) {
      expect(m.exact, `${m.name}: ${Buffer.from(m.got, 'base64').toString('latin1')}`).toBe(true)
      expect(m.splitExact, m.name).toBe(true)
      expect(m.size, m.name).toBe(m.len)
    }
    const eight = r.results.find((m: {name: string}) => m.name === 'eight')
    expect(r.emojiSearch).toBe(String(eight.uid))
    const raw = await showRaw(server.dataDir, USER, eight.uid)
    expect(raw).toContain('Subject: Grüße — 日本語 😀\r\n')
    expect(raw.endsWith('no newline at the end')).toBe(true)
  })
})
