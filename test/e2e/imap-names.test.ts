/**
 * Issue #17 items 4–7 on the wire, against one `mailbox serve`: ENVELOPE address forms as
 * Dovecot 2.3 renders them, mailbox names with atom specials and modified UTF-7, LSUB and
 * subscriptions that outlive their folder, LIST-EXTENDED (RFC 5258) exactly.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawConnections, RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

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

const login = () => raw.login(server.ports.imap, alice)

const message = (...fields: string[]) => fields.join('\r\n') + '\r\n\r\nbody\r\n'

describe('FETCH ENVELOPE: groups, incomplete and unusual addresses (RFC 3501 §7.4.2)', () => {
  it('renders each form as Dovecot does, with "" where Dovecot invents MISSING_DOMAIN / MISSING_MAILBOX', async () => {
    const c = await login()
    expect((await c.command('CREATE Envelopes')).status).toBe('OK')
    const messages = [
      message('From: group: a@b.c, "D E" <d@e.f>;', 'To: undisclosed-recipients:;', 'Subject: s1'),
      message('From: root', 'To: MAILER-DAEMON (Mail Delivery System)', 'Cc: user@', 'Bcc: @example.com'),
      message('From: "john doe"@example.com', 'To: john@example.com (John Doe)', 'Cc: <@route1,@route2:user@example.com>', 'Bcc: Group: ;'),
      message('From: =?utf-8?q?J=C3=B6rg?= <j@example.com>', 'To: "Doe, John" <john@x.y>, jane@x.y', 'Cc: g1: a@b;, c@d, g2:;', 'Reply-To: <>'),
    ]
    for (const m of messages) expect((await c.append('Envelopes', m)).status).toBe('OK')
    expect((await c.command('SELECT Envelopes')).status).toBe('OK')
    const r = await c.command('FETCH 1:* ENVELOPE')
    expect(r.status).toBe('OK')
    const group = '((NIL NIL "group" NIL)(NIL NIL "a" "b.c")("D E" NIL "d" "e.f")(NIL NIL NIL NIL))'
    const root = '((NIL NIL "root" ""))'
    const john = '((NIL NIL "john doe" "example.com"))'
    const jorg = '(("=?utf-8?q?J=C3=B6rg?=" NIL "j" "example.com"))'
    expect(r.untagged).toEqual([
      `* 1 FETCH (ENVELOPE (NIL "s1" ${group} ${group} ${group} ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) NIL NIL NIL NIL))`,
      `* 2 FETCH (ENVELOPE (NIL NIL ${root} ${root} ${root} (("Mail Delivery System" NIL "MAILER-DAEMON" "")) ((NIL NIL "user" "")) ((NIL NIL "" "example.com")) NIL NIL))`,
      `* 3 FETCH (ENVELOPE (NIL NIL ${john} ${john} ${john} (("John Doe" NIL "john" "example.com")) ((NIL "@route1,@route2" "user" "example.com")) ((NIL NIL "Group" NIL)(NIL NIL NIL NIL)) NIL NIL))`,
      `* 4 FETCH (ENVELOPE (NIL NIL ${jorg} ${jorg} ((NIL NIL "" "")) (("Doe, John" NIL "john" "x.y")(NIL NIL "jane" "x.y")) ((NIL NIL "g1" NIL)(NIL NIL "a" "b")(NIL NIL NIL NIL)(NIL NIL "c" "d")(NIL NIL "g2" NIL)(NIL NIL NIL NIL)) NIL NIL NIL))`,
    ])
  })
})

describe('mailbox names with atom specials and modified UTF-7 (RFC 3501 §5.1.3)', () => {
  const specials = "!#$&-'+,-.0123456789:;<=>?@^_`|[}" // `&` is `&-` on the wire

  it('CREATE, LIST, STATUS, SELECT, RENAME, SUBSCRIBE, LSUB and DELETE round-trip such a name', async () => {
    const c = await login()
    const q = `"${specials}"`
    expect((await c.command(`CREATE ${q}`)).tagged).toMatch(/OK/)
    expect((await c.command(`LIST "" "!*"`)).untagged).toEqual([`* LIST (\\HasNoChildren) "/" ${q}`])
    expect((await c.command(`STATUS ${q} (MESSAGES)`)).untagged).toEqual([`* STATUS ${q} (MESSAGES 0)`])
    expect((await c.command(`SELECT ${q}`)).status).toBe('OK')
    expect((await c.command(`RENAME ${q} "x&-y/&AOk-t&AOk-"`)).status).toBe('OK')
    expect((await c.command(`LIST "" "x&-y/*"`)).untagged).toEqual([`* LIST (\\HasNoChildren) "/" "x&-y/&AOk-t&AOk-"`])
    expect((await c.command(`UNSUBSCRIBE "x&-y/&AOk-t&AOk-"`)).status).toBe('OK')
    expect((await c.command(`SUBSCRIBE "x&-y/&AOk-t&AOk-"`)).status).toBe('OK')
    expect((await c.command(`LSUB "" "x&-y/*"`)).untagged).toEqual([`* LSUB () "/" "x&-y/&AOk-t&AOk-"`])
    expect((await c.command(`DELETE "x&-y/&AOk-t&AOk-"`)).status).toBe('OK')
    expect((await c.command('NOOP')).status).toBe('OK')
  })

  it('an invalid modified UTF-7 name gets NO from every mailbox command; LIST and LSUB with such a pattern answer OK', async () => {
    const c = await login()
    // unterminated, bad base64, encoded ASCII, a lone surrogate, a bare &
    for (const bad of ['"a&Jjo"', '"&Jjo!"', '"&AGE-"', '"&2D0-"', '"&"']) {
      for (const cmd of [`CREATE ${bad}`, `DELETE ${bad}`, `SELECT ${bad}`, `EXAMINE ${bad}`, `STATUS ${bad} (MESSAGES)`, `RENAME ${bad} x`, `RENAME INBOX ${bad}`, `SUBSCRIBE ${bad}`, `UNSUBSCRIBE ${bad}`]) {
        const r = await c.command(cmd)
        expect(r.tagged, cmd).toMatch(/^A\d+ NO /)
      }
      for (const cmd of [`LIST "" ${bad}`, `LIST ${bad} "*"`, `LSUB "" ${bad}`, `LIST (SUBSCRIBED) "" ${bad}`]) expect(await c.command(cmd), cmd).toMatchObject({status: 'OK', untagged: []})
      expect((await c.append(bad.slice(1, -1), 'Subject: x\r\n\r\nx\r\n')).tagged).toMatch(/^A\d+ NO /)
    }
    // one bad pattern among good ones matches nothing; the others still match
    expect((await c.command('LIST "" ("&" "INBOX")')).untagged).toEqual(['* LIST (\\HasNoChildren) "/" "INBOX"'])
    expect((await c.command('SELECT INBOX')).status).toBe('OK')
    for (const cmd of ['COPY 1:* "&"', 'MOVE 1:* "&"', 'UID COPY 1:* "&"']) expect((await c.command(cmd)).tagged, cmd).toMatch(/^A\d+ NO /)
    expect(c.isClosed).toBe(false)
  })

  it('no mailbox command ends the connection, whatever the name (a bounded fuzz)', async () => {
    const c = await login()
    const names = ['"\\\\"', '"\\""', '"a b"', '"}"', '"{3}"', '"(" ', '"~"', '"#news"', '"*"', '"%"', '"a%b"', '""', '"a/"', '"/a"', '"a//b"', '".."', `"${'&-'.repeat(300)}"`, `"${'x'.repeat(600)}"`, '{2+}\r\n\u00e9', '"INBOX/x"', '"inbox"']
    const commands = ['CREATE %', 'DELETE %', 'SELECT %', 'EXAMINE %', 'STATUS % (MESSAGES UIDNEXT)', 'SUBSCRIBE %', 'UNSUBSCRIBE %', 'RENAME % x1', 'RENAME x1 %', 'LIST "" %', 'LSUB "" %', 'LIST % "*"', 'LIST (SUBSCRIBED RECURSIVEMATCH) "" % RETURN (CHILDREN)', 'LIST "" % RETURN (STATUS (MESSAGES))']
    for (const name of names) {
      for (const command of commands) {
        const r = await c.command(command.replace('%', name))
        expect(r.status, `${command} ${name}`).toMatch(/OK|NO|BAD/)
      }
    }
    expect((await c.command('NOOP')).status).toBe('OK')
  })
})

/** the RFC 5258 §5 example hierarchy (one namespace, "/"): Fruit/Peach subscribed, then deleted */
async function fruitAndVegetables(c: RawImap, prefix: string): Promise<void> {
  const all = ['Fruit', 'Fruit/Apple', 'Fruit/Banana', 'Fruit/Peach', 'Tofu', 'Vegetable', 'Vegetable/Broccoli', 'Vegetable/Corn'].map((n) => `${prefix}/${n}`)
  for (const name of all.filter((n) => !n.endsWith('/Fruit') && !n.endsWith('/Vegetable'))) expect((await c.command(`CREATE "${name}"`)).status).toBe('OK')
  // CREATE subscribes (and makes the parents, subscribed too): start from the example's subscriptions
  for (const name of [prefix, ...all]) expect((await c.command(`UNSUBSCRIBE "${name}"`)).status).toBe('OK')
  for (const name of ['Fruit/Banana', 'Fruit/Peach', 'Vegetable', 'Vegetable/Broccoli']) expect((await c.command(`SUBSCRIBE "${prefix}/${name}"`)).status).toBe('OK')
  expect((await c.command(`DELETE "${prefix}/Fruit/Peach"`)).status).toBe('OK')
}

