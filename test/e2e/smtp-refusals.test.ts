/**
 * Refusals with their exact SMTP replies (basic and RFC 3463 enhanced code), over raw sockets
 * against a real `serve`, and the store left unchanged by each of them.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {RawSmtp, cli, codeOf, counts, freePorts, listMessages, setupUsers} from './smtp-helpers.js'

let dataDir: string
let served: Served
let mx: number, submission: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx, submission] = await freePorts(2)
  await setupUsers(
    dataDir,
    ['example.com', 'many.test'],
    [
      {address: 'alice@example.com', password: 'alice-pw'},
      {address: 'bob@example.com', password: 'bob-pw'},
      {address: 'carol@example.com'},
      {address: 'dave@example.com', quota: '1K'},
    ],
  )
  await Promise.all([
    cli(['user', 'disable', 'carol@example.com'], dataDir),
    cli(['alias', 'add', 'sales@example.com', 'alice@example.com'], dataDir),
    cli(['alias', 'add', '@many.test', 'alice@example.com'], dataDir),
  ])
  served = await startServe(dataDir, ['--smtp-port', String(mx), '--submission-port', String(submission)])
})

afterAll(async () => {
  await served?.stop()
})

/** MX session after EHLO and MAIL FROM */
async function mxTransaction(from = 'someone@remote.test'): Promise<RawSmtp> {
  const c = await RawSmtp.open(mx)
  await c.ehlo()
  const r = await c.cmd(`MAIL FROM:<${from}>`)
  expect(r.code, r.raw).toBe(250)
  return c
}

/** submission session after STARTTLS and EHLO (not yet authenticated) */
async function tlsSubmission(): Promise<RawSmtp> {
  const c = await RawSmtp.open(submission)
  await c.ehlo()
  await c.starttls()
  await c.ehlo()
  return c
}

const message = (subject: string, bodyBytes = 0) =>
  `From: someone@remote.test\r\nTo: x@example.com\r\nSubject: ${subject}\r\n\r\n` + ('0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n'.repeat(Math.ceil(bodyBytes / 65)) || 'short\r\n')

