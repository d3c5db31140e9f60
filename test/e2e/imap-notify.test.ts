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

const statusOf = (lines: string[]) => lines.filter((l) => l.startsWith('* STATUS'))

describe('NOTIFY command rules', () => {
  it('answers BAD for what §5, §6.1 and §8 forbid, NO [BADEVENT] for events it does not report, OK otherwise', async () => {
    const pre = await raw.open(server.ports.imap)
    expect((await pre.command('NOTIFY NONE')).status).toBe('BAD')
    const c = await login()
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
    expect((await a.command('NOTIFY SET (PERSONAL (MessageNew MessageExpunge))')).status).toBe('OK')
    // three folders change before a command: over the bound of 2
    for (const f of ['Ov1', 'Ov2', 'Ov3']) expect((await b.append(f, simpleMessage({subject: f}))).status).toBe('OK')
    const over = await a.command('NOOP')
    expect(over.untagged).toEqual(['* OK [NOTIFICATIONOVERFLOW] Too many changes to report; NOTIFY is off'])
    expect((await b.append('Ov1', simpleMessage({subject: 'after'}))).status).toBe('OK')
    expect((await a.command('NOOP')).untagged).toEqual([])
    await Promise.all([a.logout(), b.logout()])
  })
})

describe('NOTIFY folder events', () => {
  const ok = async (c: Awaited<ReturnType<typeof login>>, cmd: string) => expect((await c.command(cmd)).status, cmd).toBe('OK')

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
