/**
 * Logs a mail admin can grep (issue 13), read from a real `mailbox serve`'s stdout:
 *
 * - one `message accepted` line per inbound message, after its commit: id, client address and
 *   EHLO name, TLS (version and cipher) or `none`, AUTH user, envelope sender and recipients,
 *   size, Message-ID;
 * - one `delivery attempt` line per outbound attempt to a loopback sink: id, recipients, relay
 *   as named and the address connected to, reply code and text, TLS, delay, and the next attempt
 *   on a deferral;
 * - one `login succeeded` / `login failed` line per login on SMTP AUTH, IMAP and POP3, with the
 *   user, address, mechanism and TLS;
 * - never a password (nor its SASL base64 forms) and never a message body, even at trace level;
 * - Node's own warnings (here NODE_TLS_REJECT_UNAUTHORIZED=0, which Node warns about at the
 *   first outbound TLS connection) are a JSON `node warning` line, not plain text: every stdout
 *   line parses as JSON and stderr stays empty.
 */
import {randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import nodemailer from 'nodemailer'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {loadTls} from '../../src/tls.js'
import {ok} from './fixtures.js'
import {RawImap, quote} from './imap-helpers.js'
import {RawPop3} from './pop3-helpers.js'
import {Receiver, waitFor} from './queue-helpers.js'

const token = randomBytes(6).toString('hex')
const PASSWORD = `Pw-${token}-secret`
const BODY_TOKEN = `BODYTOKEN${token}`
const USER = 'alice@example.com'
/** the password as it crosses the wire in SASL PLAIN and LOGIN */
const SECRETS = [PASSWORD, Buffer.from(PASSWORD).toString('base64'), Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64'), BODY_TOKEN]

type Line = Record<string, any> & {msg: string; level: string}

let certDir: string
let sink: Receiver
let served: Served
let dataDir: string
const ports: Record<string, number> = {}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'mbx-logs-'))
  sink = await Receiver.start({tls: await loadTls({dataDir: certDir, hostname: 'localhost'})})
  // later@ is refused for now: a deferral with its next attempt
  sink.rcpt = (address) => (address.startsWith('later@') ? {code: 451, message: '4.3.0 try again later'} : undefined)
  dataDir = tempDataDir()
  await ok(['domain', 'add', 'example.com'], dataDir)
  const added = await runCli(['user', 'add', USER, '--password-stdin'], {dataDir, input: `${PASSWORD}\n`})
  expect(added.code, added.stderr).toBe(0)
  for (const name of ['submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s']) ports[name] = await freePort()
  const config = join(dirname(dataDir), 'config.json')
  writeFileSync(config, JSON.stringify({auth: {failureDelayMs: 20, maxFailureDelayMs: 100}}))
  served = await startServe(
    dataDir,
    [
      '--config', config,
      '--log-level', 'trace',
      '--allow-insecure-auth',
      '--route', `example.net=127.0.0.1:${sink.port}`,
      ...Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)]),
    ],
    20_000,
    {NODE_TLS_REJECT_UNAUTHORIZED: '0'},
  )
}, 60_000)

afterAll(async () => {
  await served?.stop()
  await sink?.close()
  rmSync(certDir, {recursive: true, force: true})
})

function logLines(): Line[] {
  return served
    .output()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Line)
}

const linesOf = (msg: string, match: Record<string, unknown> = {}): Line[] =>
  logLines().filter((l) => l.msg === msg && Object.entries(match).every(([k, v]) => JSON.stringify(l[k]) === JSON.stringify(v)))

const oneLine = (msg: string, match: Record<string, unknown>): Promise<Line> =>
  waitFor(`a "${msg}" line with ${JSON.stringify(match)}`, () => {
    const found = linesOf(msg, match)
    return found.length ? found[0] : undefined
  }, 20_000)

