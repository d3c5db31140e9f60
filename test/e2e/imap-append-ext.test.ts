/**
 * APPEND's extensions on the wire. MULTIAPPEND (RFC 3502): several messages in one command, each
 * with its own flags and date, answered `[APPENDUID uidvalidity uid-set]` (RFC 4315), and all or
 * nothing: a bad date, too many messages, too many bytes together, a quota they exceed together,
 * an empty one or a missing folder leave the folder as it was. CATENATE (RFC 4469) follows.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, tempDataDir} from '../helpers/cli.js'
import {addUsers, connectFlow, DEFAULT_USERS, RawConnections, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

const alice = DEFAULT_USERS[0]!
const carol = {address: 'carol@example.test', password: 'carol-pw'}
const LIMITS = {maxLiteralSize: 100_000, maxAppendSize: 150_000, maxAppendMessages: 3}

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  const dataDir = tempDataDir()
  await addUsers(dataDir, ['example.test'], DEFAULT_USERS)
  const added = await runCli(['user', 'add', carol.address, '--quota', '3000', '--password-stdin'], {dataDir, input: `${carol.password}\n`})
  expect(added.code).toBe(0)
  server = await startImapServer({dataDir, domains: ['spare.test'], users: [], config: {imap: LIMITS}})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

const login = (user = alice) => raw.login(server.ports.imap, user)

/** UIDVALIDITY, UIDNEXT and MESSAGES of a folder */
async function status(c: RawImap, folder: string): Promise<{uidValidity: number; uidNext: number; messages: number}> {
  const r = await c.command(`STATUS ${folder} (UIDVALIDITY UIDNEXT MESSAGES)`)
  const m = /UIDVALIDITY (\d+) UIDNEXT (\d+) MESSAGES (\d+)/.exec(r.untagged[0]!)!
  return {uidValidity: Number(m[1]), uidNext: Number(m[2]), messages: Number(m[3])}
}

/** `APPEND folder` followed by each piece; a Buffer is sent as a LITERAL+ literal */
function appendPlus(c: RawImap, folder: string, pieces: (string | Buffer)[]): Promise<import('./imap-helpers.js').TaggedResult> {
  const tag = c.nextTag()
  const out: Buffer[] = [Buffer.from(`${tag} APPEND ${folder}`)]
  for (const p of pieces) out.push(typeof p === 'string' ? Buffer.from(p) : Buffer.concat([Buffer.from(`{${p.length}+}\r\n`), p]))
  out.push(Buffer.from('\r\n'))
  c.write(Buffer.concat(out))
  return c.tagged(tag)
}

const msg = (subject: string, body = 'Hello.') => Buffer.from(simpleMessage({subject, body}))

