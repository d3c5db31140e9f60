/**
 * The matcher protocol (src/matcher/server.ts) over a raw TCP socket against a real
 * `serve --capture`: handshake, PING/PONG both ways, MATCH → MATCHPUT → GOTEMAIL / EXPIRED,
 * since_s, raw, errors and limits, and many concurrent watchers.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {LineClient, UUID, queuedId, sendMail, sleep, transport} from './matcher-helpers.js'
import {RawSmtp, listMessages, showRaw} from './smtp-helpers.js'

const subjectsOf = async (user: string) => (await listMessages(dataDir, user)).map((m) => m.subject)

let dataDir: string
let served: Served
let smtp: number
let matcher: number

/** a second server whose matcher PINGs every 300 ms and drops clients after 300 ms of silence */
let pingServed: Served
let pingMatcher: number

const clients: LineClient[] = []
async function ready(port = matcher, options: {autoPong?: boolean} = {}): Promise<LineClient> {
  const c = await LineClient.ready(port, options)
  clients.push(c)
  return c
}
async function open(port = matcher): Promise<LineClient> {
  const c = await LineClient.open(port)
  clients.push(c)
  return c
}

beforeAll(async () => {
  dataDir = tempDataDir()
  smtp = await freePort()
  matcher = await freePort()
  const pingDir = tempDataDir()
  const config = join(dirname(pingDir), 'config.json')
  writeFileSync(config, JSON.stringify({matcher: {pingIntervalMs: 300, pingTimeoutMs: 300}}))
  pingMatcher = await freePort()
  ;[served, pingServed] = await Promise.all([
    startServe(dataDir, ['--capture', '--smtp-port', String(smtp), '--matcher-port', String(matcher)]),
    startServe(pingDir, ['--config', config, '--capture', '--matcher-port', String(pingMatcher)]),
  ])
})

afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all([served?.stop(), pingServed?.stop()])
})

describe('handshake', () => {
  it('the server says HELLO on connect; OLLEH version 1 gets OKAY', async () => {
    const c = await open()
    expect((await c.next()).raw).toBe('HELLO')
    c.send('OLLEH {"version": 1}')
    expect((await c.next()).raw).toBe('OKAY')
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
  })

  it('OLLEH version 3 gets UNSUPPORTED and the server closes', async () => {
    const c = await open()
    expect((await c.next()).raw).toBe('HELLO')
    c.send('OLLEH {"version": 3}')
    expect((await c.next()).raw).toBe('UNSUPPORTED')
    expect(await c.closesWithin(2000)).toBe(true)
  })

  it('MATCH before OLLEH is an ERROR, and the handshake still works afterwards', async () => {
    const c = await open()
    expect((await c.next()).raw).toBe('HELLO')
    c.send('MATCH {"to": "early@m.test"}')
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(typeof err.body.message).toBe('string')
    expect(err.body.message).toMatch(/OLLEH/)
    c.send('OLLEH {"version": 1}')
    expect((await c.next()).raw).toBe('OKAY')
  })

  it('PING gets PONG', async () => {
    const c = await ready()
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
    c.send('ping')
    expect((await c.next()).raw).toBe('PONG')
  })

  it('QUIT closes the connection', async () => {
    const c = await ready()
    c.send('QUIT')
    expect(await c.closesWithin(2000)).toBe(true)
  })
})

describe('server PINGs (pingIntervalMs 300, pingTimeoutMs 300)', () => {
  it('a client that answers PONG stays connected; one that never answers is dropped', async () => {
    const [good, silent] = await Promise.all([ready(pingMatcher, {autoPong: true}), ready(pingMatcher)])
    const started = Date.now()
    // the silent one receives PINGs it does not answer, then is closed
    expect(await silent.closesWithin(2000)).toBe(true)
    expect(Date.now() - started).toBeLessThan(2000)
    expect(silent.pings).toBeGreaterThanOrEqual(1)
    // the answering one is still there, after several PINGs, and still usable
    await sleep(Math.max(0, 1500 - (Date.now() - started)))
    expect(good.closed).toBe(false)
    expect(good.pings).toBeGreaterThanOrEqual(3)
    good.send('PING')
    expect((await good.next()).raw).toBe('PONG')
  })
})

