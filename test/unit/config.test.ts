import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {DEFAULT_AUTH} from '../../src/auth/actor.js'
import {DEFAULT_PORTS, PORT_NAMES, defaultConfig, effectiveConfig, matcherPort, mergeConfig, readConfigFile} from '../../src/config.js'
import {configLines, shownConfig} from '../../src/config-show.js'
import {ConfigError} from '../../src/config-validate.js'
import {DEFAULT_QUEUE} from '../../src/queue/actor.js'
import {DEFAULT_RETRY, nextAttemptAt} from '../../src/queue/backoff.js'
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
    expect(DEFAULT_PORTS).toEqual({smtp: 2525, submission: 2587, smtps: 2465, imap: 2143, imaps: 2993, pop3: 2110, pop3s: 2995, http: 0, https: 0, matcher: 60510})
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
    ['broken.json', '{"bind": ', /not valid JSON/],
    ['empty.json', '', /not valid JSON/],
    ['array.json', '[1, 2]', /must be a JSON object \(got a list\)/],
    ['null.json', 'null', /must be a JSON object \(got null\)/],
    ['number.json', '42', /must be a JSON object \(got number\)/],
    ['string.json', '"x"', /must be a JSON object \(got string\)/],
  ])('%s is refused, naming the file', (name, text, problem) => {
    const path = file(name, text)
    const err = errorOf(() => readConfigFile(path))
    expect(err.code).toBe('invalid')
    expect(err.message.startsWith(`${path}: `)).toBe(true)
    expect(err.message).toMatch(problem)
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
    expect(err.message).toContain('ports.imap: must be an integer from 0 to 65535')
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

describe('readConfigFile: validation against the schema', () => {
  /** the problem lines for a config file holding `config` */
  function problems(config: unknown, name = 'mailbox.json'): string[] {
    const path = file(name, typeof config === 'string' ? config : JSON.stringify(config))
    const err = errorOf(() => readConfigFile(path))
    expect(err).toBeInstanceOf(ConfigError)
    expect(err.code).toBe('invalid')
    const lines = (err as ConfigError).problems
    expect(err.message).toBe(lines.join('\n'))
    for (const line of lines) expect(line.startsWith(`${path}: `), line).toBe(true)
    return lines.map((line) => line.slice(path.length + 2))
  }

  it('an unknown key names its path and the nearest real key', () => {
    expect(problems({prots: {smtp: 25}})).toEqual(['prots: unknown key (did you mean ports?)'])
    expect(problems({ports: {smpt: 25}})).toEqual(['ports.smpt: unknown key (did you mean ports.smtp?)'])
    expect(problems({queue: {retry: {maxLifeTimeMS: 1}}})).toEqual(['queue.retry.maxLifeTimeMS: unknown key (did you mean queue.retry.maxLifetimeMs?)'])
    // a key at the wrong level points to where it belongs
    expect(problems({maxMessageSize: 1024})).toEqual(['maxMessageSize: unknown key (did you mean smtp.maxMessageSize?)'])
    expect(problems({frobnicate: true})).toEqual(['frobnicate: unknown key'])
  })

  it('spam: weights may be fractions; a DNS list needs its zone and weight, codes are 127.0.0.0/8 addresses', () => {
    expect(
      problems({spam: {junkScore: 'high', heloChecks: {noDot: 1000}, dnsbl: [{weight: 2.5}, {zone: '1.2.3.4', weight: 1, codes: {'10.0.0.2': 'X'}}], dnswl: [{zone: 'wl.test'}]}}),
    ).toEqual([
      'spam.junkScore: must be a number from -1000 to 1000 (got "high")',
      'spam.heloChecks.noDot: must be a number from -100 to 100 (got 1000)',
      'spam.dnsbl[0].zone: required',
      'spam.dnsbl[1].zone: must be a DNS zone (zen.spamhaus.org) (got "1.2.3.4")',
      'spam.dnsbl[1].codes["10.0.0.2"]: must be an address in 127.0.0.0/8 (127.0.0.2)',
      'spam.dnswl[0].weight: required',
    ])
    const ok = readConfigFile(file('spam.json', JSON.stringify({spam: {junkScore: 4.5, dnsbl: [{zone: 'ZEN.spamhaus.org.', weight: 7.5, codes: {'127.0.0.2': 'SBL'}}]}})))
    expect(ok.spam).toEqual({junkScore: 4.5, dnsbl: [{zone: 'zen.spamhaus.org', weight: 7.5, codes: {'127.0.0.2': 'SBL'}}]})
  })

  it('wrong types name the expected type and what was given', () => {
    expect(problems({bind: 7, capture: 'yes', ports: {smtp: '25'}, auth: [], dnsServers: '127.0.0.1', routes: [], logLevel: 'verbose'})).toEqual([
      'bind: must be a non-empty string (got 7)',
      'capture: must be true or false (got "yes")',
      'ports.smtp: must be an integer from 0 to 65535 (got "25")',
      'auth: must be an object (got a list)',
      'dnsServers: must be a list (got "127.0.0.1")',
      'routes: must be an object (got a list)',
      'logLevel: must be one of trace, debug, info, warn, error, silent (got "verbose")',
    ])
  })

  it('out-of-range values name the range', () => {
    expect(problems({ports: {imap: 70000}, smtp: {maxConnections: 0, socketTimeoutMs: 2 ** 31}, queue: {retry: {scheduleMs: [60000, -1]}}})).toEqual([
      'ports.imap: must be an integer from 0 to 65535 (got 70000)',
      'smtp.maxConnections: must be an integer from 1 to 1000000 (got 0)',
      `smtp.socketTimeoutMs: must be an integer (ms) from 1000 to ${2 ** 31 - 1} (got ${2 ** 31})`,
      'queue.retry.scheduleMs[1]: must be an integer (ms) from 1 to 2147483647 (got -1)',
    ])
    expect(problems({auth: {windowMs: 1.5}})).toEqual(['auth.windowMs: must be an integer (ms) of at least 1 (got 1.5)'])
  })

  it('hosts, routes and DNS servers are checked when read, not at the first delivery', () => {
    expect(
      problems({
        bind: 'not an address',
        routes: {'example.net': '127.0.0.1:99999', 'no-dot': 'h:25', 'example.org': '127.0.0.1:2626x'},
        dnsServers: ['127.0.0.1', '[::1]:53', '8.8.8.8:70000', 'dns.example'],
        relay: {host: 'smtp example.com'},
      }),
    ).toEqual([
      'bind: must be an IP address or a host name (got "not an address")',
      'routes["example.net"]: invalid port in "127.0.0.1:99999"',
      'routes["no-dot"]: invalid domain: "no-dot"',
      'routes["example.org"]: invalid host in "127.0.0.1:2626x"',
      'dnsServers[2]: must be an IP address, optionally with :PORT ([IPv6]:PORT) (got "8.8.8.8:70000")',
      'dnsServers[3]: must be an IP address, optionally with :PORT ([IPv6]:PORT) (got "dns.example")',
      'relay.host: invalid host in "smtp example.com"',
    ])
  })

  it('never echoes a secret: the matcher token, or the password in a host spec', () => {
    const lines = problems({matcher: {token: 'hunter2'}, relay: {host: 'u:hunter2@h:99999'}, routes: {'example.net': 'u:hunter2@'}})
    expect(lines).toEqual([
      'matcher.token: must be at least 16 characters',
      'relay.host: invalid port in "h:99999"',
      'routes["example.net"]: invalid host:port ""',
    ])
    expect(lines.join('\n')).not.toContain('hunter2')
    expect(problems({matcher: {token: 42}})).toEqual(['matcher.token: must be a non-empty string'])
  })

  it('dataDir is refused in a file (--data-dir decides; it used to be ignored silently)', () => {
    expect(problems({dataDir: '/srv/mail'})).toEqual(['dataDir: not a config file key: the data directory is set with --data-dir or $MAILBOX_DATA_DIR'])
  })

  it('reports every problem at once, in file order', () => {
    expect(problems({prots: {}, ports: {smpt: 1, imap: -1}, capture: 1}).map((l) => l.split(':')[0])).toEqual(['prots', 'ports.smpt', 'ports.imap', 'capture'])
  })

  it('accepts // and /* */ comments outside strings; slashes inside strings stay', () => {
    const path = file(
      'comments.jsonc',
      '// top\n{\n  /* block\n  comment */ "tlsCert": "/etc/ssl//cert.pem", // trailing\n  "routes": {"example.net": "127.0.0.1:2626"} /* "bind": 1 */\n}\n',
    )
    expect(readConfigFile(path)).toEqual({tlsCert: '/etc/ssl//cert.pem', routes: {'example.net': '127.0.0.1:2626'}})
  })

  it('normalizes route domains, keeps user:pass@ route credentials, and the legacy relayHost key', () => {
    const path = file('routes.json', JSON.stringify({relayHost: 'u:p@relay.example:587', routes: {'Example.NET.': 'user:pa%40ss@127.0.0.1:2626'}}))
    expect(readConfigFile(path)).toEqual({relayHost: 'u:p@relay.example:587', routes: {'example.net': 'user:pa%40ss@127.0.0.1:2626'}})
  })
})

describe('mergeConfig: nested objects merge key by key', () => {
  it('setting only queue.retry.maxLifetimeMs keeps the default retry schedule and the rest of queue', () => {
    const merged = mergeConfig(defaultConfig('/srv/mail'), {queue: {retry: {maxLifetimeMs: 3_600_000}}})
    expect(merged.queue).toEqual({...DEFAULT_QUEUE, retry: {...DEFAULT_RETRY, maxLifetimeMs: 3_600_000}})
    expect(nextAttemptAt(merged.queue.retry, 1, 0)).toBe(DEFAULT_RETRY.scheduleMs[0])
    expect(DEFAULT_RETRY.maxLifetimeMs).toBe(5 * 24 * 3600_000) // the default itself untouched
  })

  it('a list is replaced whole; a map (routes) merges key by key', () => {
    const merged = mergeConfig(
      defaultConfig('/srv/mail'),
      {queue: {retry: {scheduleMs: [1000, 2000]}}, routes: {'a.example': 'h1:25'}, dnsServers: ['127.0.0.1']},
      {queue: {retry: {scheduleMs: [5000]}}, routes: {'b.example': 'h2:25'}},
    )
    expect(merged.queue.retry).toEqual({scheduleMs: [5000], maxLifetimeMs: DEFAULT_RETRY.maxLifetimeMs})
    expect(merged.routes).toEqual({'a.example': 'h1:25', 'b.example': 'h2:25'})
    expect(merged.dnsServers).toEqual(['127.0.0.1'])
  })

  it('every nested object of the defaults merges key by key', () => {
    const base = defaultConfig('/srv/mail')
    for (const [key, value] of Object.entries(base)) {
      if (!value || typeof value !== 'object' || Array.isArray(value) || !Object.keys(value).length) continue
      const [first] = Object.keys(value)
      const merged = mergeConfig(defaultConfig('/srv/mail'), {[key]: {[first!]: (value as Record<string, unknown>)[first!]}}) as unknown as Record<string, unknown>
      expect(merged[key], key).toEqual(value)
    }
  })
})

describe('effectiveConfig and config show', () => {
  it('layers defaults, the file, the environment and flags; secrets are redacted for show', () => {
    const path = file('show.json', JSON.stringify({relay: {host: 'user:s3cret@relay.example:587'}, routes: {'example.net': 'u:pw2@127.0.0.1:2626'}, ports: {smtp: 25}}))
    const config = effectiveConfig({dataDir: '/srv/mail', configFile: path, env: {MAILBOX_MATCHER_TOKEN: 'a-token-of-20-chars!'}, flags: {ports: {smtp: 2525}}})
    expect(config.ports.smtp).toBe(2525)
    expect(config.matcher.token).toBe('a-token-of-20-chars!')
    const shown = shownConfig(config)
    expect(shown.relay.host).toBe('user:(redacted)@relay.example:587')
    expect(shown.routes).toEqual({'example.net': 'u:(redacted)@127.0.0.1:2626'})
    expect(shown.matcher.token).toBe('(redacted)')
    expect(JSON.stringify(shown)).not.toMatch(/s3cret|pw2|a-token/)
    expect(configLines(shown)).toEqual(expect.arrayContaining(['relay.host = user:(redacted)@relay.example:587', 'routes["example.net"] = u:(redacted)@127.0.0.1:2626', 'ports.smtp = 2525']))
  })

  it('a too-short token in the environment is refused', () => {
    const err = errorOf(() => effectiveConfig({dataDir: '/srv/mail', env: {MAILBOX_MATCHER_TOKEN: 'short'}}))
    expect(err.message).toBe('command line or environment: matcher.token: must be at least 16 characters')
  })
})