describe('MULTIAPPEND', () => {
  it('RFC 3502 §6: two messages with their own flags and dates, a continuation for each literal, one APPENDUID with the UID set', async () => {
    const c = await login()
    expect((await c.command('CREATE saved-messages')).status).toBe('OK')
    const before = await status(c, 'saved-messages')
    const first = msg('first')
    const second = msg('second')
    c.write(`M1 APPEND saved-messages (\\Seen) {${first.length}}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(Buffer.concat([first, Buffer.from(` (\\Seen $Label1) " 7-Feb-1994 22:43:04 -0800" {${second.length}}\r\n`)]))
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(Buffer.concat([second, Buffer.from('\r\n')]))
    const r = await c.tagged('M1')
    expect(r.tagged).toBe(`M1 OK [APPENDUID ${before.uidValidity} ${before.uidNext}:${before.uidNext + 1}] APPEND completed`)

    expect((await c.command('EXAMINE saved-messages')).untagged).toContain('* 2 EXISTS')
    const fetched = await c.command('FETCH 1:2 (FLAGS INTERNALDATE RFC822.SIZE)')
    // EXAMINE shows messages no session has claimed yet as \Recent (RFC 3501 §6.3.2, as Dovecot does)
    expect(fetched.untagged[0]).toMatch(new RegExp(`^\\* 1 FETCH \\(FLAGS \\(\\\\Seen \\\\Recent\\) INTERNALDATE "[^"]+" RFC822.SIZE ${first.length}\\)$`))
    expect(fetched.untagged[1]).toBe(`* 2 FETCH (FLAGS (\\Seen $Label1 \\Recent) INTERNALDATE "08-Feb-1994 06:43:04 +0000" RFC822.SIZE ${second.length})`)
    const bodies = await c.command('FETCH 1:2 BODY.PEEK[]')
    expect(bodies.responses.map((x) => x.literals[0])).toEqual([first, second])
  })

  it('a session with the folder selected sees both as EXISTS', async () => {
    const a = await login()
    const b = await login()
    expect((await a.command('CREATE Watched')).status).toBe('OK')
    expect((await b.command('SELECT Watched')).untagged).toContain('* 0 EXISTS')
    expect((await appendPlus(a, 'Watched', [' ', msg('w1'), ' ', msg('w2')])).status).toBe('OK')
    expect((await b.command('NOOP')).untagged).toContain('* 2 EXISTS')
  })

  it('all or nothing: a bad date, an empty message, too many messages or a missing folder store none', async () => {
    const c = await login()
    expect((await c.command('CREATE AllOrNothing')).status).toBe('OK')
    const before = await status(c, 'AllOrNothing')
    const badDate = await appendPlus(c, 'AllOrNothing', [' ', msg('ok'), ' "31-Foo-2020 10:00:00 +0000" ', msg('bad date')])
    expect(badDate.status).toBe('BAD')
    const empty = await appendPlus(c, 'AllOrNothing', [' ', msg('ok'), ' ', Buffer.alloc(0)])
    expect(empty.status).toBe('NO')
    const four = await appendPlus(c, 'AllOrNothing', [' ', msg('1'), ' ', msg('2'), ' ', msg('3'), ' ', msg('4')])
    expect(four.tagged).toBe(`${four.tag} NO [LIMIT] At most 3 messages in one APPEND`)
    const missing = await appendPlus(c, 'NoSuchFolder', [' ', msg('1'), ' ', msg('2')])
    expect(missing.text).toMatch(/^\[TRYCREATE\] /)
    expect(await status(c, 'AllOrNothing')).toEqual(before)
    // exactly at the message limit is fine
    const three = await appendPlus(c, 'AllOrNothing', [' ', msg('1'), ' ', msg('2'), ' (\\Flagged) ', msg('3')])
    expect(three.tagged).toBe(`${three.tag} OK [APPENDUID ${before.uidValidity} ${before.uidNext}:${before.uidNext + 2}] APPEND completed`)
  })

  it('literals over the per-command total are NO [TOOBIG] before their bytes are sent, and nothing is stored', async () => {
    const c = await login()
    const before = await status(c, 'INBOX')
    const big = Buffer.concat([msg('big'), Buffer.from('x'.repeat(80_000))])
    c.write(`T1 APPEND INBOX {${big.length}}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(Buffer.concat([big, Buffer.from(` {${big.length}}\r\n`)]))
    expect((await c.next()).text).toBe(`T1 NO [TOOBIG] The command's literals together are larger than the limit (${LIMITS.maxAppendSize} octets)`)
    expect((await c.command('NOOP')).status).toBe('OK')
    expect(await status(c, 'INBOX')).toEqual(before)
  })

  it('over the quota only together: NO [OVERQUOTA], none stored', async () => {
    const c = await login(carol)
    const before = await status(c, 'INBOX')
    const r = await appendPlus(c, 'INBOX', [' ', msg('q1', 'a'.repeat(1400)), ' ', msg('q2', 'b'.repeat(1400))])
    expect(r.status).toBe('NO')
    expect(r.text).toMatch(/^\[OVERQUOTA\] /)
    expect(await status(c, 'INBOX')).toEqual(before)
    expect((await appendPlus(c, 'INBOX', [' ', msg('q1', 'a'.repeat(1400))])).status).toBe('OK')
  })

  it('imapflow: a single APPEND still answers with its UID', async () => {
    const client = await connectFlow(server, alice)
    try {
      const r = await client.append('INBOX', msg('flow'), ['\\Seen'])
      expect(r && r.uid).toBeGreaterThan(0)
    } finally {
      await client.logout()
    }
  })
})

describe('CATENATE', () => {
  const BOUNDARY = '------------030308070208000400050907'
  const draft = Buffer.from(
    [
      'From: Alice <alice@example.test>',
      'To: Bob <bob@example.test>',
      'Subject: Forwarding the report',
      'MIME-Version: 1.0',
      `Content-Type: multipart/mixed; boundary="${BOUNDARY}"`,
      '',
      `--${BOUNDARY}`,
      'Content-Type: text/plain; charset=us-ascii',
      '',
      'See the attached report.',
      `--${BOUNDARY}--`,
      '',
    ].join('\r\n'),
  )
  const report = msg('the report', 'Numbers.')
  let c: RawImap
  let v: number
  let draftUid: number
  let reportUid: number

  beforeAll(async () => {
    c = await login()
    const append = async (raw: Buffer) => Number(/\[APPENDUID \d+ (\d+)\]/.exec((await c.append('Drafts', raw)).text)![1])
    draftUid = await append(draft)
    reportUid = await append(report)
    v = (await status(c, 'Drafts')).uidValidity
    // alice and bob both have an INBOX message with this UID: a URL naming bob's must not reach alice's either
    const bob = await login(DEFAULT_USERS[1])
    inboxUid = Number(/\[APPENDUID \d+ (\d+)\]/.exec((await c.append('INBOX', msg('inbox'))).text)![1])
    for (let i = 0; i < 10 && (await status(bob, 'INBOX')).uidNext <= inboxUid; i++) expect((await bob.append('INBOX', msg('bob'))).status).toBe('OK')
    expect((await status(bob, 'INBOX')).uidNext).toBeGreaterThan(inboxUid)
  })
  let inboxUid: number

  /** the bytes of a message by UID in Drafts */
  async function body(uid: number): Promise<Buffer> {
    expect((await c.command('EXAMINE Drafts')).status).toBe('OK')
    const r = await c.command(`UID FETCH ${uid} BODY.PEEK[]`)
    return r.responses[0]!.literals[0]!
  }

  it('RFC 4469 appendix A: header, MIME header and body of a draft part, a whole message and new text make one message', async () => {
    const url = (rest: string) => `"/Drafts;UIDVALIDITY=${v}/;UID=${rest}"`
    const text1 = `\r\n--${BOUNDARY}\r\n`
    const text3 = `\r\n--${BOUNDARY}--\r\n`
    expect(text1.length).toBe(42)
    expect(text3.length).toBe(44)
    c.write(`A003 APPEND Drafts (\\Seen \\Draft $MDNSent) CATENATE (URL ${url(`${draftUid}/;section=HEADER`)} TEXT {42}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(`${text1} URL ${url(`${draftUid}/;section=1.MIME`)} URL ${url(`${draftUid}/;section=1`)} TEXT {42}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(`${text1} URL ${url(String(reportUid))} TEXT {44}\r\n`)
    expect((await c.next()).text).toMatch(/^\+ /)
    c.write(`${text3})\r\n`)
    const r = await c.tagged('A003')
    expect(r.tagged).toBe(`A003 OK [APPENDUID ${v} ${reportUid + 1}] APPEND completed`)

    const s = draft.toString()
    const header = s.slice(0, s.indexOf('\r\n\r\n') + 4)
    const partStart = s.indexOf('Content-Type: text/plain')
    const mime = s.slice(partStart, s.indexOf('\r\n\r\n', partStart) + 4)
    const expected = header + text1 + mime + 'See the attached report.' + text1 + report.toString() + text3
    expect((await body(reportUid + 1)).toString()).toBe(expected)
    expect((await c.command(`UID FETCH ${reportUid + 1} FLAGS`)).untagged[0]).toMatch(/FLAGS \(\\Seen \\Draft \$MDNSent/)
    // the sources were read as BODY.PEEK reads them
    expect((await c.command(`UID FETCH ${draftUid} FLAGS`)).untagged[0]).not.toMatch(/\\Seen/)
  })

  it('a URL that names nothing is NO [BADURL url] (RFC 4469 errata 4046: the bare URL), and nothing is stored', async () => {
    const before = await status(c, 'Drafts')
    const bad = [
      `/INBOX;UIDVALIDITY=785799047/;UID=113330;section=1.5.9`,
      `/Drafts;UIDVALIDITY=${v + 1}/;UID=${draftUid}`,
      `/Drafts;UIDVALIDITY=${v}/;UID=99999`,
      `/Drafts;UIDVALIDITY=${v}/;UID=${draftUid}/;SECTION=7`,
      `/NoSuchFolder/;UID=1`,
      `/Drafts;UIDVALIDITY=${v}/;UID=${draftUid}/;URLAUTH=anonymous:internal:0123456789abcdef`,
      `imap://bob%40example.test@127.0.0.1/INBOX/;UID=${inboxUid}`,
      `imap://bob%40example.test;AUTH=*@127.0.0.1/INBOX/;UID=${inboxUid}`,
    ]
    for (const url of bad) {
      const r = await c.command(`APPEND Drafts CATENATE (URL "${url}")`)
      expect(r.tagged, url).toMatch(new RegExp(`^\\S+ NO \\[BADURL ${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\] `))
    }
    // the same, as the second message of a MULTIAPPEND: the first is not stored either
    const multi = await appendPlus(c, 'Drafts', [' ', msg('first'), ` CATENATE (URL "/Drafts/;UID=99999")`])
    expect(multi.text).toMatch(/^\[BADURL \/Drafts\/;UID=99999\] /)
    expect(await status(c, 'Drafts')).toEqual(before)
  })

  it('URLs of the user\'s own messages in any form work: absolute with the own user, PARTIAL, no UIDVALIDITY; combined with MULTIAPPEND', async () => {
    const before = await status(c, 'Drafts')
    const own = `imap://alice%40example.test@127.0.0.1/Drafts;UIDVALIDITY=${v}/;UID=${reportUid}`
    const r = await appendPlus(c, 'Drafts', [` CATENATE (URL "${own}" TEXT `, Buffer.from('-- \r\n'), `) (\\Seen) CATENATE (URL "/Drafts/;UID=${reportUid}/;PARTIAL=0.4")`])
    expect(r.tagged).toBe(`${r.tag} OK [APPENDUID ${v} ${before.uidNext}:${before.uidNext + 1}] APPEND completed`)
    expect(await body(before.uidNext)).toEqual(Buffer.concat([report, Buffer.from('-- \r\n')]))
    expect((await body(before.uidNext + 1)).toString()).toBe(report.toString().slice(0, 4))
    const inbox = await c.command(`APPEND Drafts CATENATE (URL "imap://alice%40example.test;AUTH=*@127.0.0.1/INBOX/;UID=${inboxUid}")`)
    expect(inbox.status).toBe('OK')
  })

  it('the assembled message is held to the size limit: NO [TOOBIG], nothing stored', async () => {
    const big = Buffer.concat([msg('big'), Buffer.from('z'.repeat(40_000))])
    expect((await appendPlus(c, 'Drafts', [' ', big])).status).toBe('OK')
    const bigUid = (await status(c, 'Drafts')).uidNext - 1
    const before = await status(c, 'Drafts')
    const url = `URL "/Drafts/;UID=${bigUid}"`
    const r = await c.command(`APPEND Drafts CATENATE (${url} ${url} ${url})`)
    expect(r.tagged).toMatch(/^\S+ NO \[TOOBIG\] /)
    expect(await status(c, 'Drafts')).toEqual(before)
  })

  it('CATENATE without parts, or a TEXT that is not a literal, is BAD', async () => {
    expect((await c.command('APPEND Drafts CATENATE ()')).status).toBe('BAD')
    expect((await c.command('APPEND Drafts CATENATE (TEXT "inline")')).status).toBe('BAD')
    expect((await c.command('APPEND Drafts CATENATE (URL)')).status).toBe('BAD')
  })
})
