/**
 * `mailbox init` through the real CLI, in temp dirs (always with --config: the tests may run as
 * root, whose default is /etc/mailbox): the config it writes passes `config check` and starts
 * `serve`; the postmaster logs in over IMAP with the printed password; mail to abuse@ reaches the
 * postmaster; the DNS records are those of `domain dns`; a second init refuses, --force works;
 * bad input and a half-done init are refused with a reason.
 */
import {existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {ImapFlow} from 'imapflow'
import {describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type CliResult} from '../helpers/cli.js'
import {expectOneLineError, snapshot} from './fixtures.js'
import {deliver, HOST, simpleMessage} from './imap-helpers.js'

const DOMAIN = 'example.com'
const HOSTNAME = 'mail.example.com'
// documentation addresses (RFC 5737, RFC 3849): only ever data in the records, never bound or connected to
const IPS = ['--ip', '192.0.2.25', '--ip', '2001:db8::25']

interface Installation {
  dataDir: string
  configFile: string
}

/** a fresh data dir, and a config path in a directory that does not exist yet */
function fresh(): Installation {
  const dataDir = tempDataDir()
  return {dataDir, configFile: join(dirname(dataDir), 'etc', 'mailbox.jsonc')}
}

const init = (at: Installation, extra: string[] = []) => runCli(['init', '--hostname', HOSTNAME, '--domain', DOMAIN, '--config', at.configFile, ...extra], {dataDir: at.dataDir})
const initJson = async (at: Installation, extra: string[] = []) => {
  const r = await init(at, [...extra, '--json'])
  if (r.code !== 0) throw new Error(`init exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout)
}

/** logs in over IMAPS and returns the subjects in INBOX; throws when the login fails */
async function inboxSubjects(port: number, user: string, pass: string): Promise<string[]> {
  const client = new ImapFlow({host: HOST, port, secure: true, auth: {user, pass}, tls: {rejectUnauthorized: false}, logger: false})
  await client.connect()
  try {
    const lock = await client.getMailboxLock('INBOX')
    try {
      const subjects: string[] = []
      if ((client.mailbox as {exists: number}).exists > 0) for await (const m of client.fetch('1:*', {envelope: true})) subjects.push(m.envelope?.subject ?? '')
      return subjects
    } finally {
      lock.release()
    }
  } finally {
    await client.logout().catch(() => undefined)
  }
}

async function loginFails(port: number, user: string, pass: string): Promise<boolean> {
  return inboxSubjects(port, user, pass).then(
    () => false,
    () => true,
  )
}

/** `serve --config` of an installation, on loopback with SMTP and IMAPS moved to free ports (the others off), for the time of `fn` */
async function serving(at: Installation, fn: (server: {smtp: number; imaps: number; output: () => string}) => Promise<void>): Promise<void> {
  const [smtp, imaps] = [await freePort(), await freePort()]
  const served = await startServe(at.dataDir, ['--config', at.configFile, '--bind', '127.0.0.1', '--smtp-port', String(smtp), '--imaps-port', String(imaps)], 30_000)
  try {
    await fn({smtp, imaps, output: served.output})
  } finally {
    await served.stop()
  }
}

const zoneLines = (text: string) => text.split('\n').filter((line) => line && !line.startsWith(';') && / IN /.test(line))

describe('mailbox init', () => {
  it('writes a config that config check accepts and serve starts with; the postmaster logs in; abuse@ reaches the postmaster; the records are those of domain dns', async () => {
    const at = fresh()
    const r = await initJson(at, IPS)
    expect(r.configFile).toBe(at.configFile)
    expect(r.unitFile).toBe(join(dirname(at.configFile), 'mailbox.service'))
    expect(r.postmaster).toBe(`postmaster@${DOMAIN}`)
    expect(r.password).toMatch(/^[A-Za-z0-9]{6}(-[A-Za-z0-9]{6}){3}$/)
    expect(r.aliasesAdded).toEqual([`abuse@${DOMAIN}`, `hostmaster@${DOMAIN}`, `dmarc-reports@${DOMAIN}`, `tls-reports@${DOMAIN}`])
    expect(r.next).toHaveLength(3)

    // the config: every address (:: as an IPv6 address is public), standard ports, TLS files, host name, addresses
    const check = await runCli(['config', 'check', '--config', at.configFile], {dataDir: at.dataDir})
    expect(check, check.stderr).toMatchObject({code: 0, stdout: `config OK: ${at.configFile}\n`})
    const shown = await runJson(['config', 'show', '--config', at.configFile], {dataDir: at.dataDir})
    expect(shown).toMatchObject({bind: '::', hostname: HOSTNAME, publicAddresses: ['192.0.2.25', '2001:db8::25'], tlsCert: r.tlsCert, tlsKey: r.tlsKey})
    expect(shown.ports).toMatchObject({smtp: 25, submission: 587, smtps: 465, imap: 143, imaps: 993, pop3: 110, pop3s: 995})
    // the password is in no file init wrote (only its argon2id hash is in the store)
    for (const file of [at.configFile, r.unitFile]) expect(readFileSync(file, 'utf8')).not.toContain(r.password)
    const unit = readFileSync(r.unitFile, 'utf8')
    expect(unit).toContain(`Environment=MAILBOX_DATA_DIR=${at.dataDir}`)
    expect(unit).toMatch(new RegExp(`^ExecStart=.* serve --config ${at.configFile}$`, 'm'))

    // the records: exactly what domain dns prints for this config, as JSON and as zone lines
    const dns = await runJson(['domain', 'dns', DOMAIN, '--config', at.configFile], {dataDir: at.dataDir})
    expect(r.records).toEqual(dns)
    expect(dns.map((record: {name: string}) => record.name)).toContain(HOSTNAME)
    expect(JSON.stringify(dns)).not.toContain('name no user or alias') // the report addresses take mail

    // serve with that config, its ports moved to free ones on loopback
    await serving(at, async ({smtp, imaps, output}) => {
      expect(output()).toContain(`"source":"${r.tlsCert}","msg":"tls certificate"`)
      expect(await inboxSubjects(imaps, r.postmaster, r.password)).toEqual([])
      expect(await loginFails(imaps, r.postmaster, `${r.password}x`)).toBe(true)
      await deliver(smtp, `abuse@${DOMAIN}`, simpleMessage({to: `abuse@${DOMAIN}`, subject: 'spam report'}))
      expect(await inboxSubjects(imaps, r.postmaster, r.password)).toEqual(['spam report'])
    })
  }, 90_000)

  it('prints the password once, the records as domain dns prints them, and three next commands', async () => {
    const at = fresh()
    const r = await init(at)
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('')
    const password = /^ {4}(\S+)$/m.exec(r.stdout)?.[1]
    expect(password).toMatch(/^[A-Za-z0-9-]{27}$/)
    expect(r.stdout.split(password!)).toHaveLength(2)
    const dns = await runCli(['domain', 'dns', DOMAIN, '--config', at.configFile], {dataDir: at.dataDir})
    expect(zoneLines(r.stdout)).toEqual(zoneLines(dns.stdout))
    expect(zoneLines(r.stdout).length).toBeGreaterThan(10)
    expect(r.stdout).toMatch(/\nnext:\n {2}1\. .+\n {2}2\. .+\n {2}3\. .+\n$/)
  }, 60_000)

  it("--acme-email turns ACME on with Let's Encrypt's production directory (config check accepts it); without it the section is there commented out", async () => {
    const on = fresh()
    const r = await init(on, ['--acme-email', `postmaster@${DOMAIN}`])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('TLS: certificates from https://acme-v02.api.letsencrypt.org/directory (ACME)')
    const shown = await runJson(['config', 'show', '--config', on.configFile], {dataDir: on.dataDir})
    expect(shown.acme).toMatchObject({directory: 'https://acme-v02.api.letsencrypt.org/directory', email: `postmaster@${DOMAIN}`})
    expect((await runCli(['config', 'check', '--config', on.configFile], {dataDir: on.dataDir})).code).toBe(0)
    const off = fresh()
    expect((await init(off)).code).toBe(0)
    expect(readFileSync(off.configFile, 'utf8')).toMatch(/^ {2}\/\/ "acme": \{"directory":"https:\/\/acme-v02\.api\.letsencrypt\.org\/directory"/m)
  }, 60_000)

  it('a second init refuses, naming every reason and changing nothing; --force sets up again with a new password', async () => {
    const at = fresh()
    const first = await initJson(at)
    const config = readFileSync(at.configFile, 'utf8')
    const before = await snapshot(at.dataDir)
    const again = await init(at)
    expect(again.code).toBe(1)
    expect(again.stdout).toBe('')
    expect(again.stderr.trimEnd().split('\n')).toEqual([
      `Error: config file ${at.configFile} exists: init does not overwrite it (give --force to replace it, or --config FILE for another place)`,
      `Error: unit file ${first.unitFile} exists: init does not overwrite it (give --force to replace it, or --config FILE for another place)`,
      `Error: the store in ${at.dataDir} already holds ${DOMAIN}: init sets up a new installation (mailbox domain add adds a domain to this one); --force sets up ${DOMAIN} in it anyway (existing records are kept, postmaster@${DOMAIN} gets a new password)`,
    ])
    expect(readFileSync(at.configFile, 'utf8')).toBe(config)
    expect(await snapshot(at.dataDir)).toEqual(before)
    // also another domain: the store is in use
    const other = await runCli(['init', '--hostname', 'mail.example.net', '--domain', 'example.net', '--config', join(dirname(at.configFile), 'other', 'mailbox.jsonc')], {dataDir: at.dataDir})
    expectOneLineError(other, new RegExp(`^Error: the store in ${at.dataDir} already holds ${DOMAIN}: `))

    const forced = await initJson(at, ['--force', '--ip', '192.0.2.26'])
    expect(forced).toMatchObject({domainCreated: false, postmasterCreated: false, aliasesAdded: [], aliasesKept: first.aliasesAdded})
    expect(forced.password).not.toBe(first.password)
    // the same DKIM keys (still published), the new address in the config
    expect(forced.records.filter((x: {kind: string}) => x.kind === 'dkim')).toEqual(first.records.filter((x: {kind: string}) => x.kind === 'dkim'))
    expect(readFileSync(at.configFile, 'utf8')).toContain('"publicAddresses": ["192.0.2.26"]')
    await serving(at, async ({imaps}) => {
      expect(await inboxSubjects(imaps, first.postmaster, forced.password)).toEqual([])
      expect(await loginFails(imaps, first.postmaster, first.password)).toBe(true)
    })
  }, 90_000)

  it('after a half-done init (store set up, no config file), a second init says why it refuses, and --force finishes it', async () => {
    const at = fresh()
    const first = await initJson(at)
    rmSync(at.configFile)
    rmSync(first.unitFile)
    const again = await init(at)
    expectOneLineError(
      again,
      new RegExp(`^Error: the store in ${at.dataDir} already holds ${DOMAIN}: .*; ${at.configFile} does not exist, so an earlier init may have stopped halfway: --force finishes it`),
    )
    const forced = await initJson(at, ['--force'])
    expect(forced).toMatchObject({domainCreated: false, postmasterCreated: false})
    expect((await runCli(['config', 'check', '--config', at.configFile], {dataDir: at.dataDir})).code).toBe(0)
  }, 60_000)

  it('a store step that fails (postmaster@ is an alias) writes no file and changes nothing in the store; fixed, --force goes through', async () => {
    const at = fresh()
    for (const args of [
      ['domain', 'add', DOMAIN],
      ['alias', 'add', `postmaster@${DOMAIN}`, 'admin@example.net'],
    ]) {
      expect((await runCli(args, {dataDir: at.dataDir})).code).toBe(0)
    }
    const before = await snapshot(at.dataDir)
    const failed = await init(at, ['--force'])
    expectOneLineError(failed, new RegExp(`^Error: postmaster@${DOMAIN} is an alias here: remove it \\(mailbox alias remove postmaster@${DOMAIN}\\) so init can make the postmaster user$`))
    expect(readdirSync(dirname(at.configFile))).toEqual([]) // neither the files nor their staged copies
    expect(await snapshot(at.dataDir)).toEqual(before)
    expect((await runCli(['alias', 'remove', `postmaster@${DOMAIN}`], {dataDir: at.dataDir})).code).toBe(0)
    const r = await initJson(at, ['--force'])
    expect(r).toMatchObject({domainCreated: false, postmasterCreated: true})
    expect(readdirSync(dirname(at.configFile)).sort()).toEqual(['mailbox.jsonc', 'mailbox.service'])
  }, 60_000)

  it('a config file that cannot be written leaves the store without the domain, so the next init needs no --force', async () => {
    const at = fresh()
    mkdirSync(dirname(at.configFile), {recursive: true})
    const blocked = join(dirname(at.configFile), 'blocked')
    writeFileSync(blocked, 'a file where a directory should be')
    const failed = await runCli(['init', '--hostname', HOSTNAME, '--domain', DOMAIN, '--config', join(blocked, 'mailbox.jsonc')], {dataDir: at.dataDir})
    expectOneLineError(failed, /^Error: cannot create the config directory .*blocked: (EEXIST|ENOTDIR)$/)
    expect((await runJson(['domain', 'list'], {dataDir: at.dataDir}).catch(() => [])).length).toBe(0)
    const r = await initJson(at)
    expect(r.domainCreated).toBe(true)
  }, 60_000)

  it.each([
    [['--hostname', '192.0.2.25', '--domain', DOMAIN], /^Error: invalid --hostname "192\.0\.2\.25": not a fully qualified host name \(e\.g\. mail\.example\.com\)$/],
    [['--hostname', 'mail', '--domain', DOMAIN], /^Error: invalid --hostname "mail": not a fully qualified host name/],
    [['--hostname', 'bad host.example.com', '--domain', DOMAIN], /^Error: invalid --hostname "bad host\.example\.com": /],
    [['--hostname', HOSTNAME, '--domain', 'not a domain'], /^Error: invalid --domain "not a domain": not a fully qualified domain name/],
    [['--hostname', HOSTNAME, '--domain', 'com'], /^Error: invalid --domain "com": /],
    [['--hostname', HOSTNAME, '--domain', 'user@example.com'], /^Error: invalid --domain "user@example\.com": /],
    [['--hostname', HOSTNAME, '--domain', DOMAIN, '--ip', 'fe80::1%eth0'], /^Error: invalid --ip "fe80::1%eth0": not an IPv4 or IPv6 address$/],
  ])('%j is refused, writing nothing', async (args, pattern) => {
    const at = fresh()
    const r: CliResult = await runCli(['init', ...args, '--config', at.configFile], {dataDir: at.dataDir})
    expectOneLineError(r, pattern)
    expect(existsSync(at.dataDir)).toBe(false)
    expect(existsSync(dirname(at.configFile))).toBe(false)
  })

  it('without --hostname or --domain: a usage error (exit 2)', async () => {
    const at = fresh()
    const r = await runCli(['init', '--domain', DOMAIN, '--config', at.configFile], {dataDir: at.dataDir})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/hostname/)
    expect(existsSync(at.dataDir)).toBe(false)
  })
})