describe('MATCH → MATCHPUT → GOTEMAIL', () => {
  const cases: {name: string; spec: Record<string, unknown>; mail: Record<string, unknown>; miss: Record<string, unknown>}[] = [
    {name: 'to (substring, any case)', spec: {to: 'TO-SUB@m.test'}, mail: {to: 'to-sub@m.test', subject: 'to sub'}, miss: {to: 'to-sub2@m.test', subject: 'miss'}},
    {name: 'to (/regex/)', spec: {to: '/^to-re\\d+@m\\.test$/'}, mail: {to: 'to-re42@m.test', subject: 'to re'}, miss: {to: 'to-rex@m.test', subject: 'miss'}},
    {name: 'from (substring)', spec: {from: 'sender-sub@svc'}, mail: {from: 'sender-sub@svc.test', to: 'f1@m.test', subject: 'from sub'}, miss: {from: 'other@svc.test', to: 'f1@m.test', subject: 'miss'}},
    {name: 'from (/regex/)', spec: {from: '/^sender-re-\\d+@/'}, mail: {from: 'sender-re-7@svc.test', to: 'f2@m.test', subject: 'from re'}, miss: {from: 'x-sender-re-7@svc.test', to: 'f2@m.test', subject: 'miss'}},
    {name: 'subject (substring)', spec: {subject: 'unique-subject-sub'}, mail: {to: 's1@m.test', subject: 'A Unique-Subject-SUB here'}, miss: {to: 's1@m.test', subject: 'unique subject sub'}},
    {name: 'subject (/regex/i)', spec: {subject: '/^order #\\d+ shipped$/i'}, mail: {to: 's2@m.test', subject: 'Order #123 SHIPPED'}, miss: {to: 's2@m.test', subject: 'Order #123 shipped!'}},
  ]

  for (const tc of cases) {
    it(`matches on ${tc.name}; a mail that does not match does not fire it`, async () => {
      const c = await ready()
      const id = await c.match(tc.spec)
      // the non-matching mail first: it must not fire
      await sendMail(smtp, tc.miss)
      c.send('PING')
      await c.waitFor((l) => l.verb === 'PONG')
      await c.none((l) => l.verb === 'GOTEMAIL', 300, 'GOTEMAIL for a non-matching mail')
      const info = await sendMail(smtp, tc.mail)
      const email = await c.gotEmail(id)
      expect(email.subject).toBe(tc.mail.subject)
      expect(email.id).toBe(queuedId(info.response))
    })
  }

  it('`to` matches an envelope-only recipient (Bcc: not in any header)', async () => {
    const c = await ready()
    const id = await c.match({to: 'bcc-only@m.test'})
    await sendMail(smtp, {to: 'visible@m.test', subject: 'blind copy', envelope: {from: 'app@svc.test', to: ['bcc-only@m.test']}})
    const email = await c.gotEmail(id)
    expect(email.subject).toBe('blind copy')
    expect(email.to).toEqual(['visible@m.test'])
    expect(email.rcpt_to).toEqual(['bcc-only@m.test'])
  })

  it('`to` sees the envelope recipient normalized, as it is stored (RCPT TO:<Mixed@M.TEST>)', async () => {
    const c = await ready()
    const id = await c.match({to: '/^mixed-env@m\\.test$/'})
    const smtpClient = await RawSmtp.open(smtp)
    await smtpClient.ehlo()
    await smtpClient.cmd('MAIL FROM:<app@svc.test>')
    expect((await smtpClient.cmd('RCPT TO:<Mixed-Env@M.TEST>')).code).toBe(250)
    // no To header naming the recipient: only the envelope can match
    const [, done] = await smtpClient.data('From: app@svc.test\r\nTo: undisclosed-recipients:;\r\nSubject: mixed envelope\r\n\r\nb\r\n')
    expect(done?.code).toBe(250)
    await smtpClient.quit()
    expect(await subjectsOf('mixed-env@m.test')).toEqual(['mixed envelope']) // stored for the lowercased address
    expect((await c.gotEmail(id, 2000)).subject).toBe('mixed envelope')
  })

  it('the email object carries every documented field', async () => {
    const c = await ready()
    const id = await c.match({to: 'fields@m.test'})
    const date = new Date('2024-03-04T05:06:07Z')
    const info = await sendMail(smtp, {
      from: 'App Team <app@svc.test>',
      to: 'fields@m.test',
      cc: 'cc1@m.test',
      subject: 'Fields check',
      date,
      messageId: '<fields-1@svc.test>',
      headers: {'X-Test-Header': 'yes'},
      text: 'Hello,\nyour verification code is 731904.\nOr open https://svc.test/confirm?x=1.\n',
      html: '<p>Your verification code is <b>731904</b>.</p><p><a href="https://svc.test/confirm?x=1&amp;y=2">Confirm</a></p>',
      attachments: [{filename: 'report.csv', content: 'a,b\n1,2\n', contentType: 'text/csv'}],
    })
    const email = await c.gotEmail(id)
    expect(Object.keys(email).sort()).toEqual(
      ['id', 'mail_from', 'rcpt_to', 'from', 'to', 'cc', 'subject', 'date', 'message_id', 'headers', 'text', 'html', 'attachments', 'raw_size', 'links', 'codes'].sort(),
    )
    expect(email.id).toBe(queuedId(info.response))
    expect(email.mail_from).toBe('app@svc.test')
    expect(email.rcpt_to).toEqual(['fields@m.test', 'cc1@m.test'])
    expect(email.from).toMatch(/^"?App Team"? <app@svc\.test>$/)
    expect(email.to).toEqual(['fields@m.test'])
    expect(email.cc).toEqual(['cc1@m.test'])
    expect(email.subject).toBe('Fields check')
    expect(email.date).toBe('2024-03-04T05:06:07.000Z')
    expect(email.message_id).toBe('<fields-1@svc.test>')
    expect(email.headers['x-test-header']).toBe('yes')
    expect(email.headers.subject).toBe('Fields check')
    expect(email.text).toContain('your verification code is 731904.')
    expect(email.html).toContain('href="https://svc.test/confirm?x=1&amp;y=2"')
    expect(email.attachments).toEqual([{filename: 'report.csv', content_type: 'text/csv', size: 8}])
    const stored = await showRaw(dataDir, 'fields@m.test', 1)
    expect(email.raw_size).toBe(Buffer.byteLength(stored))
    expect(email.links).toEqual(expect.arrayContaining(['https://svc.test/confirm?x=1', 'https://svc.test/confirm?x=1&y=2']))
    expect(email.links).toHaveLength(2)
    expect(email.codes).toEqual(['731904'])
  })

  it('a match is one-shot: a second matching mail does not fire it again', async () => {
    const c = await ready()
    const id = await c.match({to: 'once@m.test'})
    await sendMail(smtp, {to: 'once@m.test', subject: 'first'})
    expect((await c.gotEmail(id)).subject).toBe('first')
    // a witness on the same connection proves the second mail was seen by the matcher
    const witness = await c.match({to: 'once@m.test'})
    await sendMail(smtp, {to: 'once@m.test', subject: 'second'})
    expect((await c.gotEmail(witness)).subject).toBe('second')
    await c.none((l) => l.verb === 'GOTEMAIL', 300, 'second GOTEMAIL')
  })

  it('a match waits past non-matching mail and fires for the next matching one', async () => {
    const c = await ready()
    const id = await c.match({to: 'wanted@m.test'})
    const witness = await c.match({to: 'someone-else@m.test'})
    await sendMail(smtp, {to: 'someone-else@m.test', subject: 'not for you'})
    expect((await c.gotEmail(witness)).subject).toBe('not for you')
    await c.none((l) => l.verb === 'GOTEMAIL', 300, 'GOTEMAIL for the non-matching mail')
    await sendMail(smtp, {to: 'wanted@m.test', subject: 'for you'})
    expect((await c.gotEmail(id)).subject).toBe('for you')
  })

  it('timeout_s 1 → EXPIRED after about a second, and the expired match no longer fires', async () => {
    const c = await ready()
    const t0 = Date.now()
    const id = await c.match({to: 'expire@m.test', timeout_s: 1})
    const expired = await c.waitFor((l) => l.verb === 'EXPIRED', 4000, 'EXPIRED')
    const elapsed = Date.now() - t0
    expect(expired.body).toEqual({match_id: id})
    expect(elapsed).toBeGreaterThanOrEqual(900)
    expect(elapsed).toBeLessThan(2500)
    c.send('OKAY')
    const witness = await c.match({to: 'expire@m.test'})
    await sendMail(smtp, {to: 'expire@m.test', subject: 'late'})
    await c.gotEmail(witness)
    await c.none((l) => l.verb === 'GOTEMAIL' || l.verb === 'EXPIRED', 300)
  })

  it('raw: true adds the message base64, the stored bytes exactly', async () => {
    const c = await ready()
    const id = await c.match({to: 'raw@m.test', raw: true})
    const plain = await c.match({to: 'raw@m.test'})
    await sendMail(smtp, {to: 'raw@m.test', subject: 'Raw wanted', text: 'body line\nsecond line ünïcödé\n'})
    const email = await c.gotEmail(id)
    const without = await c.gotEmail(plain)
    expect(without.raw).toBeUndefined()
    expect(typeof email.raw).toBe('string')
    const decoded = Buffer.from(email.raw, 'base64')
    const [listed] = await listMessages(dataDir, 'raw@m.test')
    const stored = await showRaw(dataDir, 'raw@m.test', listed!.uid)
    expect(decoded.toString('utf8')).toBe(stored)
    expect(decoded.length).toBe(email.raw_size)
    expect(decoded.toString()).toContain('Subject: Raw wanted')
  })

  it('since_s 60 fires at once for a mail that arrived before the MATCH; without since_s it does not', async () => {
    const info = await sendMail(smtp, {to: 'since@m.test', subject: 'already here'})
    const c = await ready()
    const plain = await c.match({to: 'since@m.test'})
    const t0 = Date.now()
    const back = await c.match({to: 'since@m.test', since_s: 60})
    const email = await c.gotEmail(back, 2000)
    expect(Date.now() - t0).toBeLessThan(1500)
    expect(email.subject).toBe('already here')
    expect(email.id).toBe(queuedId(info.response))
    await c.none((l) => l.verb === 'GOTEMAIL' && l.body.match_id === plain, 400, 'GOTEMAIL without since_s')
  })

  it('since_s only looks back that far: an older mail is not found', async () => {
    await sendMail(smtp, {to: 'since-old@m.test', subject: 'old one'})
    await sleep(1300)
    const c = await ready()
    const id = await c.match({to: 'since-old@m.test', since_s: 1})
    await c.none((l) => l.verb === 'GOTEMAIL', 400, 'GOTEMAIL for a mail older than since_s')
    await sendMail(smtp, {to: 'since-old@m.test', subject: 'new one'})
    expect((await c.gotEmail(id)).subject).toBe('new one')
  })
})

