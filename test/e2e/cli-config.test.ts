/**
 * The config file as an admin meets it: `serve --config` with a typo stops at start with one line
 * per problem naming the file and the key and leaves nothing behind; `config check` and
 * `config show` (secrets redacted); `--route` and config `routes` checked at start.
 */
import {existsSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ROOT, runCli, startServe, tempDataDir, type CliResult} from '../helpers/cli.js'
import {expectOneLineError} from './fixtures.js'

const PORTS_OFF = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'].flatMap((p) => [`--${p}-port`, '0'])
const EXAMPLE = join(ROOT, 'docs', 'mailbox.example.jsonc')

/** a config file next to a fresh (not yet existing) data dir */
function configFile(content: unknown, name = 'mailbox.json'): {dataDir: string; path: string} {
  const dataDir = tempDataDir()
  const path = join(dirname(dataDir), name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return {dataDir, path}
}

/** runs a command that must not hang: serve refusing its config exits by itself */
function within(p: Promise<CliResult>, ms = 20_000): Promise<CliResult> {
  return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`did not finish within ${ms} ms`)), ms))])
}

const errorLines = (r: CliResult) => r.stderr.replace(/\n$/, '').split('\n')

describe('serve with a bad config file', () => {
  it('exits 1 with one line per problem naming the file and key path, and creates nothing', async () => {
    const {dataDir, path} = configFile({prots: {smtp: 25}, ports: {smpt: 25}, queue: {retry: {maxLifetimeMs: -5}}})
    const r = await within(runCli(['serve', ...PORTS_OFF, '--config', path], {dataDir}))
    expect(r.code, r.stderr).toBe(1)
    expect(r.stdout).toBe('')
    expect(errorLines(r)).toEqual([
      `Error: ${path}: prots: unknown key (did you mean ports?)`,
      `Error: ${path}: ports.smpt: unknown key (did you mean ports.smtp?)`,
      `Error: ${path}: queue.retry.maxLifetimeMs: must be an integer (ms) of at least 1 (got -5)`,
    ])
    // refused before anything started: no store, no pid file, no control socket
    expect(existsSync(dataDir)).toBe(false)
  })

  it('a config file that is not JSON is one line naming the file', async () => {
    const {dataDir, path} = configFile('{"bind": "0.0.0.0",}')
    const r = await within(runCli(['serve', ...PORTS_OFF, '--config', path], {dataDir}))
    expectOneLineError(r, new RegExp(`^Error: ${path}: not valid JSON: `))
    expect(existsSync(dataDir)).toBe(false)
  })

  it('a bad route in the config file is refused at start, its password not shown', async () => {
    const {dataDir, path} = configFile({routes: {'example.net': 'user:hunter2@127.0.0.1:99999'}})
    const r = await within(runCli(['serve', ...PORTS_OFF, '--config', path], {dataDir}))
    expectOneLineError(r, new RegExp(`^Error: ${path}: routes\\["example.net"\\]: invalid port in "127.0.0.1:99999"$`))
    expect(r.stderr).not.toContain('hunter2')
    expect(existsSync(dataDir)).toBe(false)
  })
})

describe('serve --route', () => {
  // every refusal's message: test/unit/route.test.ts (parseRouteSpecs); here the binary's side of one
  it('a bad route: exit 1 at start with one line naming it (its password not shown), nothing created', async () => {
    const dataDir = tempDataDir()
    const r = await within(runCli(['serve', ...PORTS_OFF, '--route', 'example.net=u:hunter2@127.0.0.1:70000'], {dataDir}))
    expectOneLineError(r, /^Error: invalid --route "example.net=127.0.0.1:70000": invalid port in "127.0.0.1:70000"$/)
    expect(r.stderr).not.toContain('hunter2')
    expect(existsSync(dataDir)).toBe(false)
  })

  it('good routes, user:pass@ credentials included, still start the server', async () => {
    const dataDir = tempDataDir()
    const served = await startServe(dataDir, ['--route', 'Example.NET=127.0.0.1:2626', '--route', 'example.org=user:pa%40ss@[::1]:2525', '--route', 'example.com=mx.example.com'])
    expect(await served.stop()).toBe(0)
  }, 45_000)
})