describe('LSUB and subscriptions (RFC 3501 §6.3.6–6.3.9)', () => {
  it('LSUB % shows an unsubscribed parent of a subscribed child as \\Noselect; * shows the subscribed names only', async () => {
    const c = await login()
    await fruitAndVegetables(c, 'L')
    expect((await c.command('LSUB "L/" "%"')).untagged).toEqual(['* LSUB (\\Noselect) "/" "L/Fruit"', '* LSUB () "/" "L/Vegetable"'])
    expect((await c.command('LSUB "" "L/*"')).untagged).toEqual([
      '* LSUB () "/" "L/Fruit/Banana"',
      '* LSUB () "/" "L/Fruit/Peach"', // the folder is gone, the subscription is not
      '* LSUB () "/" "L/Vegetable"',
      '* LSUB () "/" "L/Vegetable/Broccoli"',
    ])
    expect((await c.command('LSUB "" "L"')).untagged).toEqual([])
  })

  it('a subscription survives DELETE; a re-created folder is subscribed again; UNSUBSCRIBE works without the folder; SUBSCRIBE needs one', async () => {
    const c = await login()
    expect((await c.command('CREATE S1')).status).toBe('OK')
    expect((await c.command('DELETE S1')).status).toBe('OK')
    expect((await c.command('LSUB "" "S1"')).untagged).toEqual(['* LSUB () "/" "S1"'])
    expect((await c.command('LIST (SUBSCRIBED) "" "S1"')).untagged).toEqual(['* LIST (\\Subscribed \\NonExistent) "/" "S1"'])
    expect((await c.command('CREATE S1')).status).toBe('OK')
    expect((await c.command('LIST "" "S1" RETURN (SUBSCRIBED)')).untagged).toEqual(['* LIST (\\Subscribed \\HasNoChildren) "/" "S1"'])
    expect((await c.command('DELETE S1')).status).toBe('OK')
    expect((await c.command('UNSUBSCRIBE S1')).status).toBe('OK')
    expect((await c.command('LSUB "" "S1"')).untagged).toEqual([])
    expect((await c.command('SUBSCRIBE NoSuchFolder')).tagged).toMatch(/^A\d+ NO \[NONEXISTENT\]/)
  })
})

