/**
 * MTA-STS on outbound mail (RFC 8461), against a real `mailbox serve` that finds MX hosts and
 * `_mta-sts` records through a loopback DNS server and fetches policies from a small HTTPS
 * policy host in the test (certificate from the test's own CA, trusted by `mtaSts.caFile`; on a
 * free port given as `mtaSts.policyPort`, since a test cannot count on 443). MX hosts are
 * smtp-server sinks on port 25 of their own loopback addresses (root may bind them; skipped
 * otherwise, as in queue-mx.test.ts):
 *
 * - enforce, MX without STARTTLS: deferred, the reason in lastError and the transcript, nothing sent;
 * - enforce, MX with a self-signed certificate: deferred, "certificate not verified";
 * - enforce, MX not listed in the policy: deferred, "… is not in the policy", never dialled;
 * - enforce, MX with a certificate from the CA in the trust: delivered, TLS verified;
 * - testing, MX without STARTTLS: delivered, the failure said in the transcript;
 * - the policy cached in the store; a route for the same domain bypasses the policy.
 */
import {writeFileSync} from 'node:fs'
import {createServer as createHttps, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadTls} from '../../src/tls.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {makeTestCa, type TestCa} from '../helpers/test-ca.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, canListen, message, peek, queueShow, send, startDns, waitForEntry, type DnsServer} from './queue-helpers.js'

const PLAIN_MX = '127.0.0.21'
const SELF_SIGNED_MX = '127.0.0.22'
const TRUSTED_MX = '127.0.0.23'

const port25 = (await Promise.all([PLAIN_MX, SELF_SIGNED_MX, TRUSTED_MX].map((host) => canListen(25, host)))).every(Boolean)

const policy = (mode: string, mx: string) => `version: STSv1\r\nmode: ${mode}\r\nmx: ${mx}\r\nmax_age: 86400\r\n`
/** each policy domain's text, served at https://mta-sts.DOMAIN/.well-known/mta-sts.txt */
const POLICIES: Record<string, string> = {
  'plain.test': policy('enforce', 'mx.plain.test'),
  'selfsigned.test': policy('enforce', 'mx.selfsigned.test'),
  'unlisted.test': policy('enforce', 'mx.unlisted.test'),
  'trusted.test': policy('enforce', '*.trusted.test'),
  'testing.test': policy('testing', 'mx.testing.test'),
  'routed.test': policy('enforce', 'mx.routed.test'),
}

let ca: TestCa
let dns: DnsServer
let policyHost: Server
let dataDir: string
let served: Served
const sinks: Receiver[] = []
let plain: Receiver
let selfSigned: Receiver
let trusted: Receiver
const fetched: string[] = []

beforeAll(async () => {
  ca = makeTestCa()
  const domains = Object.keys(POLICIES)
  const policyCert = ca.issue(domains.map((d) => `mta-sts.${d}`))
  policyHost = createHttps({cert: policyCert.cert, key: policyCert.key}, (req, res) => {
    const domain = String(req.headers.host).replace(/^mta-sts\./, '')
    fetched.push(domain)
    if (req.url !== '/.well-known/mta-sts.txt' || !POLICIES[domain]) return void res.writeHead(404).end()
    res.writeHead(200, {'Content-Type': 'text/plain'}).end(POLICIES[domain])
  })
  await new Promise<void>((resolve) => policyHost.listen(0, '127.0.0.1', resolve))
  const zone: Parameters<typeof startDns>[0] = {
    'mx.plain.test': {A: [PLAIN_MX]},
    'mx.selfsigned.test': {A: [SELF_SIGNED_MX]},
    'mx2.evil.test': {A: [TRUSTED_MX]},
    'mx1.trusted.test': {A: [TRUSTED_MX]},
    'mx.testing.test': {A: [PLAIN_MX]},
  }
  for (const d of domains) {
    zone[`_mta-sts.${d}`] = {TXT: ['v=STSv1; id=20261205']}
    zone[`mta-sts.${d}`] = {A: ['127.0.0.1']}
  }
  Object.assign(zone, {
    'plain.test': {...zone['plain.test'], MX: [{priority: 10, exchange: 'mx.plain.test'}]},
    'selfsigned.test': {MX: [{priority: 10, exchange: 'mx.selfsigned.test'}]},
    'unlisted.test': {MX: [{priority: 10, exchange: 'mx2.evil.test'}]},
    'trusted.test': {MX: [{priority: 10, exchange: 'mx1.trusted.test'}]},
    'testing.test': {MX: [{priority: 10, exchange: 'mx.testing.test'}]},
  })
  dns = await startDns(zone)
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  if (port25) {
    plain = await Receiver.start({port: 25, host: PLAIN_MX})
    selfSigned = await Receiver.start({port: 25, host: SELF_SIGNED_MX, tls: await loadTls({dataDir: join(dataDir, '..', 'self-signed'), hostname: 'mx.selfsigned.test'})})
    trusted = await Receiver.start({port: 25, host: TRUSTED_MX, tls: ca.issue(['mx1.trusted.test'])})
    sinks.push(plain, selfSigned, trusted)
  }
  const config = join(dirname(dataDir), 'mta-sts.json')
  writeFileSync(
    config,
    JSON.stringify({
      mtaSts: {caFile: ca.caFile, policyPort: (policyHost.address() as AddressInfo).port, fetchTimeoutMs: 5000},
      routes: {'routed.test': `${PLAIN_MX}:25`},
    }),
  )
  served = await startServe(dataDir, ['--hostname', 'mbx.example.com', '--dns-server', `127.0.0.1:${dns.port}`, '--config', config])
})

