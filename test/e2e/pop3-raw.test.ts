/**
 * POP3 byte by byte over a plain net.Socket against a real `serve --allow-insecure-auth` with
 * small limits from a config file: the byte-stuffed, CRLF-normalized wire form, TOP, AUTH PLAIN
 * (initial response, `+ ` continuation, cancel, bad input), long lines, unknown and out-of-state
 * commands, pipelining, the idle timeout, connection limits, throttling, a disabled account,
 * status counts, and a server stop that deletes nothing.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectControl} from '../../src/control/client.js'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {freePorts, listMessages, setupUsers} from './smtp-helpers.js'
import {inject, message, RawPop3} from './pop3-helpers.js'

const IDLE_MS = 2000
const MAX_PER_IP = 4
const MAX_LINE = 600
const MAX_BAD = 6

let dataDir: string
let served: Served
let pop3: number

const DOTS = message('dots', '.first\r\n..second\r\n.\r\nplain\r\n')
/** what a Unix tool might hand over: LF line endings, a dot line, and no final newline */
const LF_BODY = 'Subject: lf\n\nline 1\n.dot\nline 3\nline 4'
const b64 = (s: string) => Buffer.from(s).toString('base64')

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[pop3] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice pw'},
    {address: 'dave@example.com', password: 'dave-pw'},
    {address: 'erin@example.com', password: 'erin-pw'},
  ])
  const config = join(dirname(dataDir), 'config.json')
  writeFileSync(
    config,
    JSON.stringify({
      pop3: {idleTimeoutMs: IDLE_MS, maxConnectionsPerIp: MAX_PER_IP, maxLineLength: MAX_LINE, maxBadCommands: MAX_BAD},
      auth: {failureDelayMs: 0, maxFailuresPerUser: 2},
    }),
  )
  served = await startServe(dataDir, ['--allow-insecure-auth', '--config', config, '--pop3-port', String(pop3)])
  await inject(dataDir, 'alice@example.com', DOTS)
  await inject(dataDir, 'alice@example.com', LF_BODY)
  await inject(dataDir, 'dave@example.com', message('d1'))
  await inject(dataDir, 'dave@example.com', message('d2'))
})

afterAll(async () => {
  await served?.stop()
})

async function loggedIn(user = 'alice@example.com', password = 'alice pw'): Promise<RawPop3> {
  const c = await RawPop3.open(pop3)
  expect(await c.login(user, password)).toMatch(/^\+OK /)
  return c
}

