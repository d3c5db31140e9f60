/**
 * The single executable (issue 15): `npm run package` builds it (once per source hash, see
 * sea-helpers.ts), then a smoke subset of the end-to-end suite runs against it, through the
 * same helpers as the rest of the suite (MAILBOX_BIN switches them to the binary) and with node
 * off the binary's PATH: serve, SMTP in, IMAP and POP3 out, a queue delivery to a loopback
 * receiver, user add (argon2), init, the matcher in capture mode with `watch`, and the dashboard
 * in tmux.
 * The binary runs as a copy outside the clone (no node_modules above it), and its native add-ons
 * go to a fresh cache dir (XDG_CACHE_HOME), so extracting them is tested too.
 */
import {spawnSync} from 'node:child_process'
import {chmodSync, copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {ImapFlow} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {Tmux} from './dashboard-helpers.js'
import {LineClient, sendMail} from './matcher-helpers.js'
import {RawPop3, message, smtpDeliver} from './pop3-helpers.js'
import {Receiver, type SendReply} from './queue-helpers.js'
import {BUILD_TIMEOUT_MS, pathWithoutNode, singleExecutable} from './sea-helpers.js'

const tmux = new Tmux()
const home = mkdtempSync(join(tmpdir(), 'mbx-sea-home-'))
const cacheDir = join(home, 'cache')
const nodeless = pathWithoutNode()
let binary: string
let dataDir: string
let served: Served
let receiver: Receiver
const ports = {smtp: 0, imap: 0, pop3: 0}

beforeAll(async () => {
  // a copy outside the clone: nothing can be found in a node_modules up the tree from it
  binary = join(home, 'mailbox')
  copyFileSync(singleExecutable(), binary)
  chmodSync(binary, 0o755)
  process.env.MAILBOX_BIN = binary
  process.env.MAILBOX_BIN_ENV = JSON.stringify({PATH: nodeless, HOME: home, XDG_CACHE_HOME: cacheDir})
  dataDir = tempDataDir()
  // through the binary (its DKIM key generation, its argon2 add-on), not the in-process set-up of setupUsers
  for (const [args, input] of [[['domain', 'add', 'example.com']], [['user', 'add', 'alice@example.com', '--password-stdin'], 'alice-pw\n']] as const) {
    const r = await runCli([...args], {dataDir, input})
    expect(r.code, r.stderr).toBe(0)
  }
  receiver = await Receiver.start()
  ports.smtp = await freePort()
  ports.imap = await freePort()
  ports.pop3 = await freePort()
  served = await startServe(dataDir, [
    '--hostname', 'mbx.example.com',
    '--smtp-port', String(ports.smtp), '--imap-port', String(ports.imap), '--pop3-port', String(ports.pop3),
    '--route', `example.net=127.0.0.1:${receiver.port}`,
  ])
}, BUILD_TIMEOUT_MS)

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
  delete process.env.MAILBOX_BIN
  delete process.env.MAILBOX_BIN_ENV
  rmSync(home, {recursive: true, force: true})
})

