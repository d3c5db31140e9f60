/**
 * The DNS of inbound authentication (src/mail-auth/dns.ts) against a loopback DNS responder:
 * answers and "no such name" are cached (the server is asked once), concurrent lookups share one
 * query, the cache stays within its size, a message's lookups end with ETIMEOUT when its budget
 * runs out (a server that never answers), and timeouts are not cached.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {DnsCache} from '../../src/mail-auth/dns.js'
import {startDns, type DnsServer} from '../helpers/dns.js'

let dns: DnsServer
const limits = {dnsCacheEntries: 3, dnsCacheTtlMs: 60_000}

beforeAll(async () => {
  dns = await startDns({
    'a.test': {TXT: ['v=spf1 -all']},
    'b.test': {TXT: ['b']},
    'c.test': {TXT: ['c']},
    'd.test': {TXT: ['d']},
    'slow.test': {TXT: ['slow'], delayMs: 300},
    'dead.test': {drop: true},
  })
})

afterAll(async () => {
  await dns?.close()
})

const asked = (q: string) => dns.questions.filter((x) => x === q).length

describe('DnsCache', () => {
  it('caches answers and NXDOMAIN; concurrent lookups share one query', async () => {
    const cache = new DnsCache([`127.0.0.1:${dns.port}`], limits, () => 2000)
    const lookup = cache.lookupsFor(2000)
    expect(await lookup('a.test', 'TXT')).toEqual([['v=spf1 -all']])
    expect(await lookup('A.test', 'TXT')).toEqual([['v=spf1 -all']])
    expect(asked('TXT a.test')).toBe(1)
    await expect(lookup('missing.test', 'TXT')).rejects.toMatchObject({code: 'ENOTFOUND'})
    await expect(lookup('missing.test', 'TXT')).rejects.toMatchObject({code: 'ENOTFOUND'})
    expect(asked('TXT missing.test')).toBe(1)
    const together = await Promise.all([lookup('slow.test', 'TXT'), lookup('slow.test', 'TXT'), lookup('slow.test', 'TXT')])
    expect(together).toEqual([[['slow']], [['slow']], [['slow']]])
    expect(asked('TXT slow.test')).toBe(1)
  })

  it('keeps at most dnsCacheEntries answers, dropping the oldest', async () => {
    const cache = new DnsCache([`127.0.0.1:${dns.port}`], limits, () => 2000)
    const lookup = cache.lookupsFor(2000)
    for (const name of ['b.test', 'c.test', 'd.test', 'a.test']) await lookup(name, 'TXT')
    expect(cache.size).toBe(3)
    const before = asked('TXT b.test')
    await lookup('b.test', 'TXT') // the oldest was dropped: asked again
    expect(asked('TXT b.test')).toBe(before + 1)
  })

  it('a server that never answers: ETIMEOUT when the budget runs out, and nothing cached', async () => {
    const cache = new DnsCache([`127.0.0.1:${dns.port}`], limits, () => 400)
    const lookup = cache.lookupsFor(400)
    const started = Date.now()
    await expect(lookup('dead.test', 'TXT')).rejects.toMatchObject({code: 'ETIMEOUT'})
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(350)
    expect(took).toBeLessThan(3000)
    // the budget is spent: later lookups of the same message fail at once, even cached names
    const again = Date.now()
    await expect(lookup('a.test', 'TXT')).rejects.toMatchObject({code: 'ETIMEOUT'})
    expect(Date.now() - again).toBeLessThan(100)
    expect(cache.size).toBe(0)
  })
})
