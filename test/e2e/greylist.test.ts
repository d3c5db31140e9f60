/**
 * Greylisting against a real `serve` (config spam.greylist, delayMs 1 s), on the run's backend:
 * python3 smtplib gets 450 4.7.1 at RCPT on a first try, a real retry after the delay is
 * accepted and stored, another sender is greylisted anew; unknown users and relay attempts keep
 * their own replies; authenticated submission, an allowNetworks client and a client on the spam
 * checks' DNS allow list (a loopback DNS) are not greylisted; a
 * pass survives `kill -9`; the metrics count each decision; a reload turns it off. Then the sending side: one `serve` relaying to another that
 * greylists gets its message through on the queue's retry.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {startDns, type DnsServer} from '../helpers/dns.js'
import {freePorts, listMessages, runPython, setupUsers} from './smtp-helpers.js'
import {message, queueShow, send, sleep, waitFor, waitForEntry} from './queue-helpers.js'

/** the greylisting server's delay; the sending test's receiver uses 1 s */
const DELAY_MS = 2000

/**
 * argv: port sender rcpt subject [user password] [sourceAddress] [again]
 * one transaction; prints {mail, rcpt: [code, text], data?: [code, text]}: DATA only when RCPT took it.
 * With `again`, RCPT is tried a second time at once in the same session (after RSET and MAIL):
 * `rcptAgain` is its reply, `apartMs` the time between the two RCPTs.
 */
const SCRIPT = String.raw`
import json, smtplib, sys, time
port, sender, rcpt, subject = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
user, password, source, again = (sys.argv[5:9] + ['', '', '', ''])[:4]
s = smtplib.SMTP('127.0.0.1', port, timeout=10, source_address=(source, 0) if source else None)
s.ehlo('py.greylist.test')
if user:
    s.login(user, password)
out = {}
out['mail'] = s.mail(sender)[0]
first = time.monotonic()
code, text = s.rcpt(rcpt)
out['rcpt'] = [code, text.decode()]
if again:
    s.rset()
    s.mail(sender)
    second = time.monotonic()
    code, text = s.rcpt(rcpt)
    out['rcptAgain'] = [code, text.decode()]
    out['apartMs'] = (second - first) * 1000
if code == 250:
    body = ('From: <' + (sender or 'mailer-daemon@py.test') + '>\r\nTo: <' + rcpt + '>\r\nSubject: ' + subject + '\r\n\r\nhello\r\n').encode()
    code, text = s.data(body)
    out['data'] = [code, text.decode()]
s.quit()
print(json.dumps(out))
`

interface Tried {
  mail: number
  rcpt: [number, string]
  rcptAgain?: [number, string]
  apartMs?: number
  data?: [number, string]
}

const attempt = (port: number, sender: string, rcpt: string, subject: string, extra: string[] = []): Promise<Tried> => runPython<Tried>(SCRIPT, [port, sender, rcpt, subject, ...extra])

function writeConfig(dataDir: string, greylist: object, name = 'greylist.json', spam: object = {}): string {
  const file = join(dirname(dataDir), name)
  writeFileSync(file, JSON.stringify({spam: {...spam, greylist}}))
  return file
}