function transport(options: {secure: boolean; port: number; password?: string; method?: string}) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.port,
    secure: options.secure,
    ignoreTLS: !options.secure,
    name: 'client.example.org',
    auth: {user: USER, pass: options.password ?? PASSWORD},
    authMethod: options.method ?? 'PLAIN',
    tls: {rejectUnauthorized: false},
  })
}

describe('the log lines a mail admin greps for', () => {
  it('an accepted message: id, client address and EHLO name, TLS, AUTH user, envelope, size, Message-ID', async () => {
    const raw = `From: ${USER}\r\nTo: bob@example.net\r\nSubject: logs\r\nMessage-ID: <plain-${token}@example.com>\r\n\r\n${BODY_TOKEN}\r\n`
    const info = await transport({secure: false, port: ports.submission!}).sendMail({envelope: {from: USER, to: [USER, 'bob@example.net']}, raw})
    const id = /queued as (\S+)/.exec(info.response)![1]!
    const line = await oneLine('message accepted', {id})
    expect(line).toMatchObject({
      level: 'info',
      component: 'smtp',
      remoteAddress: '127.0.0.1',
      helo: 'client.example.org',
      tls: 'none',
      user: USER,
      from: USER,
      to: [USER, 'bob@example.net'],
      size: Buffer.byteLength(raw),
      messageId: `<plain-${token}@example.com>`,
      queued: [expect.any(String)],
    })
    expect(line.cipher).toBeUndefined()

    // over implicit TLS, logged in with AUTH LOGIN: the TLS version and cipher
    const tlsRaw = `From: ${USER}\r\nTo: ${USER}\r\nSubject: tls\r\nMessage-ID: <tls-${token}@example.com>\r\n\r\n${BODY_TOKEN}\r\n`
    const tlsInfo = await transport({secure: true, port: ports.smtps!, method: 'LOGIN'}).sendMail({envelope: {from: USER, to: [USER]}, raw: tlsRaw})
    const tlsLine = await oneLine('message accepted', {id: /queued as (\S+)/.exec(tlsInfo.response)![1]!})
    expect(tlsLine).toMatchObject({tls: expect.stringMatching(/^TLSv1\.[23]$/), cipher: expect.stringMatching(/\S/), user: USER, messageId: `<tls-${token}@example.com>`})
  })

  it('a delivery attempt: id, recipients, relay and address, reply code and text, TLS, delay; a deferral says when next', async () => {
    const raw = `From: ${USER}\r\nTo: bob@example.net\r\nSubject: out\r\nMessage-ID: <out-${token}@example.com>\r\n\r\n${BODY_TOKEN}\r\n`
    const delivered = await transport({secure: false, port: ports.submission!}).sendMail({envelope: {from: USER, to: ['carol@example.net']}, raw})
    const accepted = await oneLine('message accepted', {id: /queued as (\S+)/.exec(delivered.response)![1]!})
    const queueId = accepted.queued[0]
    const line = await oneLine('delivery attempt', {id: queueId})
    expect(line).toMatchObject({
      level: 'info',
      component: 'queue',
      attempt: 1,
      state: 'delivered',
      from: USER,
      to: ['carol@example.net'],
      relay: `127.0.0.1:${sink.port}`,
      address: `127.0.0.1:${sink.port}`,
      code: 250,
      reply: expect.stringMatching(/^250 /),
      tls: expect.stringMatching(/^encrypted \(TLSv1\.[23]; unverified: /),
      delayMs: expect.any(Number),
    })
    expect(line.nextAttemptAt).toBeUndefined()

    const later = await transport({secure: false, port: ports.submission!}).sendMail({envelope: {from: USER, to: ['later@example.net']}, raw})
    const laterQueued = (await oneLine('message accepted', {id: /queued as (\S+)/.exec(later.response)![1]!})).queued[0]
    const deferred = await oneLine('delivery attempt', {id: laterQueued})
    expect(deferred).toMatchObject({state: 'deferred', to: ['later@example.net'], code: 451, reply: expect.stringMatching(/^451 4\.3\.0 try again later/), address: `127.0.0.1:${sink.port}`})
    expect(Date.parse(deferred.nextAttemptAt)).toBeGreaterThan(Date.parse(deferred.time))
  })

  it('logins on SMTP AUTH, IMAP and POP3: one line each for success and failure, with user, address, mechanism, TLS', async () => {
    // SMTP: the successes above; a wrong password now
    await expect(transport({secure: false, port: ports.submission!, password: 'wrong-one'}).verify()).rejects.toThrow(/535/)

    const imap = await RawImap.open(ports.imap!)
    expect((await imap.command(`LOGIN ${quote(USER)} ${quote(PASSWORD)}`)).status).toBe('OK')
    await imap.logout()
    const imaps = await RawImap.open(ports.imaps!, {tls: true})
    const plainResponse = Buffer.from(`\0${USER}\0not-it`).toString('base64')
    expect((await imaps.command(`AUTHENTICATE PLAIN ${plainResponse}`)).status).toBe('NO')
    await imaps.logout()

    const pop3 = await RawPop3.open(ports.pop3!)
    expect(await pop3.login(USER, PASSWORD)).toMatch(/^\+OK/)
    await pop3.quit()
    const pop3s = await RawPop3.open(ports.pop3s!, {tls: true})
    expect(await pop3s.cmd(`AUTH PLAIN ${Buffer.from(`\0${USER}\0not-it-either`).toString('base64')}`)).toMatch(/^-ERR \[AUTH\]/)
    await pop3s.quit()

    const base = {level: 'info', component: 'auth', username: USER, remoteAddress: '127.0.0.1'}
    expect(await oneLine('login succeeded', {protocol: 'smtp', mechanism: 'PLAIN'})).toMatchObject({...base, tls: 'none'})
    expect(await oneLine('login succeeded', {protocol: 'smtp', mechanism: 'LOGIN'})).toMatchObject({...base, tls: expect.stringMatching(/^TLSv1\.[23]$/)})
    expect(await oneLine('login failed', {protocol: 'smtp'})).toMatchObject({...base, mechanism: 'PLAIN', tls: 'none', reason: 'bad-credentials'})
    expect(await oneLine('login succeeded', {protocol: 'imap'})).toMatchObject({...base, mechanism: 'password', tls: 'none'})
    expect(await oneLine('login failed', {protocol: 'imap'})).toMatchObject({...base, mechanism: 'PLAIN', tls: expect.stringMatching(/^TLSv1\.[23]$/), reason: 'bad-credentials'})
    expect(await oneLine('login succeeded', {protocol: 'pop3'})).toMatchObject({...base, mechanism: 'password', tls: 'none'})
    expect(await oneLine('login failed', {protocol: 'pop3'})).toMatchObject({...base, mechanism: 'PLAIN', tls: expect.stringMatching(/^TLSv1\.[23]$/), reason: 'bad-credentials'})
    // one line per login: IMAP's session no longer adds a second info line of its own
    expect(linesOf('login succeeded', {protocol: 'imap'})).toHaveLength(1)
    expect(logLines().filter((l) => l.msg === 'imap login')).toEqual([])
  })

  it("Node's own warnings are JSON lines of the log; stdout is JSON only, stderr empty", async () => {
    // the outbound STARTTLS above was the first TLS client connection: Node warned about the variable
    const warning = await oneLine('node warning', {})
    expect(warning.level).toBe('warn')
    expect(warning.warning).toMatchObject({name: 'Warning', message: expect.stringMatching(/NODE_TLS_REJECT_UNAUTHORIZED/)})
    for (const line of served.output().split('\n').filter(Boolean)) expect(() => JSON.parse(line), line).not.toThrow()
    expect(served.errors()).toBe('')
  })

  it('never a password nor a message body, even at trace level', async () => {
    const everything = served.output() + served.errors()
    expect(everything).toContain('"msg":"message accepted"') // the log is there to search
    for (const secret of SECRETS) expect(everything.includes(secret), `the log contains ${secret}`).toBe(false)
  })
})
