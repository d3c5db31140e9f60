/**
 * The built-in spam checks on the MX of a real `serve`, its DNS the loopback responder
 * (test/helpers/dns.ts) publishing block-list and allow-list records for loopback client
 * addresses (clients connect from 127.0.0.2, .3 … to the server on 127.0.0.1), nodemailer and
 * raw SMTP as clients, the stored messages read back over IMAP with imapflow:
 *  - a listed client's message goes to Junk (one list) or is refused with 550 5.7.1 naming the
 *    tests (two lists over rejectScore); a zone's error answer is not a listing;
 *  - an allow-listed client is delivered with a negative score;
 *  - X-Spam-Score / X-Spam-Status below our Authentication-Results, forged X-Spam-* removed;
 *  - HELO checks: no dot, an address that is not the client's, localhost or our name from
 *    outside, a name that does not resolve;
 *  - too many unknown recipients: 421 and the connection closed;
 *  - a block list that never answers: delivered (fail open) within the DNS budget, logged;
 *  - authenticated submission is not scored; monitor mode records, delivers and closes nothing;
 *  - decisions counted in /metrics.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {ImapFlow, type ImapFlowOptions} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {startDns, type DnsServer, type ZoneRecords} from '../helpers/dns.js'
import {until} from '../helpers/until.js'
import {RawSmtp, freePorts, headerFields, sendRaw, setupUsers, type Sent} from './smtp-helpers.js'

const HOST = 'mx.spam.test'
const BUDGET_MS = 1500

const listed = (...codes: string[]): ZoneRecords => ({A: codes})

const ZONE: Record<string, ZoneRecords> = {
  'sender.test': {TXT: ['v=spf1 ip4:127.0.0.0/8 -all']},
  'client.remote.test': {A: ['127.0.0.1']},
  // 127.0.0.2: on bl.test (SBL): Junk
  '2.0.0.127.bl.test': listed('127.0.0.2'),
  // 127.0.0.3: on bl.test (XBL) and strict.test: refused
  '3.0.0.127.bl.test': listed('127.0.0.4'),
  '3.0.0.127.strict.test': listed('127.0.0.2'),
  // 127.0.0.4: allow-listed
  '4.0.0.127.wl.test': listed('127.0.0.2'),
  // 127.0.0.5: bl.test answers with its own error (outside 127/8, and Spamhaus' 127.255.255.254)
  '5.0.0.127.bl.test': listed('192.0.2.1', '127.255.255.254'),
  // 127.0.0.7: strict.test never answers about it
  '7.0.0.127.strict.test': {drop: true},
}

const SPAM = {
  dnsbl: [
    {zone: 'bl.test', weight: 6, codes: {'127.0.0.2': 'SBL', '127.0.0.4': 'XBL'}},
    {zone: 'strict.test', weight: 5},
  ],
  dnswl: [{zone: 'wl.test', weight: -5}],
  maxUnknownRecipients: 3,
  dnsBudgetMs: BUDGET_MS,
}

let dns: DnsServer
let dataDir: string
let config: string
let served: Served
let mx: number, submission: number, imap: number, metrics: number

beforeAll(async () => {
  dns = await startDns(ZONE)
  dataDir = tempDataDir()
  ;[mx, submission, imap, metrics] = await freePorts(4)
  await setupUsers(dataDir, ['example.com'], [{address: 'bob@example.com', password: 'bob-pw'}])
  config = join(dirname(dataDir), 'mailbox.json')
  writeFileSync(config, JSON.stringify({spam: SPAM}))
  served = await startServe(dataDir, [
    '--config', config,
    '--hostname', HOST,
    '--smtp-port', String(mx),
    '--submission-port', String(submission),
    '--imap-port', String(imap),
    '--metrics-port', String(metrics),
    '--allow-insecure-auth',
    '--dns-server', `127.0.0.1:${dns.port}`,
  ])
})

afterAll(async () => {
  if (process.env.DEBUG_SERVE) console.log(served.output())
  await served?.stop()
  await dns?.close()
})

interface SendOptions {
  /** the client's loopback address */
  from?: string
  helo?: string
  auth?: boolean
  port?: number
}

function send(raw: string, options: SendOptions = {}): Promise<Sent> {
  const auth = options.auth ? {user: 'bob@example.com', pass: 'bob-pw'} : undefined
  const envelope = {from: auth ? 'bob@example.com' : 'sam@sender.test', to: ['bob@example.com']}
  return sendRaw(options.port ?? mx, envelope, raw, {...(options.helo ? {helo: options.helo} : {}), ...(auth ? {auth} : {}), ...(options.from ? {localAddress: options.from} : {})})
}

/** sends a new message (expecting 250) and reads it back */
async function delivered(options: SendOptions = {}, extra = '', from?: string): Promise<{folder: string; raw: string; sent: string}> {
  const m = message(extra, from)
  const r = await send(m.raw, options)
  expect(r.code, r.response).toBe(250)
  const s = await stored(m.subject)
  expect(s, m.subject).toBeDefined()
  return {...s!, sent: m.raw}
}

