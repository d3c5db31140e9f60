/**
 * Two base-protocol rules on the wire, each pinned to what Dovecot 2.3 answers to the same
 * commands (the transcripts were taken from the peer in ../shared/peer):
 *
 * - New keywords are announced (RFC 3501 §7.2.6): a STORE, APPEND, COPY or MOVE that brings a
 *   keyword into a folder makes every session with it selected get `* FLAGS` and
 *   `* OK [PERMANENTFLAGS …]` listing it before any FETCH that shows it, the storing session
 *   included (also for .SILENT); EXAMINE sessions get `PERMANENTFLAGS ()`. A keyword stays listed
 *   after the last message carrying it lost it, as in Dovecot.
 * - \Recent (RFC 3501 §2.3.2, §6.3.1, §6.3.2): each message is \Recent for exactly one read-write
 *   session, the first SELECT that sees it or the selected session told first; EXAMINE sees the
 *   messages nobody claimed yet as recent and does not take them from the next SELECT.
 * - A .SILENT STORE on top of another session's change the storing session was not told about
 *   yet reports the resulting flags (found by test/e2e/imap-consistency.test.ts).
 * - A STORE on a message another session expunged, which the storing session was not told
 *   about yet, succeeds without effect and without a FETCH (RFC 2180 §4.2; Dovecot differs).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deliver, RawConnections, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const SYSTEM = '\\Answered \\Flagged \\Deleted \\Seen \\Draft'
/** the FLAGS and PERMANENTFLAGS pair for a folder with these keywords */
const flagsPair = (keywords: string, readOnly = false) => [
  `* FLAGS (${SYSTEM}${keywords ? ` ${keywords}` : ''})`,
  readOnly ? '* OK [PERMANENTFLAGS ()] Read-only mailbox' : `* OK [PERMANENTFLAGS (${SYSTEM}${keywords ? ` ${keywords}` : ''} \\*)] Flags permitted`,
]

let server: ImapServer
const raw = new RawConnections()
let folders = 0

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
}, 30_000)

afterAll(() => {
  raw.closeAll()
  return server?.stop()
})

const login = () => raw.login(server.ports.imap, alice)

/** a fresh folder with `n` messages appended by `c`; unless `unclaimed`, a SELECT has taken their \Recent */
async function folderWith(c: RawImap, n: number, unclaimed = false): Promise<string> {
  const name = `F${++folders}`
  expect((await c.command(`CREATE ${name}`)).status).toBe('OK')
  for (let i = 0; i < n; i++) expect((await c.append(name, simpleMessage({subject: `${name} ${i}`}))).status).toBe('OK')
  if (!unclaimed) for (const command of [`SELECT ${name}`, 'UNSELECT']) expect((await c.command(command)).status).toBe('OK')
  return name
}

const untaggedOf = async (c: RawImap, command: string) => {
  const r = await c.command(command)
  expect(r.status, `${command}: ${r.tagged}`).toBe('OK')
  return r.untagged
}
const recentOf = (lines: string[]) => lines.find((l) => / RECENT$/.test(l))