describe('errors and limits', () => {
  it('malformed JSON gets ERROR {"message"} and the connection stays usable', async () => {
    const c = await ready()
    c.send('MATCH {nope')
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(Object.keys(err.body)).toEqual(['message'])
    expect(err.body.message).toMatch(/JSON/i)
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
    expect(await c.match({to: 'after-error@m.test'})).toMatch(UUID)
  })

  it('an unknown command gets ERROR and the connection stays usable', async () => {
    const c = await ready()
    c.send('FROBNICATE {"x": 1}')
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(err.body.message).toMatch(/unknown command/i)
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
  })

  it('an empty line (also only spaces, or CRLF) gets ERROR like any malformed line, before and after OLLEH; the connection stays usable', async () => {
    const c = await open()
    expect((await c.next()).raw).toBe('HELLO')
    c.write('\n')
    const early = await c.next()
    expect(early.verb).toBe('ERROR')
    expect(early.body.message).toMatch(/empty line/)
    c.send('OLLEH {"version": 1}')
    expect((await c.next()).raw).toBe('OKAY')
    for (const blank of ['\n', '   \n', '\r\n']) {
      c.write(blank)
      const err = await c.next()
      expect(err.verb, JSON.stringify(blank)).toBe('ERROR')
      expect(err.body.message).toMatch(/empty line/)
    }
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
  })

  it('a regex RE2 cannot run (backreference, lookahead) gets ERROR naming RE2, no MATCHPUT', async () => {
    const c = await ready()
    for (const subject of ['/(a)\\1/', '/(?=a)b/']) {
      c.send(`MATCH ${JSON.stringify({subject})}`)
      const err = await c.next()
      expect(err.verb, subject).toBe('ERROR')
      expect(err.body.message).toMatch(/RE2/)
    }
    await c.none((l) => l.verb === 'MATCHPUT', 200)
  })

  it('an invalid MATCH (unknown field, bad regex) gets ERROR, no MATCHPUT', async () => {
    const c = await ready()
    c.send('MATCH {"to": "x@m.test", "bcc": "y"}')
    expect((await c.next()).verb).toBe('ERROR')
    c.send('MATCH {"subject": "/(/"}')
    expect((await c.next()).verb).toBe('ERROR')
    c.send('MATCH {"timeout_s": "soon"}')
    expect((await c.next()).verb).toBe('ERROR')
    c.send('PING')
    expect((await c.next()).raw).toBe('PONG')
  })

  it('a line over 64 KiB still arriving (no newline yet) gets ERROR and the connection is closed', async () => {
    const c = await ready()
    c.write('MATCH {"subject": "' + 'x'.repeat(70 * 1024))
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(err.body.message).toMatch(/longer than/)
    expect(await c.closesWithin(2000)).toBe(true)
  })

  it('a complete line over 64 KiB sent in one write gets ERROR and the connection is closed', async () => {
    const c = await ready()
    // a valid command padded past the limit: the size alone must refuse it
    c.write(`PING ${JSON.stringify({pad: 'x'.repeat(70 * 1024)})}\n`)
    const reply = await c.next()
    expect(reply.raw.slice(0, 100)).toMatch(/^ERROR /)
    expect(await c.closesWithin(2000)).toBe(true)
  })
})