/** a raw session from 127.0.0.6 that has tried `n` unknown recipients (each refused with 550) */
async function tryUnknown(n: number): Promise<RawSmtp> {
  const c = await RawSmtp.open(mx, {localAddress: '127.0.0.6'})
  await c.ehlo('client.remote.test')
  expect((await c.cmd('MAIL FROM:<sam@sender.test>')).code).toBe(250)
  for (let i = 1; i <= n; i++) expect((await c.cmd(`RCPT TO:<nobody${i}@example.com>`)).code).toBe(550)
  return c
}

let counter = 0
function message(extra = '', from = 'sam@sender.test'): {raw: string; subject: string} {
  const subject = `spam test ${++counter}`
  return {subject, raw: `From: ${from}\r\nTo: bob@example.com\r\nSubject: ${subject}\r\nMessage-ID: <${counter}.${Date.now()}@sender.test>\r\n${extra}\r\nHello.\r\n`}
}

/** where bob's message with this Subject is, and its bytes: read over IMAP */
async function stored(subject: string): Promise<{folder: string; raw: string} | undefined> {
  const client = new ImapFlow({host: '127.0.0.1', port: imap, secure: false, doSTARTTLS: false, auth: {user: 'bob@example.com', pass: 'bob-pw'}, logger: false} as ImapFlowOptions)
  await client.connect()
  try {
    for (const folder of ['INBOX', 'Junk']) {
      const lock = await client.getMailboxLock(folder)
      try {
        const uids = (await client.search({header: {subject}}, {uid: true})) || []
        if (!uids.length) continue
        const m = await client.fetchOne(String(uids.at(-1)), {source: true}, {uid: true})
        if (m && m.source) return {folder, raw: m.source.toString('utf8')}
      } finally {
        lock.release()
      }
    }
    return undefined
  } finally {
    await client.logout()
  }
}

/** the last `spam check` log line */
function lastDecision(): Record<string, unknown> {
  const line = served
    .output()
    .split('\n')
    .filter((l) => l.includes('"msg":"spam check"'))
    .at(-1)
  return JSON.parse(line!) as Record<string, unknown>
}

/** our X-Spam-Status, unfolded */
function status(raw: string): string | undefined {
  return headerFields(raw)
    .find((f) => /^X-Spam-Status:/i.test(f))
    ?.replace(/\r?\n\t/g, '')
}

