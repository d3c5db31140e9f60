/**
 * Remote MTA-STS policies (src/mta-sts/policies.ts, fetch.ts) against a loopback DNS server (the
 * `_mta-sts` TXT record and the policy host's address) and a real HTTPS policy host whose
 * certificate comes from a test CA, with a real LMDB store as the cache: fetched and cached once
 * per id, fetched again when the id changes, a cached policy kept when a refetch fails (RFC 8461
 * §5), and every refusal of §3.3 said with its RFC 8460 failure type: an untrusted certificate,
 * a redirect, a wrong Content-Type, a body over the limit, a host that never answers, a bad policy.
 */
import {createServer, type Server} from 'node:https'
import type {AddressInfo} from 'node:net'
import {afterAll, afterEach, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {trustWith} from '../../src/delivery/relay.js'
import {silentLogger} from '../../src/log.js'
import {DEFAULT_MTA_STS, type MtaStsConfig} from '../../src/mta-sts/config.js'
import {RECHECK_MS, StsPolicies} from '../../src/mta-sts/policies.js'
import {startDns, type DnsServer} from '../helpers/dns.js'
import {contractTempStore} from '../helpers/store.js'
import {makeTestCa, type TestCa} from '../helpers/test-ca.js'

const ENFORCE = 'version: STSv1\r\nmode: enforce\r\nmx: mx.sts.test\r\nmax_age: 86400\r\n'

let ca: TestCa
let dns: DnsServer
let https: Server
let port: number
/** what the policy host answers next: status, Content-Type, body; `hang` never answers */
let answer: {status: number; type?: string; body: string; location?: string; hang?: boolean}
let hits = 0

beforeAll(async () => {
  ca = makeTestCa()
  const leaf = ca.issue(['mta-sts.sts.test'])
  https = createServer({cert: leaf.cert, key: leaf.key}, (req, res) => {
    hits++
    if (answer.hang) return
    res.writeHead(answer.status, {'Content-Type': answer.type ?? 'text/plain', ...(answer.location ? {Location: answer.location} : {})})
    res.end(answer.body)
  })
  await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve))
  port = (https.address() as AddressInfo).port
  dns = await startDns({
    '_mta-sts.sts.test': {TXT: ['v=STSv1; id=one']},
    'mta-sts.sts.test': {A: ['127.0.0.1']},
    'plain.test': {MX: [{priority: 10, exchange: 'mx.plain.test'}]},
  })
})

afterAll(async () => {
  https?.closeAllConnections()
  await new Promise((resolve) => https?.close(resolve))
  await dns?.close()
  ca?.close()
})

let opened: ReturnType<typeof contractTempStore>
beforeEach(() => {
  opened = contractTempStore()
  answer = {status: 200, body: ENFORCE}
  dns.zone['_mta-sts.sts.test'] = {TXT: ['v=STSv1; id=one']}
  hits = 0
})
afterEach(() => opened.close())

function policies(over: Partial<MtaStsConfig> = {}, trusted = true) {
  const config = {...DEFAULT_MTA_STS, policyPort: port, fetchTimeoutMs: 1000, ...over}
  const trust = trusted ? trustWith(ca.caPem) : undefined
  return new StsPolicies(opened.backend.mtaSts, silentLogger, {config: () => config, dnsServers: () => [`127.0.0.1:${dns.port}`], trust: () => trust})
}

