/**
 * Client autoconfiguration (src/autoconfig/): what is advertised from the config, the three
 * documents read back by Python's standard XML and plist readers, the strict Autodiscover request
 * reader, and the routes as the HTTP server calls them (test/e2e/autoconfig.test.ts fetches them
 * from a real `mailbox serve` and logs in with what they say).
 */
import {describe, expect, it} from 'vitest'
import {autodiscoverAddress, autodiscoverResponse, MAX_AUTODISCOVER_REQUEST} from '../../src/autoconfig/autodiscover.js'
import {appleProfile, nameUuid} from '../../src/autoconfig/mobileconfig.js'
import {basicCredentials, profileRoute} from '../../src/autoconfig/profile-route.js'
import {autoconfigRoute} from '../../src/autoconfig/routes.js'
import {clientSettingsOf, type ClientSettings} from '../../src/autoconfig/settings.js'
import {thunderbirdConfig} from '../../src/autoconfig/thunderbird.js'
import {xmlDecode, xmlText} from '../../src/autoconfig/xml.js'
import {defaultConfig, mergeConfig, STANDARD_PORTS} from '../../src/config.js'
import {addDomain, removeDomain} from '../../src/directory/domains.js'
import {MailboxError} from '../../src/errors.js'
import {LocalDomainCache} from '../../src/directory/local-domain-cache.js'
import type {HttpRequest} from '../../src/http/route.js'
import type {MailboxStore} from '../../src/store/backend.js'
import {openStoreBackend} from '../../src/store/open.js'
import {autodiscoverRequest} from '../helpers/autodiscover.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {tempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'
import {childrenNamed, childText, HAS_PYTHON, parsePlist, parseXml} from '../helpers/xml.js'

const standard = (layer = {}) => clientSettingsOf(mergeConfig(defaultConfig('/tmp/x'), {hostname: 'mail.example.com', standardPorts: true, ...layer}))

describe('what is advertised', () => {
  it('the host name and listening ports, implicit TLS first in each protocol, never plaintext', () => {
    expect(standard()).toEqual({
      hostname: 'mail.example.com',
      imap: [
        {port: 993, security: 'tls'},
        {port: 143, security: 'starttls'},
      ],
      pop3: [
        {port: 995, security: 'tls'},
        {port: 110, security: 'starttls'},
      ],
      smtp: [
        {port: 465, security: 'tls'},
        {port: 587, security: 'starttls'},
      ],
    })
    // the unprivileged defaults are advertised as they are
    expect(clientSettingsOf(defaultConfig('/tmp/x')).imap[0]).toEqual({port: 2993, security: 'tls'})
  })

  it('a listener that is off is not advertised; clientSettings maps host and ports (0 hides one)', () => {
    const off = standard({ports: {pop3: 0, pop3s: 0, imap: 0}})
    expect(off.pop3).toEqual([])
    expect(off.imap).toEqual([{port: 993, security: 'tls'}])
    const mapped = standard({ports: {smtps: 2465}, clientSettings: {hostname: 'Mx.Example.NET.', ports: {smtps: 465, submission: 0, imaps: 10993}}})
    expect(mapped.hostname).toBe('mx.example.net')
    expect(mapped.smtp).toEqual([{port: 465, security: 'tls'}])
    expect(mapped.imap[0]).toEqual({port: 10993, security: 'tls'})
    // a mapped port of a listener that is off stays unadvertised: nothing would answer behind it
    expect(standard({ports: {pop3s: 0}, clientSettings: {ports: {pop3s: 995}}}).pop3).toEqual([{port: STANDARD_PORTS.pop3, security: 'starttls'}])
  })
})

describe('XML text', () => {
  it('escapes what XML needs and decodes only the predefined entities and character references', () => {
    expect(xmlText(`a&b<c>"d'`)).toBe('a&amp;b&lt;c&gt;&quot;d&apos;')
    expect(xmlDecode('a&amp;b&#64;c&#x41;&lt;')).toBe('a&b@cA<')
    for (const bad of ['&xxe;', 'a & b', '&#0;', '&#x110000;']) expect(xmlDecode(bad), bad).toBeUndefined()
  })
})

