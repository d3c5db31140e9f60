/**
 * The Router (src/delivery/route.ts) against a DNS responder on loopback: MX hosts in preference
 * order, addresses of a host, the implicit MX (a domain without MX is its own mail host), null MX
 * and a non-existent domain as permanent errors, SERVFAIL as a temporary one, and routes and the
 * smarthost taking precedence over DNS without asking it.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {PermanentRouteError, Router, parseHostPort, parseRouteSpecs} from '../../src/delivery/route.js'
import {startDns, type DnsServer} from '../e2e/queue-helpers.js'

let dns: DnsServer
let router: Router

beforeAll(async () => {
  dns = await startDns({
    'mail.test': {MX: [{priority: 10, exchange: 'mx.mail.test'}]},
    'mx.mail.test': {A: ['127.0.0.1']},
    'multi.test': {
      MX: [
        {priority: 20, exchange: 'backup.multi.test'},
        {priority: 5, exchange: 'primary.multi.test'},
        {priority: 10, exchange: 'second.multi.test'},
      ],
    },
    'nomx.test': {A: ['127.0.0.1']},
    'nullmx.test': {MX: [{priority: 0, exchange: '.'}]},
    'servfail.test': {rcode: 2},
    'dual.test': {A: ['127.0.0.2'], AAAA: ['::1']},
    'v6only.test': {AAAA: ['2001:db8::25']},
    'noaddr.test': {},
  })
  router = new Router({routes: {}, dnsServers: [`127.0.0.1:${dns.port}`]})
})

afterAll(async () => {
  await dns?.close()
})

/** the error a promise rejects with (fails the test when it resolves) */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const v = await p
    throw new Error(`expected a rejection, got ${JSON.stringify(v)}`)
  } catch (err) {
    return err as Error
  }
}

describe('Router with a loopback DNS server', () => {
  it('hops() returns the MX host on port 25, and addresses() its A record', async () => {
    expect(await router.hops('mail.test')).toEqual([{host: 'mx.mail.test', port: 25, tls: 'may', mx: true}])
    expect(await router.addresses('mx.mail.test')).toEqual(['127.0.0.1'])
    // the questions really went to our server
    expect(dns.questions).toContain('MX mail.test')
    expect(dns.questions).toContain('A mx.mail.test')
  })

  it('orders several MX hosts by preference, lowest first', async () => {
    expect((await router.hops('multi.test')).map((h) => h.host)).toEqual(['primary.multi.test', 'second.multi.test', 'backup.multi.test'])
  })

  it('a domain without MX falls back to its own name (implicit MX)', async () => {
    expect(await router.hops('nomx.test')).toEqual([{host: 'nomx.test', port: 25, tls: 'may', mx: true}])
    expect(await router.addresses('nomx.test')).toEqual(['127.0.0.1'])
  })

  it('a null MX (".") is a permanent error', async () => {
    const err = await rejection(router.hops('nullmx.test'))
    expect(err).toBeInstanceOf(PermanentRouteError)
    expect(err.message).toMatch(/null MX/)
  })

  it('a domain that does not exist (NXDOMAIN) is a permanent error', async () => {
    const err = await rejection(router.hops('nowhere.test'))
    expect(err).toBeInstanceOf(PermanentRouteError)
    expect(err.message).toMatch(/does not exist/)
  })

  it('a failing DNS server (SERVFAIL) is a temporary error, not a permanent one', async () => {
    const err = await rejection(router.hops('servfail.test'))
    expect(err).toBeInstanceOf(MailboxError)
    expect(err).not.toBeInstanceOf(PermanentRouteError)
    expect(err.message).toMatch(/MX lookup for servfail\.test failed/)
  })

  it('addresses() returns IPv4 and IPv6 addresses, and fails for a host without any', async () => {
    expect(await router.addresses('dual.test')).toEqual(['127.0.0.2', '::1'])
    expect(await router.addresses('v6only.test')).toEqual(['2001:db8::25'])
    const err = await rejection(router.addresses('noaddr.test'))
    expect(err.message).toMatch(/no address for noaddr\.test/)
    // literals are not looked up
    const before = dns.questions.length
    expect(await router.addresses('127.0.0.9')).toEqual(['127.0.0.9'])
    expect(await router.addresses('::1')).toEqual(['::1'])
    expect(dns.questions.length).toBe(before)
  })

  it('a route, then the smarthost, take precedence over DNS without asking it', async () => {
    const before = dns.questions.length
    const relay = {host: 'smart.test', port: 587, auth: {user: 'user', pass: 'p@ss'}}
    const routed = new Router({routes: {'mail.test': '127.0.0.1:2626'}, relay, dnsServers: [`127.0.0.1:${dns.port}`]})
    expect(await routed.hops('mail.test')).toEqual([{host: '127.0.0.1', port: 2626, tls: 'may'}])
    expect(await routed.hops('other.test')).toEqual([{...relay, tls: 'verify'}])
    expect(dns.questions.length).toBe(before)
  })

  it('hops with credentials need verified TLS (`verify`) unless insecure; others take TLS when offered (`may`)', async () => {
    const routes = {'cred.test': 'u:p@127.0.0.1:2626', 'open.test': '127.0.0.1:2627'}
    const strict = new Router({routes, relay: {host: 'smart.test', port: 25}, dnsServers: [`127.0.0.1:${dns.port}`]})
    expect((await strict.hops('cred.test'))[0]!.tls).toBe('verify')
    expect((await strict.hops('open.test'))[0]!.tls).toBe('may')
    expect((await strict.hops('other.test'))[0]!.tls).toBe('may') // a smarthost without credentials
    const lab = new Router({routes, insecure: true, dnsServers: [`127.0.0.1:${dns.port}`]})
    expect((await lab.hops('cred.test'))[0]).toEqual({host: '127.0.0.1', port: 2626, auth: {user: 'u', pass: 'p'}, tls: 'may'})
  })
})

