/**
 * POP3 and IMAP on one INBOX: deletions a POP3 session commits at QUIT reach IMAP sessions as
 * EXPUNGE responses (at once during IDLE, at the next command otherwise), RETR's \Seen reaches
 * them as FETCH FLAGS, and a POP3 session that drops its connection changes nothing they see.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {deliver, RawImap, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {RawPop3} from './pop3-helpers.js'

let server: ImapServer
let pop3Port: number
const alice = {address: 'alice@example.test', password: 'alice-pw'}

beforeAll(async () => {
  server = await startImapServer({users: [alice], pop3: true})
  pop3Port = server.ports.pop3!
  for (const n of [1, 2, 3, 4]) await deliver(server.ports.smtp, alice.address, simpleMessage({subject: `message ${n}`}))
}, 60_000)

afterAll(async () => {
  await server?.stop()
})

async function pop3(): Promise<RawPop3> {
  const c = await RawPop3.open(pop3Port)
  expect(await c.login(alice.address, alice.password)).toMatch(/^\+OK/)
  return c
}

describe('POP3 deletions seen by IMAP', () => {
  it('a dropped POP3 connection deletes nothing an IMAP session could see', async () => {
    const imap = await RawImap.login(server.ports.imap, alice)
    expect((await imap.command('SELECT INBOX')).untagged).toContain('* 4 EXISTS')
    const p = await pop3()
    expect(await p.cmd('DELE 1')).toMatch(/^\+OK/)
    await p.drop()
    const noop = await imap.command('NOOP')
    expect(noop.untagged.filter((l) => /EXPUNGE|EXISTS/.test(l))).toEqual([])
    await imap.logout()
  })

  it('DELE 1 and 3 then QUIT: an idling session gets EXPUNGE at once, another at its next command', async () => {
    const idler = await RawImap.login(server.ports.imap, alice)
    const poller = await RawImap.login(server.ports.imap, alice)
    expect((await idler.command('SELECT INBOX')).status).toBe('OK')
    expect((await poller.command('SELECT INBOX')).status).toBe('OK')
    idler.writeLine('I1 IDLE')
    expect((await idler.next()).text).toBe('+ idling')

    const p = await pop3()
    expect(await p.cmd('RETR 2')).toMatch(/^\+OK/)
    await p.body()
    expect(await p.cmd('DELE 1')).toMatch(/^\+OK/)
    expect(await p.cmd('DELE 3')).toMatch(/^\+OK/)
    expect(await p.quit()).toMatch(/^\+OK/)

    // UIDs 1 and 3 of [1 2 3 4] go: message 1 first, then the old message 3, which is now number 2
    const seen = await idler.waitFor((text) => text.includes('* 2 EXPUNGE'), 2_000)
    expect(seen.filter((l) => l.includes('EXPUNGE'))).toEqual(['* 1 EXPUNGE', '* 2 EXPUNGE'])
    idler.writeLine('DONE')
    expect((await idler.tagged('I1')).status).toBe('OK')

    const noop = await poller.command('NOOP')
    expect(noop.untagged.filter((l) => l.includes('EXPUNGE'))).toEqual(['* 1 EXPUNGE', '* 2 EXPUNGE'])
    // RETR set \Seen on the message that is now number 1
    expect(noop.untagged.some((l) => /^\* 1 FETCH \(UID 2 FLAGS \([^)]*\\Seen/.test(l))).toBe(true)
    expect(noop.untagged.some((l) => /EXISTS/.test(l))).toBe(false)

    const search = await poller.command('UID SEARCH ALL')
    expect(search.untagged).toEqual(['* SEARCH 2 4'])
    await idler.logout()
    await poller.logout()
  })
})
