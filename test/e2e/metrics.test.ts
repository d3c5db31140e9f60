/**
 * The monitoring listener of `serve` (src/metrics/): real traffic through real clients, then a
 * scrape of /metrics parsed by a Prometheus text-format parser from npm
 * (parse-prometheus-text-format), and every counter checked against what the traffic did.
 *
 * That parser merges the samples of a histogram *with labels* into one (it keeps the buckets of
 * the last label set and drops their sums and counts), so the per-command IMAP histogram is read
 * with the Prometheus project's own Python parser (prometheus_client, Debian's
 * python3-prometheus-client) from the same scrape; the unlabeled commit histogram is read by both.
 *
 * Also: /healthz 200, then 503 naming the store while its commits fail (a file size limit on the
 * running server, as test/e2e/store-commit-failure.test.ts), and 200 again; off by default; a
 * listener beyond loopback without a token refuses to start; with a token, 401 without it.
 */
import {execFileSync} from 'node:child_process'
import {statSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {join} from 'node:path'
import {ImapFlow} from 'imapflow'
import nodemailer from 'nodemailer'
import parsePrometheusTextFormat, {type PromFamily} from 'parse-prometheus-text-format'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {storePath} from '../../src/store/store.js'
import {onPostgres} from '../helpers/backend.js'
import {missingOutsideCi, onPath, pythonWith, requireInCi} from '../helpers/ci.js'
import {freePort, runCli, runJson, startServe, tempDataDir} from '../helpers/cli.js'
import {HOST, deliver, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {RawPop3} from './pop3-helpers.js'


const PYTHON = pythonWith('prometheus_client')
const PARSE_PY = `
import sys, json
from prometheus_client.parser import text_string_to_metric_families
# every family parses; the one named is printed (others may hold NaN, which JSON has not)
families = list(text_string_to_metric_families(sys.stdin.read()))
print(json.dumps({f.name: {'type': f.type, 'samples': [[s.name, s.labels, s.value] for s in f.samples]} for f in families if f.name == sys.argv[1]}))
`

async function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{status: number; text: string; type: string | null}> {
  const res = await fetch(`http://${HOST}:${port}${path}`, {method, headers})
  return {status: res.status, text: await res.text(), type: res.headers.get('content-type')}
}

class Scrape {
  readonly families: Map<string, PromFamily>

  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]))
  }

  /** the sample of `name` whose labels include `labels` (0 when absent) */
  value(name: string, labels: Record<string, string> = {}): number {
    const family = this.families.get(name)
    const sample = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
    return sample?.value === undefined ? 0 : Number(sample.value)
  }
}

async function scrape(port: number, headers: Record<string, string> = {}): Promise<Scrape> {
  const res = await get(port, '/metrics', headers)
  expect(res.status).toBe(200)
  expect(res.type).toMatch(/^text\/plain; version=0\.0\.4/)
  return new Scrape(res.text)
}

async function until<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v).slice(0, 500)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** an SMTP transaction's refusal code, or undefined when it was accepted */
async function sendRefused(options: Parameters<typeof nodemailer.createTransport>[0], from: string, to: string): Promise<number | undefined> {
  const transport = nodemailer.createTransport(options)
  try {
    await transport.sendMail({envelope: {from, to: [to]}, raw: simpleMessage({subject: 'x', from, to})})
    return undefined
  } catch (err) {
    return (err as {responseCode?: number}).responseCode ?? -1
  } finally {
    transport.close()
  }
}