describe('parseHostPort', () => {
  it('parses host, port, brackets and credentials, and refuses bad ports', () => {
    expect(parseHostPort('mx.example.net')).toEqual({host: 'mx.example.net', port: 25})
    expect(parseHostPort('[::1]:2525')).toEqual({host: '::1', port: 2525})
    expect(parseHostPort('u@h:1', 587)).toEqual({host: 'h', port: 1, auth: {user: 'u', pass: ''}})
    expect(() => parseHostPort('h:0')).toThrow(/invalid port/)
    expect(() => parseHostPort('h:70000')).toThrow(/invalid port/)
  })

  it('refuses hosts that are neither an IP address nor a DNS name, so a typo fails at start', () => {
    for (const spec of ['127.0.0.1:25x', 'bad host:25', '-lead.example:25', 'a..b:25', ':25', 'h_1.example.']) {
      if (spec === 'h_1.example.') expect(parseHostPort(spec)).toEqual({host: 'h_1.example.', port: 25})
      else expect(() => parseHostPort(spec), spec).toThrow(/invalid host/)
    }
    // IPv6 needs brackets: `::1` would read as host `:` port 1
    expect(() => parseHostPort('::1')).toThrow(/invalid host/)
    expect(parseHostPort('[::1]')).toEqual({host: '::1', port: 25})
    expect(parseHostPort('user:p%40ss@[2001:db8::1]:587')).toEqual({host: '2001:db8::1', port: 587, auth: {user: 'user', pass: 'p@ss'}})
  })

  it('error messages leave the credentials out', () => {
    for (const spec of ['user:hunter2@h:70000', 'user:hunter2@']) {
      expect(() => parseHostPort(spec)).toThrow(MailboxError)
      try {
        parseHostPort(spec)
      } catch (err) {
        expect((err as Error).message).not.toContain('hunter2')
      }
    }
  })
})

/** `serve --route`'s parsing, message by message (test/e2e/cli-config.test.ts runs one through the binary: exit 1, one line, nothing created) */
describe('parseRouteSpecs', () => {
  it.each([
    ['example.net=127.0.0.1:99999', 'invalid --route "example.net=127.0.0.1:99999": invalid port in "127.0.0.1:99999"'],
    ['example.net=127.0.0.1:0', 'invalid --route "example.net=127.0.0.1:0": invalid port in "127.0.0.1:0"'],
    ['example.net=127.0.0.1:25x', 'invalid --route "example.net=127.0.0.1:25x": invalid host in "127.0.0.1:25x"'],
    ['example.net=bad host:25', 'invalid --route "example.net=bad host:25": invalid host in "bad host:25"'],
    ['not a domain=127.0.0.1:25', 'invalid --route "not a domain=127.0.0.1:25": invalid domain: "not a domain"'],
    ['example.net', 'invalid --route "example.net": use DOMAIN=HOST:PORT'],
    ['example.net=u:hunter2@127.0.0.1:70000', 'invalid --route "example.net=127.0.0.1:70000": invalid port in "127.0.0.1:70000"'],
  ])('%s is refused, naming the route', (route, message) => {
    expect(() => parseRouteSpecs([route])).toThrow(new MailboxError('invalid', message))
  })
})
