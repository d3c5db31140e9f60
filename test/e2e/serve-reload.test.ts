/**
 * SIGHUP reloads `serve` instead of ending it (a certbot deploy hook sends HUP): the TLS
 * certificate and key are read again — new SMTPS, IMAPS, POP3S connections and new STARTTLS on
 * IMAP and SMTP get the new certificate while connections opened before keep theirs and keep
 * working — and so is the config file: a changed limit and log level take effect, a changed
 * restart-only setting is reported, and a file that cannot be used (bad JSON, a key that does
 * not match its certificate) is refused with a log line while the server keeps serving as it was.
 */
import {copyFileSync, writeFileSync} from 'node:fs'
import {connect as netConnect, type Socket} from 'node:net'
import {dirname, join} from 'node:path'
import {connect as tlsConnect, type TLSSocket} from 'node:tls'
import selfsigned from 'selfsigned'
import {describe, expect, it} from 'vitest'
import {freePort, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {upgradeToTls} from '../helpers/tls.js'
import {Receiver, message, send} from './queue-helpers.js'
import {setupUsers} from './smtp-helpers.js'

async function certificate(name: string, dir: string): Promise<{cert: string; key: string}> {
  const pems = await selfsigned.generate([{name: 'commonName', value: name}], {
    keySize: 2048,
    notAfterDate: new Date(Date.now() + 86_400_000),
    algorithm: 'sha256',
    extensions: [{name: 'subjectAltName', altNames: [{type: 2, value: 'localhost'}]}],
  })
  const cert = join(dir, `${name}.cert.pem`)
  const key = join(dir, `${name}.key.pem`)
  writeFileSync(cert, pems.cert)
  writeFileSync(key, pems.private, {mode: 0o600})
  return {cert, key}
}

/** a line-oriented client: `expectLine` waits (bounded) for the next line matching `pattern` */
class LineClient {
  private buffer = ''
  private wake?: () => void
  private closed = false

  constructor(public socket: Socket | TLSSocket) {
    this.listen()
  }

  private listen(): void {
    this.socket.setEncoding('utf8')
    this.socket.on('data', (chunk: string) => {
      this.buffer += chunk
      this.wake?.()
    })
    this.socket.on('error', () => {})
    this.socket.on('close', () => {
      this.closed = true
      this.wake?.()
    })
  }

  static async open(port: number, tls: boolean): Promise<LineClient> {
    const socket = tls ? tlsConnect({host: '127.0.0.1', port, rejectUnauthorized: false}) : netConnect({host: '127.0.0.1', port})
    await new Promise<void>((resolve, reject) => {
      socket.once(tls ? 'secureConnect' : 'connect', () => resolve())
      socket.once('error', reject)
    })
    return new LineClient(socket)
  }

  /** the common name of the certificate the server presented */
  get certificateName(): string {
    return (this.socket as TLSSocket).getPeerCertificate().subject.CN as string
  }

  async expectLine(pattern: RegExp, timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl).replace(/\r$/, '')
        this.buffer = this.buffer.slice(nl + 1)
        if (pattern.test(line)) return line
      }
      if (this.closed) throw new Error(`connection closed while waiting for ${pattern}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no line matching ${pattern} within ${timeoutMs} ms; buffered: ${JSON.stringify(this.buffer)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => (clearTimeout(timer), resolve())
      })
    }
  }

  send(line: string): void {
    this.socket.write(line + '\r\n')
  }

  async starttls(): Promise<void> {
    this.socket.removeAllListeners('data')
    this.socket.removeAllListeners('close')
    this.buffer = ''
    this.socket = await upgradeToTls(this.socket)
    this.listen()
  }

  close(): void {
    this.socket.destroy()
  }
}

interface Ports {
  submission: number
  smtps: number
  imap: number
  imaps: number
  pop3s: number
}

/** one connection of each TLS kind, checked to be usable, with the certificate each got */
async function connectAll(ports: Ports): Promise<Record<string, LineClient>> {
  const smtps = await LineClient.open(ports.smtps, true)
  await smtps.expectLine(/^220 /)
  const imaps = await LineClient.open(ports.imaps, true)
  await imaps.expectLine(/^\* OK/)
  const pop3s = await LineClient.open(ports.pop3s, true)
  await pop3s.expectLine(/^\+OK/)
  const imap = await LineClient.open(ports.imap, false)
  await imap.expectLine(/^\* OK/)
  imap.send('a1 STARTTLS')
  await imap.expectLine(/^a1 OK/)
  await imap.starttls()
  const submission = await LineClient.open(ports.submission, false)
  await submission.expectLine(/^220 /)
  submission.send('EHLO client.test')
  await submission.expectLine(/^250 /)
  submission.send('STARTTLS')
  await submission.expectLine(/^220 /)
  await submission.starttls()
  return {smtps, imaps, pop3s, 'imap STARTTLS': imap, 'submission STARTTLS': submission}
}

const names = (clients: Record<string, LineClient>) => Object.fromEntries(Object.entries(clients).map(([kind, c]) => [kind, c.certificateName]))

/** each connection still answers a command */
async function stillWorking(clients: Record<string, LineClient>): Promise<void> {
  clients.smtps!.send('NOOP')
  await clients.smtps!.expectLine(/^250 /)
  clients.imaps!.send('n1 NOOP')
  await clients.imaps!.expectLine(/^n1 OK/)
  clients.pop3s!.send('CAPA')
  await clients.pop3s!.expectLine(/^\.$/)
  clients['imap STARTTLS']!.send('n2 NOOP')
  await clients['imap STARTTLS']!.expectLine(/^n2 OK/)
  clients['submission STARTTLS']!.send('EHLO client.test')
  await clients['submission STARTTLS']!.expectLine(/^250 /)
}

async function ehloSize(port: number): Promise<string> {
  const c = await LineClient.open(port, true)
  try {
    await c.expectLine(/^220 /)
    c.send('EHLO client.test')
    return (await c.expectLine(/^250[- ]SIZE/)).slice(4)
  } finally {
    c.close()
  }
}

/** sends SIGHUP and waits for the reload's outcome line (the n-th of that message) */
async function hup(served: Served, outcome: RegExp, nth: number): Promise<void> {
  process.kill(served.pid, 'SIGHUP')
  const deadline = Date.now() + 45_000
  while ((served.output().match(new RegExp(outcome.source, 'g')) ?? []).length < nth) {
    if (Date.now() > deadline) throw new Error(`no ${outcome} after SIGHUP:\n${served.output()}\n${served.errors()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('serve on SIGHUP', () => {
  it('reloads the certificate (new connections only), a limit and the log level; refuses an unusable config and keeps serving', async () => {
    const dataDir = tempDataDir()
    const dir = dirname(dataDir)
    const a = await certificate('cert-a.test', dir)
    const b = await certificate('cert-b.test', dir)
    // the paths the server is configured with; "renewing" replaces the files behind them
    const live = {cert: join(dir, 'live.cert.pem'), key: join(dir, 'live.key.pem')}
    copyFileSync(a.cert, live.cert)
    copyFileSync(a.key, live.key)
    const configFile = join(dir, 'mailbox.json')
    const config = (size: number, logLevel: string, extra: object = {}) =>
      writeFileSync(configFile, JSON.stringify({tlsCert: live.cert, tlsKey: live.key, logLevel, smtp: {maxMessageSize: size}, ...extra}))
    config(1_000_000, 'info')

    const ports: Ports = {submission: await freePort(), smtps: await freePort(), imap: await freePort(), imaps: await freePort(), pop3s: await freePort()}
    const portArgs = Object.entries(ports).flatMap(([name, port]) => [`--${name}-port`, String(port)])
    const served = await startServe(dataDir, ['--config', configFile, ...portArgs], 60_000)
    const before = await connectAll(ports)
    const allA = {smtps: 'cert-a.test', imaps: 'cert-a.test', pop3s: 'cert-a.test', 'imap STARTTLS': 'cert-a.test', 'submission STARTTLS': 'cert-a.test'}
    expect(names(before)).toEqual(allA)
    expect(await ehloSize(ports.smtps)).toBe('SIZE 1000000')
    expect(served.output()).not.toContain('"msg":"imap connection"') // a debug line: not at info

    // certbot renews: new files behind the same paths; the admin also raised a limit and the log level
    copyFileSync(b.cert, live.cert)
    copyFileSync(b.key, live.key)
    config(2_000_000, 'debug')
    await hup(served, /"msg":"configuration reloaded"/, 1)

    const after = await connectAll(ports)
    expect(names(after)).toEqual({smtps: 'cert-b.test', imaps: 'cert-b.test', pop3s: 'cert-b.test', 'imap STARTTLS': 'cert-b.test', 'submission STARTTLS': 'cert-b.test'})
    // the connections opened before keep their certificate and keep working
    expect(names(before)).toEqual(allA)
    await stillWorking(before)
    expect(await ehloSize(ports.smtps)).toBe('SIZE 2000000')
    expect(served.output()).toContain('"msg":"imap connection"')

    // a config file that is not JSON: refused, logged, everything stays as it was
    writeFileSync(configFile, '{"logLevel": "info", ')
    await hup(served, /"msg":"configuration reload refused: the server keeps its running configuration"/, 1)
    const refused = served.output().split('\n').find((l) => l.includes('configuration reload refused'))!
    expect(JSON.parse(refused)).toMatchObject({level: 'error', reason: expect.stringContaining(configFile)})
    expect(await ehloSize(ports.smtps)).toBe('SIZE 2000000')

    // a certificate whose key is not (yet) replaced: refused too, the running certificate stays
    config(3_000_000, 'debug')
    copyFileSync(a.cert, live.cert)
    await hup(served, /"msg":"configuration reload refused: the server keeps its running configuration"/, 2)
    expect(served.output()).toMatch(/"reason":"cannot use TLS files [^"]*live\.cert\.pem/)
    const third = await connectAll(ports)
    expect(names(third)).toEqual(names(after))
    expect(await ehloSize(ports.smtps)).toBe('SIZE 2000000')

    // a setting that needs a restart is named, and the rest of the file still applies
    copyFileSync(a.key, live.key)
    config(3_000_000, 'debug', {hostname: 'renamed.test'})
    await hup(served, /"msg":"changed settings that take effect only after a restart"/, 1)
    expect(served.output()).toMatch(/"settings":\["hostname"\],"msg":"changed settings that take effect only after a restart"/)
    expect(await ehloSize(ports.smtps)).toBe('SIZE 3000000')

    for (const c of [...Object.values(before), ...Object.values(after), ...Object.values(third)]) c.close()
    expect(await runJson(['status'], {dataDir})).toMatchObject({running: true, pid: served.pid})
    expect(await served.stop('SIGTERM')).toBe(0)
  }, 180_000)

  it('sends mail queued after the reload by the routes and the relay host of the new config file', async () => {
    const dataDir = tempDataDir()
    await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
    const receivers = [await Receiver.start(), await Receiver.start(), await Receiver.start()]
    try {
      const configFile = join(dirname(dataDir), 'mailbox.json')
      writeFileSync(configFile, JSON.stringify({routes: {'example.net': `127.0.0.1:${receivers[0]!.port}`}}))
      const served = await startServe(dataDir, ['--config', configFile], 60_000)
      await send(dataDir, 'alice@example.com', ['bob@example.net'], message('before the reload'))
      expect((await receivers[0]!.waitForMessages(1, 30_000))[0]!.raw).toContain('Subject: before the reload')

      writeFileSync(configFile, JSON.stringify({routes: {'example.net': `127.0.0.1:${receivers[1]!.port}`}}))
      await hup(served, /"msg":"configuration reloaded"/, 1)
      await send(dataDir, 'alice@example.com', ['bob@example.net'], message('by the new route'))
      expect((await receivers[1]!.waitForMessages(1, 30_000))[0]!.raw).toContain('Subject: by the new route')

      writeFileSync(configFile, JSON.stringify({relay: {host: `127.0.0.1:${receivers[2]!.port}`}}))
      await hup(served, /"msg":"configuration reloaded"/, 2)
      await send(dataDir, 'alice@example.com', ['carol@example.org'], message('by the new relay host'))
      expect((await receivers[2]!.waitForMessages(1, 30_000))[0]!.raw).toContain('Subject: by the new relay host')
      expect(receivers[0]!.messages).toHaveLength(1)
      expect(receivers[1]!.messages).toHaveLength(1)
      expect(await served.stop('SIGTERM')).toBe(0)
    } finally {
      for (const r of receivers) await r.close()
    }
  }, 120_000)
})
