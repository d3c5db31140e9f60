import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {DEFAULT_AUTH} from '../../src/auth/actor.js'
import {DEFAULT_PORTS, PORT_NAMES, defaultConfig, matcherPort, mergeConfig, readConfigFile} from '../../src/config.js'
import {MailboxError} from '../../src/errors.js'

const dir = mkdtempSync(join(tmpdir(), 'mbx-config-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))
const file = (name: string, text: string) => {
  const path = join(dir, name)
  writeFileSync(path, text)
  return path
}
function errorOf(fn: () => unknown): MailboxError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    return err as MailboxError
  }
  throw new Error('expected a MailboxError, nothing was thrown')
}

describe('defaults', () => {
  it('ports are the unprivileged ones of DESIGN.md', () => {
    expect(DEFAULT_PORTS).toEqual({smtp: 2525, submission: 2587, smtps: 2465, imap: 2143, imaps: 2993, pop3: 2110, pop3s: 2995, matcher: 60510})
    expect([...PORT_NAMES].sort()).toEqual(Object.keys(DEFAULT_PORTS).sort())
  })

  const {matcher: _, ...withoutMatcher} = DEFAULT_PORTS

  it('defaultConfig binds 127.0.0.1, resolves the data dir, and copies the defaults', () => {
    const config = defaultConfig('data')
    expect(config).toMatchObject({
      dataDir: resolve('data'),
      bind: '127.0.0.1',
      ports: withoutMatcher,
      capture: false,
      allowInsecureAuth: false,
      logLevel: 'info',
      auth: DEFAULT_AUTH,
    })
    expect(config.ports.matcher).toBeUndefined() // off unless in capture mode: see matcherPort
    expect(config.relay).toEqual({insecure: false})
    expect(typeof config.hostname).toBe('string')
    expect(config.hostname.length).toBeGreaterThan(0)
    // a copy: changing it does not change the defaults
    config.ports.smtp = 25
    config.auth.maxFailuresPerAddress = 1
    expect(DEFAULT_PORTS.smtp).toBe(2525)
    expect(DEFAULT_AUTH.maxFailuresPerAddress).toBe(10)
    expect(defaultConfig('data').ports.smtp).toBe(2525)
  })
})

describe('readConfigFile', () => {
  it('reads a JSON object', () => {
    const path = file('ok.json', JSON.stringify({bind: '0.0.0.0', ports: {smtp: 25}, auth: {failureDelayMs: 0}}))
    expect(readConfigFile(path)).toEqual({bind: '0.0.0.0', ports: {smtp: 25}, auth: {failureDelayMs: 0}})
  })

  it('a missing file is invalid and names the errno code', () => {
    const err = errorOf(() => readConfigFile(join(dir, 'nope.json')))
    expect(err.code).toBe('invalid')
    expect(err.message).toContain('ENOENT')
  })

  it.each([
    ['broken.json', '{"bind": '],
    ['array.json', '[1, 2]'],
    ['null.json', 'null'],
    ['number.json', '42'],
    ['string.json', '"x"'],
    ['empty.json', ''],
  ])('%s is refused as not a JSON object', (name, text) => {
    const err = errorOf(() => readConfigFile(file(name, text)))
    expect(err.code).toBe('invalid')
    expect(err.message).toMatch(/is not a JSON object/)
  })
})

