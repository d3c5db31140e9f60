/**
 * Certificates from a real ACME server (issue 22): Debian's pebble, with pebble-challtestsrv as
 * its DNS answering 127.0.0.1 for every name (test/helpers/pebble.ts), against a real
 * `mailbox serve`. Checked from outside as a client sees it: `openssl s_client` on IMAPS with the
 * name as SNI, whose issuer must be pebble's intermediate and whose serial changes after
 * `mailbox cert renew` without a restart; pebble's own log counts the orders (none after a
 * restart that finds its certificate kept); a failing order is retried with backoff and shows in
 * `mailbox status`.
 */
import {spawnSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {X509Certificate} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {pebbleAvailable, startPebble, type Pebble} from '../helpers/pebble.js'
import {until} from '../helpers/until.js'

const available = pebbleAvailable()
const HOST = 'mail.acme-test.example'

let pebble: Pebble | undefined
let served: Served | undefined
afterEach(async () => {
  await served?.stop()
  served = undefined
  await pebble?.stop()
  pebble = undefined
})

/** what a TLS client on 127.0.0.1:port asking for `servername` is served: the leaf's issuer CN and serial */
function servedCertificate(port: number, servername: string): {issuer: string; serial: string} {
  const r = spawnSync('sh', ['-c', `openssl s_client -connect 127.0.0.1:${port} -servername ${servername} </dev/null 2>/dev/null | openssl x509 -noout -issuer -serial -nameopt multiline,-esc_msb,utf8`], {encoding: 'utf8', timeout: 20_000})
  const issuer = /commonName\s*=\s*(.+)/.exec(r.stdout)?.[1]?.trim()
  const serial = /serial=([0-9A-F]+)/i.exec(r.stdout)?.[1]?.toLowerCase()
  if (!issuer || !serial) throw new Error(`openssl s_client on ${port} for ${servername}: ${r.stdout} ${r.stderr}`)
  return {issuer, serial: serial.replace(/^0+/, '')}
}

const commonName = (pem: string) => /CN=([^\n,]+)/.exec(new X509Certificate(pem).subject)![1]!
const obtained = (s: Served) => s.output().split('\n').filter((l) => l.includes('"msg":"certificate obtained"')).length
const failed = (s: Served) => s.output().split('\n').filter((l) => l.includes('"msg":"certificate order failed"'))
const acmeStatus = async (dataDir: string) => (await runJson(['status'], {dataDir})).acme as {names: {name: string; state: string; failures: number; lastError?: string; nextAttemptAt?: number}[]}

describe.skipIf(missingOutsideCi(available))('ACME against pebble', () => {
  it('TLS-ALPN-01 on the HTTPS port: issued, served on IMAPS by SNI, renewed by `cert renew` without a restart, kept across a restart without a new order', async () => {
    requireInCi(available, 'pebble and pebble-challtestsrv (Debian package pebble)')
    const [https, imaps] = [await freePort(), await freePort()]
    pebble = await startPebble({httpPort: await freePort(), tlsPort: https})
    const dataDir = tempDataDir()
    const args = ['--hostname', HOST, '--https-port', String(https), '--http-port', '0', '--imaps-port', String(imaps), '--acme-directory', pebble.directory, '--acme-ca-file', pebble.caFile, '--acme-email', 'postmaster@acme-test.example']
    served = await startServe(dataDir, args)
    const s = served
    await until(() => obtained(s) === 1, 60_000)
    const intermediate = commonName(await pebble.intermediate())
    const first = servedCertificate(imaps, HOST)
    expect(first.issuer).toBe(intermediate)
    // answered on the HTTPS port: the HTTP port is off, and pebble never tried HTTP-01
    expect(s.output()).toContain('"challenge":"tls-alpn-01"')
    expect(pebble.log()).not.toMatch(/validate w\/ HTTP/)
    expect(pebble.orders()).toBe(1)

    const renewed = await runJson(['cert', 'renew'], {dataDir})
    expect(renewed).toEqual([expect.objectContaining({name: HOST, ok: true})])
    expect(renewed[0].serial).not.toBe(first.serial)
    const second = servedCertificate(imaps, HOST)
    expect(second).toEqual({issuer: intermediate, serial: renewed[0].serial.replace(/^0+/, '')})
    expect(pebble.orders()).toBe(2)
    // the account registered at the first order (its key kept in the store) ordered the second
    expect(pebble.log()).toContain('There are now 1 accounts in memory')
    expect(pebble.log()).not.toContain('There are now 2 accounts')
    expect((await acmeStatus(dataDir)).names).toEqual([expect.objectContaining({name: HOST, state: 'valid', failures: 0})])

    // a restart: the kept certificate serves, and the check finds it valid without ordering
    expect(await served.stop()).toBe(0)
    served = await startServe(dataDir, args)
    await until(async () => (await acmeStatus(dataDir)).names.some((n) => n.state === 'valid'), 20_000)
    expect(servedCertificate(imaps, HOST)).toEqual(second)
    expect(pebble.orders()).toBe(2)
    expect(obtained(served)).toBe(0)
    expect((await runJson(['cert', 'renew', HOST], {dataDir}))[0]).toMatchObject({ok: true})
    expect(pebble.log()).not.toContain('There are now 2 accounts')
  }, 120_000)

  it("HTTP-01 on the HTTP port: the host name and each local domain's mta-sts. and autoconfig. names, each its own certificate", async () => {
    requireInCi(available, 'pebble and pebble-challtestsrv (Debian package pebble)')
    const [http, imaps] = [await freePort(), await freePort()]
    pebble = await startPebble({httpPort: http, tlsPort: await freePort()})
    const dataDir = tempDataDir()
    expect((await runCli(['domain', 'add', 'acme-test.example'], {dataDir})).code).toBe(0)
    served = await startServe(dataDir, ['--hostname', HOST, '--http-port', String(http), '--https-port', '0', '--imaps-port', String(imaps), '--acme-directory', pebble.directory, '--acme-ca-file', pebble.caFile])
    const s = served
    await until(() => obtained(s) === 3, 90_000)
    expect(pebble.log()).toMatch(/validate w\/ HTTP/)
    const intermediate = commonName(await pebble.intermediate())
    const serials = new Set<string>()
    for (const name of [HOST, 'mta-sts.acme-test.example', 'autoconfig.acme-test.example']) {
      const seen = servedCertificate(imaps, name)
      expect(seen.issuer, name).toBe(intermediate)
      serials.add(seen.serial)
    }
    expect(serials.size).toBe(3)
  }, 120_000)

  it('an order that fails (the challenge port unreachable) is logged, retried with a growing wait, and shown in status; `cert renew` says it failed', async () => {
    requireInCi(available, 'pebble and pebble-challtestsrv (Debian package pebble)')
    const [http, nowhere] = [await freePort(), await freePort()]
    // pebble validates HTTP-01 on a port where nothing listens
    pebble = await startPebble({httpPort: nowhere, tlsPort: await freePort()})
    const dataDir = tempDataDir()
    const config = join(dirname(dataDir), 'mailbox.jsonc')
    writeFileSync(config, JSON.stringify({acme: {directory: pebble.directory, caFile: pebble.caFile, challenge: 'http-01', retryMinMs: 1000, retryMaxMs: 4000}}))
    served = await startServe(dataDir, ['--config', config, '--hostname', HOST, '--http-port', String(http), '--https-port', '0'])
    const s = served
    await until(() => failed(s).length >= 2, 60_000)
    const [one, two] = failed(s).map((line) => JSON.parse(line) as {name: string; failures: number; error: string; nextAttemptAt: string; time?: string})
    expect(one).toMatchObject({name: HOST, failures: 1})
    expect(two).toMatchObject({name: HOST, failures: 2})
    expect(one!.error).toMatch(/connect|refused|connection/i)
    const status = await acmeStatus(dataDir)
    expect(status.names).toEqual([expect.objectContaining({name: HOST, state: expect.stringMatching(/failed|ordering/), lastError: expect.any(String)})])
    expect(status.names[0]!.failures).toBeGreaterThanOrEqual(2)
    const human = await runCli(['status'], {dataDir})
    expect(human.stdout).toMatch(new RegExp(`${HOST.replaceAll('.', '\\.')}\\s+(failed|ordering)`))

    const renew = await runCli(['cert', 'renew', HOST], {dataDir})
    expect(renew.code).toBe(1)
    expect(renew.stdout).toContain(`${HOST}: failed:`)
  }, 120_000)
})

describe('mailbox cert renew without ACME', () => {
  it('refuses clearly when no server runs, and when the server runs without ACME', async () => {
    const dataDir = tempDataDir()
    expect((await runCli(['domain', 'add', 'example.com'], {dataDir})).code).toBe(0)
    const stopped = await runCli(['cert', 'renew'], {dataDir})
    expect(stopped.code).toBe(1)
    expect(stopped.stderr).toMatch(/^Error: no server is running on .*: certificates are ordered by `mailbox serve`/m)
    served = await startServe(dataDir, [])
    const off = await runCli(['cert', 'renew'], {dataDir})
    expect(off.code).toBe(1)
    expect(off.stderr).toMatch(/^Error: ACME is off on this server/m)
  }, 60_000)
})