describe('metrics and health over HTTP', () => {
  let server: ImapServer
  let metricsPort: number
  let submission: number

  beforeAll(async () => {
    metricsPort = await freePort()
    submission = await freePort()
    const dead = await freePort() // nothing listens: outbound mail to dead.test is deferred
    server = await startImapServer({
      pop3: true,
      config: {pop3: {maxConnectionsPerIp: 1}},
      args: ['--metrics-port', String(metricsPort), '--submission-port', String(submission), '--route', `dead.test=127.0.0.1:${dead}`],
    })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('counters move as the traffic says; histograms have buckets, sum and count', async () => {
    const {ports, users} = server
    const alice = users[0]!
    const before = await scrape(metricsPort)
    expect(before.value('mailbox_messages_received_total')).toBe(0)
    // every family is there from the start, with its type
    for (const [name, type] of Object.entries({
      mailbox_connections: 'GAUGE',
      mailbox_connections_total: 'COUNTER',
      mailbox_connections_refused_total: 'COUNTER',
      mailbox_messages_received_total: 'COUNTER',
      mailbox_messages_delivered_total: 'COUNTER',
      mailbox_messages_deferred_total: 'COUNTER',
      mailbox_queue_messages: 'GAUGE',
      mailbox_queue_waiting_messages: 'GAUGE',
      mailbox_store_size_bytes: 'GAUGE',
      mailbox_store_commit_duration_seconds: 'HISTOGRAM',
      mailbox_imap_command_duration_seconds: 'HISTOGRAM',
      mailbox_auth_throttled_addresses: 'GAUGE',
      process_cpu_seconds_total: 'COUNTER',
      nodejs_heap_size_total_bytes: 'GAUGE',
    })) {
      expect(before.families.get(name)?.type, name).toBe(type)
    }

    // SMTP: two messages in, a relay attempt and an unknown user refused, a bad AUTH, then a
    // submission to a domain whose next hop is dead (deferred)
    await deliver(ports.smtp, alice.address, simpleMessage({subject: 'one'}))
    await deliver(ports.smtp, alice.address, simpleMessage({subject: 'two'}))
    const mx = {host: HOST, port: ports.smtp, secure: false, ignoreTLS: true}
    expect(await sendRefused(mx, 'someone@remote.test', 'victim@elsewhere.test')).toBe(550)
    expect(await sendRefused(mx, 'someone@remote.test', 'nobody@example.test')).toBe(550)
    const sub = {host: HOST, port: submission, secure: false, ignoreTLS: true}
    // bob's: alice's own typo would be forgiven by her next login from here (src/auth/throttle.ts)
    expect(await sendRefused({...sub, auth: {user: users[1]!.address, pass: 'wrong'}}, users[1]!.address, 'x@dead.test')).toBe(535)
    expect(await sendRefused({...sub, auth: {user: alice.address, pass: alice.password}}, alice.address, 'x@dead.test')).toBeUndefined()

    // IMAP (imapflow): login, select, fetch
    const imap = new ImapFlow({host: HOST, port: ports.imap, secure: false, doSTARTTLS: false, auth: {user: alice.address, pass: alice.password}, logger: false, disableAutoIdle: true})
    await imap.connect()
    const lock = await imap.getMailboxLock('INBOX')
    const subjects: string[] = []
    try {
      for await (const m of imap.fetch('1:*', {envelope: true})) subjects.push(m.envelope?.subject ?? '')
      for await (const m of imap.fetch('1:*', {flags: true}, {uid: true})) expect(m.uid).toBeGreaterThan(0)
    } finally {
      lock.release()
    }
    await imap.logout()
    expect(subjects).toEqual(['one', 'two'])

    // POP3 (raw): a session, and a second one at once over the per-IP limit of 1
    const pop3 = await RawPop3.open(ports.pop3!)
    expect(await pop3.login(alice.address, alice.password)).toMatch(/^\+OK/)
    const refusedLine = await new Promise<string>((resolve, reject) => {
      const s = connect(ports.pop3!, HOST)
      let got = ''
      s.on('data', (d) => (got += d))
      s.on('close', () => resolve(got))
      s.on('error', reject)
    })
    expect(refusedLine).toMatch(/^-ERR/)
    await pop3.quit()

    const after = await until(
      'the deferred delivery and the closed sessions',
      () => scrape(metricsPort),
      (s) => s.value('mailbox_messages_deferred_total') >= 1 && s.value('mailbox_connections', {protocol: 'pop3'}) === 0 && s.value('mailbox_connections', {protocol: 'imap'}) === 0,
    )
    const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels)

    // messages: 2 to alice + 1 submitted; 2 stored locally; 1 deferred, still queued
    expect(moved('mailbox_messages_received_total')).toBe(3)
    expect(moved('mailbox_messages_delivered_total', {destination: 'local'})).toBe(2)
    expect(moved('mailbox_messages_delivered_total', {destination: 'remote'})).toBe(0)
    expect(moved('mailbox_messages_deferred_total')).toBe(1)
    expect(after.value('mailbox_messages_rejected_total', {stage: 'rcpt', reason: 'relayDenied'})).toBe(1)
    expect(after.value('mailbox_messages_rejected_total', {stage: 'rcpt', reason: 'unknownUser'})).toBe(1)
    expect(after.value('mailbox_queue_messages', {state: 'deferred'})).toBe(1)
    expect(after.value('mailbox_queue_waiting_messages', {age: '0-5m'})).toBe(1)

    // connections: 4 SMTP (2 deliveries, 2 refused transactions) + 2 submission; 1 IMAP; 2 POP3, 1 of them refused
    expect(moved('mailbox_connections_total', {protocol: 'smtp'})).toBe(6)
    expect(moved('mailbox_connections_total', {protocol: 'imap'})).toBe(1)
    expect(moved('mailbox_connections_total', {protocol: 'pop3'})).toBe(2)
    expect(moved('mailbox_connections_refused_total', {protocol: 'pop3'})).toBe(1)
    expect(moved('mailbox_connections_refused_total', {protocol: 'smtp'})).toBe(0)

    // logins: one bad and one good over SMTP, one over IMAP, one over POP3; the bad one's source is slowed
    expect(after.value('mailbox_auth_failures_total', {protocol: 'smtp', reason: 'bad-credentials'})).toBe(1)
    expect(after.value('mailbox_auth_successes_total', {protocol: 'smtp'})).toBe(1)
    expect(after.value('mailbox_auth_successes_total', {protocol: 'imap'})).toBe(1)
    expect(after.value('mailbox_auth_successes_total', {protocol: 'pop3'})).toBe(1)
    expect(after.value('mailbox_auth_throttled_addresses', {state: 'slowed'})).toBe(1)
    expect(after.value('mailbox_auth_throttled_addresses', {state: 'blocked'})).toBe(0)

    // the store: its size, and on LMDB its free pages
    expect(after.value('mailbox_store_size_bytes')).toBeGreaterThan(0)
    expect(after.families.has('mailbox_store_free_pages')).toBe(!onPostgres)
    if (!onPostgres) expect(after.value('mailbox_store_page_size_bytes')).toBe(4096)

    // the unlabeled commit histogram, by the npm parser: buckets up to +Inf, which equals the count
    const commits = after.families.get('mailbox_store_commit_duration_seconds')!.metrics[0]!
    expect(Object.keys(commits.buckets!)).toContain('+Inf')
    expect(Number(commits.count)).toBeGreaterThanOrEqual(3)
    expect(Number(commits.buckets!['+Inf'])).toBe(Number(commits.count))
    expect(Number(commits.sum)).toBeGreaterThan(0)
  })

  it('a queue entry failed by the admin counts as failed, and its bounce as bounced and delivered to the sender', async () => {
    const before = await scrape(metricsPort)
    const [entry] = (await runJson<{id: string; state: string}[]>(['queue', 'list', '--json'], {dataDir: server.dataDir})).filter((e) => e.state === 'deferred')
    expect(entry).toBeDefined()
    const failed = await runCli(['queue', 'fail', entry!.id], {dataDir: server.dataDir})
    expect(failed.code, failed.stderr).toBe(0)
    const after = await until('the failure and its bounce', () => scrape(metricsPort), (s) => s.value('mailbox_messages_bounced_total') >= 1)
    const moved = (name: string, labels: Record<string, string> = {}) => after.value(name, labels) - before.value(name, labels)
    expect(moved('mailbox_messages_failed_total')).toBe(1)
    expect(moved('mailbox_messages_bounced_total')).toBe(1)
    expect(moved('mailbox_messages_delivered_total', {destination: 'local'})).toBe(1) // the bounce, to alice
    expect(after.value('mailbox_queue_messages', {state: 'deferred'})).toBe(0)
    expect(after.value('mailbox_queue_messages', {state: 'failed'})).toBe(1)
    expect(after.value('mailbox_queue_waiting_messages', {age: '0-5m'})).toBe(0)
  })

  it.skipIf(missingOutsideCi(PYTHON !== undefined))('IMAP command latency: a histogram per command (the reference parser)', async () => {
    requireInCi(PYTHON !== undefined, 'python3 with prometheus_client (python3-prometheus-client) is needed')
    const {text} = await get(metricsPort, '/metrics')
    const parsed = JSON.parse(execFileSync(PYTHON!, ['-c', PARSE_PY, 'mailbox_imap_command_duration_seconds'], {input: text, encoding: 'utf8'})) as Record<string, {type: string; samples: [string, Record<string, string>, number][]}>
    const imap = parsed['mailbox_imap_command_duration_seconds']!
    expect(imap.type).toBe('histogram')
    const of = (command: string, suffix: string) => imap.samples.filter(([name, labels]) => name === `mailbox_imap_command_duration_seconds${suffix}` && labels.command === command)
    const commands = new Set(imap.samples.map(([, labels]) => labels.command))
    // imapflow logs in with AUTHENTICATE PLAIN when offered
    for (const command of ['AUTHENTICATE', 'SELECT', 'LOGOUT']) {
      const count = of(command, '_count')
      expect(count, `${command} in ${[...commands].join(', ')}`).toHaveLength(1)
      expect(count[0]![2]).toBeGreaterThanOrEqual(1)
      const buckets = of(command, '_bucket')
      expect(buckets.map(([, labels]) => labels.le)).toContain('+Inf')
      expect(buckets.find(([, labels]) => labels.le === '+Inf')![2]).toBe(count[0]![2])
      expect(of(command, '_sum')).toHaveLength(1)
    }
    // the UID form apart
    expect(of('FETCH', '_count')[0]?.[2]).toBe(1)
    expect(of('UID FETCH', '_count')[0]?.[2]).toBe(1)
    expect(imap.samples.some(([, labels]) => labels.command === 'IDLE')).toBe(false)
  })

  it('healthz is 200; anything but GET /metrics and /healthz is 404', async () => {
    expect(await get(metricsPort, '/healthz')).toMatchObject({status: 200, text: 'ok\n'})
    expect((await get(metricsPort, '/')).status).toBe(404)
    expect((await get(metricsPort, '/metrics/x')).status).toBe(404)
    expect((await get(metricsPort, '/metrics', {}, 'POST')).status).toBe(404)
  })
})

describe('health when the store fails', () => {
  const hasPrlimit = onPath('prlimit')
  it.skipIf(onPostgres || missingOutsideCi(hasPrlimit))('healthz is 503 naming the store while its commits fail, and 200 once they succeed again', async () => {
    requireInCi(hasPrlimit, 'prlimit (util-linux) is needed for this test')
    const metricsPort = await freePort()
    const server = await startImapServer({args: ['--metrics-port', String(metricsPort)]})
    const pid = String(server.served.pid)
    const long = Array.from({length: 8000}, (_, i) => `line ${i} of a long letter`).join('\r\n')
    try {
      await deliver(server.ports.smtp, 'alice@example.test', simpleMessage({subject: 'fits'}))
      expect((await get(metricsPort, '/healthz')).status).toBe(200)
      // the store file may not grow from here on: the next commit that needs new pages fails
      execFileSync('prlimit', ['--pid', pid, `--fsize=${statSync(storePath(server.dataDir)).size}:`])
      const refused = await sendRefusedRaw(server.ports.smtp, simpleMessage({subject: 'lost', body: long}))
      expect(refused).toBe(451)
      const sick = await get(metricsPort, '/healthz')
      expect(sick.status).toBe(503)
      expect(sick.text).toMatch(/^store: the last commit failed/m)
      expect((await scrape(metricsPort)).value('mailbox_store_commit_failures_total')).toBeGreaterThanOrEqual(1)

      execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:'])
      await deliver(server.ports.smtp, 'alice@example.test', simpleMessage({subject: 'after'}))
      expect(await get(metricsPort, '/healthz')).toMatchObject({status: 200, text: 'ok\n'})
    } finally {
      await server.stop()
    }
  })
})

/** a long message to alice through the MX: its refusal code, or undefined when accepted */
function sendRefusedRaw(port: number, raw: string): Promise<number | undefined> {
  const transport = nodemailer.createTransport({host: HOST, port, secure: false, ignoreTLS: true})
  return transport
    .sendMail({envelope: {from: 'sender@remote.test', to: ['alice@example.test']}, raw})
    .then(
      () => undefined,
      (err: {responseCode?: number}) => err.responseCode ?? -1,
    )
    .finally(() => transport.close())
}

describe('who may read it', () => {
  it('is off by default: serve opens no metrics port, lists no metrics listener, and loads no prom-client', async () => {
    // a preload that says at exit how many prom-client files the process loaded
    const probe = join(tempDataDir(), '..', 'probe.mjs')
    writeFileSync(
      probe,
      `import {createRequire} from 'node:module'
const cache = createRequire(import.meta.url).cache
process.on('exit', () => process.stderr.write('PROM-CLIENT FILES ' + Object.keys(cache).filter((f) => /node_modules[\\\\/]prom-client[\\\\/]/.test(f)).length + '\\n'))
`,
    )
    const server = await startImapServer({env: {NODE_OPTIONS: `--import=${probe}`}})
    try {
      const started = server.served
        .output()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as {msg?: string; listeners?: {name: string}[]})
        .find((l) => l.msg === 'mailbox started')!
      expect(started.listeners!.map((l) => l.name).sort()).toEqual(['control', 'imap', 'imaps', 'smtp'])
      // every TCP port the process listens on is one of its protocol ports
      const listening = execFileSync('ss', ['-Hltnp'], {encoding: 'utf8'})
        .split('\n')
        .filter((l) => l.includes(`pid=${server.served.pid},`))
        .map((l) => Number(/:(\d+)\s/.exec(l)![1]))
      expect(listening.sort()).toEqual([server.ports.imap, server.ports.imaps, server.ports.smtp].sort())
    } finally {
      await server.stop()
    }
    expect(server.served.errors()).toContain('PROM-CLIENT FILES 0\n')
  })

  it('beyond loopback without a token serve refuses to start, saying why', async () => {
    const dataDir = tempDataDir()
    const config = join(dataDir, '..', 'metrics-exposed.json')
    writeFileSync(config, JSON.stringify({metrics: {host: '0.0.0.0'}}))
    const started = startServe(dataDir, ['--config', config, '--metrics-port', String(await freePort())], 15_000, {MAILBOX_METRICS_TOKEN: ''})
    await expect(started).rejects.toThrow(/the metrics listener on 0\.0\.0\.0 is reachable beyond loopback: set metrics\.token/)
  })

  it('with a token, every request needs it: 401 without it or with another', async () => {
    const token = 'a-scrape-token-of-some-length'
    const metricsPort = await freePort()
    const server = await startImapServer({config: {metrics: {token}}, args: ['--metrics-port', String(metricsPort)]})
    try {
      for (const path of ['/metrics', '/healthz', '/nope']) {
        const refused = await get(metricsPort, path)
        expect(refused.status, path).toBe(401)
        expect(refused.text).not.toMatch(/mailbox_/)
        expect((await get(metricsPort, path, {authorization: 'Bearer a-scrape-token-of-some-lengtX'})).status).toBe(401)
      }
      expect((await get(metricsPort, '/healthz', {authorization: `Bearer ${token}`})).status).toBe(200)
      const scraped = await scrape(metricsPort, {authorization: `Bearer ${token}`})
      expect(scraped.families.has('mailbox_connections')).toBe(true)
    } finally {
      await server.stop()
    }
  })
})
