/**
 * NOTIFY (RFC 5465), on the wire. The command's rules (§5, §6.1, §8: BAD; unsupported events:
 * NO [BADEVENT]), STATUS reports of other folders as they change (at the next command and at
 * once during IDLE), the filters, NOTIFY SET STATUS, NOTIFY NONE and [NOTIFICATIONOVERFLOW];
 * MailboxName and SubscriptionChange as `* LIST` (§5.4, §5.5).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, type ImapServer, simpleMessage, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const bob = {address: 'bob@example.test', password: 'bob-pw'}
const BADEVENT = 'NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)]'

let server: ImapServer
const raw = new RawConnections()

beforeAll(async () => {
  server = await startImapServer({config: {imap: {maxNotifyPending: 2}}})
}, 30_000)

afterAll(async () => {
  raw.closeAll()
  await server?.stop()
})

const login = (user = alice) => raw.login(server.ports.imap, user)

const ok = async (c: Awaited<ReturnType<typeof login>>, cmd: string) => expect((await c.command(cmd)).status, cmd).toBe('OK')

const statusOf = (lines: string[]) => lines.filter((l) => l.startsWith('* STATUS'))

describe('NOTIFY command rules', () => {
  it('answers BAD for what §5, §6.1 and §8 forbid, NO [BADEVENT] for events it does not report, OK otherwise', async () => {
    const pre = await raw.open(server.ports.imap)
    expect((await pre.command('NOTIFY NONE')).status).toBe('BAD')
    const c = await login()
    expect((await c.command('CAPABILITY')).untagged[0]).toMatch(/^\* CAPABILITY .* NOTIFY( |$)/)
    const bad = [
      'NOTIFY SET (SELECTED (MessageNew))',
      'NOTIFY SET (PERSONAL (MessageExpunge))',
      'NOTIFY SET (PERSONAL (FlagChange))',
      'NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (SELECTED-DELAYED (MessageNew MessageExpunge))',
      'NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))',
      'NOTIFY SET (SELECTED (MessageNew MessageExpunge MailboxName))',
      'NOTIFY SET (FOLDERS (MessageNew MessageExpunge))',
      'NOTIFY SET (PERSONAL (MessageNew MessageExpunge Nonsense))',
      'NOTIFY SET (MAILBOXES (MessageNew MessageExpunge))',
      'NOTIFY SET',
      'NOTIFY',
    ]
    for (const cmd of bad) expect((await c.command(cmd)).status, cmd).toBe('BAD')
    for (const cmd of ['NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))', 'NOTIFY SET (PERSONAL (MailboxMetadataChange))', 'NOTIFY SET (PERSONAL (ServerMetadataChange))']) {
      const r = await c.command(cmd)
      expect(r.tagged, cmd).toMatch(new RegExp(`^${r.tag} ${BADEVENT.replace(/[[\]()]/g, '\\$&')} `))
    }
    for (const cmd of [
      'NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge)) (INBOXES (MessageNew MessageExpunge FlagChange)) (SUBTREE (Lists "Other") (MessageNew MessageExpunge)) (SUBSCRIBED NONE)',
      'NOTIFY SET STATUS (MAILBOXES Lists (MessageNew MessageExpunge))',
      'NOTIFY SET (PERSONAL (MailboxName SubscriptionChange))',
      'NOTIFY NONE',
    ]) {
      expect((await c.command(cmd)).tagged, cmd).toMatch(/ OK NOTIFY completed$/)
    }
    await c.logout()
  })
})

describe('NOTIFY reports', () => {
  it('reports another folder as STATUS at the next command, never the selected one, and stops after NOTIFY NONE', async () => {
    const a = await login()
    const b = await login()
    for (const f of ['News', 'News/Tech', 'Quiet']) expect((await b.command(`CREATE ${f}`)).status).toBe('OK')
    expect((await a.command('SELECT INBOX')).status).toBe('OK')
    expect((await a.command('NOTIFY SET (SELECTED (MessageNew MessageExpunge)) (SUBTREE News (MessageNew MessageExpunge))')).status).toBe('OK')
    expect((await b.append('News/Tech', simpleMessage({subject: 'n1'}))).status).toBe('OK')
    expect((await b.append('Quiet', simpleMessage({subject: 'q1'}))).status).toBe('OK')
    expect((await b.append('INBOX', simpleMessage({subject: 'i1'}))).status).toBe('OK')
    const noop = await a.command('NOOP')
    expect(statusOf(noop.untagged)).toEqual(['* STATUS "News/Tech" (UIDNEXT 2 MESSAGES 1)'])
    expect(noop.untagged).toContain('* 1 EXISTS')
    // a change no reported item shows (a flag, without FlagChange) is not reported
    expect((await b.command('SELECT "News/Tech"')).status).toBe('OK')
    expect((await b.command('STORE 1 +FLAGS (\\Seen)')).status).toBe('OK')
    expect(statusOf((await a.command('NOOP')).untagged)).toEqual([])
    expect((await a.command('NOTIFY NONE')).status).toBe('OK')
    expect((await b.append('News', simpleMessage({subject: 'n2'}))).status).toBe('OK')
    expect(statusOf((await a.command('NOOP')).untagged)).toEqual([])
    await Promise.all([a.logout(), b.logout()])
  })

  it('reports at once during IDLE, with UNSEEN for FlagChange; NOTIFY SET STATUS sends the current STATUS first', async () => {
    const a = await login(bob)
    const b = await login(bob)
    expect((await b.command('CREATE Lists')).status).toBe('OK')
    expect((await b.append('Lists', simpleMessage({subject: 'l1'}))).status).toBe('OK')
    const set = await a.command('NOTIFY SET STATUS (MAILBOXES Lists (MessageNew MessageExpunge FlagChange))')
    expect(statusOf(set.untagged)).toEqual([expect.stringMatching(/^\* STATUS "Lists" \(UIDNEXT 2 MESSAGES 1 UIDVALIDITY \d+ UNSEEN 1\)$/)])
    a.writeLine('I1 IDLE')
    expect((await a.next()).text).toBe('+ idling')
    expect((await b.append('Lists', simpleMessage({subject: 'l2'}))).status).toBe('OK')
    expect((await a.next(8000)).text).toBe('* STATUS "Lists" (UIDNEXT 3 MESSAGES 2 UNSEEN 2)')
    expect((await b.command('SELECT Lists')).status).toBe('OK')
    expect((await b.command('STORE 1 +FLAGS (\\Seen)')).status).toBe('OK')
    expect((await a.next(8000)).text).toBe('* STATUS "Lists" (UIDNEXT 3 MESSAGES 2 UNSEEN 1)')
    a.writeLine('DONE')
    expect((await a.tagged('I1')).status).toBe('OK')
    await Promise.all([a.logout(), b.logout()])
  })

  it('INBOXES and SUBSCRIBED cover what they name; past maxNotifyPending folders: [NOTIFICATIONOVERFLOW], then silence', async () => {
    const a = await login()
    const b = await login()
    for (const f of ['Sub1', 'Unsub1', 'Ov1', 'Ov2', 'Ov3']) expect((await b.command(`CREATE ${f}`)).status).toBe('OK')
    expect((await b.command('SUBSCRIBE Sub1')).status).toBe('OK')
    expect((await b.command('UNSUBSCRIBE Unsub1')).status).toBe('OK')
    expect((await a.command('NOTIFY SET (INBOXES (MessageNew MessageExpunge)) (SUBSCRIBED (MessageNew MessageExpunge))')).status).toBe('OK')
    for (const f of ['Sub1', 'Unsub1']) expect((await b.append(f, simpleMessage({subject: f}))).status).toBe('OK')
    expect(statusOf((await a.command('NOOP')).untagged)).toEqual(['* STATUS "Sub1" (UIDNEXT 2 MESSAGES 1)'])
    // a client that stops reading while a big push is under way: the pushes wait for it to read,
    // and three folders change meanwhile: over the bound of 2
    await ok(b, 'CREATE Big')
    expect((await a.command('SELECT Big')).status).toBe('OK')
    expect((await a.command('NOTIFY SET (SELECTED (MessageNew (BODY.PEEK[]) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge))')).status).toBe('OK')
    a.pause()
    // 12 MB: more than the socket buffers on both sides hold
    const big = simpleMessage({subject: 'big', body: `${'y'.repeat(78)}\r\n`.repeat(160_000)})
    expect((await b.append('Big', big)).status).toBe('OK')
    for (const f of ['Ov1', 'Ov2', 'Ov3']) expect((await b.append(f, simpleMessage({subject: f}))).status).toBe('OK')
    a.resume()
    const over = await a.waitFor(/NOTIFICATIONOVERFLOW/, 15_000)
    expect(over.filter((l) => l.startsWith('* STATUS'))).toEqual([])
    expect(over.at(-1)).toBe('* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off')
    await ok(a, 'UNSELECT')
    expect((await b.append('Ov1', simpleMessage({subject: 'after'}))).status).toBe('OK')
    expect((await a.command('NOOP')).untagged).toEqual([])
    await Promise.all([a.logout(), b.logout()])
  })
})

describe('NOTIFY event kinds', () => {
  it('reports a folder only for the event kinds its group asks for: a flag change without FlagChange is no STATUS, with it one with UNSEEN', async () => {
    const a = await login(bob)
    const b = await login(bob)
    await ok(b, 'CREATE Kinds')
    expect((await b.append('Kinds', simpleMessage({subject: 'k1'}))).status).toBe('OK')
    await ok(a, 'NOTIFY SET (MAILBOXES Kinds (MessageNew MessageExpunge))')
    await ok(b, 'SELECT Kinds')
    await ok(b, 'STORE 1 +FLAGS.SILENT (\\Seen)')
    expect(statusOf((await a.command('NOOP')).untagged)).toEqual([])
    await ok(a, 'NOTIFY SET (MAILBOXES Kinds (MessageNew MessageExpunge FlagChange))')
    await ok(b, 'STORE 1 -FLAGS.SILENT (\\Seen)')
    expect(statusOf((await a.command('NOOP')).untagged)).toEqual(['* STATUS "Kinds" (UIDNEXT 2 MESSAGES 1 UNSEEN 1)'])
    await Promise.all([a.logout(), b.logout()])
  })
})

describe('NOTIFY folder events', () => {
  it('reports CREATE, RENAME, DELETE as * LIST as the folder is after it (§5.4), (UN)SUBSCRIBE with \\Subscribed or without (§5.5), for the groups that ask', async () => {
    const a = await login()
    const b = await login()
    await ok(b, 'CREATE Proj')
    await ok(a, 'NOTIFY SET (SUBTREE Proj (MailboxName SubscriptionChange)) (PERSONAL (MailboxName))')
    const lists = async () => (await a.command('NOOP')).untagged.filter((l) => l.startsWith('* LIST'))
    // the parent CREATE makes is reported too
    await ok(b, 'CREATE Proj/A/B')
    expect(await lists()).toEqual(['* LIST (\\HasChildren) "/" "Proj/A"', '* LIST (\\HasNoChildren) "/" "Proj/A/B"'])
    // a rename takes its inferiors along: each with its OLDNAME
    await ok(b, 'RENAME Proj/A Proj/C')
    expect(await lists()).toEqual(['* LIST (\\HasChildren) "/" "Proj/C" ("OLDNAME" ("Proj/A"))', '* LIST (\\HasNoChildren) "/" "Proj/C/B" ("OLDNAME" ("Proj/A/B"))'])
    await ok(b, 'SUBSCRIBE Proj/C/B')
    await ok(b, 'UNSUBSCRIBE Proj/C/B')
    expect(await lists()).toEqual(['* LIST (\\HasNoChildren \\Subscribed) "/" "Proj/C/B"', '* LIST (\\HasNoChildren) "/" "Proj/C/B"'])
    // deleting a folder with children leaves a \Noselect placeholder
    await ok(b, 'DELETE Proj/C')
    expect(await lists()).toEqual(['* LIST (\\Noselect \\HasChildren) "/" "Proj/C"'])
    // PERSONAL asked for MailboxName only: the SUBSCRIBE is not reported; a deleted folder is \NonExistent
    await ok(b, 'CREATE "Other &AOk-t&AOk-"')
    await ok(b, 'SUBSCRIBE "Other &AOk-t&AOk-"')
    expect(await lists()).toEqual(['* LIST (\\HasNoChildren) "/" "Other &AOk-t&AOk-"'])
    await ok(b, 'DELETE "Other &AOk-t&AOk-"')
    expect(await lists()).toEqual(['* LIST (\\NonExistent) "/" "Other &AOk-t&AOk-"'])
    // INBOX's rename leaves INBOX in place: only the new folder is new
    await ok(b, 'RENAME INBOX Proj/Old')
    expect(await lists()).toEqual(['* LIST (\\HasNoChildren) "/" "Proj/Old"'])
    // during IDLE at once
    a.writeLine('I2 IDLE')
    expect((await a.next()).text).toBe('+ idling')
    await ok(b, 'CREATE Proj/Live')
    expect((await a.next(8000)).text).toBe('* LIST (\\HasNoChildren) "/" "Proj/Live"')
    a.writeLine('DONE')
    expect((await a.tagged('I2')).status).toBe('OK')
    // a group without the folder events, and NOTIFY NONE: nothing
    await ok(a, 'NOTIFY SET (PERSONAL (MessageNew MessageExpunge))')
    await ok(b, 'CREATE Proj/Quiet')
    expect(await lists()).toEqual([])
    await Promise.all([a.logout(), b.logout()])
  })
})

describe('NOTIFY pushes, the selected folder', () => {
  it('sends changes as they happen without a command (§1, §3): EXISTS, then the FETCH of MessageNew fetch attributes (§5.1); EXPUNGE at once with SELECTED, flags only with FlagChange; STATUS of other folders', async () => {
    const a = await login(bob)
    const b = await login(bob)
    for (const f of ['Push', 'Side']) await ok(b, `CREATE ${f}`)
    await ok(a, 'SELECT Push')
    await ok(a, 'NOTIFY SET (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (SUBJECT)]) MessageExpunge)) (MAILBOXES Side (MessageNew MessageExpunge))')
    expect((await b.append('Push', simpleMessage({subject: 'p1'}))).status).toBe('OK')
    const pushed = await a.waitFor((t) => t.startsWith('* 1 FETCH'), 8000)
    expect(pushed.slice(0, 2)).toEqual(['* 1 EXISTS', '* 1 RECENT'])
    expect(pushed[2]).toMatch(/^\* 1 FETCH \(UID 1 BODY\[HEADER\.FIELDS \(SUBJECT\)\] \{\d+\}\r\nSubject: p1\r\n\r\n\)$/)
    await ok(b, 'SELECT Push')
    await ok(b, 'STORE 1 +FLAGS.SILENT (\\Deleted)')
    await ok(b, 'EXPUNGE')
    // without FlagChange the \\Deleted flag is not pushed; the expunge is
    expect(await a.waitFor(/EXPUNGE/, 8000)).toEqual(['* 1 EXPUNGE'])
    expect((await b.append('Side', simpleMessage({subject: 's1'}))).status).toBe('OK')
    expect((await a.waitFor(/^\* STATUS/, 8000)).at(-1)).toBe('* STATUS "Side" (UIDNEXT 2 MESSAGES 1)')
    // a FETCH of the flags the body fetch set: none, it was .PEEK
    expect((await a.command('FETCH 1:* (FLAGS)')).untagged).toEqual([])
    await Promise.all([a.logout(), b.logout()])
  })

  it('SELECTED-DELAYED pushes new messages but holds expunges for a command that allows them; (SELECTED NONE) pushes nothing of the selected folder, which a command still brings up to date', async () => {
    const a = await login(bob)
    const b = await login(bob)
    await ok(b, 'CREATE Delayed')
    await ok(a, 'SELECT Delayed')
    await ok(a, 'NOTIFY SET (SELECTED-DELAYED (MessageNew MessageExpunge))')
    expect((await b.append('Delayed', simpleMessage({subject: 'd1'}))).status).toBe('OK')
    expect((await a.waitFor(/EXISTS/, 8000)).at(-1)).toBe('* 1 EXISTS')
    await ok(b, 'SELECT Delayed')
    await ok(b, 'STORE 1 +FLAGS.SILENT (\\Deleted)')
    await ok(b, 'EXPUNGE')
    const held = await a.collect(1000)
    expect(held.filter((l) => /EXPUNGE/.test(l))).toEqual([])
    // FETCH may not carry EXPUNGE (RFC 3501 §7.4.1); NOOP does
    expect((await a.command('FETCH 1 (UID)')).untagged.filter((l) => /EXPUNGE/.test(l))).toEqual([])
    expect((await a.command('NOOP')).untagged).toContain('* 1 EXPUNGE')
    await ok(a, 'NOTIFY SET (SELECTED NONE) (PERSONAL (MessageNew MessageExpunge))')
    expect((await b.append('Delayed', simpleMessage({subject: 'd2'}))).status).toBe('OK')
    expect(await a.collect(1000)).toEqual([])
    expect((await a.command('NOOP')).untagged).toContain('* 1 EXISTS')
    await Promise.all([a.logout(), b.logout()])
  })
})