describe('built-in spam checks on the MX', () => {
  it('a client on one block list: delivered to Junk with X-Spam-Status Yes and the test named', async () => {
    const s = await delivered({from: '127.0.0.2'})
    expect(s.folder).toBe('Junk')
    expect(status(s.raw)).toBe('X-Spam-Status: Yes, score=6.0 required=5.0 tests=DNSBL_BL_SBL')
    expect(lastDecision()).toMatchObject({score: 6, action: 'junk', tests: 'DNSBL_BL_SBL', source: 'builtin'})
  })

  it('a client on two block lists: refused at the end of DATA with 550 5.7.1 naming the tests', async () => {
    const r = await send(message().raw, {from: '127.0.0.3'})
    expect(r.code, r.response).toBe(550)
    expect(r.response).toMatch(/^550 5\.7\.1 Message refused as spam \(DNSBL_BL_XBL, DNSBL_STRICT\)/)
    expect(lastDecision()).toMatchObject({score: 11, action: 'reject', tests: 'DNSBL_BL_XBL,DNSBL_STRICT'})
  })

  it("an allow-listed client is delivered with a negative score; a zone's error answer is no listing", async () => {
    const s = await delivered({from: '127.0.0.4'})
    expect(s.folder).toBe('INBOX')
    expect(headerFields(s.raw)).toContain('X-Spam-Score: -5.0')
    expect(status(s.raw)).toBe('X-Spam-Status: No, score=-5.0 required=5.0 tests=DNSWL_WL')

    const clean = await delivered({from: '127.0.0.5'})
    expect(clean.folder).toBe('INBOX')
    expect(status(clean.raw)).toBe('X-Spam-Status: No, score=0.0 required=5.0 tests=none')
  })

  it('our fields go below Received and Authentication-Results; forged X-Spam-* fields are removed, the rest kept byte for byte', async () => {
    const s = await delivered({}, 'X-Spam-Status: No, score=-100.0 required=5.0 tests=FORGED\r\nX-Spam-Flag: NO\r\nX-Other: kept\r\n')
    const fields = headerFields(s.raw)
    expect(fields[0]).toMatch(/^Return-Path: /)
    expect(fields[1]).toMatch(/^Received: from client\.remote\.test /)
    expect(fields[2]).toMatch(new RegExp(`^Authentication-Results: ${HOST.replace(/\./g, '\\.')};`))
    expect(fields[3]).toBe('X-Spam-Score: 0.0')
    expect(fields[4]).toBe('X-Spam-Status: No, score=0.0 required=5.0 tests=none')
    expect(fields.filter((f) => /^X-Spam-/i.test(f))).toHaveLength(2)
    expect(s.raw.endsWith(s.sent.replace('X-Spam-Status: No, score=-100.0 required=5.0 tests=FORGED\r\nX-Spam-Flag: NO\r\n', ''))).toBe(true)
    expect(lastDecision()).toMatchObject({forgedSpamHeadersRemoved: 2})
  })

  it('HELO checks: no dot, a foreign address, localhost or our name from outside, a name that does not resolve', async () => {
    const cases: [string, string][] = [
      ['box', 'HELO_NO_DOT'],
      ['[10.1.2.3]', 'HELO_IP_MISMATCH'],
      ['[127.0.0.6]', 'none'],
      ['localhost', 'HELO_OURS'],
      [HOST, 'HELO_OURS'],
      ['nowhere.remote.test', 'HELO_NOT_RESOLVING'],
      ['client.remote.test', 'none'],
    ]
    for (const [helo, test] of cases) expect(status((await delivered({from: '127.0.0.6', helo})).raw), helo).toMatch(new RegExp(`tests=${test}$`))
    // from this host itself (127.0.0.1 to 127.0.0.1), localhost is only a name without a dot
    expect(status((await delivered({helo: 'localhost'})).raw)).toMatch(/tests=HELO_NO_DOT$/)
  })

  it('too many unknown recipients on one connection: 421 and closed; they count in the score before that', async () => {
    const c = await tryUnknown(3)
    try {
      expect((await c.cmd('RCPT TO:<bob@example.com>')).code).toBe(250)
      const m = message()
      const [, done] = await c.data(m.raw)
      expect(done?.code).toBe(250)
      expect(status((await stored(m.subject))!.raw)).toBe('X-Spam-Status: No, score=1.5 required=5.0 tests=UNKNOWN_RCPT')
      expect((await c.cmd('MAIL FROM:<sam@sender.test>')).code).toBe(250)
      const over = await c.cmd('RCPT TO:<nobody4@example.com>')
      expect(over.code).toBe(421)
      expect(over.raw).toMatch(/^421 4\.7\.0 Too many unknown recipients/)
      await expect(c.cmd('NOOP')).rejects.toThrow(/closed/)
    } finally {
      c.close()
    }
    expect(served.output()).toMatch(/"unknownRecipients":4,"action":"close","msg":"spam check: too many unknown recipients"/)
  })

  it('a block list that never answers: delivered (fail open) within the DNS budget, the failure logged', async () => {
    const started = Date.now()
    const s = await delivered({from: '127.0.0.7'})
    expect(Date.now() - started).toBeLessThan(BUDGET_MS + 5000)
    expect(s.folder).toBe('INBOX')
    expect(served.output()).toMatch(/"zone":"strict\.test","remoteAddress":"127\.0\.0\.7","code":"ETIMEOUT","msg":"spam check: DNS lookup failed; counted as not listed"/)
  })

  it('authenticated submission is not scored: no X-Spam fields added, none removed', async () => {
    const before = served.output().split('"msg":"spam check"').length
    const s = await delivered({port: submission, auth: true, helo: 'box'}, 'X-Spam-Flag: YES\r\n', 'bob@example.com')
    expect(s.folder).toBe('INBOX')
    expect(headerFields(s.raw).filter((f) => /^X-Spam-/i.test(f))).toEqual(['X-Spam-Flag: YES'])
    expect(served.output().split('"msg":"spam check"').length).toBe(before)
  })

  it('decisions are counted by action in /metrics', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()
    const value = (action: string) => Number(new RegExp(`^mailbox_spam_decisions_total\\{action="${action}"\\} (\\d+)`, 'm').exec(text)?.[1])
    expect(value('junk')).toBeGreaterThanOrEqual(1)
    expect(value('reject')).toBeGreaterThanOrEqual(1)
    expect(value('deliver')).toBeGreaterThanOrEqual(5)
    expect(text).toMatch(/^mailbox_messages_rejected_total\{stage="data",reason="spamRefused"\} [1-9]/m)
  })

  it('monitor mode (after a reload) records what it would do and delivers', async () => {
    const reloads = () => served.output().split('"msg":"configuration reloaded"').length
    const before = reloads()
    writeFileSync(config, JSON.stringify({spam: {...SPAM, mode: 'monitor'}}))
    process.kill(served.pid, 'SIGHUP')
    await until(() => reloads() > before)
    const s = await delivered({from: '127.0.0.3'})
    expect(s.folder).toBe('INBOX')
    expect(status(s.raw)).toBe('X-Spam-Status: Yes, score=11.0 required=5.0 tests=DNSBL_BL_XBL,DNSBL_STRICT')
    expect(lastDecision()).toMatchObject({action: 'deliver', would: 'reject', score: 11})
    // nor is a connection closed for its unknown recipients
    const c = await tryUnknown(5)
    try {
      expect((await c.cmd('NOOP')).code).toBe(250)
    } finally {
      c.close()
    }
    expect(served.output()).toMatch(/"unknownRecipients":5,"action":"monitor only: would close"/)
  })
})
