/**
 * Credentials to a smarthost only over verified TLS (issue 12, item 4), against a real
 * `mailbox serve` and loopback smarthosts (smtp-server) that record every AUTH they are sent:
 *
 * - a smarthost without STARTTLS, or with a certificate nobody vouches for: the entry is
 *   deferred with an error that says why, and the smarthost never sees AUTH;
 * - the same certificate given as `--relay-ca-file`: delivered, AUTH over TLS, attempt `verified`;
 *   a host whose name the certificate does not cover is refused like an untrusted one;
 * - implicit TLS on port 465 (when 127.0.0.1:465 can be listened on): refused and verified alike;
 * - `--relay-insecure`: delivered to the plaintext smarthost (a lab), with warnings at start;
 * - the password from a file or from MAILBOX_RELAY_PASSWORD shows nowhere: not in the serve
 *   process's command line, its logs, `queue show` (text and JSON), `queue list`, `status --json`.
 */
import {chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {loadTls} from '../../src/tls.js'
import {Receiver, canListen, message, queueShow, send, waitForEntry} from './queue-helpers.js'

const USER = 'relayuser'
const PASS = 'Rel4y-pw-7c1e9d'
const SECRETS = [PASS, Buffer.from(PASS).toString('base64'), Buffer.from(`\0${USER}\0${PASS}`).toString('base64')]

let certDir: string
let caFile: string
let passwordFile: string
let plain: Receiver
let tlsHost: Receiver
/** the same certificate, on an address it does not name */
let otherName: Receiver
/** TLS from the first byte on 127.0.0.1:465, where the port can be had (root) */
let smtps: Receiver | undefined
const serving: Served[] = []

const port465 = await canListen(465)
const SMTPS_ROUTE = {'smtps.example': `${USER}:${PASS}@127.0.0.1:465`}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'mbx-relay-'))
  // the generated certificate names localhost and 127.0.0.1 (not 127.0.0.2)
  const tls = await loadTls({dataDir: certDir, hostname: 'localhost'})
  caFile = join(certDir, 'tls', 'cert.pem')
  passwordFile = join(certDir, 'relay-password')
  writeFileSync(passwordFile, `${PASS}\n`)
  chmodSync(passwordFile, 0o600)
  const auth = {methods: ['PLAIN'], user: USER, pass: PASS}
  plain = await Receiver.start({auth})
  tlsHost = await Receiver.start({auth, tls})
  otherName = await Receiver.start({auth, tls, host: '127.0.0.2'})
  if (port465) smtps = await Receiver.start({auth, tls, implicitTls: true, port: 465})
})

afterAll(async () => {
  for (const s of serving) await s.stop()
  await plain?.close()
  await tlsHost?.close()
  await otherName?.close()
  await smtps?.close()
  rmSync(certDir, {recursive: true, force: true})
})

/** `mailbox serve` on a fresh data dir with `args`, an optional config file and environment. */
async function serve(args: string[], options: {config?: object; env?: Record<string, string>} = {}): Promise<{dataDir: string; served: Served}> {
  const dataDir = tempDataDir()
  const extra: string[] = []
  if (options.config) {
    const file = join(dirname(dataDir), 'config.json')
    writeFileSync(file, JSON.stringify(options.config))
    extra.push('--config', file)
  }
  const served = await startServe(dataDir, ['--hostname', 'mbx.example.com', ...extra, ...args], 20_000, options.env ?? {})
  serving.push(served)
  return {dataDir, served}
}

async function sendOne(dataDir: string, to: string, subject: string): Promise<string> {
  const sent = await send(dataDir, 'alice@example.com', [to], message(subject))
  expect(sent.queued).toHaveLength(1)
  return sent.queued[0]!
}

/** The password (plain or in AUTH's base64) appears in nothing a local user or an operator can see. */
async function expectPasswordNowhere(dataDir: string, served: Served, ids: string[]): Promise<void> {
  const places: Record<string, string> = {
    'ps (/proc/PID/cmdline)': readFileSync(`/proc/${served.pid}/cmdline`, 'utf8').replace(/\0/g, ' '),
    'serve stdout (logs)': served.output(),
    'serve stderr': served.errors(),
  }
  const commands = [...ids.flatMap((id) => [['queue', 'show', id, '--json'], ['queue', 'show', id]]), ['queue', 'list', '--json'], ['status', '--json']]
  const outputs = await Promise.all(commands.map((args) => runCli(args, {dataDir})))
  commands.forEach((args, i) => (places[args.join(' ')] = outputs[i]!.stdout))
  expect(JSON.parse(places['status --json']!)).toMatchObject({running: true, pid: served.pid})
  for (const [place, text] of Object.entries(places)) {
    if (place !== 'serve stderr') expect(text.length, place).toBeGreaterThan(0) // (stderr is empty when all is well)
    for (const secret of SECRETS) expect(text, `${place} holds the password`).not.toContain(secret)
  }
}