describe('many concurrent watchers', () => {
  it('50 connections × 4 matches, 200 mails: every match fires exactly once with its recipient', async () => {
    const conns = await Promise.all(Array.from({length: 50}, () => ready()))
    /** match id → expected recipient, per connection */
    const expected = new Map<string, string>()
    const perConn: string[][] = []
    await Promise.all(
      conns.map(async (c, ci) => {
        const ids: string[] = []
        for (let k = 0; k < 4; k++) {
          const addr = `user${ci * 4 + k}@load.test`
          const id = await c.match({to: addr})
          expected.set(id, addr)
          ids.push(id)
        }
        perConn[ci] = ids
      }),
    )
    expect(expected.size).toBe(200)

    const t = transport(smtp, true)
    try {
      const infos = await Promise.all(Array.from({length: 200}, (_, i) => t.sendMail({from: 'load@svc.test', to: `user${i}@load.test`, subject: `load ${i}`, text: `n=${i}`})))
      expect(infos.every((i) => i.accepted.length === 1)).toBe(true)
    } finally {
      t.close()
    }

    await Promise.all(
      conns.map(async (c, ci) => {
        for (const id of perConn[ci]!) {
          const email = await c.gotEmail(id, 10_000)
          const addr = expected.get(id)!
          expect(email.rcpt_to).toEqual([addr])
          expect(email.to).toEqual([addr])
          expect(email.subject).toBe(`load ${addr.slice(4, addr.indexOf('@'))}`)
        }
      }),
    )
    await sleep(300)
    for (const c of conns) {
      await c.none((l) => l.verb === 'GOTEMAIL' || l.verb === 'ERROR', 0, 'extra line')
      c.send('QUIT')
    }
  }, 30_000)
})
