/**
 * A listener that cannot bind ends `serve` the way an admin can act on: exit 1, one stderr line
 * `Error: cannot listen for NAME on ADDRESS: REASON`, and nothing left behind — no serve.pid,
 * no control.sock, no other listener still bound. Covers a port taken by another process for
 * every kind of listener (and the control socket), an address this host does not have
 * (192.0.2.1, TEST-NET-1: the bind fails with EADDRNOTAVAIL, no packet is sent), and a port
 * below 1024 for an unprivileged user (run through setpriv when this test runs as root).
 */
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {spawnSync} from 'node:child_process'
import {chownSync, chmodSync, existsSync, mkdirSync} from 'node:fs'
import {createServer, type Server} from 'node:net'
import {dirname, join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {bindFailureReason} from '../../src/listen.js'
import {BIN, freePort, runCli, tempDataDir, type CliResult} from '../helpers/cli.js'
import {canListen} from './queue-helpers.js'

const TCP_LISTENERS = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'] as const
type Listener = (typeof TCP_LISTENERS)[number]

const blockers: Server[] = []
afterAll(() => Promise.all(blockers.map((s) => new Promise((resolve) => s.close(resolve)))))

function occupy(port: number): Promise<void> {
  const server = createServer()
  blockers.push(server)
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => resolve())
  })
}

async function allPorts(): Promise<Record<Listener, number>> {
  const ports = {} as Record<Listener, number>
  for (const name of TCP_LISTENERS) ports[name] = await freePort()
  return ports
}

const portArgs = (ports: Record<Listener, number>) => TCP_LISTENERS.flatMap((name) => [`--${name}-port`, String(ports[name])])

/** serve must end on its own: bounded, and a hang is a failure, not a stuck test run */
function serve(args: string[], dataDir: string, env: Record<string, string> = {}): Promise<CliResult> {
  return Promise.race([
    runCli(['serve', ...args], {dataDir, env}),
    new Promise<CliResult>((_, reject) => setTimeout(() => reject(new Error('serve did not exit within 60 s')), 60_000)),
  ])
}

function expectCleanFailure(r: CliResult, dataDir: string, line: string): void {
  const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
  expect(r.code, context).toBe(1)
  expect(r.stderr, context).toBe(`${line}\n`)
  expect(r.stdout, context).not.toContain('mailbox started')
  expect(existsSync(join(dataDir, 'serve.pid')), 'serve.pid left behind').toBe(false)
  expect(existsSync(join(dataDir, 'control.sock')), 'control.sock left behind').toBe(false)
}

async function expectAllFree(ports: Record<Listener, number>, except?: Listener): Promise<void> {
  for (const name of TCP_LISTENERS) {
    if (name !== except) expect(await canListen(ports[name]), `${name} port ${ports[name]} still bound`).toBe(true)
  }
}

describe('serve with a listener that cannot bind', () => {
  it.each(TCP_LISTENERS)('a %s port taken by another process: one line, exit 1, nothing left behind', async (name) => {
    const dataDir = tempDataDir()
    const ports = await allPorts()
    await occupy(ports[name])
    const r = await serve(portArgs(ports), dataDir)
    expectCleanFailure(r, dataDir, `Error: cannot listen for ${name} on 127.0.0.1:${ports[name]}: address already in use`)
    // listeners bound before the failing one are closed again
    await expectAllFree(ports, name)
  }, 90_000)

  it('a control socket path that is taken: one line naming it, exit 1, no protocol port bound', async () => {
    const dataDir = tempDataDir()
    // a directory where the socket goes can be neither removed as stale nor bound over
    mkdirSync(join(dataDir, 'control.sock', 'x'), {recursive: true})
    const ports = await allPorts()
    const r = await serve(portArgs(ports), dataDir)
    const context = `stdout: ${r.stdout}\nstderr: ${r.stderr}`
    expect(r.code, context).toBe(1)
    expect(r.stderr, context).toBe(`Error: cannot listen for control on ${join(dataDir, 'control.sock')}: address already in use\n`)
    expect(existsSync(join(dataDir, 'serve.pid'))).toBe(false)
    await expectAllFree(ports)
  }, 90_000)

  it('an address this host does not have (192.0.2.1): one line, exit 1, nothing left behind', async () => {
    const dataDir = tempDataDir()
    const port = await freePort()
    const r = await serve(['--bind', '192.0.2.1', '--smtp-port', String(port), ...['submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s'].flatMap((p) => [`--${p}-port`, '0'])], dataDir)
    expectCleanFailure(r, dataDir, `Error: cannot listen for smtp on 192.0.2.1:${port}: address not available on this host`)
  }, 90_000)

  const asRoot = process.getuid?.() === 0
  const setpriv = spawnSync('setpriv', ['--version']).status === 0

  it.skipIf(missingOutsideCi(asRoot && setpriv))('a port below 1024 for an unprivileged user: one line that says why, exit 1', async () => {
    requireInCi(asRoot && setpriv, 'root and setpriv (util-linux) are needed to run serve as an unprivileged user')
    const dataDir = tempDataDir()
    const home = dirname(dataDir)
    chmodSync(home, 0o755)
    mkdirSync(dataDir)
    chownSync(dataDir, 65534, 65534)
    const off = ['submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'].flatMap((p) => [`--${p}-port`, '0'])
    const child = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'serve', '--data-dir', dataDir, '--smtp-port', '25', ...off],
      {env: {...process.env, HOME: home, NO_COLOR: '1'}, encoding: 'utf8', timeout: 60_000},
    )
    expectCleanFailure({code: child.status ?? -1, stdout: child.stdout, stderr: child.stderr}, dataDir, 'Error: cannot listen for smtp on 127.0.0.1:25: permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)')
  }, 90_000)

  it('the reasons an admin reads for each errno a bind fails with', () => {
    const err = (code: string) => Object.assign(new Error(code), {code})
    expect(bindFailureReason(err('EADDRINUSE'), {host: '0.0.0.0', port: 25})).toBe('address already in use')
    expect(bindFailureReason(err('EACCES'), {host: '0.0.0.0', port: 25})).toBe('permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)')
    expect(bindFailureReason(err('EACCES'), {path: '/srv/mail/control.sock'})).toBe('permission denied')
    expect(bindFailureReason(err('EADDRNOTAVAIL'), {host: '192.0.2.1', port: 25})).toBe('address not available on this host')
    expect(bindFailureReason(err('ENOTFOUND'), {host: 'mail.invalid', port: 25})).toBe('no such host')
  })
})
