/**
 * What two real clients send for CONDSTORE and QRESYNC, replayed over raw IMAP with the exact
 * answers pinned:
 *
 * - Thunderbird: `SELECT "INBOX" (CONDSTORE)`, then `UID FETCH 1:* (FLAGS) (CHANGEDSINCE n)`
 *   to pick up what changed since its last HIGHESTMODSEQ, `UID STORE n +FLAGS.SILENT (\Seen)`
 *   as a message is read, and IDLE/DONE to wait for mail.
 * - Apple Mail: `ENABLE QRESYNC`, `SELECT INBOX (QRESYNC (uidvalidity modseq known-uids))` on
 *   reconnect, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE m VANISHED)`, and NOOP polling.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

const thunderbird = {address: 'tb@example.test', password: 'tb-pw'}
const apple = {address: 'apple@example.test', password: 'apple-pw'}
const SYSTEM = '\\Answered \\Flagged \\Deleted \\Seen \\Draft'

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  server = await startImapServer({users: [thunderbird, apple]})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

const login = (user: {address: string; password: string}) => raw.login(server.ports.imap, user)

async function ok(c: RawImap, command: string): Promise<string[]> {
  const r = await c.command(command)
  expect(r.status, `${command}: ${r.tagged}`).toBe('OK')
  return r.untagged
}

const number = (lines: string[], re: RegExp) => Number(lines.map((l) => re.exec(l)?.[1]).find(Boolean))

/** n messages appended to INBOX by `c`, then claimed (\Recent) by a SELECT and UNSELECT */
async function fill(c: RawImap, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) expect((await c.append('INBOX', simpleMessage({subject: `m${i}`}))).status).toBe('OK')
  await ok(c, 'SELECT INBOX')
  await ok(c, 'UNSELECT')
}

describe("Thunderbird's CONDSTORE pattern", () => {
  it('SELECT (CONDSTORE), UID FETCH (CHANGEDSINCE), UID STORE +FLAGS.SILENT, IDLE/DONE', async () => {
    const other = await login(thunderbird)
    await fill(other, 3)
    const tb = await login(thunderbird)
    const selected = await tb.command('SELECT "INBOX" (CONDSTORE)')
    const validity = number(selected.untagged, /UIDVALIDITY (\d+)/)
    const highest = number(selected.untagged, /HIGHESTMODSEQ (\d+)/)
    expect(selected.untagged).toEqual([
      `* FLAGS (${SYSTEM})`,
      `* OK [PERMANENTFLAGS (${SYSTEM} \\*)] Flags permitted`,
      '* 3 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 1] First unseen',
      `* OK [UIDVALIDITY ${validity}] UIDs valid`,
      '* OK [UIDNEXT 4] Predicted next UID',
      `* OK [HIGHESTMODSEQ ${highest}] Highest`,
    ])
    expect(selected.tagged).toMatch(/^A\d+ OK \[READ-WRITE\] SELECT completed$/)
    // nothing changed since its HIGHESTMODSEQ: nothing to fetch
    expect(await ok(tb, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest})`)).toEqual([])
    // another client flags message 2 with a new keyword: Thunderbird's NOOP-less resync finds it, after FLAGS
    await ok(other, 'SELECT INBOX')
    await ok(other, 'UID STORE 2 +FLAGS.SILENT (\\Flagged $label1)')
    const changed = await ok(tb, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest})`)
    expect(changed).toEqual([
      `* FLAGS (${SYSTEM} $label1)`,
      `* OK [PERMANENTFLAGS (${SYSTEM} $label1 \\*)] Flags permitted`,
      `* 2 FETCH (UID 2 FLAGS (\\Flagged $label1) MODSEQ (${highest + 1}))`,
      // the catch-up after the command reports the same change as an unsolicited update
      `* 2 FETCH (UID 2 FLAGS (\\Flagged $label1) MODSEQ (${highest + 1}))`,
    ])
    // reading a message: .SILENT, and CONDSTORE still tells the new MODSEQ (RFC 7162 §3.1.3)
    expect(await ok(tb, 'UID STORE 1 +FLAGS.SILENT (\\Seen)')).toEqual([`* 1 FETCH (UID 1 MODSEQ (${highest + 2}))`])
    expect(await ok(tb, 'NOOP')).toEqual([])
    // IDLE until new mail, then DONE
    tb.writeLine('I1 IDLE')
    expect((await tb.next()).text).toBe('+ idling')
    expect((await other.append('INBOX', simpleMessage({subject: 'new'}))).status).toBe('OK')
    expect(await tb.waitFor(/RECENT/, 5000)).toEqual(['* 4 EXISTS', '* 1 RECENT'])
    tb.writeLine('DONE')
    const done = await tb.tagged('I1')
    expect([...done.untagged, done.tagged]).toEqual(['I1 OK IDLE terminated'])
    expect(await ok(tb, 'UID FETCH 4 (FLAGS)')).toEqual([`* 4 FETCH (UID 4 FLAGS (\\Recent))`])
  })
})

