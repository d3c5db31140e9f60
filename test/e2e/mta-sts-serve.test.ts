/**
 * The MTA-STS policy served by a real `mailbox serve` on its HTTPS port (RFC 8461 §3.3): fetched
 * by the same client outbound delivery uses (src/mta-sts/fetch.ts: certificate verified for
 * mta-sts.DOMAIN, here issued by the test's CA and given as --tls-cert), parsed strictly, and
 * equal to the config's mode, mx and max_age; its hash is the `_mta-sts` id `domain dns` prints;
 * a reload serves a changed policy. Plain HTTP, and a domain that is not local, get 404.
 */
import {writeFileSync} from 'node:fs'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {trustWith} from '../../src/delivery/relay.js'
import {mtaStsId} from '../../src/dns-records/records.js'
import {fetchPolicy} from '../../src/mta-sts/fetch.js'
import {parseStsPolicy} from '../../src/mta-sts/policy.js'
import {freePort, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {makeTestCa, type TestCa} from '../helpers/test-ca.js'
import {waitFor} from './queue-helpers.js'
import {setupUsers} from './smtp-helpers.js'

let ca: TestCa
let dataDir: string
let served: Served
let config: string
let http: number
let https: number

beforeAll(async () => {
  ca = makeTestCa()
  const cert = ca.issue(['mbx.example.com', 'mta-sts.example.com', 'mta-sts.example.org'])
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  config = join(dirname(dataDir), 'mta-sts.json')
  writeFileSync(config, JSON.stringify({mtaSts: {mode: 'enforce', mx: ['mbx.example.com', '*.mx.example.com'], maxAge: 86400}}))
  ;[http, https] = [await freePort(), await freePort()]
  served = await startServe(dataDir, ['--hostname', 'mbx.example.com', '--config', config, '--tls-cert', cert.certFile, '--tls-key', cert.keyFile, '--http-port', String(http), '--https-port', String(https)])
})

afterAll(async () => {
  await served?.stop()
  ca?.close()
})

/** status and body of GET /.well-known/mta-sts.txt with `host` */
const get = (port: number, secure: boolean, host: string): Promise<{status: number; body: string; type?: string}> =>
  new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      {host: '127.0.0.1', port, path: '/.well-known/mta-sts.txt', headers: {Host: host}, agent: false, ...(secure ? {servername: host, ca: ca.caPem} : {})},
      (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d) => (body += d))
        res.on('end', () => resolve({status: res.statusCode!, body, ...(res.headers['content-type'] ? {type: res.headers['content-type']} : {})}))
      },
    )
    req.on('error', reject)
    req.end()
  })

describe('the MTA-STS policy served by mailbox serve', () => {
  it('over HTTPS for a local domain: the policy of the config, fetched and parsed as a sender does, its hash the id domain dns prints', async () => {
    const text = await fetchPolicy('example.com', {address: '127.0.0.1', port: https, timeoutMs: 5000, maxBytes: 65536, trust: trustWith(ca.caPem)})
    expect(text).toBe('version: STSv1\r\nmode: enforce\r\nmx: mbx.example.com\r\nmx: *.mx.example.com\r\nmax_age: 86400\r\n')
    expect(parseStsPolicy(text)).toEqual({mode: 'enforce', mx: ['mbx.example.com', '*.mx.example.com'], maxAge: 86400})
    const records = await runJson<{kind: string; value: string}[]>(['domain', 'dns', 'example.com', '--config', config, '--hostname', 'mbx.example.com', '--json'], {dataDir})
    expect(records.find((r) => r.kind === 'mta-sts')!.value).toBe(`v=STSv1; id=${mtaStsId(text)}`)
    expect((await get(https, true, 'mta-sts.example.com')).type).toMatch(/^text\/plain/)
  })

  it('a reload (SIGHUP) with a changed mtaSts serves the new policy from the next request', async () => {
    writeFileSync(config, JSON.stringify({mtaSts: {mode: 'testing', mx: ['mbx.example.com'], maxAge: 3600}}))
    process.kill(served.pid, 'SIGHUP')
    await waitFor('the new policy', async () => (await get(https, true, 'mta-sts.example.com')).body.includes('mode: testing'))
    expect((await get(https, true, 'mta-sts.example.com')).body).toBe('version: STSv1\r\nmode: testing\r\nmx: mbx.example.com\r\nmax_age: 3600\r\n')
  })

  it('404 over plain HTTP, and for a domain that is not local', async () => {
    expect((await get(http, false, 'mta-sts.example.com')).status).toBe(404)
    expect((await get(https, true, 'mta-sts.example.org')).status).toBe(404)
  })
})