const settings: ClientSettings = standard()

describe.skipIf(missingOutsideCi(HAS_PYTHON))('the documents, read by Python', () => {
  it('Thunderbird: clientConfig 1.1 with every IMAP, POP3 and submission endpoint, preferred first', () => {
    requireInCi(HAS_PYTHON, 'python3')
    const doc = parseXml(thunderbirdConfig('example.com', settings))
    expect(doc.tag).toBe('clientConfig')
    expect(doc.attrib.version).toBe('1.1')
    const provider = childrenNamed(doc, 'emailProvider')[0]!
    expect(provider.attrib.id).toBe('example.com')
    expect(childText(provider, 'domain')).toBe('example.com')
    const servers = (name: string) =>
      childrenNamed(provider, name).map((s) => [s.attrib.type, childText(s, 'hostname'), Number(childText(s, 'port')), childText(s, 'socketType'), childText(s, 'username'), childText(s, 'authentication')])
    expect(servers('incomingServer')).toEqual([
      ['imap', 'mail.example.com', 993, 'SSL', '%EMAILADDRESS%', 'password-cleartext'],
      ['imap', 'mail.example.com', 143, 'STARTTLS', '%EMAILADDRESS%', 'password-cleartext'],
      ['pop3', 'mail.example.com', 995, 'SSL', '%EMAILADDRESS%', 'password-cleartext'],
      ['pop3', 'mail.example.com', 110, 'STARTTLS', '%EMAILADDRESS%', 'password-cleartext'],
    ])
    expect(servers('outgoingServer')).toEqual([
      ['smtp', 'mail.example.com', 465, 'SSL', '%EMAILADDRESS%', 'password-cleartext'],
      ['smtp', 'mail.example.com', 587, 'STARTTLS', '%EMAILADDRESS%', 'password-cleartext'],
    ])
  })

  it('Autodiscover: the Outlook 2006a response, a Protocol per endpoint, SPA off, the address as login', () => {
    requireInCi(HAS_PYTHON, 'python3')
    const doc = parseXml(autodiscoverResponse('alice@example.com', settings))
    expect(doc.tag).toBe('{http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006}Autodiscover')
    const response = doc.children[0]!
    expect(response.tag).toBe('{http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a}Response')
    const account = childrenNamed(response, 'Account')[0]!
    expect([childText(account, 'AccountType'), childText(account, 'Action')]).toEqual(['email', 'settings'])
    const protocols = childrenNamed(account, 'Protocol').map((p) =>
      ['Type', 'Server', 'Port', 'LoginName', 'SPA', 'SSL', 'Encryption', 'AuthRequired'].map((name) => childText(p, name)).join(' '),
    )
    expect(protocols).toEqual([
      'IMAP mail.example.com 993 alice@example.com off on SSL on',
      'IMAP mail.example.com 143 alice@example.com off on TLS on',
      'POP3 mail.example.com 995 alice@example.com off on SSL on',
      'POP3 mail.example.com 110 alice@example.com off on TLS on',
      'SMTP mail.example.com 465 alice@example.com off on SSL on',
      'SMTP mail.example.com 587 alice@example.com off on TLS on',
    ])
  })

  it('Apple: a Configuration profile with one com.apple.mail.managed payload, implicit TLS, no password', () => {
    requireInCi(HAS_PYTHON, 'python3')
    const profile = appleProfile('alice@example.com', settings)
    const plist = parsePlist(profile.text)
    expect(plist).toMatchObject({PayloadType: 'Configuration', PayloadVersion: 1, PayloadIdentifier: profile.identifier, PayloadUUID: profile.uuid})
    expect(plist.PayloadContent).toHaveLength(1)
    const mail = plist.PayloadContent[0]
    expect(mail).toMatchObject({
      PayloadType: 'com.apple.mail.managed',
      EmailAccountType: 'EmailTypeIMAP',
      EmailAddress: 'alice@example.com',
      IncomingMailServerHostName: 'mail.example.com',
      IncomingMailServerPortNumber: 993,
      IncomingMailServerUseSSL: true,
      IncomingMailServerUsername: 'alice@example.com',
      IncomingMailServerAuthentication: 'EmailAuthPassword',
      OutgoingMailServerHostName: 'mail.example.com',
      OutgoingMailServerPortNumber: 465,
      OutgoingMailServerUseSSL: true,
      OutgoingMailServerUsername: 'alice@example.com',
      OutgoingPasswordSameAsIncomingPassword: true,
    })
    expect(Object.keys(mail).filter((k) => /password$/i.test(k) && k !== 'OutgoingPasswordSameAsIncomingPassword')).toEqual([])
    expect(mail.PayloadIdentifier.startsWith(`${profile.identifier}.`)).toBe(true)
    // POP3 when IMAP is off
    expect(parsePlist(appleProfile('alice@example.com', {...settings, imap: []}).text).PayloadContent[0]).toMatchObject({EmailAccountType: 'EmailTypePOP', IncomingMailServerPortNumber: 995})
  })

  it('text from the address is escaped, never markup', () => {
    requireInCi(HAS_PYTHON, 'python3')
    const address = "o'<b>&x@example.com"
    expect(childrenNamed(childrenNamed(parseXml(autodiscoverResponse(address, settings)).children[0]!, 'Account')[0]!, 'Protocol')[0]!.children.find((c) => c.tag.endsWith('LoginName'))!.text).toBe(address)
    expect(parsePlist(appleProfile(address, settings).text).PayloadContent[0].EmailAddress).toBe(address)
  })
})