afterAll(async () => {
  await served?.stop()
  for (const sink of sinks) await sink.close()
  policyHost?.closeAllConnections()
  await new Promise((resolve) => policyHost?.close(resolve))
  await dns?.close()
  ca?.close()
})

async function attemptFor(to: string, states: ('deferred' | 'delivered' | 'failed')[]) {
  const sent = await send(dataDir, 'alice@example.com', [to], message(`to ${to}`))
  const id = sent.queued[0]!
  const entry = await waitForEntry(dataDir, id, states)
  const [attempt] = (await queueShow(dataDir, id)).attemptLog
  return {entry, attempt: attempt!}
}

describe.skipIf(missingOutsideCi(port25))('MTA-STS on outbound mail', () => {
  it('enforce, an MX host without STARTTLS: deferred with the reason, nothing sent', async () => {
    requireInCi(port25, `port 25 on ${PLAIN_MX}, ${SELF_SIGNED_MX} and ${TRUSTED_MX} must be free to listen on (root)`)
    const before = plain.messages.length
    const {entry, attempt} = await attemptFor('bob@plain.test', ['deferred', 'delivered', 'failed'])
    const why = 'MTA-STS policy of plain.test (enforce): mx.plain.test offers no STARTTLS; not delivering'
    expect(entry).toMatchObject({state: 'deferred', lastError: `451 4.7.4 ${why}`})
    expect(attempt.transcript).toContain(`!: ${why}`)
    expect(attempt.transcript).not.toContain('C: MAIL FROM:<alice@example.com>')
    expect(plain.messages.length).toBe(before)
    // fetched once, kept in the store for every process and node
    expect(fetched).toContain('plain.test')
    expect(await peek(dataDir, (s) => s.mtaSts.get('plain.test'))).toMatchObject({id: '20261205', text: POLICIES['plain.test']})
  })

  it('enforce, an MX host whose certificate nobody vouches for: deferred, "certificate not verified"', async () => {
    const {entry, attempt} = await attemptFor('bob@selfsigned.test', ['deferred', 'delivered', 'failed'])
    const why = 'MTA-STS policy of selfsigned.test (enforce): mx.selfsigned.test: certificate not verified: DEPTH_ZERO_SELF_SIGNED_CERT; not delivering'
    expect(entry).toMatchObject({state: 'deferred', lastError: `451 4.7.5 ${why}`})
    expect(attempt.transcript).toContain('C: STARTTLS')
    expect(attempt.transcript).not.toContain('C: MAIL FROM:<alice@example.com>')
    expect(selfSigned.messages).toHaveLength(0)
  })

  it('enforce, an MX host the policy does not list: deferred, never dialled', async () => {
    const before = trusted.messages.length
    const {entry, attempt} = await attemptFor('bob@unlisted.test', ['deferred', 'delivered', 'failed'])
    const why = 'MTA-STS policy of unlisted.test (enforce): mx2.evil.test is not in the policy'
    expect(entry).toMatchObject({state: 'deferred', lastError: `451 4.7.5 ${why}`})
    expect(attempt.transcript).toEqual([`!: ${why}`])
    expect(dns.questions).not.toContain('A mx2.evil.test')
    expect(trusted.messages.length).toBe(before)
  })

  it('enforce, an MX host (matched by *.) with a certificate from a CA in the trust: delivered over verified TLS', async () => {
    const {entry, attempt} = await attemptFor('bob@trusted.test', ['delivered', 'deferred', 'failed'])
    expect(entry.state).toBe('delivered')
    expect(attempt.tls).toMatchObject({state: 'verified'})
    const [got] = await trusted.waitForMessages(1)
    expect(got).toMatchObject({to: ['bob@trusted.test'], secure: true})
  })

  it('testing, an MX host without STARTTLS: delivered, the failure said in the transcript', async () => {
    const before = plain.messages.length
    const {entry, attempt} = await attemptFor('bob@testing.test', ['delivered', 'deferred', 'failed'])
    expect(entry.state).toBe('delivered')
    expect(attempt.transcript).toContain('-- MTA-STS policy of testing.test (testing): starttls-not-supported (no TLS), delivered all the same')
    await plain.waitForMessages(before + 1)
  })

  it('a route for the domain is the operator\'s choice: no policy asked, delivered in plaintext', async () => {
    const before = plain.messages.length
    const {entry} = await attemptFor('bob@routed.test', ['delivered', 'deferred', 'failed'])
    expect(entry.state).toBe('delivered')
    expect(dns.questions).not.toContain('TXT _mta-sts.routed.test')
    expect(fetched).not.toContain('routed.test')
    await plain.waitForMessages(before + 1)
  })
})
