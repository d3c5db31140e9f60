/**
 * SEARCH on the wire: the RFC 3501 §6.4.4 semantics of the date, address and text keys on
 * crafted messages, ESEARCH result options (RFC 4731), SEARCHRES `$` (RFC 5182) and PARTIAL
 * (RFC 9394), with the exact responses of the RFCs' examples and of the patterns Thunderbird and
 * Apple Mail send. The server runs in UTC+14 so that an internal date's local day and its UTC
 * day differ.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
let server: ImapServer
const raw = new RawConnections()

const crlf = (...lines: string[]) => lines.join('\r\n') + '\r\n'

// the zebra is in m1's Subject only and in m2's (base64) body only
const m1 = crlf(
  'Date: Mon, 1 Jan 2024 23:30:00 -0500',
  'From: =?UTF-8?Q?J=C3=BCrgen?=',
  ' =?UTF-8?Q?_M=C3=BCller?= <jm@example.org>',
  'To: Project Team: ann@example.org, "Doe, Bob" <bob@example.org>;',
  'Subject: zebra crossing',
  'Message-ID: <m1@example.org>',
  '',
  'nothing striped in here',
)
const m2 = crlf(
  'Date: Tue, 2 Jan 2024 00:30:00 +0900',
  'From: plain@example.org',
  'To: carol@example.org',
  'Cc: =?ISO-8859-1?Q?Andr=E9?= <andre@example.org>',
  'Subject: other',
  'MIME-Version: 1.0',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('A striped zebra, in base64\r\n').toString('base64'),
)
const m3 = crlf('Date: 05 Jan 99 10:00:00 GMT', 'From: old@example.org', 'Subject: obsolete year', '', 'plain')

const login = () => raw.login(server.ports.imap, alice)

/** a folder holding `messages`, selected in a fresh session; returns the session and the UIDs */
async function folderWith(name: string, messages: {raw: string; date?: string}[]): Promise<{c: RawImap; uids: number[]}> {
  const c = await login()
  expect((await c.command(`CREATE ${name}`)).status).toBe('OK')
  const uids: number[] = []
  for (const m of messages) {
    const r = await c.append(name, m.raw, m.date ? {args: `"${m.date}"`} : {})
    expect(r.status).toBe('OK')
    uids.push(Number(/APPENDUID \d+ (\d+)/.exec(r.text)![1]))
  }
  expect((await c.command(`SELECT ${name}`)).status).toBe('OK')
  return {c, uids}
}

/** the untagged lines of a command that must succeed */
async function ok(c: RawImap, command: string): Promise<string[]> {
  const r = await c.command(command)
  expect(r.status, `${command} → ${r.tagged}`).toBe('OK')
  return r.untagged
}