describe('the Apple profile identifiers', () => {
  it('are the same for every profile of one address (a new one replaces the installed one), and differ between addresses', () => {
    const a = appleProfile('alice@example.com', settings)
    const again = appleProfile('alice@example.com', {...settings, hostname: 'other.example.com'})
    expect([again.identifier, again.uuid]).toEqual([a.identifier, a.uuid])
    expect(a.identifier).toMatch(/^com\.example\.mailbox\.[0-9A-F-]{36}$/)
    const b = appleProfile('bob@example.com', settings)
    expect(b.uuid).not.toBe(a.uuid)
    expect(b.identifier).not.toBe(a.identifier)
  })

  it('are RFC 9562 version-5 UUIDs (checked against a published v5 example)', () => {
    // RFC 9562 Appendix A.4: the DNS namespace and www.example.com
    expect(nameUuid('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ED6657D-E927-568B-95E1-2665A8AEA6A2')
  })

  it('a profile needs an incoming and an outgoing server', () => {
    expect(() => appleProfile('alice@example.com', {...settings, imap: [], pop3: []})).toThrow(/IMAP or POP3/)
    expect(() => appleProfile('alice@example.com', {...settings, smtp: []})).toThrow(/submission/)
  })
})

const request = (method: string, host: string, url: string, body = ''): HttpRequest => {
  const parsed = new URL(url, 'http://x')
  return {method, host, path: parsed.pathname, query: parsed.searchParams, headers: {}, body: Buffer.from(body), secure: false, remoteAddress: '127.0.0.1'}
}

describe('the Autodiscover request reader', () => {
  it('reads the address of a request, prefixed elements and character references included', () => {
    expect(autodiscoverAddress(Buffer.from(autodiscoverRequest('alice@example.com')))).toBe('alice@example.com')
    expect(autodiscoverAddress(Buffer.from('<a:Autodiscover xmlns:a="x"><a:Request><a:EMailAddress>bob&#64;example.com</a:EMailAddress></a:Request></a:Autodiscover>'))).toBe('bob@example.com')
  })

  it('refuses a DTD, entities, CDATA, comments, a second address, another root and oversize bodies', () => {
    const refused = [
      `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><Autodiscover><Request><EMailAddress>&x;</EMailAddress></Request></Autodiscover>`,
      '<Autodiscover><Request><EMailAddress>&x;@example.com</EMailAddress></Request></Autodiscover>',
      '<Autodiscover><Request><EMailAddress><![CDATA[a@example.com]]></EMailAddress></Request></Autodiscover>',
      '<Autodiscover><!-- x --><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>',
      '<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress><EMailAddress>b@example.com</EMailAddress></Request></Autodiscover>',
      '<Other><EMailAddress>a@example.com</EMailAddress></Other>',
      '<?xml-stylesheet href="x"?><Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>',
      '<Autodiscover><Request><EMailAddress></EMailAddress></Request></Autodiscover>',
      '',
      autodiscoverRequest('a@example.com') + ' '.repeat(MAX_AUTODISCOVER_REQUEST),
    ]
    for (const body of refused) expect(autodiscoverAddress(Buffer.from(body)), body.slice(0, 80)).toBeUndefined()
  })
})

describe('the routes', () => {
  const local = new Set(['example.com'])
  const route = autoconfigRoute({settings: () => settings, isLocalDomain: async (d) => local.has(d)})
  const ask = async (r: HttpRequest) => {
    const reply = await route(r)
    return reply && {status: reply.status, type: reply.headers?.['Content-Type'], allow: reply.headers?.Allow, body: String(reply.body ?? '')}
  }

  it('Thunderbird: on autoconfig.DOMAIN and at the well-known path, the domain from ?emailaddress or the host', async () => {
    for (const [host, url] of [
      ['autoconfig.example.com', '/mail/config-v1.1.xml'],
      ['autoconfig.example.com', '/mail/config-v1.1.xml?emailaddress=alice%40example.com'],
      ['example.com', '/.well-known/autoconfig/mail/config-v1.1.xml'],
      ['mail.example.com', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=Nobody%40Example.COM'],
    ] as const) {
      const reply = await ask(request('GET', host, url))
      expect(reply?.status, `${host}${url}`).toBe(200)
      expect(reply!.type).toBe('application/xml; charset=utf-8')
      expect(reply!.body).toContain('<emailProvider id="example.com">')
    }
  })

  it('Thunderbird: 404 for a domain that is not local, 400 for a bad address, 405 for other methods, nothing for other paths', async () => {
    expect((await ask(request('GET', 'autoconfig.other.org', '/mail/config-v1.1.xml')))?.status).toBe(404)
    expect((await ask(request('GET', 'example.com', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40other.org')))?.status).toBe(404)
    expect((await ask(request('GET', '127.0.0.1', '/.well-known/autoconfig/mail/config-v1.1.xml')))?.status).toBe(404)
    expect((await ask(request('GET', 'example.com', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=not-an-address')))?.status).toBe(400)
    expect(await ask(request('POST', 'example.com', '/.well-known/autoconfig/mail/config-v1.1.xml'))).toMatchObject({status: 405, allow: 'GET, HEAD'})
    // /mail/config-v1.1.xml belongs to the autoconfig host only; elsewhere another route (or 404) answers
    expect(await ask(request('GET', 'example.com', '/mail/config-v1.1.xml'))).toBeUndefined()
    expect(await ask(request('GET', 'example.com', '/'))).toBeUndefined()
  })

  it('Autodiscover: POST in any letter case of the path; an unknown user of a local domain answered as a known one', async () => {
    for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
      const reply = await ask(request('POST', 'autodiscover.example.com', path, autodiscoverRequest('Nobody@Example.com')))
      expect(reply?.status, path).toBe(200)
      expect(reply!.body).toContain('<LoginName>nobody@example.com</LoginName>')
    }
  })

  it('Autodiscover: 404 for a domain that is not local, 400 for what is not a request, 405 for GET', async () => {
    expect((await ask(request('POST', 'example.com', '/autodiscover/autodiscover.xml', autodiscoverRequest('a@other.org'))))?.status).toBe(404)
    expect((await ask(request('POST', 'example.com', '/autodiscover/autodiscover.xml', '<html/>')))?.status).toBe(400)
    expect((await ask(request('POST', 'example.com', '/autodiscover/autodiscover.xml', autodiscoverRequest('not an address'))))?.status).toBe(400)
    expect(await ask(request('GET', 'example.com', '/autodiscover/autodiscover.xml'))).toMatchObject({status: 405, allow: 'POST'})
  })
})

describe('the profile download', () => {
  const logins: string[] = []
  const route = profileRoute({
    settings: () => settings,
    login: async (username, password) => {
      logins.push(username)
      if (username === 'slow@example.com') throw new MailboxError('throttled', 'too many')
      if (username === 'off@example.com') throw new MailboxError('disabled', 'account disabled')
      if (password !== 'right') throw new MailboxError('auth-failed', 'invalid credentials')
      return username.toLowerCase()
    },
  })
  const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const get = async (authorization?: string, secure = true) => {
    const r = request('GET', 'mail.example.com', '/mail/profile.mobileconfig')
    return (await route({...r, secure, headers: authorization ? {authorization} : {}}))!
  }

  it('reads HTTP Basic credentials, a colon in the password included', () => {
    expect(basicCredentials(basic('alice@example.com', 'a:b'))).toEqual({username: 'alice@example.com', password: 'a:b'})
    for (const bad of [undefined, '', 'Bearer x', 'Basic !!!', `Basic ${Buffer.from('nocolon').toString('base64')}`]) expect(basicCredentials(bad), bad).toBeUndefined()
  })

  it('over HTTP: refused before any password is asked for', async () => {
    logins.length = 0
    expect((await get(basic('alice@example.com', 'right'), false)).status).toBe(403)
    expect(logins).toEqual([])
  })

  it('asks for a login (401 with a Basic challenge) until the password is right; throttled 429, disabled 403', async () => {
    const none = await get()
    expect(none.status).toBe(401)
    expect(none.headers?.['WWW-Authenticate']).toMatch(/^Basic realm=/)
    expect((await get(basic('alice@example.com', 'wrong'))).status).toBe(401)
    expect((await get(basic('slow@example.com', 'right'))).status).toBe(429)
    expect((await get(basic('off@example.com', 'right'))).status).toBe(403)
  })

  it("the logged-in user's own profile, as an attachment Apple devices install", async () => {
    const reply = await get(basic('Alice@example.com', 'right'))
    expect(reply.status).toBe(200)
    expect(reply.headers).toMatchObject({'Content-Type': 'application/x-apple-aspen-config', 'Content-Disposition': 'attachment; filename="alice-at-example-com.mobileconfig"'})
    expect(reply.body).toBe(appleProfile('alice@example.com', settings).text)
    expect(await route(request('GET', 'mail.example.com', '/other'))).toBeUndefined()
  })
})

/** a cache on `reader` sees a domain `writer` adds, then its removal */
async function cacheFollows(reader: MailboxStore, writer: MailboxStore): Promise<void> {
  const cache = new LocalDomainCache(reader)
  try {
    expect(await cache.has('new.example')).toBe(false)
    await addDomain(writer, 'new.example')
    await until(() => cache.has('new.example'), 10_000, 10)
    await removeDomain(writer, 'new.example')
    await until(async () => !(await cache.has('new.example')), 10_000, 10)
  } finally {
    cache.close()
  }
}

describe('the local domain cache', () => {
  it('LMDB: a live read, so a domain added or removed is seen at once', async () => {
    const store = tempStore()
    await cacheFollows(store, store)
  })
})

describe.skipIf(skipWithoutPostgres)('the local domain cache on PostgreSQL', () => {
  const server = usePostgres()

  it("follows another node's directory: a domain it adds or removes is seen here after its change arrives", async () => {
    const url = await server().createSchema()
    const open = () => openStoreBackend({dataDir: '/nonexistent', store: url, pool: {poolSize: 2}})
    const [here, there] = [await open(), await open()]
    try {
      await cacheFollows(here, there)
    } finally {
      await Promise.all([here.close(), there.close()])
    }
  })
})
