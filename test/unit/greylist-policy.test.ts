/**
 * Greylisting's policy pieces (src/spam/greylist.ts): the network a client is keyed by, the
 * allowNetworks matcher and its check when the config file is read, the seconds in the reply.
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {readConfigFile} from '../../src/config.js'
import {ConfigError} from '../../src/config-validate.js'
import {allowList, greylistNetwork, parseCidr, retrySeconds} from '../../src/spam/greylist.js'

describe('greylisting policy', () => {
  it('keys IPv4 clients by /24 (mapped IPv6 too) and IPv6 clients by /64', () => {
    expect(greylistNetwork('192.0.2.77')).toBe('192.0.2.0/24')
    expect(greylistNetwork('::ffff:192.0.2.77')).toBe('192.0.2.0/24')
    expect(greylistNetwork('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(greylistNetwork('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64')
  })

  it('allowNetworks matches addresses and blocks of both families; mapped IPv6 clients match IPv4 blocks', () => {
    const allowed = allowList(['192.0.2.0/24', '198.51.100.7', '2001:db8::/32'])
    expect(allowed('192.0.2.200')).toBe(true)
    expect(allowed('::ffff:192.0.2.1')).toBe(true)
    expect(allowed('192.0.3.1')).toBe(false)
    expect(allowed('198.51.100.7')).toBe(true)
    expect(allowed('198.51.100.8')).toBe(false)
    expect(allowed('2001:db8:ffff::1')).toBe(true)
    expect(allowed('2001:db9::1')).toBe(false)
    expect(allowed('not an address')).toBe(false)
    expect(allowList([])('192.0.2.1')).toBe(false)
  })

  it('a CIDR is an address with an optional prefix within its family', () => {
    expect(parseCidr(' 10.0.0.0/8 ')).toEqual(['10.0.0.0', 8, 'ipv4'])
    expect(parseCidr('::1')).toEqual(['::1', 128, 'ipv6'])
    for (const bad of ['10.0.0.0/33', '10.0.0.0/', '10.0.0.0/8/1', 'mx.example.com', '2001:db8::/129', '10.0.0.0/-1', '10.0.0.0/1.5']) {
      expect(() => parseCidr(bad), bad).toThrow('must be an IPv4 or IPv6 address, optionally with /PREFIX')
    }
  })

  it('the config file is checked when read: a bad allowNetworks entry or delay names its key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mbx-greylist-config-'))
    try {
      const file = join(dir, 'mailbox.json')
      writeFileSync(file, JSON.stringify({spam: {greylist: {enabled: true, delayMs: -1, allowNetworks: ['192.0.2.0/24', '192.0.2.0/40']}}}))
      let err: unknown
      try {
        readConfigFile(file)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).problems.map((line) => line.slice(file.length + 2))).toEqual([
        'spam.greylist.delayMs: must be an integer (ms) of at least 0 (got -1)',
        'spam.greylist.allowNetworks[1]: must be an IPv4 or IPv6 address, optionally with /PREFIX (got "192.0.2.0/40")',
      ])
      writeFileSync(file, JSON.stringify({spam: {greylist: {enabled: true, allowNetworks: ['2001:db8::/32']}}}))
      expect(readConfigFile(file)).toEqual({spam: {greylist: {enabled: true, allowNetworks: ['2001:db8::/32']}}})
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })

  it('the reply names whole seconds, at least 1', () => {
    expect(retrySeconds(300_000)).toBe(300)
    expect(retrySeconds(1)).toBe(1)
    expect(retrySeconds(0)).toBe(1)
    expect(retrySeconds(1500)).toBe(2)
  })
})