describe('SMTP refusals', () => {
  it('unknown local user → 550 5.1.1, and a known one in the same transaction still works', async () => {
    const before = await counts(dataDir)
    const c = await mxTransaction()
    const r = await c.cmd('RCPT TO:<nobody@example.com>')
    expect(codeOf(r), r.raw).toBe('550 5.1.1')
    // without any accepted recipient DATA is refused and nothing is stored
    const [d] = await c.data(message('never'))
    expect(d.code).toBe(503)
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('relay attempt on MX (unauthenticated, non-local domain) → 550 5.7.1', async () => {
    const before = await counts(dataDir)
    const c = await mxTransaction()
    const r = await c.cmd('RCPT TO:<victim@elsewhere.test>')
    expect(codeOf(r), r.raw).toBe('550 5.7.1')
    const r2 = await c.cmd('RCPT TO:<Victim@Other.Example>')
    expect(codeOf(r2), r2.raw).toBe('550 5.7.1')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('wrong password → 535 5.7.8 (PLAIN and LOGIN), the session stays unauthenticated', async () => {
    const before = await counts(dataDir)
    const c = await tlsSubmission()
    const r = await c.authPlain('alice@example.com', 'wrong')
    expect(codeOf(r), r.raw).toBe('535 5.7.8')
    const l1 = await c.cmd('AUTH LOGIN')
    expect(l1.code).toBe(334)
    const l2 = await c.cmd(Buffer.from('alice@example.com').toString('base64'))
    expect(l2.code).toBe(334)
    const l3 = await c.cmd(Buffer.from('also-wrong').toString('base64'))
    expect(codeOf(l3), l3.raw).toBe('535 5.7.8')
    // still not logged in: a submission transaction needs AUTH
    const m = await c.cmd('MAIL FROM:<alice@example.com>')
    expect(m.code, m.raw).toBe(530)
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it("sender not owned by the authenticated user → 553 5.7.1; own alias is fine", async () => {
    const before = await counts(dataDir)
    const c = await tlsSubmission()
    const a = await c.authPlain('alice@example.com', 'alice-pw')
    expect(a.code, a.raw).toBe(235)
    const r = await c.cmd('MAIL FROM:<bob@example.com>')
    expect(codeOf(r), r.raw).toBe('553 5.7.1')
    const r2 = await c.cmd('MAIL FROM:<someone@remote.test>')
    expect(codeOf(r2), r2.raw).toBe('553 5.7.1')
    // control: an alias that delivers to alice is hers to send from
    const ok = await c.cmd('MAIL FROM:<sales@example.com>')
    expect(ok.code, ok.raw).toBe(250)
    await c.cmd('RSET')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('a From header the authenticated user does not own → 550 5.7.1 at the end of DATA; their own address or alias is fine', async () => {
    const before = await counts(dataDir)
    const c = await tlsSubmission()
    expect((await c.authPlain('alice@example.com', 'alice-pw')).code).toBe(235)
    const send = async (from: string) => {
      const m = await c.cmd('MAIL FROM:<alice@example.com>')
      expect(m.code, m.raw).toBe(250)
      const r = await c.cmd('RCPT TO:<bob@example.com>')
      expect(r.code, r.raw).toBe(250)
      const [go, done] = await c.data(`From: ${from}\r\nTo: bob@example.com\r\nSubject: from check\r\n\r\nhi\r\n`)
      expect(go.code, go.raw).toBe(354)
      return done!
    }
    try {
    // the envelope is alice's, the From header is not: what a reader (and the DKIM signature) would vouch for
    for (const forged of ['Bob <bob@example.com>', 'someone@remote.test', 'Alice <alice@example.com>, bob@example.com', 'undisclosed:;']) {
      const r = await send(forged)
      expect(codeOf(r), `${forged}: ${r.raw}`).toBe('550 5.7.1')
    }
    expect(await counts(dataDir)).toEqual(before)
    for (const own of ['Alice <alice@example.com>', '"Sales" <SALES@example.com>']) {
      const r = await send(own)
      expect(r.code, `${own}: ${r.raw}`).toBe(250)
    }
    } finally {
      await c.quit()
    }
  })

  it('101 recipients → the 101st gets 452 (default maxRecipients 100)', async () => {
    const before = await counts(dataDir)
    const c = await mxTransaction()
    // pipelined: every RCPT written at once, replies read in order
    for (let i = 1; i <= 101; i++) c.write(`RCPT TO:<u${i}@many.test>\r\n`)
    const replies = []
    for (let i = 1; i <= 101; i++) replies.push(await c.reply())
    expect(replies.slice(0, 100).map((r) => r.code)).toEqual(Array(100).fill(250))
    expect(replies[100]!.code, replies[100]!.raw).toBe(452)
    expect(replies[100]!.lines.at(-1)).toMatch(/^4\.5\.3 /)
    await c.cmd('RSET')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('a message with more than 50 Received headers is a loop → 554 5.4.6', async () => {
    const before = await counts(dataDir)
    const c = await mxTransaction()
    expect((await c.cmd('RCPT TO:<alice@example.com>')).code).toBe(250)
    const trace = Array.from({length: 51}, (_, i) => `Received: from hop${i}.remote.test by hop${i + 1}.remote.test; Sat, 21 Nov 2026 10:00:00 +0000\r\n`).join('')
    const [, done] = await c.data(trace + message('looping'))
    expect(done && codeOf(done), done?.raw).toBe('554 5.4.6')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('disabled user → 550 5.2.1', async () => {
    const before = await counts(dataDir)
    const c = await mxTransaction()
    const r = await c.cmd('RCPT TO:<carol@example.com>')
    expect(codeOf(r), r.raw).toBe('550 5.2.1')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
  })

  it('user over quota → 552 5.2.2 at RCPT (after ~2K delivered against a 1K quota)', async () => {
    // quota is checked at RCPT: the first 2K message fits (usage 0) and makes dave go over
    const c = await mxTransaction()
    expect((await c.cmd('RCPT TO:<dave@example.com>')).code).toBe(250)
    const [, done] = await c.data(message('fills the quota', 2048))
    expect(done?.code, done?.raw).toBe(250)
    const before = await counts(dataDir)
    const m = await c.cmd('MAIL FROM:<someone@remote.test>')
    expect(m.code).toBe(250)
    const r = await c.cmd('RCPT TO:<dave@example.com>')
    expect(codeOf(r), r.raw).toBe('552 5.2.2')
    await c.quit()
    expect(await counts(dataDir)).toEqual(before)
    expect((await listMessages(dataDir, 'dave@example.com')).map((x) => x.subject)).toEqual(['fills the quota'])
  })
})

describe('SMTP size limit (--max-message-size 1K)', () => {
  let dir: string
  let small: Served
  let port: number

  beforeAll(async () => {
    dir = tempDataDir()
    ;[port] = await freePorts(1)
    await setupUsers(dir, ['example.com'], [{address: 'alice@example.com'}])
    small = await startServe(dir, ['--max-message-size', '1K', '--smtp-port', String(port)])
  })
  afterAll(async () => {
    await small?.stop()
  })

  it('advertises SIZE 1024 and refuses a declared SIZE above it at MAIL FROM (552 5.3.4)', async () => {
    const c = await RawSmtp.open(port)
    expect(await c.ehlo()).toContain('SIZE 1024')
    const r = await c.cmd('MAIL FROM:<someone@remote.test> SIZE=5000')
    expect(codeOf(r), r.raw).toBe('552 5.3.4')
    // a declared size within the limit is fine
    const ok = await c.cmd('MAIL FROM:<someone@remote.test> SIZE=500')
    expect(ok.code, ok.raw).toBe(250)
    await c.cmd('RSET')
    await c.quit()
    expect((await counts(dir)).messages).toBe(0)
  })

  it('an undeclared oversize DATA gets 552 5.3.4 and nothing is stored; a small one after it is', async () => {
    const c = await RawSmtp.open(port)
    await c.ehlo()
    expect((await c.cmd('MAIL FROM:<someone@remote.test>')).code).toBe(250)
    expect((await c.cmd('RCPT TO:<alice@example.com>')).code).toBe(250)
    const [go, done] = await c.data(message('too big', 3000))
    expect(go.code).toBe(354)
    expect(done && codeOf(done), done?.raw).toBe('552 5.3.4')
    expect(await counts(dir)).toMatchObject({messages: 0, messageBytes: 0})

    // the connection is still usable, and a message under the limit is delivered
    expect((await c.cmd('MAIL FROM:<someone@remote.test>')).code).toBe(250)
    expect((await c.cmd('RCPT TO:<alice@example.com>')).code).toBe(250)
    const [, ok] = await c.data(message('small enough'))
    expect(ok?.code, ok?.raw).toBe(250)
    await c.quit()
    expect((await listMessages(dir, 'alice@example.com')).map((m) => m.subject)).toEqual(['small enough'])
  })
})
