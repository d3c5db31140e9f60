/**
 * ManageSieve (RFC 5804) against a real `mailbox serve --managesieve-port` with small limits from a
 * config file, and without --allow-insecure-auth: Debian's sieve-connect (STARTTLS with the
 * server's self-signed certificate, --notlsverify) uploads, lists, activates, downloads and
 * deletes; a raw socket does what sieve-connect does not (CHECKSCRIPT errors with line numbers,
 * RENAMESCRIPT, HAVESPACE and the quotas, a literal over the limit, invalid UTF-8, the SASL
 * continuation and cancel, throttled and disabled logins, plaintext AUTHENTICATE refused before
 * STARTTLS, garbage, limits). What ManageSieve stores is what `store.sieve.active()` returns.
 */
import {spawn} from 'node:child_process'
import {mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import type {Writable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connectControl} from '../../src/control/client.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {withTestStore} from '../helpers/test-store.js'
import {until} from '../helpers/until.js'
import {Wire} from './breakoff-client.js'
import {b64, capabilitiesOf, plain, RawSieve} from './managesieve-helpers.js'
import {freePorts, logLines, setupUsers} from './smtp-helpers.js'

const SIEVE_CONNECT = 'sieve-connect'
const hasSieveConnect = onPath(SIEVE_CONNECT)

const MAX_SCRIPTS = 3
const MAX_SCRIPT_BYTES = 2048
const MAX_LINE = 1024
const MAX_BAD = 5
const MAX_BEFORE_AUTH = 8
const MAX_PER_IP = 6
const IDLE_MS = 2500
const HANDSHAKE_MS = 1000

let dataDir: string
let work: string
let served: Served
let port: number
let configFile: string

/** a script as Roundcube's managesieve plugin writes one */
const ROUNDCUBE = `require ["fileinto","imap4flags"];
# rule:[lists]
if anyof (header :contains "list-id" "example.org")
{
\tfileinto "Lists";
\tstop;
}
# rule:[boss]
if allof (address :is "from" "boss@example.com")
{
\taddflag "\\\\Flagged";
}
`.replace(/\n/g, '\r\n')

beforeAll(async () => {
  dataDir = tempDataDir()
  work = join(dirname(dataDir), 'work')
  mkdirSync(work)
  ;[port] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'dave@example.com', password: 'dave pw'},
    {address: 'erin@example.com', password: 'erin-pw'},
  ])
  configFile = join(dirname(dataDir), 'config.json')
  writeConfig(MAX_SCRIPT_BYTES)
  served = await startServe(dataDir, ['--config', configFile, '--managesieve-port', String(port)])
})

function writeConfig(maxScriptBytes: number, maxRedirects = 4): void {
  writeFileSync(
    configFile,
    JSON.stringify({
      managesieve: {maxLineLength: MAX_LINE, maxBadCommands: MAX_BAD, maxCommandsBeforeAuth: MAX_BEFORE_AUTH, maxConnectionsPerIp: MAX_PER_IP, idleTimeoutMs: IDLE_MS, handshakeTimeoutMs: HANDSHAKE_MS},
      sieve: {maxScripts: MAX_SCRIPTS, maxScriptBytes, maxRedirects},
      auth: {failureDelayMs: 0, maxFailuresPerUser: 2},
    }),
  )
}

afterAll(async () => {
  await served?.stop()
})

const activeScript = (user: string) => withTestStore(dataDir, (store) => store.sieve.active(user), {readOnly: true})

async function loggedIn(user = 'alice@example.com', password = 'alice-pw'): Promise<RawSieve> {
  const c = await RawSieve.open(port)
  await c.startTls()
  expect((await c.login(user, password)).status).toBe('OK "logged in"')
  return c
}

/** runs sieve-connect as dave; the password goes through fd 3 */
async function sieveConnect(args: string[]): Promise<{code: number; output: string}> {
  const child = spawn(
    SIEVE_CONNECT,
    ['-s', '127.0.0.1', '-p', String(port), '-u', 'dave@example.com', '--passwordfd', '3', '--notlsverify', '--authmech', 'PLAIN', ...args],
    {cwd: work, env: {...process.env, HOME: work, LC_ALL: 'C'}, stdio: ['ignore', 'pipe', 'pipe', 'pipe']},
  )
  ;(child.stdio[3] as Writable).end('dave pw\n')
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  clearTimeout(timer)
  return {code, output}
}

