/**
 * Bus events on the control socket after SMTP deliveries: `mail.received` once per accepted
 * message, `mail.stored` once per local copy, after the commit (the copy is readable by then);
 * a refused transaction publishes nothing.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {connectControl, type ControlClient} from '../../src/control/client.js'
import type {ControlEvent} from '../../src/control/protocol.js'
import {RawSmtp, codeOf, freePorts, listMessages, setupUsers} from './smtp-helpers.js'

let dataDir: string
let served: Served
let mx: number
let client: ControlClient
const events: ControlEvent[] = []
const waiters: (() => void)[] = []

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}, {address: 'bob@example.com'}])
  served = await startServe(dataDir, ['--smtp-port', String(mx)])
  client = (await connectControl(dataDir))!
  await client.subscribe(['mail.*'], (e) => {
    events.push(e)
    for (const w of waiters.splice(0)) w()
  })
})

afterAll(async () => {
  client?.close()
  await served?.stop()
})

/** resolves once `n` events match, or fails after the timeout with what did arrive */
async function waitFor(pred: (e: ControlEvent) => boolean, n = 1, timeoutMs = 5000): Promise<ControlEvent[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const got = events.filter(pred)
    if (got.length >= n) return got
    const left = deadline - Date.now()
    if (left <= 0) throw new Error(`expected ${n} events, got ${got.length}: ${JSON.stringify(events)}`)
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left)
      waiters.push(() => (clearTimeout(t), resolve()))
    })
  }
}

async function deliver(rcpts: string[], subject: string): Promise<void> {
  const c = await RawSmtp.open(mx)
  await c.ehlo('events.client.test')
  expect((await c.cmd('MAIL FROM:<sender@remote.test>')).code).toBe(250)
  for (const r of rcpts) expect((await c.cmd(`RCPT TO:<${r}>`)).code).toBe(250)
  const [, done] = await c.data(`From: Sender <sender@remote.test>\r\nTo: ${rcpts.join(', ')}\r\nSubject: ${subject}\r\n\r\nbody\r\n`)
  expect(done?.code, done?.raw).toBe(250)
  await c.quit()
}

describe('mail.* events on the control socket', () => {
  it('one SMTP delivery → mail.received then mail.stored (user, INBOX, uid, subject)', async () => {
    await deliver(['alice@example.com'], 'event one')
    const [received] = await waitFor((e) => e.event === 'mail.received' && (e.body as {subject: string}).subject === 'event one')
    const [stored] = await waitFor((e) => e.event === 'mail.stored' && (e.body as {subject: string}).subject === 'event one')
    expect(received!.body).toMatchObject({
      mailFrom: 'sender@remote.test',
      rcptTo: ['alice@example.com'],
      from: expect.stringMatching(/^"?Sender"? <sender@remote\.test>$/),
      subject: 'event one',
      remoteAddress: '127.0.0.1',
    })
    const rb = received!.body as {id: string; size: number}
    expect(rb.size).toBeGreaterThan(0)
    expect(stored!.body).toMatchObject({id: rb.id, user: 'alice@example.com', folder: 'INBOX', uid: 1, subject: 'event one', from: expect.stringMatching(/^"?Sender"? <sender@remote\.test>$/)})
    expect(events.indexOf(received!)).toBeLessThan(events.indexOf(stored!))
    expect(typeof received!.time).toBe('number')
    // published after the commit: the stored UID is there
    const list = await listMessages(dataDir, 'alice@example.com')
    expect(list.map((m) => [m.uid, m.subject])).toEqual([[1, 'event one']])
  })

  it('two local recipients → one mail.received, two mail.stored with the same id', async () => {
    await deliver(['alice@example.com', 'bob@example.com'], 'event two')
    const stored = await waitFor((e) => e.event === 'mail.stored' && (e.body as {subject: string}).subject === 'event two', 2)
    const received = events.filter((e) => e.event === 'mail.received' && (e.body as {subject: string}).subject === 'event two')
    expect(received).toHaveLength(1)
    const id = (received[0]!.body as {id: string}).id
    expect(stored.map((e) => e.body)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({id, user: 'alice@example.com', folder: 'INBOX', uid: 2}),
        expect.objectContaining({id, user: 'bob@example.com', folder: 'INBOX', uid: 1}),
      ]),
    )
    expect(stored).toHaveLength(2)
  })

  it('a refused recipient publishes no mail event', async () => {
    const seen = events.length
    const c = await RawSmtp.open(mx)
    await c.ehlo()
    await c.cmd('MAIL FROM:<sender@remote.test>')
    const r = await c.cmd('RCPT TO:<ghost@example.com>')
    expect(codeOf(r)).toBe('550 5.1.1')
    await c.quit()
    // a delivery after it acts as a barrier: its events come after anything the refusal caused
    await deliver(['bob@example.com'], 'barrier')
    await waitFor((e) => e.event === 'mail.stored' && (e.body as {subject: string}).subject === 'barrier')
    const between = events.slice(seen).filter((e) => (e.body as {subject?: string}).subject !== 'barrier')
    expect(between).toEqual([])
  })
})
