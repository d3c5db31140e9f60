/**
 * The SMTP protocol layer (src/smtp/protocol/) on its own: a real listener on loopback whose hooks
 * record what they get (no store: the layer knows none), driven by raw sockets for the abuse cases
 * and by real clients (nodemailer, python smtplib, swaks) for the happy paths.
 */
import {spawn} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import nodemailer from 'nodemailer'
import {afterAll, afterEach, beforeAll, describe, expect, it} from 'vitest'
import {SmtpListener} from '../../src/smtp/protocol/listener.js'
import type {ListenerLimits, SmtpHooks, SmtpSession} from '../../src/smtp/protocol/types.js'
import {createLogger, type Logger} from '../../src/log.js'
import {loadTls, type TlsMaterial} from '../../src/tls.js'
import {ServedCertificates} from '../../src/certs/tls-certificates.js'
import {missingOutsideCi, onPath, pythonWith, requireInCi} from '../helpers/ci.js'
import {upgradeToTls} from '../helpers/tls.js'

interface Received {
  session: SmtpSession
  from: string
  to: string[]
  body: Buffer
}

const LIMITS: ListenerLimits = {maxMessageSize: 4096, maxRecipients: 3, maxConnections: 20, socketTimeoutMs: 10_000, closeTimeoutMs: 1000, greetingDelayMs: 0}

let tls: TlsMaterial
let dir: string
const listeners: SmtpListener[] = []
const sockets: Socket[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'smtp-protocol-'))
  tls = await loadTls({dataDir: dir, hostname: 'mx.test'})
})
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await Promise.all(listeners.splice(0).map((l) => l.close()))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** a listener whose hooks accept everything (user "u", password "p") and record each message */
async function start(options: {auth?: boolean; implicitTls?: boolean; allowInsecureAuth?: boolean; limits?: Partial<ListenerLimits>; log?: Logger} = {}) {
  const received: Received[] = []
  const closed: string[] = []
  let writes = 0
  const hooks: SmtpHooks = {
    onConnect: (_session, cb) => cb(),
    onClose: (session) => closed.push(session.id),
    onAuth: (auth, _session, cb) => (auth.username === 'u' && auth.password === 'p' ? cb(null, {user: 'u'}) : cb(Object.assign(new Error('5.7.8 Authentication credentials invalid'), {responseCode: 535}))),
    // answered later, as the real hooks are (a store round trip)
    onMailFrom: (address, _session, cb) => void setImmediate(() => cb(address.address === 'refused@x.test' ? Object.assign(new Error('5.7.1 Sender refused'), {responseCode: 550}) : null)),
    onRcptTo: (_address, _session, cb) => void setImmediate(() => cb()),
    onData: (message, session, cb) => {
      const pieces: Buffer[] = []
      message.ondata = (piece) => pieces.push(Buffer.from(piece))
      message.onend = () =>
        setImmediate(() => {
          received.push({session: {...session}, from: session.envelope.mailFrom!.address, to: session.envelope.rcptTo.map((r) => r.address), body: Buffer.concat(pieces)})
          cb(null, `Ok: queued as m${received.length}`)
        })
    },
  }
  const listener = new SmtpListener(
    {
      hostname: 'mx.test',
      implicitTls: options.implicitTls ?? false,
      auth: options.auth ?? false,
      allowInsecureAuth: options.allowInsecureAuth ?? false,
      limits: () => ({...LIMITS, ...options.limits}),
      ...(options.log ? {log: options.log} : {}),
    },
    hooks,
    new ServedCertificates(tls),
  )
  // counts the server's socket writes: replies produced together must leave together
  listener.server.on('connection', (socket: Socket) => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
    socket.write = ((...args: unknown[]) => (writes++, write(...args))) as typeof socket.write
  })
  await new Promise<void>((resolve) => listener.server.listen(0, '127.0.0.1', resolve))
  listeners.push(listener)
  const port = (listener.server.address() as {port: number}).port
  return {listener, port, received, closed, writes: () => writes}
}

/** a raw client: `lines()` resolves with the next `n` complete reply lines */
async function raw(port: number, greeting = true) {
  const socket = connect(port, '127.0.0.1')
  sockets.push(socket)
  await new Promise((resolve) => socket.once('connect', resolve))
  const client = rawClient(socket)
  if (greeting) expect(await client.lines(1)).toEqual(['220 mx.test ESMTP mailbox ready'])
  return client
}