describe.skipIf(missingOutsideCi(hasSieveConnect))('sieve-connect → serve', () => {
  beforeAll(() => requireInCi(hasSieveConnect, 'sieve-connect is needed on PATH'))

  it('uploads, lists, activates, downloads, deactivates and deletes; the active script is the one the store hands delivery', async () => {
    writeFileSync(join(work, 'roundcube.sieve'), ROUNDCUBE)
    const upload = await sieveConnect(['--upload', '--localsieve', 'roundcube.sieve', '--remotesieve', 'roundcube'])
    expect(upload.code, upload.output).toBe(0)
    let list = await sieveConnect(['--list'])
    expect(list.code, list.output).toBe(0)
    expect(list.output.trim()).toBe('"roundcube"')
    expect(await activeScript('dave@example.com')).toBeUndefined()

    const activate = await sieveConnect(['--activate', '--remotesieve', 'roundcube'])
    expect(activate.code, activate.output).toBe(0)
    list = await sieveConnect(['--list'])
    expect(list.output.trim()).toBe('"roundcube" ACTIVE')
    expect(await activeScript('dave@example.com')).toEqual({name: 'roundcube', content: ROUNDCUBE, active: true})

    const download = await sieveConnect(['--download', '--remotesieve', 'roundcube', '--localsieve', 'back.sieve'])
    expect(download.code, download.output).toBe(0)
    expect(readFileSync(join(work, 'back.sieve'), 'utf8')).toBe(ROUNDCUBE)

    // a syntax error: refused with the server's message, nothing stored
    writeFileSync(join(work, 'broken.sieve'), 'require "fileinto";\r\nfileinto "x"\r\n')
    const broken = await sieveConnect(['--upload', '--localsieve', 'broken.sieve', '--remotesieve', 'broken'])
    expect(broken.code).not.toBe(0)
    expect(broken.output).toMatch(/line \d+:/)

    expect((await sieveConnect(['--deactivate'])).code).toBe(0)
    expect(await activeScript('dave@example.com')).toBeUndefined()
    const remove = await sieveConnect(['--delete', '--remotesieve', 'roundcube'])
    expect(remove.code, remove.output).toBe(0)
    list = await sieveConnect(['--list'])
    expect(list.output.trim()).toBe('')
  })
})