describe('mergeConfig', () => {
  const base = () => defaultConfig('/srv/mail')

  it('later layers win; ports and auth merge key by key', () => {
    const merged = mergeConfig(
      base(),
      {bind: '0.0.0.0', ports: {smtp: 25, imap: 143}, auth: {failureDelayMs: 0}},
      {ports: {smtp: 2526}, hostname: 'mx.example.com'},
    )
    expect(merged.bind).toBe('0.0.0.0')
    expect(merged.hostname).toBe('mx.example.com')
    const {matcher: _, ...withoutMatcher} = DEFAULT_PORTS
    expect(merged.ports).toEqual({...withoutMatcher, smtp: 2526, imap: 143})
    expect(merged.auth).toEqual({...DEFAULT_AUTH, failureDelayMs: 0})
  })

  it('undefined values (flags not given) do not override', () => {
    const merged = mergeConfig(base(), {bind: '10.0.0.1', ports: {pop3: 1110}}, {bind: undefined, capture: undefined, ports: {pop3: undefined}})
    expect(merged.bind).toBe('10.0.0.1')
    expect(merged.capture).toBe(false)
    expect(merged.ports.pop3).toBe(1110)
  })

  it('port 0 turns a listener off and is accepted', () => {
    expect(mergeConfig(base(), {ports: {matcher: 0}}).ports.matcher).toBe(0)
  })

  it('the matcher is off unless in capture mode or its port is given (it hands out stored mail)', () => {
    expect(matcherPort(mergeConfig(base(), {}))).toBe(0)
    expect(matcherPort(mergeConfig(base(), {bind: '0.0.0.0'}))).toBe(0)
    expect(matcherPort(mergeConfig(base(), {capture: true}))).toBe(DEFAULT_PORTS.matcher)
    expect(matcherPort(mergeConfig(base(), {capture: true}, {ports: {matcher: 0}}))).toBe(0)
    expect(matcherPort(mergeConfig(base(), {ports: {matcher: 61000}}))).toBe(61000)
    expect(matcherPort(mergeConfig(base(), {ports: {matcher: 61000}}, {ports: {matcher: undefined}}))).toBe(61000)
  })

  it.each([70000, -1, 1.5, '25' as unknown as number, null as unknown as number])('refuses port %j with invalid', (port) => {
    const err = errorOf(() => mergeConfig(base(), {ports: {imap: port}}))
    expect(err.code).toBe('invalid')
    expect(err.message).toContain('imap port')
  })

  it('relay: merged key by key; the old relayHost key still sets relay.host, relay.host wins within a layer', () => {
    const merged = mergeConfig(base(), {relayHost: 'old.example:25', relay: {user: 'u', caFile: '/etc/ca.pem'}}, {relay: {insecure: true, user: undefined}})
    expect(merged.relay).toEqual({host: 'old.example:25', user: 'u', caFile: '/etc/ca.pem', insecure: true})
    expect(merged).not.toHaveProperty('relayHost')
    expect(mergeConfig(base(), {relayHost: 'old.example', relay: {host: 'new.example'}}).relay.host).toBe('new.example')
  })

  it.each([
    ['maxFailureDelayMs', -1],
    ['failureDelayMs', '500'],
    ['familiarAddressMs', null],
    ['maxFailuresPerUserAddress', Number.POSITIVE_INFINITY],
  ])('refuses auth.%s = %j with invalid', (key, value) => {
    const err = errorOf(() => mergeConfig(base(), {auth: {[key]: value as number}}))
    expect(err.code).toBe('invalid')
    expect(err.message).toContain(`auth.${key}`)
  })

  it.each([
    ['smtp', 'maxBufferedBytes', '128MiB'],
    ['imap', 'handshakeTimeoutMs', -5],
    ['pop3', 'lingerMs', null],
    ['matcher', 'maxPendingMatches', '1000'],
    ['queue', 'connectTimeoutMs', true],
  ])('refuses %s.%s = %j with invalid', (section, key, value) => {
    const err = errorOf(() => mergeConfig(base(), {[section]: {[key]: value}} as never))
    expect(err.code).toBe('invalid')
    expect(err.message).toContain(`${section}.${key}`)
  })

  it('resolves a relative data dir', () => {
    expect(mergeConfig(base(), {dataDir: 'rel/data'}).dataDir).toBe(resolve('rel/data'))
  })

  it('does not modify the base config', () => {
    const b = base()
    const snapshot = structuredClone(b)
    mergeConfig(b, {bind: '0.0.0.0', ports: {smtp: 25}, auth: {failureDelayMs: 1}})
    expect(b).toEqual(snapshot)
  })
})