describe('new keywords are announced before a FETCH shows them', () => {
  it('STORE: the storing session, another read-write session and an EXAMINE session each get FLAGS first', async () => {
    const [d, e, b] = [await login(), await login(), await login()]
    const box = await folderWith(d, 2)
    await untaggedOf(d, `SELECT ${box}`)
    await untaggedOf(e, `SELECT ${box}`)
    await untaggedOf(b, `EXAMINE ${box}`)
    expect(await untaggedOf(d, 'STORE 1 +FLAGS ($Label1)')).toEqual([...flagsPair('$Label1'), '* 1 FETCH (FLAGS ($Label1))'])
    expect(await untaggedOf(e, 'NOOP')).toEqual([...flagsPair('$Label1'), '* 1 FETCH (UID 1 FLAGS ($Label1))'])
    expect(await untaggedOf(b, 'NOOP')).toEqual([...flagsPair('$Label1', true), '* 1 FETCH (UID 1 FLAGS ($Label1))'])
    // told once: nothing more for anyone
    for (const c of [d, e, b]) expect(await untaggedOf(c, 'NOOP')).toEqual([])
    // a keyword already listed is not announced again
    expect(await untaggedOf(d, 'STORE 2 +FLAGS ($Label1)')).toEqual(['* 2 FETCH (FLAGS ($Label1))'])
  })

  it('.SILENT still announces (as Dovecot does); a FETCH in another session announces before its own data', async () => {
    const [d, e] = [await login(), await login()]
    const box = await folderWith(d, 2)
    await untaggedOf(d, `SELECT ${box}`)
    await untaggedOf(e, `SELECT ${box}`)
    expect(await untaggedOf(d, 'STORE 2 +FLAGS.SILENT ($Label2)')).toEqual(flagsPair('$Label2'))
    expect(await untaggedOf(d, 'NOOP')).toEqual([])
    // e asks before any NOOP: the FETCH's own answer may show $Label2, so FLAGS comes first
    const fetched = await untaggedOf(e, 'FETCH 2 (FLAGS)')
    expect(fetched.slice(0, 3)).toEqual([...flagsPair('$Label2'), '* 2 FETCH (FLAGS ($Label2))'])
    expect(fetched.slice(3)).toEqual(['* 2 FETCH (UID 2 FLAGS ($Label2))'])
  })

  it('replace mode and UID STORE; with CONDSTORE the FETCH carries MODSEQ after the announcement', async () => {
    const d = await login()
    const box = await folderWith(d, 3)
    await untaggedOf(d, `SELECT ${box}`)
    expect(await untaggedOf(d, 'STORE 1 FLAGS ($R1 \\Flagged)')).toEqual([...flagsPair('$R1'), '* 1 FETCH (FLAGS ($R1 \\Flagged))'])
    expect(await untaggedOf(d, 'UID STORE 2 +FLAGS ($R2)')).toEqual([...flagsPair('$R1 $R2'), '* 2 FETCH (FLAGS ($R2) UID 2)'])
    await untaggedOf(d, 'ENABLE CONDSTORE')
    const silent = await untaggedOf(d, 'STORE 3 +FLAGS.SILENT ($R3)')
    expect(silent.slice(0, 2)).toEqual(flagsPair('$R1 $R2 $R3'))
    expect(silent.slice(2)).toEqual([expect.stringMatching(/^\* 3 FETCH \(UID 3 MODSEQ \(\d+\)\)$/)])
  })

  it('APPEND with a keyword: FLAGS before EXISTS; a new SELECT lists it', async () => {
    const [a, e] = [await login(), await login()]
    const box = await folderWith(a, 1)
    await untaggedOf(e, `SELECT ${box}`)
    expect((await a.append(box, simpleMessage({subject: 'kw'}), {args: '($New1 \\Seen)'})).status).toBe('OK')
    expect(await untaggedOf(e, 'NOOP')).toEqual([...flagsPair('$New1'), '* 2 EXISTS', '* 1 RECENT'])
    expect((await untaggedOf(a, `EXAMINE ${box}`)).slice(0, 2)).toEqual(flagsPair('$New1', true))
  })

  it('COPY and MOVE into a folder another session has selected (and one in IDLE)', async () => {
    const [d, e, idler] = [await login(), await login(), await login()]
    const src = await folderWith(d, 3)
    const dst = await folderWith(d, 0)
    await untaggedOf(d, `SELECT ${src}`)
    await untaggedOf(d, 'STORE 1 +FLAGS.SILENT ($Copied)')
    await untaggedOf(d, 'STORE 2 +FLAGS.SILENT ($Moved)')
    await untaggedOf(e, `SELECT ${dst}`)
    await untaggedOf(idler, `EXAMINE ${dst}`)
    idler.writeLine('I1 IDLE')
    expect((await idler.next()).text).toBe('+ idling')

    // the idling (read-only) session is told at once: the message is unclaimed, so recent for it;
    // e, the first read-write session told, claims it
    expect((await d.command(`COPY 1 ${dst}`)).status).toBe('OK')
    expect(await idler.waitFor(/RECENT/, 5000)).toEqual([...flagsPair('$Copied', true), '* 1 EXISTS', '* 1 RECENT'])
    expect(await untaggedOf(e, 'NOOP')).toEqual([...flagsPair('$Copied'), '* 1 EXISTS', '* 1 RECENT'])

    expect((await d.command(`MOVE 2 ${dst}`)).status).toBe('OK')
    expect(await idler.waitFor(/RECENT/, 5000)).toEqual([...flagsPair('$Copied $Moved', true), '* 2 EXISTS', '* 2 RECENT'])
    expect(await untaggedOf(e, 'NOOP')).toEqual([...flagsPair('$Copied $Moved'), '* 2 EXISTS', '* 2 RECENT'])
    idler.writeLine('DONE')
    expect((await idler.tagged('I1')).status).toBe('OK')
  })

  it('a keyword stays listed after the last message carrying it lost it (as in Dovecot)', async () => {
    const d = await login()
    const box = await folderWith(d, 1)
    await untaggedOf(d, `SELECT ${box}`)
    await untaggedOf(d, 'STORE 1 +FLAGS.SILENT ($Gone)')
    expect(await untaggedOf(d, 'STORE 1 -FLAGS ($Gone)')).toEqual(['* 1 FETCH (FLAGS ())'])
    expect((await untaggedOf(d, `SELECT ${box}`)).slice(1, 3)).toEqual(flagsPair('$Gone'))
  })
})