describe('ManageSieve on the wire', () => {
  it('greeting before TLS: STARTTLS and no plaintext mechanism; after STARTTLS SASL PLAIN; OWNER once logged in', async () => {
    const c = await RawSieve.open(port)
    const before = capabilitiesOf(c.greeting!)
    expect(before.get('IMPLEMENTATION')).toMatch(/^mailbox \d+\.\d+\.\d+/)
    expect(before.get('SASL')).toBe('')
    expect(before.has('STARTTLS')).toBe(true)
    expect(before.get('VERSION')).toBe('1.0')
    expect(before.get('MAXREDIRECTS')).toMatch(/^\d+$/)
    expect(before.get('SIEVE')!.split(' ')).toEqual(expect.arrayContaining(['fileinto', 'reject', 'envelope', 'body', 'imap4flags', 'variables', 'vacation', 'copy']))
    // plaintext passwords only over TLS (the same setting as IMAP and POP3: allowInsecureAuth)
    expect((await c.login('alice@example.com', 'alice-pw')).status).toMatch(/^NO \(ENCRYPT-NEEDED\) /)
    const after = capabilitiesOf(await c.startTls())
    expect(after.get('SASL')).toBe('PLAIN')
    expect(after.has('STARTTLS')).toBe(false)
    expect((await c.cmd('STARTTLS')).status).toMatch(/^NO /)
    expect((await c.login('alice@example.com', 'alice-pw')).status).toBe('OK "logged in"')
    const loggedInCaps = capabilitiesOf(await c.cmd('CAPABILITY'))
    expect(loggedInCaps.get('OWNER')).toBe('alice@example.com')
    await c.logout()
  })

  it('AUTHENTICATE without an initial response: an empty challenge, the response as a string; "*" cancels', async () => {
    const c = await RawSieve.open(port)
    await c.startTls()
    c.write('AUTHENTICATE "PLAIN"\r\n')
    await c.expectChallenge()
    const cancelled = await c.cmd('"*"')
    expect(cancelled.status).toBe('NO "authentication cancelled"')
    c.write('AUTHENTICATE "plain"\r\n')
    await c.expectChallenge()
    expect((await c.cmd(`"${plain('alice@example.com', 'alice-pw')}"`)).status).toBe('OK "logged in"')
    await c.logout()
  })

  it('PUTSCRIPT and CHECKSCRIPT answer NO with the errors, one "line N:" per line; nothing is stored', async () => {
    const c = await loggedIn()
    const broken = 'require "fileinto";\r\nif header :is "subject" "x" {\r\n  fileinto "X"\r\n}\r\nfrobnicate;\r\n'
    const put = await c.put('broken', broken)
    expect(put.status).toMatch(/^NO /)
    expect(put.text).toMatch(/^line 4: /)
    const check = await c.cmd(`CHECKSCRIPT {${Buffer.byteLength('keep;\r\nfrob;\r\nfileinto "x";\r\n')}+}\r\nkeep;\r\nfrob;\r\nfileinto "x";\r\n`)
    expect(check.status).toMatch(/^NO /)
    expect(check.text.split('\r\n')).toEqual([expect.stringMatching(/^line 2: .*frob/), expect.stringMatching(/^line 3: .*fileinto/)])
    expect((await c.cmd('CHECKSCRIPT "keep;"')).status).toBe('OK')
    expect((await c.cmd('LISTSCRIPTS')).lines).toEqual([])
    // invalid UTF-8 in a script: NO, and the session goes on
    expect((await c.put('bad', Buffer.from('# \xff\xfe\r\nkeep;', 'latin1'))).status).toMatch(/^NO .*UTF-8/)
    expect((await c.cmd('NOOP "still-here"')).status).toBe('OK (TAG "still-here") "done"')
    await c.logout()
  })

  it('LISTSCRIPTS, SETACTIVE, GETSCRIPT, RENAMESCRIPT, DELETESCRIPT with their response codes', async () => {
    const c = await loggedIn()
    expect((await c.put('one', 'keep;\r\n')).status).toBe('OK')
    expect((await c.put('two', ROUNDCUBE)).status).toBe('OK')
    expect((await c.cmd('SETACTIVE "two"')).status).toBe('OK')
    expect((await c.cmd('LISTSCRIPTS')).lines).toEqual(['"one"', '"two" ACTIVE'])
    const got = await c.cmd('GETSCRIPT "two"')
    expect(got.status).toBe('OK')
    expect(got.lines).toEqual([ROUNDCUBE])
    expect((await c.cmd('GETSCRIPT "nope"')).status).toMatch(/^NO \(NONEXISTENT\) /)
    expect((await c.cmd('SETACTIVE "nope"')).status).toMatch(/^NO \(NONEXISTENT\) /)
    expect((await c.cmd('DELETESCRIPT "two"')).status).toMatch(/^NO \(ACTIVE\) /)
    expect((await c.cmd('RENAMESCRIPT "two" "one"')).status).toMatch(/^NO \(ALREADYEXISTS\) /)
    expect((await c.cmd('RENAMESCRIPT "nope" "three"')).status).toMatch(/^NO \(NONEXISTENT\) /)
    // renaming keeps the active state: delivery now runs "Filters"
    expect((await c.cmd('RENAMESCRIPT "two" "Filters"')).status).toBe('OK')
    expect((await c.cmd('LISTSCRIPTS')).lines).toEqual(['"Filters" ACTIVE', '"one"'])
    expect(await activeScript('alice@example.com')).toEqual({name: 'Filters', content: ROUNDCUBE, active: true})
    // replacing the active script's text keeps it active
    expect((await c.put('Filters', 'discard;\r\n')).status).toBe('OK')
    expect((await activeScript('alice@example.com'))?.content).toBe('discard;\r\n')
    expect((await c.cmd('SETACTIVE ""')).status).toBe('OK')
    expect(await activeScript('alice@example.com')).toBeUndefined()
    expect((await c.cmd('DELETESCRIPT "Filters"')).status).toBe('OK')
    expect((await c.cmd('DELETESCRIPT "Filters"')).status).toMatch(/^NO \(NONEXISTENT\) /)
    expect((await c.cmd('LISTSCRIPTS')).lines).toEqual(['"one"'])
    await c.logout()
    // each committed change is logged for the administrator; refusals are not
    const changes = logLines(served.output(), 'sieve scripts changed').filter((l) => l.user === 'alice@example.com')
    expect(changes).toContainEqual(expect.objectContaining({rename: 'two', to: 'Filters'}))
    expect(changes).toContainEqual(expect.objectContaining({activate: ''}))
    expect(changes.filter((l) => l.remove === 'Filters')).toHaveLength(1)
  })

  it('HAVESPACE and PUTSCRIPT against sieve.maxScripts and sieve.maxScriptBytes', async () => {
    const c = await loggedIn('erin@example.com', 'erin-pw')
    expect((await c.cmd(`HAVESPACE "a" ${MAX_SCRIPT_BYTES}`)).status).toBe('OK')
    expect((await c.cmd(`HAVESPACE "a" ${MAX_SCRIPT_BYTES + 1}`)).status).toMatch(/^NO \(QUOTA\/MAXSIZE\) /)
    for (let i = 1; i <= MAX_SCRIPTS; i++) expect((await c.put(`s${i}`, 'keep;')).status).toBe('OK')
    expect((await c.cmd('HAVESPACE "s4" 10')).status).toMatch(/^NO \(QUOTA\/MAXSCRIPTS\) /)
    expect((await c.cmd('HAVESPACE "s1" 10')).status).toBe('OK') // replacing one takes no room
    expect((await c.put('s4', 'keep;')).status).toMatch(/^NO \(QUOTA\/MAXSCRIPTS\) /)
    expect((await c.put('s1', 'stop;')).status).toBe('OK')
    // a script just under the limit is taken
    expect((await c.put('s2', `#${'x'.repeat(MAX_SCRIPT_BYTES - 10)}\r\nkeep;`)).status).toBe('OK')
    for (let i = 1; i <= MAX_SCRIPTS; i++) expect((await c.cmd(`DELETESCRIPT "s${i}"`)).status).toBe('OK')
    await c.logout()
  })

  it('a literal over the size limit is never read: NO (QUOTA/MAXSIZE), then BYE', async () => {
    const c = await loggedIn('erin@example.com', 'erin-pw')
    const size = MAX_SCRIPT_BYTES + MAX_LINE + 1
    c.write(`PUTSCRIPT "huge" {${size}+}\r\n`)
    const r = await c.response()
    expect(r.status).toMatch(/^NO \(QUOTA\/MAXSIZE\) /)
    expect((await c.response()).status).toMatch(/^BYE /)
    await c.closed
  })

  it('garbage: a NO each (lines over the limit too, never buffered); past maxBadCommands BYE', async () => {
    const c = await RawSieve.open(port)
    expect((await c.cmd('FROB "x"')).status).toMatch(/^NO "unknown command/)
    expect((await c.cmd(Buffer.from([0x00, 0xff, 0x1b, 0x5b, 0x41, 0x0d, 0x0a]))).status).toMatch(/^NO /)
    expect((await c.cmd(`NOOP "${'x'.repeat(MAX_LINE * 3)}"`)).status).toMatch(/^NO "line too long/)
    expect((await c.cmd('LISTSCRIPTS')).status).toBe('NO "LISTSCRIPTS needs a login first"')
    expect((await c.cmd('GETSCRIPT unquoted')).status).toMatch(/^NO /)
    expect((await c.response()).status).toBe('BYE "too many bad commands"')
    await c.closed
  })

  it('commands before login are bounded: past maxCommandsBeforeAuth BYE', async () => {
    const c = await RawSieve.open(port)
    for (let i = 0; i < MAX_BEFORE_AUTH; i++) expect((await c.cmd('CAPABILITY')).status).toMatch(/^OK/)
    expect((await c.cmd('CAPABILITY')).status).toMatch(/^BYE /)
    await c.closed
  })

  it('a session idle for idleTimeoutMs gets BYE and is closed', async () => {
    const c = await loggedIn()
    expect((await c.response(IDLE_MS + 10_000)).status).toBe('BYE "idle for too long"')
    await c.closed
  })

  it('STARTTLS answered and then silence: the handshake timeout closes the connection', async () => {
    // the STARTTLS command runs until its handshake is done, and the session's idle handler spares a running command: the handshake's own bound must cut it
    const w = (await Wire.open(port))!
    expect(await w.until(/^OK [^\r\n]*\r\n/m)).toBe(true)
    w.send('STARTTLS\r\n')
    expect(await w.until(/^OK [^\r\n]*\r\n/m)).toBe(true)
    const started = Date.now()
    await w.breakOff('wait', 10_000)
    expect(w.closed, 'closed by the server').toBe(true)
    expect(Date.now() - started).toBeLessThan(HANDSHAKE_MS + 4000)
  })

  it('UNAUTHENTICATE returns to the non-authenticated state', async () => {
    const c = await loggedIn()
    expect((await c.cmd('UNAUTHENTICATE')).status).toBe('OK "unauthenticated"')
    expect((await c.cmd('LISTSCRIPTS')).status).toMatch(/^NO /)
    expect((await c.login('alice@example.com', 'alice-pw')).status).toBe('OK "logged in"')
    await c.logout()
  })

  it('maxConnectionsPerIp: the next connection gets BYE (TRYLATER); `status` lists the listener and counts the sessions', async () => {
    const open = await Promise.all(Array.from({length: MAX_PER_IP}, () => RawSieve.open(port)))
    const extra = await RawSieve.open(port, {greeting: false})
    expect((await extra.response()).status).toBe('BYE (TRYLATER) "too many connections, try again later"')
    await extra.closed
    const control = (await connectControl(dataDir))!
    try {
      const status = await control.call('server.status', {})
      expect(status.listeners).toContainEqual({name: 'managesieve', address: `127.0.0.1:${port}`})
      expect(status.connections.managesieve).toBe(MAX_PER_IP)
    } finally {
      control.close()
    }
    await Promise.all(open.map((c) => c.logout()))
    const text = await runCli(['status'], {dataDir})
    expect(text.stdout).toMatch(new RegExp(`listen: +managesieve +127\\.0\\.0\\.1:${port}`))
  })

  it('a reload (SIGHUP) applies a new sieve.maxScriptBytes to the next command of an open session, and a new sieve.maxRedirects to MAXREDIRECTS', async () => {
    const c = await loggedIn()
    expect((await c.cmd(`HAVESPACE "big" ${MAX_SCRIPT_BYTES + 1}`)).status).toMatch(/^NO \(QUOTA\/MAXSIZE\) /)
    expect(capabilitiesOf(await c.cmd('CAPABILITY')).get('MAXREDIRECTS')).toBe('4')
    writeConfig(MAX_SCRIPT_BYTES * 2, 2)
    const reloads = () => logLines(served.output(), 'configuration reloaded').length
    const before = reloads()
    served.child.kill('SIGHUP')
    await until(() => reloads() > before, 15_000)
    expect((await c.cmd(`HAVESPACE "big" ${MAX_SCRIPT_BYTES + 1}`)).status).toBe('OK')
    // what delivery enforces from now on (a client sizes its forwards by it)
    expect(capabilitiesOf(await c.cmd('CAPABILITY')).get('MAXREDIRECTS')).toBe('2')
    await c.logout()
  })

  it('failed logins: throttled gets NO (TRYLATER), a disabled account NO', async () => {
    const c = await RawSieve.open(port)
    await c.startTls()
    expect((await c.login('nobody@example.com', 'x')).status).toBe('NO "invalid user name or password"')
    expect((await c.login('nobody@example.com', 'x')).status).toBe('NO "invalid user name or password"')
    expect((await c.login('nobody@example.com', 'x')).status).toMatch(/^NO \(TRYLATER\) /)
    expect((await c.cmd(`AUTHENTICATE "PLAIN" "${b64('no-nul-here')}"`)).status).toMatch(/^NO "malformed PLAIN/)
    await c.logout()
    expect((await runCli(['user', 'disable', 'erin@example.com'], {dataDir})).code).toBe(0)
    const d = await RawSieve.open(port)
    await d.startTls()
    expect((await d.login('erin@example.com', 'erin-pw')).status).toBe('NO "account disabled"')
    await d.logout()
  })

  // last: it stops the server
  it('a server stop says BYE to open sessions', async () => {
    const c = await loggedIn()
    const stopped = served.stop()
    expect((await c.response()).status).toBe('BYE (TRYLATER) "server shutting down"')
    await c.closed
    expect(await stopped).toBe(0)
  })
})
