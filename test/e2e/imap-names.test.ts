/**
 * Issue #17 items 4–7 on the wire, against one `mailbox serve`: ENVELOPE address forms as
 * Dovecot 2.3 renders them, mailbox names with atom specials and modified UTF-7, LSUB and
 * subscriptions that outlive their folder, LIST-EXTENDED (RFC 5258) exactly.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RawImap, type ImapServer, startImapServer} from './imap-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

let server: ImapServer
const open: RawImap[] = []

beforeAll(async () => {
  server = await startImapServer({users: [alice]})
}, 30_000)

afterAll(async () => {
  for (const c of open) c.close()
  await server?.stop()
})

async function login(): Promise<RawImap> {
  const c = await RawImap.login(server.ports.imap, alice)
  open.push(c)
  return c
}

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
