/**
 * The MTA-STS policy route (src/mta-sts/route.ts), called with built requests as the HTTP server
 * calls it: the policy of a local domain over HTTPS as text/plain, the same text `domain dns`
 * hashes into the id; 404 over plain HTTP and for a domain that is not local; other hosts and
 * paths left to the other routes. The config's mtaSts keys are checked on the way in.
 */
import {describe, expect, it} from 'vitest'
import {validateConfig} from '../../src/config-validate.js'
import type {HttpRequest} from '../../src/http/route.js'
import {DEFAULT_MTA_STS, servedPolicy, type MtaStsConfig} from '../../src/mta-sts/config.js'
import {parseStsPolicy} from '../../src/mta-sts/policy.js'
import {mtaStsRoute} from '../../src/mta-sts/route.js'

const request = (over: Partial<HttpRequest>): HttpRequest => ({
  method: 'GET',
  host: 'mta-sts.example.com',
  path: '/.well-known/mta-sts.txt',
  query: new URLSearchParams(),
  headers: {},
  body: Buffer.alloc(0),
  secure: true,
  remoteAddress: '127.0.0.1',
  ...over,
})

function route(config: MtaStsConfig = DEFAULT_MTA_STS) {
  return mtaStsRoute({config: () => config, hostname: () => 'Mail.Example.com.', isLocalDomain: async (d) => d === 'example.com'})
}

describe('the MTA-STS policy route', () => {
  it('serves the policy of a local domain over HTTPS, as text/plain: testing by default, the host name as mx', async () => {
    const reply = await route()(request({}))
    expect(reply).toMatchObject({status: 200, headers: {'Content-Type': 'text/plain; charset=utf-8'}})
    expect(reply!.body).toBe('version: STSv1\r\nmode: testing\r\nmx: mail.example.com\r\nmax_age: 604800\r\n')
    expect(parseStsPolicy(String(reply!.body))).toEqual({mode: 'testing', mx: ['mail.example.com'], maxAge: 604800})
    // the text `domain dns` hashes into the _mta-sts id
    expect(reply!.body).toBe(servedPolicy(DEFAULT_MTA_STS, 'mail.example.com'))
  })

  it('mode, mx and max_age come from the config, read at each request', async () => {
    const config = {...DEFAULT_MTA_STS}
    const served = route(config)
    Object.assign(config, {mode: 'enforce', mx: ['mx1.example.com', '*.mx.example.com'], maxAge: 86400})
    expect((await served(request({})))!.body).toBe('version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\nmx: *.mx.example.com\r\nmax_age: 86400\r\n')
    expect((await served(request({method: 'HEAD'})))!.status).toBe(200)
  })

  it('404 over plain HTTP (RFC 8461 §3.3) and for a domain that is not local; 405 for a POST', async () => {
    expect(await route()(request({secure: false}))).toMatchObject({status: 404})
    expect(await route()(request({host: 'mta-sts.example.net'}))).toMatchObject({status: 404})
    expect(await route()(request({host: 'mta-sts.'}))).toMatchObject({status: 404})
    expect(await route()(request({method: 'POST'}))).toMatchObject({status: 405, headers: {Allow: 'GET, HEAD'}})
  })

  it('leaves other hosts and paths to the other routes', async () => {
    expect(await route()(request({host: 'autoconfig.example.com'}))).toBeUndefined()
    expect(await route()(request({path: '/.well-known/acme-challenge/x'}))).toBeUndefined()
    expect(await route()(request({path: '/'}))).toBeUndefined()
  })

  it('config: mtaSts keys are checked (mode, mx patterns, max_age range), mx kept lower-case', () => {
    expect(validateConfig<{mtaSts: MtaStsConfig}>({mtaSts: {mode: 'enforce', mx: ['MX.Example.com.', '*.mx.example.com'], maxAge: 86400}}, 'c').mtaSts.mx).toEqual(['mx.example.com', '*.mx.example.com'])
    expect(() => validateConfig({mtaSts: {mode: 'strict'}}, 'c')).toThrow(/mtaSts\.mode/)
    expect(() => validateConfig({mtaSts: {mx: ['a.*.example.com']}}, 'c')).toThrow(/mtaSts\.mx/)
    expect(() => validateConfig({mtaSts: {mx: ['192.0.2.1']}}, 'c')).toThrow(/mtaSts\.mx/)
    expect(() => validateConfig({mtaSts: {maxAge: 31_557_601}}, 'c')).toThrow(/mtaSts\.maxAge/)
  })
})