describe('a .SILENT STORE over a change the session was not told about yet (found by imap-consistency)', () => {
  it('the storing session is told the flags that resulted, not left to believe only its own', async () => {
    const [a, b] = [await login(), await login()]
    const box = await folderWith(a, 2)
    await untaggedOf(a, `SELECT ${box}`)
    await untaggedOf(b, `SELECT ${box}`)
    expect(await untaggedOf(b, 'STORE 1 +FLAGS.SILENT (\\Flagged)')).toEqual([])
    // a has not caught up with b's \Flagged: its own +\Seen cannot tell it the result
    const stored = await untaggedOf(a, 'STORE 1 +FLAGS.SILENT (\\Seen)')
    const noop = await untaggedOf(a, 'NOOP')
    expect([...stored, ...noop]).toEqual(['* 1 FETCH (UID 1 FLAGS (\\Flagged \\Seen))'])
    // caught up: a .SILENT STORE is silent again
    expect(await untaggedOf(a, 'STORE 2 +FLAGS.SILENT (\\Seen)')).toEqual([])
    expect(await untaggedOf(a, 'NOOP')).toEqual([])
  })
})

describe('a STORE on a message another session expunged, which this one was not told about yet', () => {
  it('succeeds without effect (RFC 2180 §4.2): no FETCH, and its keyword never enters the folder', async () => {
    const [a, b] = [await login(), await login()]
    const box = await folderWith(a, 3)
    await untaggedOf(a, `SELECT ${box}`)
    await untaggedOf(b, `SELECT ${box}`)
    await untaggedOf(b, `MOVE 2 ${box}`)
    // Dovecot 2.3 stores into its stale view of the message and answers FLAGS with $Ghost and a
    // FETCH with it; here the message is gone from the folder, so nothing carries $Ghost
    // (the moved copy is new to a; b, told first, has it as \\Recent)
    expect(await untaggedOf(a, 'STORE 2 +FLAGS ($Ghost)')).toEqual(['* 4 EXISTS', '* 0 RECENT'])
    expect(await untaggedOf(a, 'NOOP')).toEqual(['* 2 EXPUNGE'])
    expect(await untaggedOf(a, 'FETCH 1:* (UID FLAGS)')).toEqual(['* 1 FETCH (UID 1 FLAGS ())', '* 2 FETCH (UID 3 FLAGS ())', '* 3 FETCH (UID 4 FLAGS ())'])
    expect((await untaggedOf(a, `SELECT ${box}`)).slice(1, 3)).toEqual(flagsPair(''))
  })
})