describe('remote MTA-STS policies', () => {
  it('fetched over HTTPS with the certificate verified, cached in the store, and not fetched again while the id stands', async () => {
    const sts = policies()
    const now = Date.now()
    expect(await sts.decide('sts.test', now)).toEqual({domain: 'sts.test', policy: {mode: 'enforce', mx: ['mx.sts.test'], text: ENFORCE}})
    expect(await opened.backend.mtaSts.get('sts.test')).toEqual({domain: 'sts.test', id: 'one', text: ENFORCE, fetchedAt: now, expiresAt: now + 86_400_000})
    expect(hits).toBe(1)
    // within RECHECK_MS from memory; after it the TXT record again, the same id: the cache
    await sts.decide('sts.test', now + 1000)
    expect(await policies().decide('sts.test', now + RECHECK_MS + 1)).toMatchObject({policy: {mode: 'enforce'}})
    expect(hits).toBe(1)
  })

  it('a new id fetches the policy again', async () => {
    await policies().decide('sts.test')
    dns.zone['_mta-sts.sts.test'] = {TXT: ['v=STSv1; id=two']}
    answer = {status: 200, body: ENFORCE.replace('enforce', 'testing')}
    expect(await policies().decide('sts.test')).toMatchObject({policy: {mode: 'testing'}})
    expect(hits).toBe(2)
    expect(await opened.backend.mtaSts.get('sts.test')).toMatchObject({id: 'two'})
  })

  it('a refetch that fails keeps the live cached policy (RFC 8461 §5); a record removed keeps it too', async () => {
    await policies().decide('sts.test')
    dns.zone['_mta-sts.sts.test'] = {TXT: ['v=STSv1; id=two']}
    answer = {status: 500, body: 'oops'}
    expect(await policies().decide('sts.test')).toEqual({domain: 'sts.test', policy: {mode: 'enforce', mx: ['mx.sts.test'], text: ENFORCE}})
    delete dns.zone['_mta-sts.sts.test']
    expect(await policies().decide('sts.test')).toMatchObject({policy: {mode: 'enforce'}})
    // expired: no policy
    expect(await policies().decide('sts.test', Date.now() + 86_400_001)).toBeUndefined()
  })

  it('no _mta-sts record (or a malformed one): no policy, nothing fetched', async () => {
    expect(await policies().decide('plain.test')).toBeUndefined()
    dns.zone['_mta-sts.sts.test'] = {TXT: ['v=STSv1; id=a', 'v=STSv1; id=b']}
    expect(await policies().decide('sts.test')).toBeUndefined()
    expect(hits).toBe(0)
  })

  it('mtaSts.outbound off: no policy looked up', async () => {
    const asked = dns.questions.length
    expect(await policies({outbound: false}).decide('sts.test')).toBeUndefined()
    expect(dns.questions.slice(asked)).toEqual([])
    expect(hits).toBe(0)
  })

  it('each refusal of RFC 8461 §3.3 is said with its RFC 8460 failure type, and nothing is cached', async () => {
    const failureOf = async (over: Partial<MtaStsConfig> = {}, trusted = true) => (await policies(over, trusted).decide('sts.test'))?.failure
    expect(await failureOf({}, false)).toMatchObject({type: 'sts-webpki-invalid', detail: expect.stringMatching(/^mta-sts\.sts\.test: certificate not valid: /)})
    answer = {status: 301, body: '', location: 'https://elsewhere.test/'}
    expect(await failureOf()).toEqual({type: 'sts-policy-fetch-error', detail: 'mta-sts.sts.test: HTTP 301 (a redirect: not followed)'})
    answer = {status: 404, body: 'no'}
    expect(await failureOf()).toEqual({type: 'sts-policy-fetch-error', detail: 'mta-sts.sts.test: HTTP 404'})
    answer = {status: 200, type: 'text/html', body: ENFORCE}
    expect(await failureOf()).toEqual({type: 'sts-policy-fetch-error', detail: 'mta-sts.sts.test: Content-Type "text/html", not text/plain'})
    answer = {status: 200, body: ENFORCE + `x-pad: ${'p'.repeat(2000)}\r\n`}
    expect((await failureOf({maxPolicyBytes: 1024}))?.detail).toMatch(/over the limit of 1024/)
    answer = {status: 200, body: 'version: STSv1\r\nmode: enforce\r\nmax_age: 86400\r\n'}
    expect(await failureOf()).toEqual({type: 'sts-policy-invalid', detail: 'mta-sts.sts.test: mode enforce without an mx field'})
    answer = {status: 200, body: ENFORCE, hang: true}
    expect(await failureOf({fetchTimeoutMs: 300})).toEqual({type: 'sts-policy-fetch-error', detail: 'mta-sts.sts.test: no whole answer within 300 ms'})
    expect(await opened.backend.mtaSts.get('sts.test')).toBeUndefined()
  })

  it('concurrent attempts for one domain share one lookup and one fetch', async () => {
    const sts = policies()
    const got = await Promise.all([1, 2, 3, 4].map(() => sts.decide('sts.test')))
    for (const g of got) expect(g).toMatchObject({policy: {mode: 'enforce'}})
    expect(hits).toBe(1)
  })
})