beforeAll(async () => {
  server = await startImapServer({env: {TZ: 'Pacific/Kiritimati'}, config: {imap: {maxSearchContexts: 2}}})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

describe('SEARCH semantics (RFC 3501 §6.4.4)', () => {
  let c: RawImap
  beforeAll(async () => {
    ;({c} = await folderWith('Semantics', [
      {raw: m1, date: '01-Jan-2024 12:00:00 +0000'},
      {raw: m2, date: '02-Jan-2024 23:00:00 +0000'},
      {raw: m3, date: '05-Jan-1999 10:00:00 +0000'},
    ]))
  })

  it('SENTBEFORE/SENTON/SENTSINCE compare the day written in the Date header, whatever its zone', async () => {
    expect(await ok(c, 'SEARCH SENTON 1-Jan-2024')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH SENTON 2-Jan-2024')).toEqual(['* SEARCH 2'])
    expect(await ok(c, 'SEARCH SENTBEFORE 2-Jan-2024')).toEqual(['* SEARCH 1 3'])
    expect(await ok(c, 'SEARCH SENTSINCE 2-Jan-2024')).toEqual(['* SEARCH 2'])
    expect(await ok(c, 'SEARCH SENTON 5-Jan-1999')).toEqual(['* SEARCH 3'])
  })

  it("BEFORE/ON/SINCE compare the internal date's day in the server's time zone (as Dovecot)", async () => {
    // 01-Jan-2024 12:00 UTC is 2 Jan 02:00 in UTC+14
    expect(await ok(c, 'SEARCH ON 1-Jan-2024')).toEqual(['* SEARCH'])
    expect(await ok(c, 'SEARCH ON 2-Jan-2024')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH ON 3-Jan-2024')).toEqual(['* SEARCH 2'])
    expect(await ok(c, 'SEARCH BEFORE 3-Jan-2024')).toEqual(['* SEARCH 1 3'])
    expect(await ok(c, 'SEARCH SINCE 3-Jan-2024')).toEqual(['* SEARCH 2'])
  })

  it('FROM/TO/CC match the field as a whole: decoded display names, groups, quoted names', async () => {
    // the two encoded words of the folded From are one name: "Jürgen Müller"
    expect(await ok(c, 'SEARCH FROM "rgen M"')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH FROM jm@example.org')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH TO "Project Team"')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH TO ann@example.org')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH TO "Doe, Bob"')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH CC "Andr"')).toEqual(['* SEARCH 2'])
    expect(await ok(c, 'SEARCH BCC example')).toEqual(['* SEARCH'])
  })

  it('BODY searches the decoded body only, never the header; TEXT both', async () => {
    expect(await ok(c, 'SEARCH BODY zebra')).toEqual(['* SEARCH 2'])
    expect(await ok(c, 'SEARCH BODY striped')).toEqual(['* SEARCH 1 2'])
    expect(await ok(c, 'SEARCH BODY "Project Team"')).toEqual(['* SEARCH'])
    expect(await ok(c, 'SEARCH TEXT zebra')).toEqual(['* SEARCH 1 2'])
    expect(await ok(c, 'SEARCH TEXT "Project Team"')).toEqual(['* SEARCH 1'])
    expect(await ok(c, 'SEARCH SUBJECT zebra')).toEqual(['* SEARCH 1'])
  })
})

const plain = (n: number) => crlf(`Subject: message ${n}`, `Message-ID: <p${n}@example.org>`, '', `body ${n}`)

describe('ESEARCH (RFC 4731)', () => {
  let c: RawImap
  let uids: number[]
  beforeAll(async () => {
    ;({c, uids} = await folderWith('Esearch', [1, 2, 3, 4, 5].map((n) => ({raw: plain(n)}))))
    await ok(c, 'STORE 2,3,5 +FLAGS.SILENT (\\Flagged)')
  })

  it('MIN MAX COUNT ALL, in the order Dovecot sends them, with the set compressed', async () => {
    const r = await c.command('SEARCH RETURN (MIN MAX COUNT ALL) FLAGGED', {tag: 'A282'})
    expect(r.untagged).toEqual(['* ESEARCH (TAG "A282") MIN 2 MAX 5 ALL 2:3,5 COUNT 3'])
    expect(r.status).toBe('OK')
    expect(await ok(c, 'SEARCH RETURN (MIN) FLAGGED')).toEqual([expect.stringMatching(/^\* ESEARCH \(TAG "\S+"\) MIN 2$/)])
    expect((await c.command('SEARCH RETURN (COUNT) FLAGGED', {tag: 'A286'})).untagged).toEqual(['* ESEARCH (TAG "A286") COUNT 3'])
  })

  it('UID SEARCH RETURN () is ALL, in UIDs', async () => {
    const r = await c.command('UID SEARCH RETURN () FLAGGED', {tag: 'a1'})
    expect(r.untagged).toEqual([`* ESEARCH (TAG "a1") UID ALL ${uids[1]}:${uids[2]},${uids[4]}`])
  })

  it('an empty result: no MIN, MAX or ALL, COUNT 0', async () => {
    const r = await c.command('SEARCH RETURN (MIN MAX ALL COUNT) SUBJECT "no such subject"', {tag: 'e1'})
    expect(r.untagged).toEqual(['* ESEARCH (TAG "e1") COUNT 0'])
    expect((await c.command('UID SEARCH RETURN (MIN MAX) DELETED', {tag: 'e2'})).untagged).toEqual(['* ESEARCH (TAG "e2") UID'])
  })

  it('a MODSEQ key adds the highest MODSEQ of the messages reported (RFC 7162 §3.1.5)', async () => {
    const fetched = await ok(c, 'FETCH 1:* (MODSEQ)')
    const modseq = fetched.map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]))
    const r = await c.command('SEARCH RETURN (MIN) MODSEQ 1', {tag: 'm1'})
    expect(r.untagged).toEqual([`* ESEARCH (TAG "m1") MIN 1 MODSEQ ${modseq[0]}`])
    const all = await c.command('SEARCH RETURN (COUNT) MODSEQ 1', {tag: 'm2'})
    expect(all.untagged).toEqual([`* ESEARCH (TAG "m2") COUNT 5 MODSEQ ${Math.max(...modseq)}`])
  })

  it('an unknown or malformed RETURN option is BAD', async () => {
    expect((await c.command('SEARCH RETURN (FOO) ALL')).status).toBe('BAD')
    expect((await c.command('SEARCH RETURN MIN ALL')).status).toBe('BAD')
    expect((await c.command('SEARCH RETURN (MIN)')).status).toBe('BAD')
  })

  it('the patterns Thunderbird and Apple Mail send', async () => {
    await ok(c, 'STORE 4 +FLAGS.SILENT (\\Deleted \\Seen)')
    const undeleted = await c.command('UID SEARCH RETURN (ALL) UNDELETED', {tag: 't1'})
    expect(undeleted.untagged).toEqual([`* ESEARCH (TAG "t1") UID ALL ${uids[0]}:${uids[2]},${uids[4]}`])
    expect((await c.command('SEARCH RETURN (COUNT) UNSEEN', {tag: 't2'})).untagged).toEqual(['* ESEARCH (TAG "t2") COUNT 4'])
    const since = await c.command(`UID SEARCH RETURN (ALL) UID ${uids[2]}:* NOT DELETED`, {tag: 't3'})
    expect(since.untagged).toEqual([`* ESEARCH (TAG "t3") UID ALL ${uids[2]},${uids[4]}`])
    await ok(c, 'STORE 4 -FLAGS.SILENT (\\Deleted \\Seen)')
  })
})