describe('the single executable', () => {
  it('runs on its own Node 24 with no node on PATH, and put its add-ons in the cache dir', async () => {
    expect(spawnSync('sh', ['-c', 'command -v node'], {env: {PATH: nodeless}}).status).not.toBe(0)
    const r = await runCli(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/^mailbox\/\d+\.\d+\.\d+ linux-x64 node-v24\./)
    // user add (argon2) and serve (lmdb) in beforeAll loaded both
    const files = readdirSync(join(cacheDir, 'mailbox'), {recursive: true, encoding: 'utf8'})
    expect(files.filter((f) => f.endsWith('.node')).map((f) => f.split('/').at(-1)).sort()).toEqual(['argon2.node', 'lmdb.node'])
  })

  it('`user list` starts without argon2: a fresh cache dir gets the lmdb add-on only', async () => {
    // argon2 (and libmime, node:crypto) load at first use: test/e2e/cli-startup.test.ts
    const fresh = join(home, 'list-cache')
    const r = await runCli(['user', 'list'], {dataDir, env: {XDG_CACHE_HOME: fresh}})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('alice@example.com')
    const files = readdirSync(join(fresh, 'mailbox'), {recursive: true, encoding: 'utf8'})
    expect(files.filter((f) => f.endsWith('.node')).map((f) => f.split('/').at(-1))).toEqual(['lmdb.node'])
  })

  it('--help lists the commands from the embedded manifest', async () => {
    const r = await runCli(['user', '--help'])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/user add/)
    expect(r.stdout).toMatch(/user import/)
  })

  it('init writes a systemd unit that starts the binary itself', async () => {
    const config = join(home, 'init', 'mailbox.jsonc')
    const r = await runCli(['init', '--hostname', 'mail.init.test', '--domain', 'init.test', '--config', config, '--json'], {dataDir: tempDataDir()})
    expect(r.code, r.stderr).toBe(0)
    const {unitFile} = JSON.parse(r.stdout) as {unitFile: string}
    expect(readFileSync(unitFile, 'utf8')).toContain(`ExecStart=${binary} serve --config ${config}`)
  })

  it('takes mail over SMTP and hands it out over POP3 and IMAP', async () => {
    await smtpDeliver(ports.smtp, 'alice@example.com', [message('sea smoke')])
    const pop = await RawPop3.open(ports.pop3)
    await pop.stls()
    expect(await pop.login('alice@example.com', 'alice-pw')).toMatch(/^\+OK/)
    const [status, body] = await pop.multi('RETR 1')
    expect(status).toMatch(/^\+OK/)
    expect(body.toString()).toContain('Subject: sea smoke')
    // SPF/DKIM/DMARC ran on the MX: in a worker thread, which the binary starts from an asset
    expect(body.toString()).toMatch(/^Authentication-Results: mbx\.example\.com;/m)
    await pop.quit()

    const imap = new ImapFlow({host: '127.0.0.1', port: ports.imap, secure: false, auth: {user: 'alice@example.com', pass: 'alice-pw'}, logger: false, tls: {rejectUnauthorized: false}})
    await imap.connect()
    try {
      const lock = await imap.getMailboxLock('INBOX')
      try {
        const msg = await imap.fetchOne('*', {envelope: true})
        expect(msg && msg.envelope?.subject).toBe('sea smoke')
      } finally {
        lock.release()
      }
    } finally {
      await imap.logout()
    }
  })

  it('delivers through the outbound queue to a loopback receiver', async () => {
    const sent = await runJson<SendReply>(['send', '--from', 'alice@example.com', '--to', 'bob@example.net'], {dataDir, input: 'Subject: queued from the binary\n\nhello\n'})
    expect(sent.queued).toHaveLength(1)
    const [got] = await receiver.waitForMessages(1, 20_000)
    expect(got!.to).toEqual(['bob@example.net'])
    expect(got!.raw).toContain('queued from the binary')
    // signed on a mail-auth thread, which the binary starts from its bundled asset
    expect(got!.raw.match(/^DKIM-Signature: /gm)).toHaveLength(2)
  })

  it('draws the dashboard in tmux', async () => {
    const session = await tmux.startDashboard(dataDir)
    await session.waitFor(/mailbox \d+\.\d+\.\d+ .*live/, {timeoutMs: 20_000, what: 'the live dashboard header'})
    await session.waitFor(/queue/, {what: 'the queue panel'})
    await session.keys('q')
    await session.waitFor(/DASH-EXIT 0/, {timeoutMs: 10_000, what: 'the dashboard to quit'})
  })

  it('serves the matcher in capture mode, and `watch` waits for a mail on it', async () => {
    const captureDir = tempDataDir()
    const [smtp, matcher] = [await freePort(), await freePort()]
    const capture = await startServe(captureDir, ['--capture', '--smtp-port', String(smtp), '--matcher-port', String(matcher)])
    try {
      const c = await LineClient.ready(matcher)
      await c.match({to: 'wanted@m.test'})
      await sendMail(smtp, {from: 'app@svc.test', to: 'wanted@m.test', subject: 'captured by the binary', text: 'hi'})
      const got = await c.waitFor((l) => l.verb === 'GOTEMAIL', 10_000, 'GOTEMAIL')
      expect(JSON.stringify(got.body)).toContain('captured by the binary')
      c.socket.destroy()
      // and `mailbox watch`, the matcher's own client, from the binary
      const watch = runCli(['watch', '--data-dir', captureDir, '--to', 'watched@m.test', '--since', '60s', '--timeout', '20s'])
      await sendMail(smtp, {from: 'app@svc.test', to: 'watched@m.test', subject: 'watched from the binary', text: 'hi'})
      const watched = await watch
      expect(watched.code, watched.stderr).toBe(0)
      expect(watched.stdout).toContain('watched from the binary')
    } finally {
      await capture.stop()
    }
  })
})