describe('LIST-EXTENDED (RFC 5258) exactly', () => {
  it('pins the §5 examples that apply to one namespace with "/"', async () => {
    const c = await login()
    await fruitAndVegetables(c, 'X')
    const list = async (command: string) => (await c.command(command)).untagged
    // example 2: SUBSCRIBED lists subscribed names, a deleted one as \NonExistent
    expect(await list('LIST (SUBSCRIBED) "X/" "*"')).toEqual([
      '* LIST (\\Subscribed) "/" "X/Fruit/Banana"',
      '* LIST (\\Subscribed \\NonExistent) "/" "X/Fruit/Peach"',
      '* LIST (\\Subscribed) "/" "X/Vegetable"',
      '* LIST (\\Subscribed) "/" "X/Vegetable/Broccoli"',
    ])
    // example 3: RETURN (CHILDREN)
    expect(await list('LIST () "X/" "%" RETURN (CHILDREN)')).toEqual([
      '* LIST (\\HasChildren) "/" "X/Fruit"',
      '* LIST (\\HasNoChildren) "/" "X/Tofu"',
      '* LIST (\\HasChildren) "/" "X/Vegetable"',
    ])
    // example 4/5: REMOTE is known, and there is nothing remote
    expect(await list('LIST (REMOTE) "X/" "%" RETURN (CHILDREN)')).toEqual(await list('LIST () "X/" "%" RETURN (CHILDREN)'))
    expect(await list('LIST (REMOTE SUBSCRIBED) "X/" "*"')).toEqual(await list('LIST (SUBSCRIBED) "X/" "*"'))
    // example 6: subscribed-only selection with RETURN (CHILDREN): children of the whole hierarchy
    expect(await list('LIST (SUBSCRIBED) "X/" "*" RETURN (CHILDREN)')).toEqual([
      '* LIST (\\Subscribed \\HasNoChildren) "/" "X/Fruit/Banana"',
      '* LIST (\\Subscribed \\NonExistent \\HasNoChildren) "/" "X/Fruit/Peach"',
      '* LIST (\\Subscribed \\HasChildren) "/" "X/Vegetable"',
      '* LIST (\\Subscribed \\HasNoChildren) "/" "X/Vegetable/Broccoli"',
    ])
    // example 7: RECURSIVEMATCH: parents of subscribed names the pattern does not reach get CHILDINFO
    expect(await list('LIST (SUBSCRIBED RECURSIVEMATCH) "X/" "%" RETURN (CHILDREN)')).toEqual([
      '* LIST (\\HasChildren) "/" "X/Fruit" ("CHILDINFO" ("SUBSCRIBED"))',
      '* LIST (\\Subscribed \\HasChildren) "/" "X/Vegetable" ("CHILDINFO" ("SUBSCRIBED"))',
    ])
    expect(await list('LIST (SUBSCRIBED RECURSIVEMATCH) "X/" "*"')).toEqual(await list('LIST (SUBSCRIBED) "X/" "*"'))
    // example 8: several patterns
    expect(await list('LIST () "" ("INBOX" "X/Vegetable/%" "X/T*")')).toEqual([
      '* LIST (\\HasNoChildren) "/" "INBOX"',
      '* LIST (\\HasNoChildren) "/" "X/Tofu"',
      '* LIST (\\HasNoChildren) "/" "X/Vegetable/Broccoli"',
      '* LIST (\\HasNoChildren) "/" "X/Vegetable/Corn"',
    ])
    // example 9: RETURN (SUBSCRIBED) marks subscribed folders among all
    expect(await list('LIST "X/" "%" RETURN (SUBSCRIBED)')).toEqual([
      '* LIST (\\HasChildren) "/" "X/Fruit"',
      '* LIST (\\HasNoChildren) "/" "X/Tofu"',
      '* LIST (\\Subscribed \\HasChildren) "/" "X/Vegetable"',
    ])
  })

  it('unknown selection or return options and RECURSIVEMATCH alone are BAD; SPECIAL-USE and LIST-STATUS still work', async () => {
    const c = await login()
    for (const bad of ['LIST (FOO) "" "%"', 'LIST (SUBSCRIBED FOO) "" "%"', 'LIST "" "%" RETURN (FOO)', 'LIST (RECURSIVEMATCH) "" "%"', 'LIST (REMOTE RECURSIVEMATCH) "" "%"', 'LIST "" ()']) {
      expect((await c.command(bad)).status, bad).toBe('BAD')
    }
    expect((await c.command('LIST (SPECIAL-USE) "" "*"')).untagged).toEqual([
      '* LIST (\\HasNoChildren \\Archive) "/" "Archive"',
      '* LIST (\\HasNoChildren \\Drafts) "/" "Drafts"',
      '* LIST (\\HasNoChildren \\Junk) "/" "Junk"',
      '* LIST (\\HasNoChildren \\Sent) "/" "Sent"',
      '* LIST (\\HasNoChildren \\Trash) "/" "Trash"',
    ])
    expect((await c.command('LIST "" "Sent" RETURN (SPECIAL-USE STATUS (MESSAGES UIDNEXT))')).untagged).toEqual(['* LIST (\\HasNoChildren \\Sent) "/" "Sent"', '* STATUS "Sent" (MESSAGES 0 UIDNEXT 1)'])
  })
})

describe('DELETE of the selected folder after its parent was renamed', () => {
  it('answers OK and unselects, and the connection stays (it used to say BYE instead of the OK)', async () => {
    const c = await login()
    expect((await c.command('CREATE "P1/c"')).status).toBe('OK')
    expect((await c.command('SELECT "P1/c"')).status).toBe('OK')
    expect((await c.command('RENAME "P1" "Q1"')).status).toBe('OK')
    // the selected folder follows the rename: STATUS of its new name, then DELETE of it
    expect((await c.command('STATUS "Q1/c" (MESSAGES)')).untagged).toEqual(['* STATUS "Q1/c" (MESSAGES 0)'])
    const deleted = await c.command('DELETE "Q1/c"')
    expect(deleted).toMatchObject({status: 'OK', untagged: []})
    expect((await c.command('NOOP')).status).toBe('OK')
    expect((await c.command('FETCH 1 FLAGS')).tagged).toMatch(/^A\d+ BAD .*without a selected folder/)
    expect(c.isClosed).toBe(false)
  })
})
