/**
 * The Debian package (issue 15): out/mailbox_<version>_amd64.deb, from the package build the SEA
 * smoke test shares (one build per source hash, scripts/package/locate.ts), installed on THIS
 * machine with `dpkg -i` as an admin would, then:
 *   - the files, the `mailbox` system account, the state and config dirs, the unit enabled
 *     (deb-systemd-helper; systemd does not run here, and nothing in the scripts needs it);
 *   - `mailbox --version` from /usr/bin with no node on PATH; a second `dpkg -i` (postinst again);
 *   - `mailbox init` as root (config in /etc/mailbox; its next steps know the package), then
 *     `mailbox serve` AS `mailbox` on the packaged paths (loopback, free ports): SMTP in, POP3 out;
 *   - `dpkg -r` keeps config, account and mail; `dpkg --purge` removes everything but the mail
 *     store, which it keeps and gives to root (the policy in scripts/package/debian/postrm).
 * It installs system-wide, so it needs root and dpkg (outside CI it is skipped without them; in
 * CI it fails), refuses to run over an existing mailbox installation, holds a machine-wide lock
 * against a concurrent run, and purges in afterAll whatever happened.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {debPackage} from '../../scripts/package/locate.js'
import {acquireLock} from '../../scripts/package/lock-file.js'
import {PACKAGED_UNIT, systemdUnit} from '../../src/init/systemd-unit.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {ROOT, freePort, runCli, startServe, type Served} from '../helpers/cli.js'
import {RawPop3, message, smtpDeliver} from './pop3-helpers.js'
import {BUILD_TIMEOUT_MS, pathWithoutNode} from './sea-helpers.js'

const BIN = '/usr/bin/mailbox'
const UNIT = '/lib/systemd/system/mailbox.service'
const STATE = '/var/lib/mailbox'
const CONFIG_DIR = '/etc/mailbox'
const CONFIG = `${CONFIG_DIR}/mailbox.jsonc`
const WANTS = '/etc/systemd/system/multi-user.target.wants/mailbox.service'
/** machine-wide: another clone's run of this test installs the same package */
const LOCK = join(existsSync('/run/lock') ? '/run/lock' : tmpdir(), 'mailbox-deb-package-test.lock')
const LOCK_WAIT_MS = 120_000
/** unpacking 142 MB took 1.5-4 s here, on a loaded 2-core machine */
const DPKG_TIMEOUT_MS = 60_000

