/**
 * SEARCH on the wire: the RFC 3501 §6.4.4 semantics of the date, address and text keys on
 * crafted messages, ESEARCH result options (RFC 4731), SEARCHRES `$` (RFC 5182) and PARTIAL
 * (RFC 9394), with the exact responses of the RFCs' examples and of the patterns Thunderbird and
 * Apple Mail send. The server runs in UTC+14 so that an internal date's local day and its UTC
 * day differ.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
let server: ImapServer
const open: RawImap[] = []

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

async function login(): Promise<RawImap> {
  const c = await RawImap.login(server.ports.imap, alice)
  open.push(c)
  return c
}

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
  server = await startImapServer({env: {TZ: 'Pacific/Kiritimati'}})
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await server?.stop()
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