describe('PARTIAL (RFC 9394)', () => {
  let c: RawImap
  let uids: number[]
  beforeAll(async () => {
    ;({c, uids} = await folderWith('Paged', [1, 2, 3, 4, 5, 6].map((n) => ({raw: plain(n)}))))
  })

  it('a page from the start, from the end, and past the end', async () => {
    expect((await c.command('UID SEARCH RETURN (PARTIAL 1:2) ALL', {tag: 'p1'})).untagged).toEqual([`* ESEARCH (TAG "p1") UID PARTIAL (1:2 ${uids[0]}:${uids[1]})`])
    expect((await c.command('SEARCH RETURN (PARTIAL -1:-4) NOT 5', {tag: 'p2'})).untagged).toEqual(['* ESEARCH (TAG "p2") PARTIAL (-1:-4 2:4,6)'])
    expect((await c.command('SEARCH RETURN (PARTIAL 3:5) 2:6', {tag: 'p3'})).untagged).toEqual(['* ESEARCH (TAG "p3") PARTIAL (3:5 4:6)'])
    expect((await c.command('SEARCH RETURN (PARTIAL 7:100) ALL', {tag: 'p4'})).untagged).toEqual(['* ESEARCH (TAG "p4") PARTIAL (7:100 NIL)'])
  })

  it('with COUNT, MIN and MAX: those are over the whole result', async () => {
    const r = await c.command('SEARCH RETURN (MIN MAX COUNT PARTIAL 2:3) ALL', {tag: 'p5'})
    expect(r.untagged).toEqual(['* ESEARCH (TAG "p5") MIN 1 MAX 6 COUNT 6 PARTIAL (2:3 2:3)'])
  })

  it('PARTIAL with ALL, a zero, mixed signs or no range is BAD', async () => {
    for (const bad of ['(PARTIAL 1:10 ALL)', '(ALL ALL)', '(PARTIAL "1:5")', '(PARTIAL 1:*)', '(PARTIAL 0:10)', '(PARTIAL 1:-10)', '(PARTIAL)', '(PARTIAL 1:5 PARTIAL 6:9)', '(PARTIAL 1:99999999999)']) {
      expect((await c.command(`SEARCH RETURN ${bad} ALL`)).status, bad).toBe('BAD')
    }
  })
  it('the FETCH modifier pages through the messages the FETCH names, after CHANGEDSINCE', async () => {
    expect(await ok(c, 'UID FETCH 1:* (UID) (PARTIAL -1:-2)')).toEqual([`* 5 FETCH (UID ${uids[4]})`, `* 6 FETCH (UID ${uids[5]})`])
    expect(await ok(c, 'FETCH 2:* (UID) (PARTIAL 2:1)')).toEqual([`* 2 FETCH (UID ${uids[1]})`, `* 3 FETCH (UID ${uids[2]})`])
    expect(await ok(c, 'FETCH 1:* (UID) (PARTIAL 10:20)')).toEqual([])
    const before = Math.max(...(await ok(c, 'FETCH 1:* (MODSEQ)')).map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1])))
    await ok(c, 'STORE 2,4 +FLAGS.SILENT (\\Flagged)')
    const changed = await ok(c, `FETCH 1:* (UID) (CHANGEDSINCE ${before} PARTIAL -1:-1)`)
    expect(changed).toEqual([expect.stringMatching(new RegExp(`^\\* 4 FETCH \\(UID ${uids[3]} MODSEQ \\(\\d+\\)\\)$`))])
    for (const bad of ['(PARTIAL 1:5 PARTIAL 1:2)', '(PARTIAL)', '()', '(PARTIAL 0:1)', '(VANISHED)']) {
      expect((await c.command(`UID FETCH 1:* (FLAGS) ${bad}`)).status, bad).toBe('BAD')
    }
  })
})