describe("Apple Mail's QRESYNC pattern", () => {
  it('ENABLE QRESYNC, SELECT (QRESYNC (v m uids)) after changes, UID FETCH (CHANGEDSINCE m VANISHED), NOOP polling', async () => {
    const other = await login(apple)
    await fill(other, 5)
    const mail = await login(apple)
    expect(await ok(mail, 'ENABLE QRESYNC')).toEqual(['* ENABLED QRESYNC'])
    const first = await mail.command('SELECT INBOX')
    const validity = number(first.untagged, /UIDVALIDITY (\d+)/)
    const highest = number(first.untagged, /HIGHESTMODSEQ (\d+)/)
    await ok(mail, 'UNSELECT')
    // while it is away: message 2 is expunged, message 4 is flagged
    await ok(other, 'SELECT INBOX')
    await ok(other, 'UID STORE 2 +FLAGS.SILENT (\\Deleted)')
    await ok(other, 'UID EXPUNGE 2')
    await ok(other, 'UID STORE 4 +FLAGS.SILENT (\\Flagged)')
    const back = await mail.command(`SELECT INBOX (QRESYNC (${validity} ${highest} 1:5))`)
    expect(back.untagged).toEqual([
      `* FLAGS (${SYSTEM})`,
      `* OK [PERMANENTFLAGS (${SYSTEM} \\*)] Flags permitted`,
      '* 4 EXISTS',
      '* 0 RECENT',
      '* OK [UNSEEN 1] First unseen',
      `* OK [UIDVALIDITY ${validity}] UIDs valid`,
      '* OK [UIDNEXT 6] Predicted next UID',
      `* OK [HIGHESTMODSEQ ${highest + 3}] Highest`,
      '* VANISHED (EARLIER) 2',
      `* 3 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (${highest + 3}))`,
    ])
    // the same question as a FETCH: no flag change since the new HIGHESTMODSEQ (VANISHED (EARLIER)
    // names every UID below UIDNEXT that is gone, as RFC 7162 §3.2.6 allows: there is no expunge
    // history, see docs/design-notes.md); from the old one, the same answer as the SELECT
    expect(await ok(mail, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest + 3} VANISHED)`)).toEqual(['* VANISHED (EARLIER) 2'])
    expect(await ok(mail, `UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${highest} VANISHED)`)).toEqual([
      '* VANISHED (EARLIER) 2',
      `* 3 FETCH (UID 4 FLAGS (\\Flagged) MODSEQ (${highest + 3}))`,
    ])
    // NOOP polling: an expunge comes as VANISHED, a flag change with its MODSEQ, new mail as EXISTS
    await ok(other, 'UID STORE 5 +FLAGS.SILENT (\\Deleted)')
    await ok(other, 'UID EXPUNGE 5')
    await ok(other, 'UID STORE 1 +FLAGS.SILENT (\\Seen)')
    expect((await other.append('INBOX', simpleMessage({subject: 'six'}))).status).toBe('OK')
    // (the appending session has INBOX selected and was told first: the new message is \Recent there)
    expect(await ok(mail, 'NOOP')).toEqual(['* VANISHED 5', '* 4 EXISTS', '* 0 RECENT', `* 1 FETCH (UID 1 FLAGS (\\Seen) MODSEQ (${highest + 6}))`])
    expect(await ok(mail, 'NOOP')).toEqual([])
  })
})
