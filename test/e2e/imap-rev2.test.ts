/**
 * The IMAP4rev2 (RFC 9051) differences that belong to no other part (docs/imap4rev2.md), on the
 * wire: ENABLE IMAP4rev2, SELECT/EXAMINE without RECENT and with the folder's LIST response
 * (§6.3.2), no RECENT when new mail arrives, what rev2 keeps (NAMESPACE, STATUS DELETED, the
 * RFC822 FETCH items), RFC 2231 continuations joined in BODYSTRUCTURE, DELETE of a \Noselect
 * parent answered NO [HASCHILDREN]; a rev1 session on the same server unchanged; IMAP4rev2
 * advertised beside IMAP4rev1; and a typical rev2 client flow with every response pinned.
 * Python's imaplib does not send ENABLE IMAP4rev2; imapflow does (on its own, when advertised),
 * so every imapflow test file runs rev2 sessions — this file pins the wire.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

async function login(rev2: boolean): Promise<RawImap> {
  const c = await raw.login(server.ports.imap, alice)
  if (rev2) expect((await c.command('ENABLE IMAP4rev2')).untagged).toEqual(['* ENABLED IMAP4rev2'])
  return c
}

describe('IMAP4rev2', () => {
  it('IMAP4rev2 is advertised beside IMAP4rev1; ENABLE IMAP4rev2 answers ENABLED (once, in its own spelling)', async () => {
    const c = await login(false)
    expect((await c.command('CAPABILITY')).untagged[0]!.split(' ').slice(0, 4)).toEqual(['*', 'CAPABILITY', 'IMAP4rev1', 'IMAP4rev2'])
    expect((await c.command('ENABLE CONDSTORE imap4REV2 IMAP4rev2 X-UNKNOWN')).untagged).toEqual(['* ENABLED CONDSTORE IMAP4rev2'])
    expect((await c.command('ENABLE IMAP4rev2')).untagged).toEqual(['* ENABLED IMAP4rev2'])
  })

  it('SELECT and EXAMINE send the LIST response and no RECENT (RFC 9051 §6.3.2); a rev1 session still gets RECENT', async () => {
    const setup = await login(false)
    expect((await setup.append('INBOX', simpleMessage({subject: 'one'}))).status).toBe('OK')
    const rev2 = await login(true)
    const sel = await rev2.command('SELECT INBOX')
    expect(sel.tagged).toMatch(/^\S+ OK \[READ-WRITE\] /)
    expect(sel.untagged).toContain('* LIST () "/" INBOX')
    expect(sel.untagged.filter((l) => /RECENT/.test(l))).toEqual([])
    expect(sel.untagged).toContain('* 1 EXISTS')
    const ex = await rev2.command('EXAMINE INBOX')
    expect(ex.untagged).toContain('* LIST () "/" INBOX')
    expect(ex.untagged.filter((l) => /RECENT/.test(l))).toEqual([])
    expect((await rev2.command('CREATE "Ab &- c"')).status).toBe('OK')
    expect((await rev2.command('SELECT "Ab &- c"')).untagged).toContain('* LIST () "/" "Ab &- c"')

    const rev1 = await login(false)
    const old = await rev1.command('SELECT INBOX')
    expect(old.untagged.some((l) => /^\* \d+ RECENT$/.test(l))).toBe(true)
    expect(old.untagged.filter((l) => l.startsWith('* LIST'))).toEqual([])
  })

  it('new mail reaches a rev2 session as EXISTS without RECENT, also when it enables rev2 with the folder selected', async () => {
    const rev2 = await login(true)
    const late = await login(false)
    const rev1 = await login(false)
    for (const c of [rev2, late, rev1]) expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await late.command('ENABLE IMAP4rev2')).untagged).toEqual(['* ENABLED IMAP4rev2'])
    const writer = await login(false)
    expect((await writer.append('INBOX', simpleMessage({subject: 'new'}))).status).toBe('OK')
    for (const c of [rev2, late]) {
      const noop = await c.command('NOOP')
      expect(noop.untagged.some((l) => /^\* \d+ EXISTS$/.test(l))).toBe(true)
      expect(noop.untagged.filter((l) => /RECENT/.test(l))).toEqual([])
    }
    const noop = await rev1.command('NOOP')
    expect(noop.untagged.some((l) => /^\* \d+ RECENT$/.test(l))).toBe(true)
  })

  it('keeps NAMESPACE, STATUS DELETED and the RFC822 FETCH items', async () => {
    const c = await login(true)
    expect((await c.command('NAMESPACE')).untagged).toEqual(['* NAMESPACE (("" "/")) NIL NIL'])
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    expect((await c.command('STORE 1 +FLAGS.SILENT (\\Deleted)')).status).toBe('OK')
    expect((await c.command('STATUS INBOX (MESSAGES DELETED)')).untagged).toEqual(['* STATUS "INBOX" (MESSAGES 2 DELETED 1)'])
    const fetched = await c.command('FETCH 1 (RFC822.SIZE RFC822.HEADER)')
    expect(fetched.status).toBe('OK')
    expect(fetched.untagged[0]).toMatch(/^\* 1 FETCH \(.*RFC822\.SIZE \d+.*RFC822\.HEADER \{\d+\}/s)
  })

  it('BODYSTRUCTURE joins RFC 2231 parameter continuations (RFC 9051 §7.5.2), for every session', async () => {
    const raw = [
      'From: a@remote.test',
      'Subject: continued',
      'MIME-Version: 1.0',
      'Content-Type: application/octet-stream;',
      ' name*0="a long file";',
      ' name*1=" name.txt"',
      "Content-Disposition: attachment; filename*0*=utf-8''%E2%82%AC;",
      ' filename*1*=%20rates.txt',
      'Content-Transfer-Encoding: base64',
      '',
      'AAAA',
      '',
    ].join('\r\n')
    for (const rev2 of [true, false]) {
      const c = await login(rev2)
      expect((await c.command('CREATE Continued')).status).toMatch(/OK|NO/)
      expect((await c.append('Continued', raw)).status).toBe('OK')
      expect((await c.command('SELECT Continued')).status).toBe('OK')
      const r = await c.command('FETCH 1 BODYSTRUCTURE')
      expect(r.untagged[0]).toContain('("NAME" "a long file name.txt")')
      expect(r.untagged[0]).toContain(`("ATTACHMENT" ("FILENAME*" "utf-8''%E2%82%AC%20rates.txt"))`)
    }
  })

  it('a typical rev2 client flow, every response pinned: LIST, SELECT, SEARCH → ESEARCH, FETCH BINARY, APPEND, STATUS, MOVE, UID EXPUNGE', async () => {
    const c = await raw.login(server.ports.imap, alice)
    expect((await c.command('ENABLE IMAP4rev2')).untagged).toEqual(['* ENABLED IMAP4rev2'])
    // names are UTF-8 in a rev2 session (RFC 9051 §5.1)
    expect((await c.command('CREATE "Flow/Ärger"')).tagged).toMatch(/ OK /)
    expect((await c.command('LIST "" "Flow/*"')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" "Flow/Ärger"'])
    expect((await c.command('LIST (SUBSCRIBED) "" "Flow*" RETURN (CHILDREN STATUS (MESSAGES SIZE))')).untagged).toEqual([
      '* LIST (\\Subscribed \\HasChildren) "/" "Flow"',
      '* STATUS "Flow" (MESSAGES 0 SIZE 0)',
      '* LIST (\\Subscribed \\HasNoChildren) "/" "Flow/Ärger"',
      '* STATUS "Flow/Ärger" (MESSAGES 0 SIZE 0)',
    ])
    const message = 'Subject: flow\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\nR3LDvMOfZQ==\r\n'
    const appended = await c.append('Flow', message, {args: '(\\Flagged) "01-Feb-2024 10:00:00 +0000"'})
    expect(appended.untagged).toEqual([])
    expect(appended.tagged).toMatch(/^\S+ OK \[APPENDUID (\d+) 1\] APPEND completed$/)
    const validity = /APPENDUID (\d+)/.exec(appended.tagged)![1]
    const second = 'Subject: second\r\n\r\nbody\r\n'
    expect((await c.append('Flow', second)).tagged).toMatch(/ OK \[APPENDUID \d+ 2\] /)
    const selected = await c.command('SELECT Flow')
    expect(selected.untagged).toEqual([
      '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)',
      '* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted',
      '* 2 EXISTS',
      '* LIST () "/" Flow',
      '* OK [UNSEEN 1] First unseen',
      `* OK [UIDVALIDITY ${validity}] UIDs valid`,
      '* OK [UIDNEXT 3] Predicted next UID',
      expect.stringMatching(/^\* OK \[HIGHESTMODSEQ \d+\] Highest$/),
    ])
    expect(selected.tagged).toMatch(/ OK \[READ-WRITE\] SELECT completed$/)
    // SEARCH answers ESEARCH (§6.4.4), with UID for UID SEARCH
    const search = await c.command('SEARCH FLAGGED')
    expect(search.untagged).toEqual([`* ESEARCH (TAG "${search.tag}") ALL 1`])
    const uidSearch = await c.command('UID SEARCH RETURN (MIN MAX COUNT) ALL')
    expect(uidSearch.untagged).toEqual([`* ESEARCH (TAG "${uidSearch.tag}") UID MIN 1 MAX 2 COUNT 2`])
    // FETCH BINARY decodes the transfer encoding (RFC 3516, folded into rev2)
    expect((await c.command('FETCH 1 (BINARY.SIZE[1] BINARY.PEEK[1])')).untagged).toEqual(['* 1 FETCH (BINARY.SIZE[1] 7 BINARY[1] {7}\r\nGrüße)'])
    expect((await c.command('STORE 2 +FLAGS.SILENT (\\Deleted)')).untagged).toEqual([])
    expect((await c.command('STATUS "Flow" (MESSAGES SIZE DELETED)')).untagged).toEqual([`* STATUS "Flow" (MESSAGES 2 SIZE ${message.length + second.length} DELETED 1)`])
    const moved = await c.command('MOVE 1 "Flow/Ärger"')
    expect(moved.untagged).toEqual([expect.stringMatching(/^\* OK \[COPYUID \d+ 1 1\] /), '* 1 EXPUNGE'])
    expect(moved.tagged).toMatch(/ OK MOVE completed$/)
    const expunged = await c.command('UID EXPUNGE 2')
    expect(expunged.untagged).toEqual(['* 1 EXPUNGE'])
    expect(expunged.tagged).toMatch(/ OK UID EXPUNGE completed$/)
    expect((await c.command('STATUS "Flow/Ärger" (MESSAGES UIDNEXT DELETED)')).untagged).toEqual(['* STATUS "Flow/Ärger" (MESSAGES 1 UIDNEXT 2 DELETED 0)'])
    expect((await c.command('UNSELECT')).tagged).toMatch(/ OK /)
  })

  it('DELETE of a \\Noselect folder with children is NO [HASCHILDREN]', async () => {
    const c = await login(true)
    expect((await c.command('CREATE Parent/Child')).status).toBe('OK')
    expect((await c.command('DELETE Parent')).status).toBe('OK')
    // Parent stays as a \Noselect placeholder for its child, and cannot go while the child is there
    expect((await c.command('DELETE Parent')).tagged).toMatch(/^\S+ NO \[HASCHILDREN\] /)
    expect((await c.command('DELETE INBOX')).tagged).toMatch(/^\S+ NO \[CANNOT\] /)
    expect((await c.command('DELETE Parent/Child')).status).toBe('OK')
  })
})
