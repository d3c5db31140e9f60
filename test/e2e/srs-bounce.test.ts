/**
 * Bounces to SRS addresses end to end: a real `mailbox serve` whose mail for remote.example goes
 * by `--route` to a loopback receiver. A null-sender bounce over SMTP to the SRS address we made
 * for someone@remote.example (with the store's own secret) is accepted and relayed to the
 * receiver with RCPT TO someone@remote.example and MAIL FROM <>; a forged and an expired SRS
 * address get 550 5.1.1 saying why, and nothing leaves. `mailbox srs` makes and reads addresses
 * with the same secret. A reload (SIGHUP) applies `srs.maxAgeDays` and `srs.enabled`. `mailbox
 * send` with no server running routes an SRS address of ours the same way.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {srsForward} from '../../src/srs/index.js'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {withTestStore} from '../helpers/test-store.js'
import {RawSmtp, setupUsers} from './smtp-helpers.js'
import {Receiver, queueShow, send, sleep} from './queue-helpers.js'

const DOMAIN = 'fwd.example'
const DAY = 86_400_000
let dataDir: string
let served: Served
let receiver: Receiver
let smtpPort: number
let secret: Buffer
let configFile: string

const BOUNCE = [
  'From: MAILER-DAEMON@mx.remote.example',
  'To: someone@remote.example',
  'Subject: Undelivered Mail Returned to Sender',
  'Message-ID: <bounce-1@mx.remote.example>',
  '',
  'The message you forwarded could not be delivered.',
  '',
].join('\r\n')

/** one null-sender transaction to `rcpt`: the RCPT reply, and the final reply when RCPT was taken */
async function bounceTo(rcpt: string): Promise<{rcpt: {code: number; raw: string}; data?: {code: number; raw: string}}> {
  const c = await RawSmtp.open(smtpPort)
  try {
    await c.ehlo('mx.remote.example')
    expect((await c.cmd('MAIL FROM:<>')).code).toBe(250)
    const r = await c.cmd(`RCPT TO:<${rcpt}>`)
    if (r.code !== 250) return {rcpt: r}
    const [, final] = await c.data(BOUNCE)
    return {rcpt: r, data: final}
  } finally {
    await c.quit()
  }
}

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, [DOMAIN], [{address: 'fred@fwd.example'}])
  receiver = await Receiver.start()
  smtpPort = await freePort()
  configFile = join(dataDir, '..', 'srs-config.json')
  writeFileSync(configFile, JSON.stringify({srs: {enabled: true, maxAgeDays: 21}}))
  served = await startServe(dataDir, ['--config', configFile, '--smtp-port', String(smtpPort), '--route', `remote.example=127.0.0.1:${receiver.port}`])
  // the secret the server uses: the store's (made by whichever asks first)
  secret = await withTestStore(dataDir, (s) => s.settings.secret('srs'))
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