describe('POP3 on the wire', () => {
  it('RETR: dot lines byte-stuffed, bare LFs sent as CRLF, a final CRLF added; sizes count the CRLF form', async () => {
    const c = await loggedIn() // the password has a space: PASS takes the rest of the line
    const [head1, body1] = await c.multi('RETR 1')
    expect(body1.toString()).toContain('\r\n\r\n..first\r\n...second\r\n..\r\nplain\r\n')
    expect(body1.toString().endsWith('\r\n..\r\nplain\r\n')).toBe(true)
    const unstuffed1 = body1.toString().replace(/^\./gm, '')
    expect(head1).toBe(`+OK ${Buffer.byteLength(unstuffed1)} octets`)

    const [head2, body2] = await c.multi('RETR 2')
    const text2 = body2.toString()
    expect(text2).not.toMatch(/[^\r]\n/)
    expect(text2.endsWith('\r\nSubject: lf\r\n\r\nline 1\r\n..dot\r\nline 3\r\nline 4\r\n')).toBe(true)
    const size2 = Buffer.byteLength(text2) - 1 // one stuffed dot
    expect(head2).toBe(`+OK ${size2} octets`)
    expect(await c.cmd('LIST 2')).toBe(`+OK 2 ${size2}`)
    expect(await c.cmd('STAT')).toBe(`+OK 2 ${Buffer.byteLength(unstuffed1) + size2}`)

    const [, top] = await c.multi('TOP 2 2')
    expect(top.toString().endsWith('\r\nSubject: lf\r\n\r\nline 1\r\n..dot\r\n')).toBe(true)
    const [, top0] = await c.multi('TOP 2 0')
    expect(top0.toString().endsWith('\r\nSubject: lf\r\n\r\n')).toBe(true)
    const [, topAll] = await c.multi('TOP 2 99')
    expect(topAll.equals(body2)).toBe(true)
    expect(await c.quit()).toMatch(/^\+OK /)
  })

  it('CAPA in the clear with --allow-insecure-auth: USER, SASL PLAIN and STLS; after STLS no STLS', async () => {
    const c = await RawPop3.open(pop3)
    const caps = await c.lines('CAPA')
    expect(caps).toEqual(['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN', 'STLS', 'IMPLEMENTATION mailbox'])
    await c.stls()
    expect(await c.lines('CAPA')).toEqual(caps.filter((cap) => cap !== 'STLS'))
    expect(await c.cmd('STLS')).toBe('-ERR already using TLS')
    expect(await c.login('alice@example.com', 'alice pw')).toMatch(/^\+OK /)
    expect(await c.cmd('STAT')).toMatch(/^\+OK 2 \d+$/)
    await c.quit()
  })

  it('AUTH PLAIN: initial response, `+ ` continuation, cancel, bad base64, other mechanisms, bare AUTH', async () => {
    const c = await RawPop3.open(pop3)
    expect(await c.lines('AUTH')).toEqual(['PLAIN'])
    expect(await c.cmd('AUTH LOGIN')).toBe('-ERR unsupported authentication mechanism')
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ')
    expect(await c.cmd('*')).toBe('-ERR [AUTH] authentication cancelled')
    expect(await c.cmd('AUTH PLAIN not*base64')).toBe('-ERR [AUTH] invalid base64')
    expect(await c.cmd('AUTH PLAIN =')).toBe('-ERR [AUTH] malformed PLAIN response')
    expect(await c.cmd(`AUTH PLAIN ${b64('bob@example.com\0alice@example.com\0alice pw')}`)).toMatch(/^-ERR \[AUTH\] authorization identity/)
    expect(await c.cmd('AUTH PLAIN')).toBe('+ ')
    expect(await c.cmd(b64('\0alice@example.com\0alice pw'))).toBe('+OK alice@example.com has 2 messages')
    expect(await c.cmd('AUTH PLAIN')).toMatch(/^-ERR AUTH is not valid in the TRANSACTION state/)
    await c.quit()

    const d = await RawPop3.open(pop3)
    expect(await d.cmd(`AUTH PLAIN ${b64('alice@example.com\0alice@example.com\0alice pw')}`)).toMatch(/^\+OK /)
    await d.quit()
  })

  it('a line over maxLineLength gets one -ERR, is skipped as it arrives, and the session goes on', async () => {
    const c = await RawPop3.open(pop3)
    expect(await c.cmd('USER ' + 'x'.repeat(MAX_LINE + 10))).toBe(`-ERR line too long (limit ${MAX_LINE} bytes)`)
    // 2 MB in pieces, then a real command: exactly one -ERR for the long line
    for (let i = 0; i < 32; i++) c.write('y'.repeat(64 * 1024))
    c.write('\r\nCAPA\r\n')
    expect(await c.line()).toMatch(/^-ERR line too long/)
    expect(await c.line()).toBe('+OK capability list follows')
    await c.body()
    expect(await c.login('alice@example.com', 'alice pw')).toMatch(/^\+OK /)
    expect(await c.cmd('NOOP')).toBe('+OK')
    await c.quit()
  })

  it('unknown commands and commands in the wrong state get -ERR; the session survives', async () => {
    const c = await RawPop3.open(pop3)
    expect(await c.cmd('FROB')).toBe('-ERR unknown command "FROB"')
    expect(await c.cmd('STAT')).toBe('-ERR STAT is not valid in the AUTHORIZATION state')
    expect(await c.cmd('PASS secret')).toBe('-ERR USER first')
    expect(await c.login('alice@example.com', 'alice pw')).toMatch(/^\+OK /)
    expect(await c.cmd('USER alice@example.com')).toBe('-ERR USER is not valid in the TRANSACTION state')
    expect(await c.cmd('STLS')).toBe('-ERR STLS is not valid in the TRANSACTION state')
    expect(await c.cmd('RETR 0')).toBe('-ERR no such message, only 2 in maildrop')
    expect(await c.cmd('RETR 3')).toBe('-ERR no such message, only 2 in maildrop')
    expect(await c.cmd('DELE 1')).toBe('+OK message 1 deleted')
    expect(await c.cmd('TOP 1 0')).toBe('-ERR message 1 already deleted')
    expect(await c.cmd('RSET')).toMatch(/^\+OK /)
    expect(await c.cmd('NOOP')).toBe('+OK')
    await c.quit()

    // malformed arguments count as bad commands: after MAX_BAD the connection is closed
    const d = await loggedIn()
    const bad = ['RETR', 'RETR x', 'DELE 1 2', 'TOP 1', 'LIST -1', 'STAT 1']
    for (const cmd of bad.slice(0, MAX_BAD - 1)) expect(await d.cmd(cmd)).toMatch(/^-ERR syntax/)
    expect(await d.cmd(bad[MAX_BAD - 1]!)).toMatch(/^-ERR syntax/)
    expect(await d.line()).toBe('-ERR too many bad commands, closing')
    await d.closed
  })

  it('pipelined commands are answered in order (PIPELINING)', async () => {
    const c = await RawPop3.open(pop3)
    c.write(`USER alice@example.com\r\nPASS alice pw\r\nSTAT\r\nUIDL 1\r\nLIST\r\nRETR 2\r\nNOOP\r\nQUIT\r\n`)
    expect(await c.line()).toBe('+OK send PASS')
    expect(await c.line()).toMatch(/^\+OK alice@example.com has 2 messages$/)
    expect(await c.line()).toMatch(/^\+OK 2 \d+$/)
    expect(await c.line()).toMatch(/^\+OK 1 \d+\.\d+$/)
    expect(await c.line()).toMatch(/^\+OK 2 messages/)
    expect((await c.body()).toString().split('\r\n')).toHaveLength(3)
    expect(await c.line()).toMatch(/^\+OK \d+ octets$/)
    expect((await c.body()).toString()).toMatch(/line 4\r\n$/)
    expect(await c.line()).toBe('+OK')
    expect(await c.line()).toMatch(/^\+OK .*signing off/)
    await c.closed
  })

  it('an idle session is closed after idleTimeoutMs without a reply, and its DELEs are not applied', async () => {
    const c = await loggedIn('dave@example.com', 'dave-pw')
    expect(await c.cmd('DELE 1')).toBe('+OK message 1 deleted')
    const started = Date.now()
    await c.closed
    expect(Date.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 100)
    const d = await loggedIn('dave@example.com', 'dave-pw')
    expect(await d.cmd('STAT')).toMatch(/^\+OK 2 /)
    await d.quit()
  })

  it('maxConnectionsPerIp: the next connection gets -ERR [SYS/TEMP]; `status` counts the sessions', async () => {
    const open = await Promise.all(Array.from({length: MAX_PER_IP}, () => RawPop3.open(pop3)))
    const extra = await RawPop3.open(pop3, {greeting: false})
    expect(await extra.line()).toBe('-ERR [SYS/TEMP] too many connections, try again later')
    await extra.closed
    const control = (await connectControl(dataDir))!
    try {
      const pop3Connections = async () => Number((await control.call('server.status', {})).connections.pop3)
      expect(await pop3Connections()).toBe(MAX_PER_IP)
      await Promise.all(open.map((c) => c.quit()))
      // the slots are free again once the server has seen the connections close
      for (let i = 0; i < 100 && (await pop3Connections()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(await pop3Connections()).toBe(0)
    } finally {
      control.close()
    }
    const again = await RawPop3.open(pop3)
    await again.quit()
  })

  it('failed logins: throttled gets -ERR [SYS/TEMP], a disabled account -ERR [AUTH]', async () => {
    const c = await RawPop3.open(pop3)
    expect(await c.login('nobody@example.com', 'x')).toBe('-ERR [AUTH] invalid user name or password')
    expect(await c.login('nobody@example.com', 'x')).toBe('-ERR [AUTH] invalid user name or password')
    expect(await c.login('nobody@example.com', 'x')).toMatch(/^-ERR \[SYS\/TEMP\] /)
    await c.quit()
    expect((await runCli(['user', 'disable', 'erin@example.com'], {dataDir})).code).toBe(0)
    const d = await RawPop3.open(pop3)
    expect(await d.login('erin@example.com', 'erin-pw')).toBe('-ERR [AUTH] account disabled')
    await d.quit()
  })

  // last: it stops the server
  it('a server stop closes open sessions and applies none of their DELEs', async () => {
    const c = await loggedIn('dave@example.com', 'dave-pw')
    expect(await c.cmd('DELE 1')).toMatch(/^\+OK/)
    expect(await c.cmd('DELE 2')).toMatch(/^\+OK/)
    const stopped = served.stop()
    expect(await c.line()).toBe('-ERR [SYS/TEMP] server shutting down, nothing was deleted')
    await c.closed
    expect(await stopped).toBe(0)
    expect(await listMessages(dataDir, 'dave@example.com')).toHaveLength(2)
  })
})