const run = (cmd: string, args: string[], input?: string) => spawnSync(cmd, args, {encoding: 'utf8', input, env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}})
const ok = (cmd: string, args: string[]) => {
  const r = run(cmd, args)
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status ?? r.error?.message}:\n${r.stdout}\n${r.stderr}`)
  return r.stdout
}
const installed = () => /^install ok installed$/m.test(run('dpkg-query', ['-W', '-f', '${Status}\n', 'mailbox']).stdout)
const account = (name: string) => run('getent', ['passwd', name]).stdout.trim()
const group = (name: string) => run('getent', ['group', name]).stdout.trim()
const mode = (path: string) => (statSync(path).mode & 0o7777).toString(8)
/** every file and dir under `dir` whose owner is not `uid` */
const notOwnedBy = (dir: string, uid: number) =>
  [dir, ...readdirSync(dir, {recursive: true, encoding: 'utf8'}).map((f) => join(dir, f))].filter((p) => lstatSync(p).uid !== uid)

const isRoot = process.getuid?.() === 0
const usable = isRoot && onPath('dpkg') && onPath('dpkg-deb')

describe.skipIf(missingOutsideCi(usable))('the Debian package', () => {
  const home = mkdtempSync(join(tmpdir(), 'mbx-deb-'))
  const nodeless = pathWithoutNode()
  let release: (() => void) | undefined
  let weInstalled = false
  let deb: string
  let uid = -1
  let served: Served | undefined

  beforeAll(() => {
    // CI must run this: no root or no dpkg there is a broken CI machine, not a reason to skip
    requireInCi(usable, `deb-package.test.ts needs root (uid ${process.getuid?.()}) and dpkg + dpkg-deb on PATH`)
    release = acquireLock(LOCK, LOCK_WAIT_MS)
    // an installation this test did not make is someone's: never replace or purge it
    const existing = [installed() && 'the mailbox package is installed', account('mailbox') && 'a mailbox account exists', existsSync(STATE) && `${STATE} exists`, existsSync(CONFIG_DIR) && `${CONFIG_DIR} exists`].filter(Boolean)
    if (existing.length) throw new Error(`refusing to install over an existing mailbox installation: ${existing.join('; ')} (dpkg --purge mailbox; rm -rf ${STATE})`)
    deb = debPackage(ROOT, BUILD_TIMEOUT_MS - 10_000)
    weInstalled = true
    ok('dpkg', ['-i', deb])
    uid = Number(ok('id', ['-u', 'mailbox']))
    // the helpers run mailbox AS the account, as systemd would: setpriv execs (one pid to signal)
    const asMailbox = join(home, 'mailbox-as-mailbox')
    writeFileSync(asMailbox, `#!/bin/sh\nexec setpriv --reuid=mailbox --regid=mailbox --init-groups ${BIN} "$@"\n`, {mode: 0o700})
    process.env.MAILBOX_BIN = asMailbox
    // its home is /nonexistent: the add-ons go to /tmp/mailbox-<uid>, which purge removes
    process.env.MAILBOX_BIN_ENV = JSON.stringify({PATH: nodeless, HOME: '/nonexistent', XDG_CACHE_HOME: '', MAILBOX_CACHE_DIR: '', TMPDIR: ''})
  }, BUILD_TIMEOUT_MS + LOCK_WAIT_MS + DPKG_TIMEOUT_MS)

  afterAll(async () => {
    await served?.stop()
    delete process.env.MAILBOX_BIN
    delete process.env.MAILBOX_BIN_ENV
    try {
      if (weInstalled) {
        if (existsSync('/var/lib/dpkg/info/mailbox.list') || installed()) run('dpkg', ['--purge', 'mailbox'])
        rmSync(STATE, {recursive: true, force: true}) // the store purge keeps; it did not exist before
      }
    } finally {
      rmSync(home, {recursive: true, force: true})
      release?.()
    }
  }, 60_000)

  it('installs the binary, the unit, the account and its dirs, and enables the unit without a running systemd', () => {
    expect(installed()).toBe(true)
    expect(mode(BIN)).toBe('755')
    expect(readFileSync(UNIT, 'utf8')).toBe(systemdUnit(PACKAGED_UNIT))
    expect(lstatSync(WANTS).isSymbolicLink()).toBe(true)
    // a system account with no login and no home; its own group
    const [, , accountUid, gid, , homeDir, shell] = account('mailbox').split(':')
    expect(Number(accountUid)).toBeLessThan(1000)
    expect(group('mailbox').split(':')[2]).toBe(gid)
    expect([homeDir, shell]).toEqual(['/nonexistent', '/usr/sbin/nologin'])
    expect([statSync(STATE).uid, mode(STATE)]).toEqual([uid, '700'])
    expect([statSync(CONFIG_DIR).uid, statSync(CONFIG_DIR).gid, mode(CONFIG_DIR)]).toEqual([0, Number(gid), '750'])
    expect(existsSync(CONFIG)).toBe(false) // `mailbox init` writes it: the unit's ConditionPathExists waits for it
  })

  it('runs `mailbox --version` from /usr/bin on its own Node 24, with no node on PATH', () => {
    const r = spawnSync(BIN, ['--version'], {encoding: 'utf8', env: {PATH: nodeless, HOME: home}})
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^mailbox\/\d+\.\d+\.\d+ linux-x64 node-v24\./)
  })

  it('installs again over itself (postinst is idempotent)', () => {
    ok('dpkg', ['-i', deb])
    expect(installed()).toBe(true)
    expect(Number(ok('id', ['-u', 'mailbox']))).toBe(uid)
  }, DPKG_TIMEOUT_MS)

  it('sets up with `mailbox init` as root, serves as `mailbox` from the packaged paths: SMTP in, POP3 out', async () => {
    const init = spawnSync(BIN, ['init', '--hostname', 'mail.deb.test', '--domain', 'deb.test', '--data-dir', STATE, '--json'], {encoding: 'utf8', env: {PATH: nodeless, HOME: home}})
    expect(init.status, init.stderr).toBe(0)
    const {configFile, password, next} = JSON.parse(init.stdout) as {configFile: string; password: string; next: string[]}
    expect(configFile).toBe(CONFIG)
    // the package made the account and installed the unit: what is left is to start it
    expect(next).toHaveLength(3)
    expect(next.join('\n')).not.toMatch(/useradd|install -m/)
    expect(next[1]).toMatch(/^systemctl enable --now mailbox /)
    // what systemd's StateDirectory= does at start (and init's next command says without systemd)
    ok('chown', ['-R', 'mailbox:mailbox', STATE])

    const [smtp, pop3] = [await freePort(), await freePort()]
    // the config binds every address on the standard ports: the flags keep the test on loopback
    served = await startServe(STATE, ['--config', CONFIG, '--bind', '127.0.0.1', '--smtp-port', String(smtp), '--pop3-port', String(pop3)], 30_000)
    expect(readFileSync(`/proc/${served.pid}/status`, 'utf8')).toMatch(new RegExp(`^Uid:\\t${uid}\\t${uid}\\t`, 'm'))
    await smtpDeliver(smtp, 'postmaster@deb.test', [message('through the package')])
    const pop = await RawPop3.open(pop3)
    await pop.stls()
    expect(await pop.login('postmaster@deb.test', password)).toMatch(/^\+OK/)
    const [status, body] = await pop.multi('RETR 1')
    expect(status).toMatch(/^\+OK/)
    expect(body.toString()).toContain('Subject: through the package')
    await pop.quit()
    expect(await served.stop()).toBe(0)
    served = undefined
    // what serve wrote is the account's (the store, the control socket's dir, …)
    expect(notOwnedBy(STATE, uid)).toEqual([])
    // and the CLI, as the account, reads the store it left
    const list = await runCli(['user', 'list', '--data-dir', STATE, '--json'])
    expect(list.code, list.stderr).toBe(0)
    expect(list.stdout).toContain('postmaster@deb.test')
  }, 60_000)

  it('`dpkg -r` keeps config, account and mail; `dpkg --purge` removes all but the mail store, which it gives to root', () => {
    ok('dpkg', ['-r', 'mailbox'])
    expect(run('dpkg-query', ['-W', '-f', '${db:Status-Abbrev}', 'mailbox']).stdout.trim()).toBe('rc')
    expect(existsSync(BIN)).toBe(false)
    expect(existsSync(UNIT)).toBe(false)
    expect(existsSync(CONFIG)).toBe(true)
    expect(account('mailbox')).not.toBe('')
    expect(notOwnedBy(STATE, uid)).toEqual([])
    // masked, as dh_installsystemd does on remove, so a leftover enablement cannot start a missing binary
    expect(readlinkSync('/etc/systemd/system/mailbox.service')).toBe('/dev/null')

    const purge = run('dpkg', ['--purge', 'mailbox'])
    expect(purge.status, purge.stderr).toBe(0)
    expect(purge.stderr).toContain(`kept the mail store ${STATE}`)
    // gone from dpkg's database: `dpkg -l mailbox` finds no such package
    const list = run('dpkg', ['-l', 'mailbox'])
    expect(list.status).not.toBe(0)
    expect(list.stderr).toMatch(/no packages found matching mailbox/)
    for (const path of [BIN, UNIT, CONFIG_DIR, `/tmp/mailbox-${uid}`, '/var/lib/dpkg/info/mailbox.list', '/var/lib/systemd/deb-systemd-helper-enabled/mailbox.service']) {
      expect(existsSync(path), path).toBe(false)
    }
    // the enablement link, and the mask `dpkg -r` set (deb-systemd-helper), are gone
    for (const link of [WANTS, '/etc/systemd/system/mailbox.service']) expect(() => lstatSync(link), link).toThrow(/ENOENT/)
    expect(account('mailbox')).toBe('')
    expect(group('mailbox')).toBe('')
    // the mail stays, and no future account with the old uid owns it
    expect(readdirSync(STATE).length).toBeGreaterThan(0)
    expect(notOwnedBy(STATE, 0)).toEqual([])
  }, DPKG_TIMEOUT_MS)
})