// each case starts its own server; generous time for a loaded 2-core machine
describe('a smarthost with credentials gets them only over verified TLS', {timeout: 90_000}, () => {
  it('no STARTTLS offered: deferred with a clear error, and no AUTH is ever sent', async () => {
    // the config key from before `relay` existed, with the credentials inline: still honoured
    const {dataDir} = await serve([], {config: {relayHost: `${USER}:${PASS}@127.0.0.1:${plain.port}`}})
    const id = await sendOne(dataDir, 'bob@remote.example', 'no starttls')
    const entry = await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'], 20_000)
    expect(entry.state).toBe('deferred')
    expect(entry.lastError).toBe(`451 4.7.4 relay host 127.0.0.1:${plain.port} offers no STARTTLS; refusing to send credentials in the clear`)
    expect(plain.authAttempts).toEqual([])
    expect(plain.messages).toEqual([])
    const [attempt] = (await queueShow(dataDir, id)).attemptLog
    expect(attempt!.result).toBe('deferred')
    expect(attempt!.transcript.some((l) => /^C: AUTH/i.test(l))).toBe(false)
    expect(attempt!.transcript).toContain(`!: ${entry.lastError!.slice('451 4.7.4 '.length)}`)
  })

  it('STARTTLS with a certificate that is not trusted: deferred, no AUTH', async () => {
    const {dataDir} = await serve([], {config: {relayHost: `${USER}:${PASS}@127.0.0.1:${tlsHost.port}`, routes: port465 ? SMTPS_ROUTE : {}}})
    const id = await sendOne(dataDir, 'bob@remote.example', 'untrusted cert')
    const entry = await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'], 20_000)
    expect(entry.state).toBe('deferred')
    expect(entry.lastError).toMatch(new RegExp(`^451 4\\.7\\.5 relay host 127\\.0\\.0\\.1:${tlsHost.port}: certificate not trusted: self-signed certificate \\(DEPTH_ZERO_SELF_SIGNED_CERT\\); refusing to send credentials$`))
    expect(tlsHost.authAttempts).toEqual([])
    expect(tlsHost.messages).toEqual([])
    if (!smtps) return
    // the same on port 465: implicit TLS, the certificate refused before the greeting
    const implicit = await sendOne(dataDir, 'bob@smtps.example', 'untrusted cert, port 465')
    const refused = await waitForEntry(dataDir, implicit, ['deferred', 'delivered', 'failed'], 20_000)
    expect(refused.state).toBe('deferred')
    expect(refused.lastError).toMatch(/^451 4\.7\.5 relay host 127\.0\.0\.1:465: certificate not trusted: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)/)
    expect(smtps.authAttempts).toEqual([])
  })

  it('the certificate as --relay-ca-file, password from a file: delivered with AUTH over verified TLS; the password shows nowhere', async () => {
    const before = tlsHost.messages.length
    const {dataDir, served} = await serve(['--relay-host', `127.0.0.1:${tlsHost.port}`, '--relay-user', USER, '--relay-password-file', passwordFile, '--relay-ca-file', caFile], {
      // a route with credentials (from the config file) to a host the certificate does not name
      config: {routes: {'other.example': `${USER}:${PASS}@127.0.0.2:${otherName.port}`, ...(port465 ? SMTPS_ROUTE : {})}},
    })
    const id = await sendOne(dataDir, 'bob@remote.example', 'verified relay')
    const entry = await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'], 20_000)
    expect(entry.state, entry.lastError).toBe('delivered')
    const got = tlsHost.messages[before]!
    expect(got).toMatchObject({authUser: USER, secure: true, to: ['bob@remote.example']})
    expect(tlsHost.authAttempts.every((a) => a.secure)).toBe(true)
    const [attempt] = (await queueShow(dataDir, id)).attemptLog
    expect(attempt!.tls).toMatchObject({state: 'verified'})
    expect(attempt!.transcript.find((l) => l.startsWith('-- tls: '))).toMatch(/^-- tls: verified \(TLSv1\.[23]\)$/)
    expect((await runCli(['queue', 'show', id], {dataDir})).stdout).toMatch(/: delivered, tls verified \(TLSv1\.[23]\)/)

    const mismatched = await sendOne(dataDir, 'carol@other.example', 'wrong name')
    const refused = await waitForEntry(dataDir, mismatched, ['deferred', 'delivered', 'failed'], 20_000)
    expect(refused.state).toBe('deferred')
    expect(refused.lastError).toMatch(/^451 4\.7\.5 relay host 127\.0\.0\.2:\d+: certificate not trusted: .*ERR_TLS_CERT_ALTNAME_INVALID/)
    expect(otherName.authAttempts).toEqual([])
    const ids = [id, mismatched]
    if (smtps) {
      const implicit = await sendOne(dataDir, 'dora@smtps.example', 'verified, port 465')
      ids.push(implicit)
      const done = await waitForEntry(dataDir, implicit, ['deferred', 'delivered', 'failed'], 20_000)
      expect(done.state, done.lastError).toBe('delivered')
      expect(smtps.messages.at(-1)).toMatchObject({authUser: USER, secure: true, to: ['dora@smtps.example']})
      const [attempt] = (await queueShow(dataDir, implicit)).attemptLog
      expect(attempt!.tls).toMatchObject({state: 'verified'})
      expect(attempt!.transcript).not.toContain('C: STARTTLS')
    }

    // the start log names the relay and where its password came from, never the password
    const started = served.output().split('\n').find((l) => l.includes('"msg":"outbound relay"'))
    expect(JSON.parse(started!).relay).toEqual({host: '127.0.0.1', port: tlsHost.port, user: USER, passwordFrom: passwordFile, caFile, tls: 'verify'})
    await expectPasswordNowhere(dataDir, served, ids)
  })

  it('the password from MAILBOX_RELAY_PASSWORD and the `relay` config block: delivered over verified TLS, the password shows nowhere', async () => {
    const before = tlsHost.messages.length
    const {dataDir, served} = await serve([], {config: {relay: {host: `127.0.0.1:${tlsHost.port}`, user: USER, caFile}}, env: {MAILBOX_RELAY_PASSWORD: PASS}})
    const id = await sendOne(dataDir, 'dan@remote.example', 'password from env')
    const entry = await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'], 20_000)
    expect(entry.state, entry.lastError).toBe('delivered')
    expect(tlsHost.messages[before]).toMatchObject({authUser: USER, secure: true})
    expect((await queueShow(dataDir, id)).attemptLog[0]!.tls).toMatchObject({state: 'verified'})
    await expectPasswordNowhere(dataDir, served, [id])
  })

  it('a relay user without a password, or an unreadable password file: serve refuses to start, saying which', async () => {
    const noPassword = await serve(['--relay-host', `127.0.0.1:${plain.port}`, '--relay-user', USER]).catch((err: Error) => err)
    expect(noPassword).toBeInstanceOf(Error)
    expect((noPassword as Error).message).toMatch(/exited \(1\)[\s\S]*relay user "relayuser" has no password: give --relay-password-file or set MAILBOX_RELAY_PASSWORD/)
    const missing = await serve(['--relay-host', `127.0.0.1:${plain.port}`, '--relay-user', USER, '--relay-password-file', join(certDir, 'nope')]).catch((err: Error) => err)
    expect((missing as Error).message).toMatch(/cannot read relay password file .*nope: ENOENT/)
  })

  it('--relay-insecure: delivered to the plaintext smarthost, with warnings at start', async () => {
    const {dataDir, served} = await serve(['--relay-host', `${USER}:${PASS}@127.0.0.1:${plain.port}`, '--relay-insecure'])
    const warnings = served
      .output()
      .split('\n')
      .filter((l) => l.includes('"level":"warn"'))
      .map((l) => JSON.parse(l).msg as string)
    expect(warnings.some((w) => /relay\.insecure is set/.test(w))).toBe(true)
    expect(warnings.some((w) => /password on the command line .* visible in `ps`/.test(w))).toBe(true)
    const id = await sendOne(dataDir, 'erin@remote.example', 'insecure lab')
    const entry = await waitForEntry(dataDir, id, ['deferred', 'delivered', 'failed'], 20_000)
    expect(entry.state, entry.lastError).toBe('delivered')
    expect(plain.messages.at(-1)).toMatchObject({authUser: USER, secure: false, to: ['erin@remote.example']})
    const [attempt] = (await queueShow(dataDir, id)).attemptLog
    expect(attempt!.tls).toEqual({state: 'none'})
    expect(attempt!.transcript).toContain('-- tls: none')
  })
})
