/**
 * The POP3 front-end in-process with the real auth and mailstore actors over a real store: what
 * needs another client acting during a session (mail removed or added after login), and stop().
 */
import {dirname} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthActor, DEFAULT_AUTH} from '../../src/auth/actor.js'
import {Bus} from '../../src/bus.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser} from '../../src/directory/users.js'
import {silentLogger} from '../../src/log.js'
import {MailstoreActor} from '../../src/mailstore/actor.js'
import {DEFAULT_POP3_LIMITS} from '../../src/pop3/limits.js'
import {Pop3FrontEnd} from '../../src/pop3/server.js'
import {loadTls} from '../../src/tls.js'
import {ServedCertificates} from '../../src/certs/tls-certificates.js'
import {freePort} from '../helpers/ports.js'
import {tempStore} from '../helpers/store.js'
import {RawPop3} from '../e2e/pop3-helpers.js'

const store = tempStore()
const bus = new Bus()
const auth = new AuthActor(bus, store, silentLogger, {...DEFAULT_AUTH, failureDelayMs: 0})
const mailstore = new MailstoreActor(bus, store, silentLogger, {hostname: 'test.example'})
let pop3: Pop3FrontEnd
let port: number

const deliver = (subject: string) =>
  bus.call('mailstore.inject', {from: 'x@example.net', to: ['amy@example.com'], raw: Buffer.from(`Subject: ${subject}\r\n\r\nhi\r\n`).toString('base64')})

async function session(): Promise<RawPop3> {
  const c = await RawPop3.open(port)
  expect(await c.login('amy@example.com', 'amy-pw')).toMatch(/^\+OK /)
  return c
}

beforeAll(async () => {
  await addDomain(store, 'example.com')
  await addUser(store, {address: 'amy@example.com', password: 'amy-pw'})
  await auth.start()
  await mailstore.start()
  port = await freePort()
  const tls = await loadTls({dataDir: dirname(store.path), hostname: 'test.example'})
  pop3 = new Pop3FrontEnd(bus, {bind: '127.0.0.1', hostname: 'test.example', ports: {pop3: port, pop3s: 0}, allowInsecureAuth: true, limits: DEFAULT_POP3_LIMITS}, new ServedCertificates(tls), silentLogger)
  await pop3.start()
  for (const s of ['one', 'two', 'three']) await deliver(s)
})

afterAll(async () => {
  await pop3?.stop()
  await mailstore.stop()
  await auth.stop()
})

describe('Pop3FrontEnd in-process', () => {
  it('lists its listener and counts its connections', async () => {
    expect(pop3.listeners).toEqual([{name: 'pop3', address: `127.0.0.1:${port}`}])
    const c = await session()
    expect(pop3.connections.open).toBe(1)
    await c.quit()
    // the server sees the close a moment after the client
    for (let i = 0; i < 100 && pop3.connections.open > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    expect(pop3.connections.open).toBe(0)
  })

  it('the maildrop is the INBOX at login: later mail waits for the next session, mail removed meanwhile fails to RETR', async () => {
    const c = await session()
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3 /)
    await deliver('four')
    const view = await bus.call('mailstore.view', {user: 'amy@example.com', name: 'INBOX'})
    // another client (IMAP) expunges message 2
    await bus.call('mailstore.expunge', {user: 'amy@example.com', mailboxId: view.folder.id, uids: [view.records[1]!.uid], onlyDeleted: false})
    expect(await c.cmd('STAT')).toMatch(/^\+OK 3 /)
    expect(await c.cmd('RETR 2')).toBe('-ERR message 2 was removed by another session')
    expect(await c.cmd('DELE 2')).toBe('+OK message 2 deleted')
    expect(await c.quit()).toMatch(/\(2 messages left\)$/)

    const d = await session()
    expect(await d.cmd('STAT')).toMatch(/^\+OK 3 /)
    const [, body] = await d.multi('RETR 3')
    expect(body.toString()).toMatch(/Subject: four\r\n/)
    await d.quit()
  })

  it('RETR sets \\Seen (committed by the time QUIT answers)', async () => {
    const c = await session()
    await c.multi('RETR 1')
    await c.quit()
    const view = await bus.call('mailstore.view', {user: 'amy@example.com', name: 'INBOX'})
    expect(view.records.map((r) => r.flags.includes('\\Seen'))).toEqual([true, false, true])
  })

  it('stop() closes listening and open sessions, and applies no DELE', async () => {
    const c = await session()
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/)
    await pop3.stop()
    expect(await c.line()).toBe('-ERR [SYS/TEMP] server shutting down, nothing was deleted')
    await c.closed
    expect(pop3.connections.open).toBe(0)
    expect(pop3.listeners).toEqual([])
    expect((await bus.call('mailstore.view', {user: 'amy@example.com', name: 'INBOX'})).records).toHaveLength(3)
  })
})