describe('greylisting on a real serve', () => {
  let dataDir: string
  let served: Served
  let mx: number, submission: number, metrics: number
  let config: string
  /** lists 127.0.0.3 on the DNS allow list wl.test */
  let dns: DnsServer
  /** when eve@other.test was first greylisted (after the test's reply: her retry is due DELAY_MS later at the latest) */
  let eveFirstTry = 0
  const start = async () =>
    (served = await startServe(dataDir, [
      '--smtp-port', String(mx),
      '--submission-port', String(submission),
      '--metrics-port', String(metrics),
      '--dns-server', `127.0.0.1:${dns.port}`,
      '--allow-insecure-auth',
      '--config', config,
    ]))

  beforeAll(async () => {
    dataDir = tempDataDir()
    ;[mx, submission, metrics] = await freePorts(3)
    await setupUsers(dataDir, ['example.com'], [
      {address: 'alice@example.com', password: 'alice-pw'},
      {address: 'bob@example.com', password: 'bob-pw'},
    ])
    config = writeConfig(dataDir, {enabled: true, delayMs: DELAY_MS, allowNetworks: ['127.0.0.2']}, 'greylist.json', {dnswl: [{zone: 'wl.test', weight: -5}]})
    dns = await startDns({'3.0.0.127.wl.test': {A: ['127.0.0.2']}})
    await start()
  })

  afterAll(async () => {
    await served?.stop()
    await dns?.close()
  })

  it('first try 450 4.7.1; a retry after the delay is stored; another sender is greylisted anew; unknown users and relaying keep their replies', async () => {
    const first = await attempt(mx, 'amy@sender.test', 'alice@example.com', 'greylisted once', ['', '', '', 'again'])
    expect(first.rcpt[0]).toBe(450)
    expect(first.rcpt[1]).toBe(`4.7.1 Greylisted, please try again in ${DELAY_MS / 1000} seconds`)
    // too early (the same session, at once: far less than the delay apart): still waiting
    expect(first.apartMs).toBeLessThan(DELAY_MS)
    expect(first.rcptAgain?.[0]).toBe(450)
    expect(first.data).toBeUndefined()
    expect(await listMessages(dataDir, 'alice@example.com')).toEqual([])

    await sleep(DELAY_MS + 200)
    const retry = await attempt(mx, 'amy@sender.test', 'alice@example.com', 'greylisted once')
    expect(retry.rcpt[0]).toBe(250)
    expect(retry.data?.[0]).toBe(250)
    expect((await listMessages(dataDir, 'alice@example.com')).map((m) => m.subject)).toEqual(['greylisted once'])
    // passed: no wait for the next message of this triplet
    expect((await attempt(mx, 'Amy@Sender.test', 'alice@example.com', 'second message')).data?.[0]).toBe(250)

    expect((await attempt(mx, 'eve@other.test', 'alice@example.com', 'another sender')).rcpt[0]).toBe(450)
    eveFirstTry = Date.now()
    expect((await attempt(mx, 'amy@sender.test', 'bob@example.com', 'another recipient')).rcpt[0]).toBe(450)
    const unknown = await attempt(mx, 'zed@spam.test', 'nobody@example.com', 'x')
    expect(unknown.rcpt).toEqual([550, '5.1.1 No such user here'])
    const relay = await attempt(mx, 'zed@spam.test', 'someone@elsewhere.test', 'x')
    expect(relay.rcpt).toEqual([550, '5.7.1 Relaying denied'])

    const lines = served.output().split('\n').filter((l) => l.includes('"component":"greylist"')).map((l) => JSON.parse(l))
    expect(lines.filter((l) => l.msg === 'greylisted').map((l) => [l.reason, l.from, l.to, l.network])).toEqual([
      ['first', 'amy@sender.test', 'alice@example.com', '127.0.0.0/24'],
      ['early', 'amy@sender.test', 'alice@example.com', '127.0.0.0/24'],
      ['first', 'eve@other.test', 'alice@example.com', '127.0.0.0/24'],
      ['first', 'amy@sender.test', 'bob@example.com', '127.0.0.0/24'],
    ])
    expect(lines.filter((l) => l.msg === 'greylist passed').map((l) => l.reason)).toEqual(['retried'])
  })

  it('authenticated submission, an allowNetworks client and a DNS allow-listed client are not greylisted', async () => {
    const submitted = await attempt(submission, 'bob@example.com', 'alice@example.com', 'submitted', ['bob@example.com', 'bob-pw'])
    expect(submitted.rcpt[0]).toBe(250)
    expect(submitted.data?.[0]).toBe(250)
    const allowed = await attempt(mx, 'partner@allowed.test', 'alice@example.com', 'from an allowed network', ['', '', '127.0.0.2'])
    expect(allowed.rcpt[0]).toBe(250)
    expect(allowed.data?.[0]).toBe(250)
    const listed = await attempt(mx, 'friend@listed.test', 'alice@example.com', 'from an allow-listed client', ['', '', '127.0.0.3'])
    expect(listed.rcpt[0]).toBe(250)
    expect(listed.data?.[0]).toBe(250)
    const subjects = (await listMessages(dataDir, 'alice@example.com')).map((m) => m.subject)
    expect(subjects).toEqual(expect.arrayContaining(['submitted', 'from an allowed network', 'from an allow-listed client']))
  })

  it('the null sender from a network that passed is not greylisted', async () => {
    const bounce = await attempt(mx, '', 'bob@example.com', 'a bounce')
    expect(bounce.rcpt[0]).toBe(250)
    expect(bounce.data?.[0]).toBe(250)
  })

  it('the metrics count each decision by result and reason; the refusals count as rcpt greylisted', async () => {
    const text = await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text()
    const value = (series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? NaN)
    expect(value('mailbox_greylist_decisions_total{result="wait",reason="first"}')).toBe(3)
    expect(value('mailbox_greylist_decisions_total{result="wait",reason="early"}')).toBe(1)
    expect(value('mailbox_greylist_decisions_total{result="pass",reason="retried"}')).toBe(1)
    expect(value('mailbox_greylist_decisions_total{result="pass",reason="passed"}')).toBe(1)
    expect(value('mailbox_greylist_decisions_total{result="pass",reason="network"}')).toBe(1)
    expect(value('mailbox_greylist_decisions_total{result="skip",reason="allow-network"}')).toBe(1)
    expect(value('mailbox_greylist_decisions_total{result="skip",reason="allow-listed"}')).toBe(1)
    expect(value('mailbox_messages_rejected_total{stage="rcpt",reason="greylisted"}')).toBe(4)
  })

  it('a pass survives kill -9 of the server', async () => {
    await served.stop('SIGKILL')
    await start()
    const again = await attempt(mx, 'amy@sender.test', 'alice@example.com', 'after the crash')
    expect(again.rcpt[0]).toBe(250)
    expect(again.data?.[0]).toBe(250)
    // and the waiting ones are still waiting, counted from their first try: past the delay, they pass
    await sleep(eveFirstTry + DELAY_MS + 200 - Date.now())
    expect((await attempt(mx, 'eve@other.test', 'alice@example.com', 'eve retried')).rcpt[0]).toBe(250)
  })

  it('a reload (SIGHUP) with enabled false lets a new triplet through at once', async () => {
    expect((await attempt(mx, 'new@sender.test', 'alice@example.com', 'still on')).rcpt[0]).toBe(450)
    writeFileSync(config, JSON.stringify({spam: {greylist: {enabled: false, delayMs: DELAY_MS}}}))
    process.kill(served.pid, 'SIGHUP')
    await waitFor('the reload', () => served.output().includes('"msg":"configuration reloaded"'))
    expect((await attempt(mx, 'newer@sender.test', 'alice@example.com', 'off now')).data?.[0]).toBe(250)
  })
})