describe('bounces to SRS addresses over SMTP', () => {
  it('a valid SRS0 address of ours: accepted, and relayed to the original sender with the null sender', async () => {
    const srs = srsForward('someone@remote.example', DOMAIN, secret)
    expect(srs).toMatch(/^SRS0=[A-Za-z0-9+/]{4}=[A-Z2-7]{2}=remote\.example=someone@fwd\.example$/)
    const r = await bounceTo(srs)
    expect(r.rcpt.code, r.rcpt.raw).toBe(250)
    expect(r.data?.code, r.data?.raw).toBe(250)
    const [got] = await receiver.waitForMessages(1)
    expect(got!.to).toEqual(['someone@remote.example'])
    expect(got!.from).toBe('')
    expect(got!.raw).toContain('Subject: Undelivered Mail Returned to Sender')
  })

  it('a forged one (another key) and an expired one: 550 5.1.1 saying why, and nothing is relayed', async () => {
    const forged = await bounceTo(srsForward('victim@remote.example', DOMAIN, Buffer.from('not the server secret')))
    expect(forged.rcpt.code).toBe(550)
    expect(forged.rcpt.raw).toMatch(/^550 5\.1\.1 Invalid bounce address \(SRS address hash does not match\)/)
    const expired = await bounceTo(srsForward('someone@remote.example', DOMAIN, secret, Date.now() - 30 * DAY))
    expect(expired.rcpt.code).toBe(550)
    expect(expired.rcpt.raw).toMatch(/^550 5\.1\.1 Invalid bounce address \(SRS address expired\)/)
    // a quoted SRS address (made for a sender with a space in its local part): refused at RCPT
    const quoted = srsForward('"john doe"@remote.example', DOMAIN, secret)
    expect(quoted.startsWith('"SRS0=')).toBe(true)
    expect((await bounceTo(quoted)).rcpt.code).toBeGreaterThanOrEqual(500) // 501 from smtp-server's address parser
    // an address past its own fields, not ours: no such user, as before
    const plain = await bounceTo('nobody@fwd.example')
    expect(plain.rcpt.raw).toMatch(/^550 5\.1\.1 No such user here/)
    await sleep(300)
    expect(receiver.messages).toHaveLength(1)
    expect(receiver.rcptSeen).toEqual(['someone@remote.example'])
  })

  it('mailbox srs forward and reverse use the store’s secret: what serve accepts, the CLI reverses', async () => {
    const made = await runJson<{address: string}>(['srs', 'forward', 'Someone@Remote.Example', '--domain', DOMAIN, '--json'], {dataDir})
    expect(made.address).toBe(srsForward('Someone@Remote.Example', DOMAIN, secret))
    expect(await runJson(['srs', 'reverse', made.address, '--json'], {dataDir})).toEqual({address: made.address, original: 'Someone@Remote.Example'})
    const bad = await runCli(['srs', 'reverse', srsForward('x@remote.example', DOMAIN, Buffer.from('nope'))], {dataDir})
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toContain('SRS address hash does not match')
  })

  it('SIGHUP applies srs.maxAgeDays, then srs.enabled false: an SRS address is an unknown user', async () => {
    const fiveDaysOld = srsForward('someone@remote.example', DOMAIN, secret, Date.now() - 5 * DAY)
    expect((await bounceTo(fiveDaysOld)).rcpt.code).toBe(250)
    await receiver.waitForMessages(2)
    writeFileSync(configFile, JSON.stringify({srs: {enabled: true, maxAgeDays: 3}}))
    await reload(1)
    expect((await bounceTo(fiveDaysOld)).rcpt.raw).toMatch(/^550 5\.1\.1 Invalid bounce address \(SRS address expired\)/)
    writeFileSync(configFile, JSON.stringify({srs: {enabled: false}}))
    await reload(2)
    expect((await bounceTo(srsForward('someone@remote.example', DOMAIN, secret))).rcpt.raw).toMatch(/^550 5\.1\.1 No such user here/)
    expect(receiver.messages).toHaveLength(2)
  })
})

describe('mailbox send with the server stopped', () => {
  it('queues mail to a valid SRS address of ours for the original sender, and refuses a forged one', async () => {
    const offline = tempDataDir()
    await setupUsers(offline, [DOMAIN], [{address: 'fred@fwd.example'}])
    const key = await withTestStore(offline, (s) => s.settings.secret('srs'))
    const sent = await send(offline, '', [srsForward('someone@remote.example', DOMAIN, key)], BOUNCE)
    expect(sent.stored).toEqual([])
    expect(sent.queued).toHaveLength(1)
    const entry = await queueShow(offline, sent.queued[0]!)
    expect(entry.from).toBe('')
    expect(entry.recipients.map((r) => r.address)).toEqual(['someone@remote.example'])
    await expect(send(offline, '', [srsForward('someone@remote.example', DOMAIN, Buffer.from('forged'))], BOUNCE)).rejects.toThrow(/SRS address hash does not match/)
  })
})

/** SIGHUP, and the n-th "configuration reloaded" line */
async function reload(nth: number): Promise<void> {
  process.kill(served.pid, 'SIGHUP')
  const deadline = Date.now() + 30_000
  while ((served.output().match(/"msg":"configuration reloaded"/g) ?? []).length < nth) {
    if (Date.now() > deadline) throw new Error(`no reload after SIGHUP:\n${served.output()}\n${served.errors()}`)
    await sleep(50)
  }
}