describe('SEARCHRES (RFC 5182)', () => {
  let c: RawImap
  let uids: number[]
  beforeAll(async () => {
    ;({c, uids} = await folderWith('Saved', [1, 2, 3, 4, 5].map((n) => ({raw: plain(n)}))))
  })

  it('$ before any SAVE is the empty set', async () => {
    expect(await ok(c, 'FETCH $ (UID)')).toEqual([])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH'])
    expect(await ok(c, 'UID SEARCH UID $')).toEqual(['* SEARCH'])
  })

  it('RETURN (SAVE) alone sends no ESEARCH; $ then names the result in FETCH, STORE, SEARCH and UID forms', async () => {
    const saved = await c.command('SEARCH RETURN (SAVE) 2:4', {tag: 'A282'})
    expect(saved.untagged).toEqual([])
    expect(saved.status).toBe('OK')
    expect(await ok(c, 'FETCH $ (UID)')).toEqual([2, 3, 4].map((n) => `* ${n} FETCH (UID ${uids[n - 1]})`))
    expect(await ok(c, 'UID FETCH $ (FLAGS)')).toEqual([2, 3, 4].map((n) => `* ${n} FETCH (UID ${uids[n - 1]} FLAGS (\\Recent))`))
    await ok(c, 'STORE $ +FLAGS.SILENT (\\Flagged)')
    expect(await ok(c, 'SEARCH FLAGGED')).toEqual(['* SEARCH 2 3 4'])
    await ok(c, 'UID STORE $ -FLAGS.SILENT (\\Flagged)')
    expect(await ok(c, 'SEARCH $ 3:*')).toEqual(['* SEARCH 3 4'])
    expect(await ok(c, `UID SEARCH UID $`)).toEqual([`* SEARCH ${uids[1]} ${uids[2]} ${uids[3]}`])
    expect(await ok(c, 'SEARCH NOT $')).toEqual(['* SEARCH 1 5'])
    // a SEARCH that uses $ and saves again (RFC 5182 §2.2)
    expect(await ok(c, 'SEARCH RETURN (SAVE) $ 3:5')).toEqual([])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 3 4'])
  })

  it('COPY $ and MOVE $ take the saved messages', async () => {
    await ok(c, 'CREATE SavedCopy')
    await ok(c, 'SEARCH RETURN (SAVE) 1,5')
    const copied = await c.command('COPY $ SavedCopy')
    expect(copied.status).toBe('OK')
    expect(copied.text).toMatch(new RegExp(`^\\[COPYUID \\d+ ${uids[0]},${uids[4]} \\d+:\\d+\\]`))
    const other = await login()
    expect((await other.command('SELECT SavedCopy')).untagged).toContain('* 2 EXISTS')
    await ok(other, 'SEARCH RETURN (SAVE) ALL')
    expect(await ok(other, 'MOVE $ Saved')).toEqual(expect.arrayContaining(['* 1 EXPUNGE']))
    expect(await ok(other, 'SEARCH ALL')).toEqual(['* SEARCH'])
  })

  it('with MIN or MAX only those are saved; with ALL or COUNT the whole result', async () => {
    await ok(c, 'SELECT Saved')
    expect((await c.command('SEARCH RETURN (SAVE MIN MAX) 2:4', {tag: 's1'})).untagged).toEqual(['* ESEARCH (TAG "s1") MIN 2 MAX 4'])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 2 4'])
    expect((await c.command('SEARCH RETURN (SAVE MIN COUNT) 2:4', {tag: 's2'})).untagged).toEqual(['* ESEARCH (TAG "s2") MIN 2 COUNT 3'])
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 2 3 4'])
    // RFC 9394 §3.3: PARTIAL with SAVE keeps the page
    await ok(c, 'UID SEARCH RETURN (SAVE PARTIAL -1:-2) ALL')
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 6 7'])
  })

  it('an expunged message leaves the saved result once the expunge is reported', async () => {
    await ok(c, 'SEARCH RETURN (SAVE) 2:4')
    const other = await login()
    await ok(other, 'SELECT Saved')
    await ok(other, `UID STORE ${uids[2]} +FLAGS.SILENT (\\Deleted)`)
    await ok(other, `UID EXPUNGE ${uids[2]}`)
    expect(await ok(c, 'NOOP')).toContain('* 3 EXPUNGE')
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH 2 3'])
    expect(await ok(c, 'UID FETCH $ (UID)')).toEqual([`* 2 FETCH (UID ${uids[1]})`, `* 3 FETCH (UID ${uids[3]})`])
  })

  it('a failed SEARCH with SAVE empties $; SELECT empties it; $ combined with numbers is BAD', async () => {
    await ok(c, 'SEARCH RETURN (SAVE) 1:2')
    const bad = await c.command('SEARCH RETURN (SAVE) CHARSET KOI9 ALL')
    expect(bad.status).toBe('NO')
    expect(bad.text).toMatch(/^\[BADCHARSET/)
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH'])
    await ok(c, 'SEARCH RETURN (SAVE) 1:2')
    await ok(c, 'SELECT Saved')
    expect(await ok(c, 'SEARCH $')).toEqual(['* SEARCH'])
    for (const cmd of ['FETCH $,1 (UID)', 'FETCH $:3 (UID)', 'SEARCH $,1', 'UID SEARCH UID 1,$']) expect((await c.command(cmd)).status, cmd).toBe('BAD')
  })
})

describe('CONTEXT=SEARCH (RFC 5267), on the wire as Dovecot 2.3 answers', () => {
  let c: RawImap
  let other: RawImap
  let uids: number[]
  beforeAll(async () => {
    ;({c, uids} = await folderWith('Live', [1, 2, 3, 4].map((n) => ({raw: plain(n)}))))
    other = await login()
    await ok(other, 'SELECT Live')
  })

  it('RETURN (UPDATE) answers as usual, then REMOVEFROM/ADDTO follow flag changes, arrivals and expunges', async () => {
    expect((await c.command('UID SEARCH RETURN (UPDATE COUNT) UNSEEN', {tag: 'e2'})).untagged).toEqual(['* ESEARCH (TAG "e2") UID COUNT 4'])
    expect((await c.command('STORE 2 +FLAGS (\\Seen)', {tag: 'e3'})).untagged).toEqual([
      '* 2 FETCH (FLAGS (\\Seen \\Recent))',
      `* ESEARCH (TAG "e2") UID REMOVEFROM (0 ${uids[1]})`,
    ])
    expect((await c.command('SEARCH RETURN (UPDATE) ALL', {tag: 'e7'})).untagged).toEqual(['* ESEARCH (TAG "e7")'])
    // another session appends: ADDTO comes after the EXISTS that makes its number valid
    const appended = await other.append('Live', plain(5))
    const uid5 = Number(/APPENDUID \d+ (\d+)/.exec(appended.text)![1])
    const noop = await ok(c, 'NOOP')
    // (the RECENT count is h17-state's business: any count here)
    expect(noop).toEqual(['* 5 EXISTS', expect.stringMatching(/^\* \d+ RECENT$/), `* ESEARCH (TAG "e2") UID ADDTO (0 ${uid5})`, '* ESEARCH (TAG "e7") ADDTO (0 5)'])
    // an expunge: REMOVEFROM with the numbers before the EXPUNGE renumbers them
    await ok(c, 'STORE 1 +FLAGS.SILENT (\\Deleted)')
    expect((await c.command('EXPUNGE', {tag: 'e11'})).untagged).toEqual([
      `* ESEARCH (TAG "e2") UID REMOVEFROM (0 ${uids[0]})`,
      '* ESEARCH (TAG "e7") REMOVEFROM (0 1)',
      '* 1 EXPUNGE',
    ])
  })

  it('updates arrive during IDLE', async () => {
    c.writeLine('I1 IDLE')
    expect((await c.next()).text).toBe('+ idling')
    await ok(other, `UID STORE ${uids[2]} +FLAGS.SILENT (\\Seen)`)
    expect(await c.waitFor(/ESEARCH/, 5000)).toContain(`* ESEARCH (TAG "e2") UID REMOVEFROM (0 ${uids[2]})`)
    c.writeLine('DONE')
    expect((await c.tagged('I1')).status).toBe('OK')
  })

  it('a tag in use is BAD; past maxSearchContexts NO [NOUPDATE] and the other options still answered', async () => {
    expect((await c.command('SEARCH RETURN (UPDATE) ALL', {tag: 'e7'})).status).toBe('BAD')
    const refused = await c.command('SEARCH RETURN (UPDATE COUNT) ALL', {tag: 'B02'})
    expect(refused.untagged).toEqual(['* NO [NOUPDATE "B02"] Too many contexts', '* ESEARCH (TAG "B02") COUNT 4'])
    expect(refused.status).toBe('OK')
    expect((await c.command('SEARCH RETURN (UPDATE UPDATE) ALL')).status).toBe('BAD')
  })

  it('CANCELUPDATE ends contexts: quoted tags only, an unknown tag is NO', async () => {
    expect((await c.command('CANCELUPDATE e7')).status).toBe('BAD')
    expect((await c.command('CANCELUPDATE')).status).toBe('BAD')
    expect((await c.command('CANCELUPDATE "nosuch"')).status).toBe('NO')
    const r = await c.command('CANCELUPDATE "e7"')
    expect(r.tagged).toMatch(/ OK Updates cancelled$/)
    await ok(other, `UID STORE ${uids[3]} +FLAGS.SILENT (\\Deleted)`)
    await ok(other, `UID EXPUNGE ${uids[3]}`)
    // e7 is gone, e2 (UNSEEN) still hears of the expunged unseen message
    expect(await ok(c, 'NOOP')).toEqual([`* ESEARCH (TAG "e2") UID REMOVEFROM (0 ${uids[3]})`, '* 3 EXPUNGE'])
  })

  it('contexts end with the selection', async () => {
    await ok(c, 'SELECT Live')
    expect((await c.command('CANCELUPDATE "e2"')).status).toBe('NO')
    await ok(other, `UID STORE ${uid5Of(await ok(other, 'UID SEARCH ALL'))} -FLAGS.SILENT (\\Seen)`)
    expect((await ok(c, 'NOOP')).filter((l) => l.includes('ESEARCH'))).toEqual([])
  })
})

const uid5Of = (lines: string[]) => lines[0]!.split(' ').at(-1)

describe('IMAP4rev2 (RFC 9051 §6.4.4)', () => {
  it('a rev2 session gets ESEARCH for a plain SEARCH, ALL assumed', async () => {
    const {c, uids} = await folderWith('Rev2', [1, 2, 3].map((n) => ({raw: plain(n)})))
    await ok(c, 'ENABLE IMAP4rev2')
    await ok(c, 'SELECT Rev2')
    expect((await c.command('SEARCH 2:3', {tag: 'r1'})).untagged).toEqual(['* ESEARCH (TAG "r1") ALL 2:3'])
    expect((await c.command('UID SEARCH ALL', {tag: 'r2'})).untagged).toEqual([`* ESEARCH (TAG "r2") UID ALL ${uids[0]}:${uids[2]}`])
    expect((await c.command('SEARCH DELETED', {tag: 'r3'})).untagged).toEqual(['* ESEARCH (TAG "r3")'])
  })
})

describe('capabilities', () => {
  it('ESEARCH, SEARCHRES, PARTIAL and CONTEXT=SEARCH are advertised', async () => {
    const c = await login()
    const caps = (await ok(c, 'CAPABILITY'))[0]!.split(' ')
    expect(caps).toEqual(expect.arrayContaining(['ESEARCH', 'SEARCHRES', 'PARTIAL', 'CONTEXT=SEARCH']))
  })
})
