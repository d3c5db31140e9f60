/**
 * The parts of ACME that need no CA (src/acme/): the names certified, the HTTP-01 route and the
 * TLS-ALPN-01 contexts (bounded), and the retry backoff. The orders themselves run against pebble
 * in test/e2e/acme.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {ChallengeResponses, MAX_PENDING} from '../../src/acme/challenges.js'
import {DEFAULT_ACME, retryDelay} from '../../src/acme/config.js'
import {certificateNames} from '../../src/acme/names.js'
import {chooseChallenge} from '../../src/acme/start.js'
import type {HttpRequest} from '../../src/http/route.js'
import {loadTls} from '../../src/tls.js'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'

const request = (path: string, method = 'GET'): HttpRequest => ({method, host: 'mail.example.com', path, query: new URLSearchParams(), headers: {}, body: Buffer.alloc(0), secure: false, remoteAddress: '127.0.0.1'})

describe('the names certified', () => {
  it('the host name, then mta-sts. and autoconfig. of each local domain, in A-labels, each once', () => {
    expect(certificateNames('Mail.Example.COM.', ['example.com', 'bücher.example', 'example.com'])).toEqual([
      'mail.example.com',
      'mta-sts.example.com',
      'autoconfig.example.com',
      'mta-sts.xn--bcher-kva.example',
      'autoconfig.xn--bcher-kva.example',
    ])
  })

  it('leaves out what no public CA issues for: an address, a single label', () => {
    expect(certificateNames('localhost', ['example.org'])).toEqual(['mta-sts.example.org', 'autoconfig.example.org'])
    expect(certificateNames('192.0.2.1', [])).toEqual([])
  })
})

describe('HTTP-01 (RFC 8555 §8.3)', () => {
  it('answers the key authorization of a pending token, 404 for another, and leaves other paths to the next route', async () => {
    const responses = new ChallengeResponses()
    responses.putHttp('tok-EN_1', 'tok-EN_1.thumbprint')
    expect(await responses.route(request('/.well-known/acme-challenge/tok-EN_1'))).toMatchObject({status: 200, body: 'tok-EN_1.thumbprint'})
    expect(await responses.route(request('/.well-known/acme-challenge/other'))).toMatchObject({status: 404})
    expect(await responses.route(request('/.well-known/acme-challenge/../x'))).toMatchObject({status: 404})
    expect(await responses.route(request('/.well-known/acme-challenge/tok-EN_1', 'POST'))).toMatchObject({status: 405})
    expect(await responses.route(request('/.well-known/mta-sts.txt'))).toBeUndefined()
    responses.removeHttp('tok-EN_1')
    expect(await responses.route(request('/.well-known/acme-challenge/tok-EN_1'))).toMatchObject({status: 404})
  })

  it(`keeps at most ${MAX_PENDING} answers: past that the oldest goes`, async () => {
    const responses = new ChallengeResponses()
    for (let i = 0; i <= MAX_PENDING; i++) responses.putHttp(`t${i}`, `k${i}`)
    expect(responses.pending).toBe(MAX_PENDING)
    expect(await responses.route(request('/.well-known/acme-challenge/t0'))).toMatchObject({status: 404})
    expect(await responses.route(request(`/.well-known/acme-challenge/t${MAX_PENDING}`))).toMatchObject({status: 200})
  })
})

describe('TLS-ALPN-01 (RFC 8737)', () => {
  it('a context for the name an order waits on (any case, trailing dot), none for others or after removal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbx-alpn-'))
    try {
      const tls = await loadTls({dataDir: dir, hostname: 'mail.example.com'})
      const responses = new ChallengeResponses()
      responses.putAlpn('mail.example.com', {certPem: tls.cert, keyPem: tls.key})
      expect(responses.alpnContext('MAIL.example.com.')).toBeDefined()
      expect(responses.alpnContext('other.example.com')).toBeUndefined()
      expect(responses.alpnContext(undefined)).toBeUndefined()
      responses.removeAlpn('mail.example.com')
      expect(responses.alpnContext('mail.example.com')).toBeUndefined()
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})

describe('retry backoff', () => {
  it('retryMinMs after the first failure, doubling, never past retryMaxMs', () => {
    const config = {retryMinMs: 60_000, retryMaxMs: 3600_000}
    expect([1, 2, 3, 4, 5, 6, 7, 100].map((n) => retryDelay(config, n))).toEqual([60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3600_000, 3600_000])
    expect(retryDelay(DEFAULT_ACME, 1)).toBe(DEFAULT_ACME.retryMinMs)
  })
})

describe('the challenge', () => {
  it('auto: TLS-ALPN-01 when the HTTPS port listens, else HTTP-01; a choice whose port is off is refused, naming the keys', () => {
    expect(chooseChallenge('auto', {http: 80, https: 443})).toBe('tls-alpn-01')
    expect(chooseChallenge('auto', {http: 80, https: 0})).toBe('http-01')
    expect(chooseChallenge('http-01', {http: 80, https: 443})).toBe('http-01')
    expect(chooseChallenge('tls-alpn-01', {http: 80, https: 443})).toBe('tls-alpn-01')
    expect(() => chooseChallenge('auto', {http: 0, https: 0})).toThrow(/needs the HTTPS port \(TLS-ALPN-01\) or the HTTP port \(HTTP-01\): set ports.https \/ ports.http/)
    expect(() => chooseChallenge('tls-alpn-01', {http: 80, https: 0})).toThrow(/needs the HTTPS port/)
    expect(() => chooseChallenge('http-01', {http: 0, https: 443})).toThrow(/needs the HTTP port/)
  })
})