function rawClient(socket: Socket) {
  let buffer = ''
  let ended = false
  const waiters: (() => void)[] = []
  const wake = () => waiters.splice(0).forEach((w) => w())
  socket.on('data', (d: Buffer) => ((buffer += d.toString('latin1')), wake()))
  socket.on('close', () => ((ended = true), wake()))
  socket.on('error', () => {})
  return {
    socket,
    write: (data: string | Buffer) => socket.write(data),
    /** the next `n` lines (rejects on close before them) */
    async lines(n: number, timeoutMs = 5000): Promise<string[]> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const all = buffer.split('\r\n')
        if (all.length - 1 >= n) {
          buffer = all.slice(n).join('\r\n')
          return all.slice(0, n)
        }
        if (ended) throw new Error(`closed after ${JSON.stringify(buffer)}`)
        if (Date.now() > deadline) throw new Error(`timeout; have ${JSON.stringify(buffer)}`)
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50)
        })
      }
    },
    closed: () => new Promise<void>((resolve) => (ended ? resolve() : socket.once('close', () => resolve()))),
  }
}

/** runs a client program without blocking the event loop (the server under test runs in this process) */
function run(program: string, args: string[]): Promise<{status: number | null; stdout: string; stderr: string}> {
  return new Promise((resolve) => {
    const child = spawn(program, args, {stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('close', (status) => (clearTimeout(timer), resolve({status, stdout, stderr})))
  })
}

describe('SMTP protocol layer', () => {
  it('pipelining: the replies to a group come in order, in one socket write', async () => {
    const {port, received, writes} = await start()
    const c = await raw(port)
    c.write('EHLO client.test\r\n')
    const ehlo = await c.lines(7)
    expect(ehlo).toEqual(['250-mx.test Nice to meet you, [127.0.0.1]', '250-PIPELINING', '250-8BITMIME', '250-SMTPUTF8', '250-ENHANCEDSTATUSCODES', '250-STARTTLS', '250 SIZE 4096'])
    const before = writes()
    c.write('MAIL FROM:<a@x.test> BODY=8BITMIME\r\nRCPT TO:<b@x.test>\r\nRCPT TO:<c@x.test>\r\nDATA\r\n')
    expect(await c.lines(4)).toEqual(['250 2.1.0 Accepted', '250 2.1.5 Accepted', '250 2.1.5 Accepted', '354 End data with <CR><LF>.<CR><LF>'])
    expect(writes() - before).toBe(1)
    c.write('Subject: hi\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n')
    expect(await c.lines(4)).toEqual(['250 2.6.0 Ok: queued as m1', '250 2.0.0 Flushed', '250 2.0.0 OK', '221 2.0.0 Bye'])
    expect(writes() - before).toBe(2)
    await c.closed()
    expect(received).toMatchObject([{from: 'a@x.test', to: ['b@x.test', 'c@x.test'], body: Buffer.from('Subject: hi\r\n\r\nbody\r\n')}])
    expect(received[0]!.session).toMatchObject({hostNameAppearsAs: 'client.test', transmissionType: 'ESMTP', secure: false, remoteAddress: '127.0.0.1'})
  })

  it('DATA: dot-unstuffing, smuggled "ends" kept as content, the real end found', async () => {
    const {port, received} = await start()
    const c = await raw(port)
    c.write('HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n')
    expect((await c.lines(4)).map((l) => l.slice(0, 3))).toEqual(['250', '250', '250', '354'])
    c.write('..dot\r\nx\n.\nMAIL FROM:<evil@x.test>\r\ny\r\n.\nRCPT TO:<evil@x.test>\r\n')
    c.write('z\n.\r\nDATA\r\n.\r\n')
    expect(await c.lines(1)).toEqual(['250 2.6.0 Ok: queued as m1'])
    expect(received[0]!.body.toString()).toBe('.dot\r\nx\n.\nMAIL FROM:<evil@x.test>\r\ny\r\n.\nRCPT TO:<evil@x.test>\r\nz\n.\r\nDATA\r\n')
    expect(received[0]!.from).toBe('')
  })

  it('an oversized message is read to its end and refused with 552 5.3.4; the session goes on', async () => {
    const {port, received} = await start()
    const c = await raw(port)
    c.write('EHLO c\r\nMAIL FROM:<a@x.test> SIZE=5000\r\n')
    await c.lines(7)
    expect(await c.lines(1)).toEqual(['552 5.3.4 Error: message exceeds fixed maximum message size 4096'])
    c.write('MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\n')
    await c.lines(3)
    c.write(('x'.repeat(99) + '\r\n').repeat(100) + '.\r\n')
    expect(await c.lines(1)).toEqual(['552 5.3.4 Error: message exceeds fixed maximum message size 4096'])
    c.write('MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nsmall\r\n.\r\n')
    expect(await c.lines(4)).toEqual(['250 2.1.0 Accepted', '250 2.1.5 Accepted', '354 End data with <CR><LF>.<CR><LF>', '250 2.6.0 Ok: queued as m1'])
    expect(received.map((r) => r.body.toString())).toEqual(['small\r\n'])
  })

  it('sequence and parameter errors: 503, 501, 555, 452 past maxRecipients, hook refusals with their own code', async () => {
    const {port} = await start()
    const c = await raw(port)
    c.write('MAIL FROM:<a@x.test>\r\nEHLO c\r\n')
    expect(await c.lines(1)).toEqual(['503 5.5.1 Error: send HELO/EHLO first'])
    await c.lines(7)
    const steps: [string, string][] = [
      ['RCPT TO:<b@x.test>', '503 5.5.1 Error: need MAIL command'],
      ['DATA', '503 5.5.1 Error: need RCPT command'],
      ['MAIL FROM:<refused@x.test>', '550 5.7.1 Sender refused'],
      ['MAIL FROM:a@x.test', '501 5.1.7 Error: Bad sender address syntax'],
      ['MAIL FROM:<a@x.test> RET=FULL', '555 5.5.4 Error: unsupported parameter RET'],
      ['MAIL FROM:<a@x.test> BODY=9BIT', '501 5.5.4 Invalid BODY parameter value. Must be 7BIT or 8BITMIME'],
      ['mail from:<a@x.test> smtputf8', '250 2.1.0 Accepted'],
      ['MAIL FROM:<a@x.test>', '503 5.5.1 Error: nested MAIL command'],
      ['RCPT TO:<1@x.test>', '250 2.1.5 Accepted'],
      ['RCPT TO:<2@x.test>', '250 2.1.5 Accepted'],
      ['RCPT TO:<3@x.test>', '250 2.1.5 Accepted'],
      ['RCPT TO:<4@x.test>', '452 4.5.3 Error: too many recipients'],
      ['RCPT TO:<1@X.test>', '250 2.1.5 Accepted'],
      ['VRFY bob', '252 2.1.5 Try to send something. No promises though'],
      ['HELP', '214 2.0.0 See https://tools.ietf.org/html/rfc5321 for details'],
      ['AUTH PLAIN AHUAcA==', '500 5.5.2 Error: command not recognized'],
    ]
    for (const [command, expected] of steps) {
      c.write(command + '\r\n')
      expect(await c.lines(1), command).toEqual([expected])
    }
  })

  it('10 unrecognized commands close the connection with 421; so does an HTTP request', async () => {
    const {port} = await start()
    const c = await raw(port)
    c.write('FOO\r\n'.repeat(10))
    const lines = await c.lines(10)
    expect(lines.slice(0, 9)).toEqual(Array(9).fill('500 5.5.2 Error: command not recognized'))
    expect(lines[9]).toBe('421 4.7.0 mx.test Error: too many unrecognized commands')
    await c.closed()
    const h = await raw(port)
    h.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(await h.lines(1)).toEqual(['421 4.7.0 mx.test HTTP requests not allowed'])
    await h.closed()
  })

  it('a line over 4 KiB gets 500 5.5.2 and is never buffered whole; the session goes on', async () => {
    const {port} = await start()
    const c = await raw(port)
    c.write('NOOP ' + 'x'.repeat(100_000))
    c.write('\r\nNOOP\r\n')
    expect(await c.lines(2)).toEqual(['500 5.5.2 Error: line too long (over 4096 bytes)', '250 2.0.0 OK'])
  })

  it('an early talker gets 554 and is closed (greetingDelayMs)', async () => {
    const {port} = await start({limits: {greetingDelayMs: 300}})
    const c = await raw(port, false)
    c.write('EHLO spambot\r\n')
    expect(await c.lines(1)).toEqual(['554 5.5.0 mx.test You talk too soon'])
    await c.closed()
    const patient = await raw(port, false)
    expect(await patient.lines(1)).toEqual(['220 mx.test ESMTP mailbox ready'])
  })

  it('an idle session is closed with 421 4.4.2 after socketTimeoutMs', async () => {
    const {port, closed} = await start({limits: {socketTimeoutMs: 300}})
    const c = await raw(port)
    expect(await c.lines(1)).toEqual(['421 4.4.2 mx.test Error: Timeout - closing connection'])
    await c.closed()
    await new Promise((r) => setTimeout(r, 50))
    expect(closed).toHaveLength(1)
  })

  it('maxConnections: the connection over it gets 421 and is closed', async () => {
    const {port} = await start({limits: {maxConnections: 1}})
    await raw(port)
    const over = await raw(port, false)
    expect(await over.lines(1)).toEqual(['421 4.7.0 mx.test Too many connected clients, try again in a moment'])
    await over.closed()
  })

  it('STARTTLS: a command pipelined behind it is refused with the connection', async () => {
    const {port} = await start()
    const c = await raw(port)
    c.write('EHLO c\r\n')
    await c.lines(7)
    c.write('STARTTLS\r\nMAIL FROM:<injected@x.test>\r\n')
    expect(await c.lines(1)).toEqual(['554 5.5.1 Error: command pipelined after STARTTLS'])
    await c.closed()
  })

  it('STARTTLS then AUTH PLAIN (continuation), LOGIN, "*" cancels; the plaintext EHLO is forgotten', async () => {
    const {port, received} = await start({auth: true})
    const c = await raw(port)
    c.write('EHLO c\r\n')
    const plain = await c.lines(7)
    expect(plain).not.toContain('250-AUTH PLAIN LOGIN')
    c.write('AUTH PLAIN AHUAcA==\r\n')
    expect(await c.lines(1)).toEqual(['530 5.7.0 Must issue a STARTTLS command first'])
    c.write('MAIL FROM:<a@x.test>\r\n')
    expect(await c.lines(1)).toEqual(['530 5.7.0 Authentication required'])
    c.write('STARTTLS\r\n')
    expect(await c.lines(1)).toEqual(['220 2.0.0 Ready to start TLS'])
    c.socket.removeAllListeners('data')
    c.socket.removeAllListeners('close')
    const s = rawClient(await upgradeToTls(c.socket))
    s.write('MAIL FROM:<a@x.test>\r\n')
    expect(await s.lines(1)).toEqual(['503 5.5.1 Error: send HELO/EHLO first'])
    s.write('EHLO c\r\n')
    const secure = await s.lines(7)
    expect(secure).toContain('250-AUTH PLAIN LOGIN')
    expect(secure.join()).not.toContain('STARTTLS')
    s.write('AUTH PLAIN\r\n')
    expect(await s.lines(1)).toEqual(['334 '])
    s.write('*\r\n')
    expect(await s.lines(1)).toEqual(['501 5.7.0 Authentication aborted'])
    s.write('AUTH LOGIN\r\n')
    expect(await s.lines(1)).toEqual(['334 VXNlcm5hbWU6'])
    s.write(Buffer.from('u').toString('base64') + '\r\n')
    expect(await s.lines(1)).toEqual(['334 UGFzc3dvcmQ6'])
    s.write(Buffer.from('wrong').toString('base64') + '\r\n')
    expect(await s.lines(1)).toEqual(['535 5.7.8 Authentication credentials invalid'])
    s.write('AUTH PLAIN\r\n')
    await s.lines(1)
    s.write(Buffer.from('\0u\0p').toString('base64') + '\r\n')
    expect(await s.lines(1)).toEqual(['235 2.7.0 Authentication successful'])
    s.write('AUTH PLAIN AHUAcA==\r\n')
    expect(await s.lines(1)).toEqual(['503 5.5.1 Error: No identity changes permitted'])
    // RFC 4954 §5: a relaying client names the submitter with AUTH= on MAIL
    s.write('MAIL FROM:<a@x.test> AUTH=<>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nhi\r\n.\r\n')
    expect((await s.lines(4))[3]).toBe('250 2.6.0 Ok: queued as m1')
    expect(received[0]!.session).toMatchObject({user: 'u', secure: true, transmissionType: 'ESMTPSA', tls: {version: expect.stringMatching(/^TLSv1\.[23]$/)}})
  })

  it('trace: the transcript as C:/S: lines, credentials and message bytes never in it', async () => {
    const lines: string[] = []
    const {port} = await start({auth: true, allowInsecureAuth: true, log: createLogger({level: 'trace', pretty: false, write: (l) => void lines.push(l)})})
    const c = await raw(port)
    const plain = Buffer.from('\0u\0wrong').toString('base64')
    const login = Buffer.from('u').toString('base64')
    const password = Buffer.from('p').toString('base64')
    c.write(`EHLO c\r\nAUTH PLAIN ${plain}\r\nAUTH LOGIN\r\n`)
    expect((await c.lines(10)).slice(8)).toEqual(['535 5.7.8 Authentication credentials invalid', '334 VXNlcm5hbWU6'])
    c.write(`${login}\r\n`)
    await c.lines(1)
    c.write(`${password}\r\n`)
    expect(await c.lines(1)).toEqual(['235 2.7.0 Authentication successful'])
    c.write('MAIL FROM:<a@x.test>\r\nRCPT TO:<b@x.test>\r\nDATA\r\nsecret body\r\n.\r\nQUIT\r\n')
    await c.lines(5)
    const log = lines.map((l) => JSON.parse(l) as {msg: string; cid?: string}).map((l) => l.msg)
    expect(log).toContain('C: EHLO c')
    expect(log).toContain('S: 235 2.7.0 Authentication successful')
    expect(log).toContain('C: AUTH PLAIN /* secured */')
    expect(log).toContain('C: /* secured */')
    expect(log).toContain('C: <13 bytes of DATA>')
    expect(log.join('\n')).not.toContain(plain)
    expect(log.join('\n')).not.toContain(login)
    expect(log.join('\n')).not.toMatch(new RegExp(`C: ${password}`))
    expect(log.join('\n')).not.toContain('secret body')
  })

  it('submission: 10 commands without AUTH close the connection', async () => {
    const {port} = await start({auth: true, allowInsecureAuth: true})
    const c = await raw(port)
    c.write('NOOP\r\n'.repeat(10))
    const lines = await c.lines(10)
    expect(lines.slice(0, 9)).toEqual(Array(9).fill('250 2.0.0 OK'))
    expect(lines[9]).toBe('421 4.7.0 mx.test Error: too many unauthenticated commands')
  })

  it('a graceful close waits closeTimeoutMs, then sends 421 to the sessions still open', async () => {
    const {listener, port} = await start()
    const active = await raw(port)
    const idle = await raw(port)
    const closing = listener.close()
    active.write('NOOP\r\n')
    expect(await active.lines(1)).toEqual(['421 4.3.2 mx.test Server shutting down'])
    expect(await idle.lines(1, 5000)).toEqual(['421 4.3.2 mx.test Server shutting down'])
    await closing
  })

  it('nodemailer: SMTPS (implicit TLS) with AUTH PLAIN, a message with a leading-dot line', async () => {
    const {port, received} = await start({auth: true, implicitTls: true})
    const transport = nodemailer.createTransport({host: '127.0.0.1', port, secure: true, auth: {user: 'u', pass: 'p'}, tls: {rejectUnauthorized: false}})
    const info = await transport.sendMail({from: 'a@x.test', to: 'b@x.test', subject: 'hi', text: '.leading dot\nsecond line'})
    transport.close()
    expect(info.response).toBe('250 2.6.0 Ok: queued as m1')
    expect(received[0]!.body.toString()).toContain('\r\n.leading dot\r\nsecond line')
    expect(received[0]!.session).toMatchObject({transmissionType: 'ESMTPSA', user: 'u'})
  })

  const python = pythonWith('smtplib')
  it.skipIf(missingOutsideCi(python !== undefined))('python smtplib: STARTTLS, login, sendmail to two recipients', async () => {
    requireInCi(python !== undefined, 'python3')
    const {port, received} = await start({auth: true})
    const script = `
import smtplib, ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = smtplib.SMTP('127.0.0.1', ${port}); s.starttls(context=ctx); s.login('u', 'p')
s.sendmail('a@x.test', ['b@x.test', 'c@x.test'], b'Subject: py\\r\\n\\r\\n.x\\r\\nbody\\r\\n')
s.quit()`
    const r = await run(python!, ['-c', script])
    expect(r.status, r.stderr).toBe(0)
    expect(received).toMatchObject([{from: 'a@x.test', to: ['b@x.test', 'c@x.test']}])
    expect(received[0]!.body.toString()).toBe('Subject: py\r\n\r\n.x\r\nbody\r\n')
  })

  it.skipIf(missingOutsideCi(onPath('swaks')))('swaks: PIPELINING delivery', async () => {
    requireInCi(onPath('swaks'), 'swaks')
    const {port, received} = await start()
    const r = await run('swaks', ['--server', '127.0.0.1', '--port', String(port), '--from', 'a@x.test', '--to', 'b@x.test', '--pipeline', '--body', 'swaks body'])
    expect(r.status, r.stdout + r.stderr).toBe(0)
    expect(r.stdout).toContain('<-  250 2.6.0 Ok: queued as m1')
    expect(received[0]!.body.toString()).toContain('swaks body')
  })
})