describe('mailbox config check', () => {
  it('a good file: exit 0 and "config OK: FILE"', async () => {
    const {path} = configFile('// comments are fine\n{"queue": {"retry": {"maxLifetimeMs": 3600000}}, /* so is this */ "routes": {"example.net": "127.0.0.1:2626"}}\n')
    const r = await runCli(['config', 'check', '--config', path])
    expect(r).toEqual({code: 0, stdout: `config OK: ${path}\n`, stderr: ''})
  })

  it('the shipped example is a good file', async () => {
    const r = await runCli(['config', 'check', '--config', EXAMPLE])
    expect(r).toEqual({code: 0, stdout: `config OK: ${EXAMPLE}\n`, stderr: ''})
  })

  it('a bad file: every problem on its own Error line, exit 1', async () => {
    const {path} = configFile({logLevel: 'verbose', smtp: {maxConnections: 0, maxMesageSize: 1}, capture: 'yes'})
    const r = await runCli(['config', 'check', '--config', path])
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(errorLines(r)).toEqual([
      `Error: ${path}: logLevel: must be one of trace, debug, info, warn, error, silent (got "verbose")`,
      `Error: ${path}: smtp.maxConnections: must be an integer from 1 to 1000000 (got 0)`,
      `Error: ${path}: smtp.maxMesageSize: unknown key (did you mean smtp.maxMessageSize?)`,
      `Error: ${path}: capture: must be true or false (got "yes")`,
    ])
  })

  it('also checks what serve would only find at start: a relay user without a password, unreadable TLS files', async () => {
    const {path} = configFile({relay: {host: 'relay.example:587', user: 'mailer'}})
    const r = await runCli(['config', 'check', '--config', path], {env: {MAILBOX_RELAY_PASSWORD: ''}})
    expectOneLineError(r, /^Error: relay user "mailer" has no password/)
    const tls = configFile({tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem'})
    expectOneLineError(await runCli(['config', 'check', '--config', tls.path]), /^Error: cannot read TLS file \/nonexistent\/cert.pem: ENOENT$/)
  })

  it('a missing file is one line naming it', async () => {
    const r = await runCli(['config', 'check', '--config', '/nonexistent/mailbox.json'])
    expectOneLineError(r, /^Error: cannot read config file \/nonexistent\/mailbox.json: ENOENT$/)
  })
})

describe('mailbox config show', () => {
  const secrets = {
    relay: {host: 'mailer:relay-s3cret@relay.example:587'},
    routes: {'example.net': 'u:route-s3cret@127.0.0.1:2626'},
    queue: {retry: {maxLifetimeMs: 3_600_000}},
  }

  it('--json: the effective configuration (defaults, file, environment) with secrets redacted', async () => {
    const {dataDir, path} = configFile(secrets)
    const r = await runCli(['config', 'show', '--config', path, '--json'], {dataDir, env: {MAILBOX_MATCHER_TOKEN: 'env-token-s3cret-0123456789'}})
    expect(r.code, r.stderr).toBe(0)
    const shown = JSON.parse(r.stdout)
    expect(shown.relay).toEqual({insecure: false, host: 'mailer:(redacted)@relay.example:587'})
    expect(shown.routes).toEqual({'example.net': 'u:(redacted)@127.0.0.1:2626'})
    expect(shown.matcher.token).toBe('(redacted)')
    // deep merge: the default schedule is kept beside the one key set
    expect(shown.queue.retry).toEqual({scheduleMs: [60000, 300000, 900000, 1800000, 3600000, 7200000, 14400000], maxLifetimeMs: 3_600_000})
    expect(shown.ports.smtp).toBe(2525)
    expect(shown.dataDir).toBe(dataDir)
    expect(r.stdout).not.toContain('s3cret')
    expect(existsSync(dataDir)).toBe(false) // showing reads no store
  })

  it('without --json: postconf-style key = value lines, secrets redacted', async () => {
    const {path} = configFile(secrets)
    const r = await runCli(['config', 'show', '--config', path])
    expect(r.code, r.stderr).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines).toEqual(
      expect.arrayContaining([
        'relay.host = mailer:(redacted)@relay.example:587',
        'routes["example.net"] = u:(redacted)@127.0.0.1:2626',
        'queue.retry.maxLifetimeMs = 3600000',
        'ports.smtp = 2525',
        'logLevel = info',
      ]),
    )
    expect(r.stdout).not.toContain('s3cret')
  })

  it('a bad file is refused the same way as by check', async () => {
    const {path} = configFile({prots: {}})
    expectOneLineError(await runCli(['config', 'show', '--config', path]), new RegExp(`^Error: ${path}: prots: unknown key \\(did you mean ports\\?\\)$`))
  })
})