describe('\\Recent: one session per message; EXAMINE looks without claiming', () => {
  it('replays the Dovecot transcript: EXAMINE, SELECT, new mail, CLOSE, SELECT again', async () => {
    const [a, b, c, d, e, f] = await Promise.all([login(), login(), login(), login(), login(), login()])
    const box = await folderWith(a, 2, true)
    // EXAMINE sees the two unclaimed messages as recent, and leaves them so
    const examined = await untaggedOf(b, `EXAMINE ${box}`)
    expect(examined.slice(0, 4)).toEqual([...flagsPair('', true), '* 2 EXISTS', '* 2 RECENT'])
    expect(await untaggedOf(b, 'FETCH 1:* (FLAGS)')).toEqual(['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS (\\Recent))'])
    expect(recentOf(await untaggedOf(c, `EXAMINE ${box}`))).toBe('* 2 RECENT')
    expect(await untaggedOf(a, `STATUS ${box} (RECENT)`)).toEqual([`* STATUS "${box}" (RECENT 2)`])
    // the first SELECT takes them; the next one gets none
    expect(recentOf(await untaggedOf(d, `SELECT ${box}`))).toBe('* 2 RECENT')
    expect(await untaggedOf(d, 'FETCH 1:* (FLAGS)')).toEqual(['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS (\\Recent))'])
    expect(recentOf(await untaggedOf(e, `SELECT ${box}`))).toBe('* 0 RECENT')
    expect(await untaggedOf(a, `STATUS ${box} (RECENT)`)).toEqual([`* STATUS "${box}" (RECENT 0)`])
    // what an EXAMINE session saw as recent stays recent for it; a new EXAMINE sees none
    expect(await untaggedOf(b, 'FETCH 1:* (FLAGS)')).toEqual(['* 1 FETCH (FLAGS (\\Recent))', '* 2 FETCH (FLAGS (\\Recent))'])
    expect(recentOf(await untaggedOf(c, `EXAMINE ${box}`))).toBe('* 0 RECENT')

    // new mail while three sessions have the folder open: the read-write one told first takes it
    expect((await a.append(box, simpleMessage({subject: 'three'}))).status).toBe('OK')
    expect(await untaggedOf(b, 'NOOP')).toEqual(['* 3 EXISTS', '* 3 RECENT'])
    expect(await untaggedOf(e, 'NOOP')).toEqual(['* 3 EXISTS', '* 1 RECENT'])
    expect(await untaggedOf(d, 'NOOP')).toEqual(['* 3 EXISTS', '* 2 RECENT'])
    expect(await untaggedOf(e, 'FETCH 1:* (FLAGS)')).toEqual(['* 1 FETCH (FLAGS ())', '* 2 FETCH (FLAGS ())', '* 3 FETCH (FLAGS (\\Recent))'])
    expect(await untaggedOf(b, 'FETCH 3 (FLAGS)')).toEqual(['* 3 FETCH (FLAGS (\\Recent))'])

    // a session that closed its selection keeps nothing to give back
    await untaggedOf(d, 'CLOSE')
    expect(recentOf(await untaggedOf(f, `SELECT ${box}`))).toBe('* 0 RECENT')
    // mail the open sessions were not told about yet goes to the SELECT that sees it first
    expect((await a.append(box, simpleMessage({subject: 'four'}))).status).toBe('OK')
    expect(recentOf(await untaggedOf(d, `SELECT ${box}`))).toBe('* 1 RECENT')
    expect(await untaggedOf(e, 'NOOP')).toEqual(['* 4 EXISTS', '* 1 RECENT'])
    expect(await untaggedOf(f, 'NOOP')).toEqual(['* 4 EXISTS', '* 0 RECENT'])
    expect(await untaggedOf(d, 'FETCH 4 (FLAGS)')).toEqual(['* 4 FETCH (FLAGS (\\Recent))'])
  })

  it('mail delivered over SMTP while nobody has the folder open; several sessions SELECT at once', async () => {
    const sessions = await Promise.all(Array.from({length: 5}, () => login()))
    const inbox = 'INBOX'
    // claim whatever INBOX holds now, so the count below is only the new mail
    await untaggedOf(sessions[0]!, `SELECT ${inbox}`)
    await untaggedOf(sessions[0]!, 'UNSELECT')
    for (let i = 0; i < 3; i++) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `smtp ${i}`}))
    const selects = await Promise.all(sessions.map((s) => untaggedOf(s, `SELECT ${inbox}`)))
    const counts = selects.map((lines) => Number(/^\* (\d+) RECENT$/.exec(recentOf(lines)!)![1]))
    expect(counts.sort()).toEqual([0, 0, 0, 0, 3])
    // one more message: exactly one of the five sessions (the first told) has it as recent
    await deliver(server.ports.smtp, alice.address, simpleMessage({subject: 'smtp late'}))
    const noops = await Promise.all(sessions.map((s) => untaggedOf(s, 'NOOP')))
    const recentFlags = await Promise.all(sessions.map(async (s) => (await untaggedOf(s, 'FETCH * (FLAGS)')).join(' ')))
    expect(recentFlags.filter((l) => l.includes('\\Recent')).length).toBe(1)
    for (const lines of noops) expect(lines[0]).toMatch(/^\* \d+ EXISTS$/)
  })
})