describe('our queue sending to a greylisting server', () => {
  const started: Served[] = []
  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()))
  })

  it('takes the 450 as a deferral and delivers on the retry', async () => {
    const receiverDir = tempDataDir()
    const senderDir = tempDataDir()
    const [receiverMx] = await freePorts(1)
    await setupUsers(receiverDir, ['example.net'], [{address: 'bob@example.net', password: 'bob-pw'}])
    await setupUsers(senderDir, ['example.com'], [{address: 'alice@example.com', password: 'alice-pw'}])
    started.push(await startServe(receiverDir, ['--smtp-port', String(receiverMx), '--config', writeConfig(receiverDir, {enabled: true, delayMs: 1000}, 'receiver.json')]))
    const senderConfig = join(dirname(senderDir), 'sender.json')
    writeFileSync(senderConfig, JSON.stringify({queue: {retry: {scheduleMs: [1500], maxLifetimeMs: 3_600_000}}}))
    started.push(await startServe(senderDir, ['--config', senderConfig, '--route', `example.net=127.0.0.1:${receiverMx}`]))

    const sent = await send(senderDir, 'alice@example.com', ['bob@example.net'], message('through greylisting'))
    const id = sent.queued[0]!
    const delivered = await waitForEntry(senderDir, id, ['delivered'], 20_000)
    expect(delivered.state).toBe('delivered')
    const shown = await queueShow(senderDir, id)
    expect(shown.attemptLog.map((a) => a.result)).toEqual(['deferred', 'delivered'])
    expect(JSON.stringify(shown.attemptLog[0]!.transcript)).toContain('450 4.7.1 Greylisted')
    await waitFor('the message in bob@example.net INBOX', async () => (await listMessages(receiverDir, 'bob@example.net')).length === 1)
    expect((await listMessages(receiverDir, 'bob@example.net')).map((m) => m.subject)).toEqual(['through greylisting'])
  })
})
