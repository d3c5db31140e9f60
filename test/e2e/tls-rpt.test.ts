/**
 * TLS reporting end to end (RFC 8460): a real `mailbox serve` delivers by MX (a loopback DNS
 * server names the hosts; MX delivery is port 25, so this needs root and 127.0.0.x:25, and is
 * skipped elsewhere outside CI) to three MX hosts: one without STARTTLS, one with a certificate
 * nobody vouches for, one with a certificate the server trusts (NODE_EXTRA_CA_CERTS). The counts
 * outlive a restart; the restarted server, its `tlsRpt.sendAfterMs` making today a finished day,
 * sends each domain that publishes `_smtp._tls` its report: by mail to a fourth MX host (DKIM-signed,
 * the gzipped JSON attached) and by POST to an https server. That MX host's domain has an MTA-STS
 * policy in enforce mode its host fails (no STARTTLS): other mail to it waits, the reports go all
 * the same (RFC 8460 §5.3). The report mail's own session is not counted, and no day is reported twice.
 */
import {writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:https'
import {dirname, join} from 'node:path'
import {gunzipSync} from 'node:zlib'
import selfsigned from 'selfsigned'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {loadTls} from '../../src/tls.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {Receiver, canListen, message, parseReport, peek, send, sleep, startDns, waitFor, waitForEntry, type DnsServer} from './queue-helpers.js'
import {setupUsers} from './smtp-helpers.js'

// addresses of their own: other suites' MX hosts take 127.0.0.1-2, .21-23 and .31-33 (port 25) while they run
const port25 = (await Promise.all(['127.0.0.51', '127.0.0.52', '127.0.0.53', '127.0.0.54'].map((host) => canListen(25, host)))).every(Boolean)

let dataDir: string
let dns: DnsServer
let served: Served | undefined
const receivers: Receiver[] = []
let plain: Receiver, untrusted: Receiver, trusted: Receiver, rua: Receiver
let https: Server
let httpsPort: number
const posts: {url: string; type: string; body: Buffer}[] = []
let caFile: string
let config: string

/** a certificate the server is told to trust: an MX host's, the MTA-STS policy host's and the https report destination's */
async function trustedCertificate(dir: string): Promise<{cert: string; key: string}> {
  const pems = await selfsigned.generate([{name: 'commonName', value: 'mx.verified.test'}], {
    keyType: 'ec',
    curve: 'P-256',
    notAfterDate: new Date(Date.now() + 86_400_000),
    algorithm: 'sha256',
    extensions: [{name: 'subjectAltName', altNames: [{type: 2, value: 'mx.verified.test'}, {type: 2, value: 'mta-sts.rua.test'}, {type: 7, ip: '127.0.0.1'}]}],
  } as never)
  caFile = join(dir, 'trusted.pem')
  writeFileSync(caFile, pems.cert)
  return {cert: pems.cert, key: pems.private}
}

const day = () => new Date().toISOString().slice(0, 10)

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  const good = await trustedCertificate(dirname(dataDir))
  https = createServer({cert: good.cert, key: good.key}, (req, res) => {
    // rua.test's MTA-STS policy: enforce, and its MX host offers no STARTTLS
    if (req.headers.host === 'mta-sts.rua.test' && req.url === '/.well-known/mta-sts.txt') return void res.writeHead(200, {'Content-Type': 'text/plain'}).end('version: STSv1\r\nmode: enforce\r\nmx: mx.rua.test\r\nmax_age: 86400\r\n')
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      posts.push({url: req.url ?? '', type: req.headers['content-type'] ?? '', body: Buffer.concat(chunks)})
      res.writeHead(200).end()
    })
  })
  httpsPort = await new Promise<number>((resolve) => https.listen(0, '127.0.0.1', () => resolve((https.address() as {port: number}).port)))
  const ruaHttps = (path: string) => `https://127.0.0.1:${httpsPort}${path}`
  dns = await startDns({
    'plain.test': {MX: [{priority: 10, exchange: 'mx.plain.test'}]},
    'mx.plain.test': {A: ['127.0.0.51']},
    '_smtp._tls.plain.test': {TXT: [`v=TLSRPTv1; rua=mailto:tls@rua.test,${ruaHttps('/plain')}`]},
    'selfsigned.test': {MX: [{priority: 10, exchange: 'mx.selfsigned.test'}]},
    'mx.selfsigned.test': {A: ['127.0.0.52']},
    '_smtp._tls.selfsigned.test': {TXT: ['v=TLSRPTv1; rua=mailto:tls@rua.test']},
    'verified.test': {MX: [{priority: 10, exchange: 'mx.verified.test'}]},
    'mx.verified.test': {A: ['127.0.0.53']},
    '_smtp._tls.verified.test': {TXT: [['v=TLSRPTv1;', `rua=${ruaHttps('/verified')}`]]},
    'rua.test': {MX: [{priority: 10, exchange: 'mx.rua.test'}]},
    'mx.rua.test': {A: ['127.0.0.54']},
    '_mta-sts.rua.test': {TXT: ['v=STSv1; id=1']},
    'mta-sts.rua.test': {A: ['127.0.0.1']},
  })
  if (port25) {
    plain = await Receiver.start({port: 25, host: '127.0.0.51'})
    untrusted = await Receiver.start({port: 25, host: '127.0.0.52', tls: await loadTls({dataDir: join(dirname(dataDir), 'untrusted'), hostname: 'localhost'})})
    trusted = await Receiver.start({port: 25, host: '127.0.0.53', tls: good})
    rua = await Receiver.start({port: 25, host: '127.0.0.54'})
    receivers.push(plain, untrusted, trusted, rua)
  }
  config = join(dirname(dataDir), 'tlsrpt.json')
})

afterAll(async () => {
  await served?.stop()
  for (const r of receivers) await r.close()
  await dns?.close()
  await new Promise((resolve) => https?.close(resolve))
})

const serve = async (tlsRpt: object) => {
  writeFileSync(config, JSON.stringify({tlsRpt: {flushMs: 200, intervalMs: 200, ...tlsRpt}, mtaSts: {caFile, policyPort: httpsPort}}))
  return startServe(dataDir, ['--hostname', 'mbx.example.com', '--dns-server', `127.0.0.1:${dns.port}`, '--config', config], 15_000, {NODE_EXTRA_CA_CERTS: caFile})
}

const deliver = async (to: string, subject: string) => {
  const id = (await send(dataDir, 'alice@example.com', [to], message(subject))).queued[0]!
  await waitForEntry(dataDir, id, ['delivered'])
}

describe('TLS reports for MX delivery', () => {
  it.skipIf(missingOutsideCi(port25))('counts each MX session by its TLS, keeps the counts over a restart, and reports each finished day once', async () => {
    requireInCi(port25, 'port 25 on 127.0.0.51-54 must be free to listen on (root)')
    // the counts are per UTC day and the checks name today: a run that would cross midnight
    // starts just after it instead (at most two minutes' wait, on one run in 720)
    const untilMidnight = 86_400_000 - (Date.now() % 86_400_000)
    if (untilMidnight < 120_000) await sleep(untilMidnight + 1000)
    served = await serve({})
    await deliver('bob@plain.test', 'plain one')
    await deliver('bob@plain.test', 'plain two')
    await deliver('bob@selfsigned.test', 'self-signed')
    await deliver('bob@verified.test', 'verified')
    expect(trusted.messages[0]!.secure).toBe(true)
    // rua.test's policy holds other mail back
    const held = (await send(dataDir, 'alice@example.com', ['carol@rua.test'], message('held by policy'))).queued[0]!
    expect((await waitForEntry(dataDir, held, ['deferred'])).lastError).toMatch(/MTA-STS policy of rua\.test \(enforce\)/)
    // the report sender's own mail with the report field added is ordinary mail: counted, and
    // under the recipient's policy (only the report task's signed Message-ID makes a report)
    const lookalike = (await send(dataDir, 'postmaster@example.com', ['bob@plain.test'], `TLS-Report-Submission: mbx.example.com\n${message('a report')}`)).queued[0]!
    await waitForEntry(dataDir, lookalike, ['delivered'])
    expect(plain.messages).toHaveLength(3)
    const forged = (await send(dataDir, 'postmaster@example.com', ['carol@rua.test'], `TLS-Report-Submission: mbx.example.com\n${message('a forged report')}`)).queued[0]!
    expect((await waitForEntry(dataDir, forged, ['deferred'])).lastError).toMatch(/MTA-STS policy of rua\.test \(enforce\)/)
    // today is not over (sendAfterMs is 15 min): nothing reported; stop flushes the last counts
    expect(await served.stop()).toBe(0)
    served = undefined
    expect(rua.messages).toHaveLength(0)
    const counts = await peek(dataDir, async (s) => ({
      plain: await s.tlsReports.get(day(), 'plain.test'),
      selfsigned: await s.tlsReports.get(day(), 'selfsigned.test'),
      verified: await s.tlsReports.get(day(), 'verified.test'),
      rua: await s.tlsReports.get(day(), 'rua.test'),
    }))
    // carol's mail under rua.test's policy: a failure of the sts policy
    expect(counts.rua!.policies).toMatchObject([{policy: {type: 'sts', mxHost: ['mx.rua.test']}, successes: 0, failures: expect.any(Number)}])
    expect(counts.plain).toMatchObject({state: 'open', policies: [{policy: {type: 'no-policy-found'}, successes: 0, failures: 3}]})
    expect(counts.plain!.policies[0]!.details).toEqual([{type: 'starttls-not-supported', receivingMxHostname: 'mx.plain.test', receivingIp: '127.0.0.51', detail: 'no TLS', count: 3}])
    expect(counts.selfsigned!.policies[0]!.details).toEqual([
      {type: 'certificate-not-trusted', receivingMxHostname: 'mx.selfsigned.test', receivingIp: '127.0.0.52', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT', count: 1},
    ])
    expect(counts.verified!.policies[0]).toMatchObject({successes: 1, failures: 0, details: []})

    // restarted with today counting as a finished day: the reports go out
    served = await serve({sendAfterMs: -86_400_000})
    const mails = await waitFor('two report mails', () => rua.messages.length >= 2 && rua.messages, 20_000)
    await waitFor('two report POSTs', () => posts.length >= 2, 20_000)
    const byDomain = Object.fromEntries(mails.map((m) => [/^TLS-Report-Domain: (.*)$/m.exec(m.raw)![1]!.trim(), m]))
    expect(Object.keys(byDomain).sort()).toEqual(['plain.test', 'selfsigned.test'])
    expect(rua.messages.map((m) => m.to)).not.toContainEqual(['carol@rua.test'])
    const mail = byDomain['plain.test']!
    expect(mail.from).toBe('postmaster@example.com')
    expect(mail.to).toEqual(['tls@rua.test'])
    expect(mail.raw).toMatch(new RegExp(`^Subject: Report Domain: plain\\.test Submitter: mbx\\.example\\.com Report-ID: <${day()}\\.plain\\.test@mbx\\.example\\.com>\\r$`, 'm'))
    expect(mail.raw).toMatch(/^TLS-Report-Submission: mbx\.example\.com\r$/m)
    expect(mail.raw).toMatch(/^DKIM-Signature: .*d=example\.com/m)
    const report = parseReport(mail.raw)
    const attachment = report.part('application/tlsrpt+gzip')
    const begin = Date.parse(`${day()}T00:00:00Z`) / 1000
    expect(attachment.headers).toContain(`filename="mbx.example.com!plain.test!${begin}!${begin + 86_399}.json.gz"`)
    const json = JSON.parse(gunzipSync(Buffer.from(attachment.body.replace(/\s+/g, ''), 'base64')).toString())
    expect(json).toMatchObject({
      'organization-name': 'example.com',
      'contact-info': 'postmaster@example.com',
      'date-range': {'start-datetime': `${day()}T00:00:00Z`, 'end-datetime': `${day()}T23:59:59Z`},
      'report-id': `${day()}.plain.test@mbx.example.com`,
    })
    expect(json.policies).toEqual([
      {
        policy: {'policy-type': 'no-policy-found', 'policy-domain': 'plain.test'},
        summary: {'total-successful-session-count': 0, 'total-failure-session-count': 3},
        'failure-details': [
          {'result-type': 'starttls-not-supported', 'receiving-mx-hostname': 'mx.plain.test', 'receiving-ip': '127.0.0.51', 'failed-session-count': 3, 'failure-reason-code': 'no TLS'},
        ],
      },
    ])

    // the https destinations: a POST of the gzipped JSON each
    expect(posts.map((p) => p.url).sort()).toEqual(['/plain', '/verified'])
    for (const p of posts) expect(p.type).toBe('application/tlsrpt+gzip')
    const verified = JSON.parse(gunzipSync(posts.find((p) => p.url === '/verified')!.body).toString())
    expect(verified.policies[0].summary).toEqual({'total-successful-session-count': 1, 'total-failure-session-count': 0})
    expect(verified.policies[0]['failure-details']).toBeUndefined()

    // more runs send nothing again; the report mails' sessions to rua.test were not counted
    await sleep(1000)
    expect(rua.messages).toHaveLength(2)
    expect(posts).toHaveLength(2)
    expect(await served.stop()).toBe(0)
    served = undefined
    await peek(dataDir, async (s) => {
      for (const domain of ['plain.test', 'selfsigned.test', 'verified.test']) expect(await s.tlsReports.get(day(), domain)).toMatchObject({state: 'done'})
    })
  }, 240_000)
})
