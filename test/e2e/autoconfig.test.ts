/**
 * Client autoconfiguration end to end: a real `mailbox serve` on loopback, the documents it
 * advertises read by Python's XML and plist readers, and then a real IMAP (imapflow) or POP3
 * (Python's poplib) login and SMTP submission (nodemailer) with exactly the advertised host, port and security for every
 * endpoint, so the documents are shown usable, not just well-formed. TLS is real (the self-signed
 * default, not verified by the clients: trust is ACME's part); no --allow-insecure-auth, so a
 * STARTTLS endpoint that did not upgrade would fail the login.
 */
import {spawnSync} from 'node:child_process'
import {request} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ImapFlow} from 'imapflow'
import nodemailer from 'nodemailer'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {autodiscoverRequest} from '../helpers/autodiscover.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {addDomainsAndUsers} from '../helpers/test-store.js'
import {until} from '../helpers/until.js'
import {childrenNamed, childText, HAS_PYTHON, parsePlist, parseXml} from '../helpers/xml.js'

const DOMAIN = 'example.com'
const USER = 'alice@example.com'
const PASSWORD = 'alice-secret'
/** clients reach the host at this address: what clientSettings tells them */
const CLIENT_HOST = '127.0.0.1'

type Security = 'SSL' | 'STARTTLS'
const LISTENERS = ['imaps', 'imap', 'pop3s', 'smtps', 'submission'] as const

let dataDir: string
let configFile: string
let ports: Record<(typeof LISTENERS)[number], number>
let serve: Served | undefined

beforeAll(async () => {
  requireInCi(HAS_PYTHON, 'python3')
  dataDir = tempDataDir()
  await addDomainsAndUsers(dataDir, [DOMAIN], [{address: USER, password: PASSWORD}])
  ports = {imaps: await freePort(), imap: await freePort(), pop3s: await freePort(), smtps: await freePort(), submission: await freePort()}
  configFile = join(dataDir, '..', 'mailbox.jsonc')
  // POP3 with STLS off: what is off must not be advertised
  writeFileSync(configFile, JSON.stringify({hostname: 'mail.example.com', clientSettings: {hostname: CLIENT_HOST}, ports: {...ports, pop3: 0}}))
})

afterAll(async () => {
  await serve?.stop()
})

async function startServer(extra: string[] = []): Promise<Served> {
  // startServe turns off every listener not given as a flag: the same ports as the config file
  serve = await startServe(dataDir, ['--config', configFile, ...LISTENERS.flatMap((name) => [`--${name}-port`, String(ports[name])]), '--smtp-port', '0', ...extra])
  return serve
}

async function inboxCount(host: string, port: number, security: Security): Promise<number> {
  const client = new ImapFlow({host, port, secure: security === 'SSL', doSTARTTLS: security === 'STARTTLS' ? true : undefined, auth: {user: USER, pass: PASSWORD}, tls: {rejectUnauthorized: false}, logger: false})
  await client.connect()
  try {
    const status = await client.status('INBOX', {messages: true})
    if (!status) throw new Error('STATUS INBOX failed')
    return status.messages ?? 0
  } finally {
    await client.logout()
  }
}

async function submit(host: string, port: number, security: Security, subject: string): Promise<void> {
  const transport = nodemailer.createTransport({host, port, secure: security === 'SSL', requireTLS: security === 'STARTTLS', auth: {user: USER, pass: PASSWORD}, tls: {rejectUnauthorized: false}})
  try {
    await transport.sendMail({from: USER, to: USER, subject, text: 'configured by the book\n'})
  } finally {
    transport.close()
  }
}

/** the INBOX's message count by POP3 (Python's poplib: POP3_SSL, or STLS before login) */
function pop3Count(host: string, port: number, security: Security): number {
  const script = `
import poplib, ssl, sys
host, port, security, user, password = sys.argv[1:]
context = ssl._create_unverified_context()
if security == 'SSL':
    pop = poplib.POP3_SSL(host, int(port), context=context, timeout=10)
else:
    pop = poplib.POP3(host, int(port), timeout=10)
    pop.stls(context=context)
pop.user(user)
pop.pass_(password)
print(pop.stat()[0])
pop.quit()
`
  const r = spawnSync('python3', ['-c', script, host, String(port), security, USER, PASSWORD], {encoding: 'utf8'})
  if (r.status !== 0) throw new Error(`POP3 ${host}:${port} ${security}: ${r.stderr}`)
  return Number(r.stdout.trim())
}

type Endpoint = {type?: string; host: string; port: number; security: Security}
const messagesAt = async (e: Endpoint): Promise<number> => (e.type?.toLowerCase() === 'pop3' ? pop3Count(e.host, e.port, e.security) : inboxCount(e.host, e.port, e.security))

/** logs in to every incoming endpoint (IMAP or POP3) and submits through every outgoing one; each message must arrive */
async function useEndpoints(incoming: Endpoint[], outgoing: Endpoint[]): Promise<void> {
  expect(incoming.length).toBeGreaterThan(0)
  expect(outgoing.length).toBeGreaterThan(0)
  const before = await messagesAt(incoming[0]!)
  for (const [i, out] of outgoing.entries()) await submit(out.host, out.port, out.security, `via ${out.port} #${i}`)
  for (const inc of incoming) await until(async () => (await messagesAt(inc)) >= before + outgoing.length, 15_000, 100)
}

describe.skipIf(missingOutsideCi(HAS_PYTHON))('mailbox user profile', () => {
  it('writes an Apple profile whose IMAP and submission settings log in and send (implicit TLS, the config\'s client host)', async () => {
    await startServer()
    const file = join(dataDir, '..', 'alice.mobileconfig')
    const r = await runCli(['user', 'profile', USER, '--config', configFile, '--output', file], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain(`wrote ${file}`)
    const profile = parsePlist(readFileSync(file, 'utf8'))
    expect(profile.PayloadType).toBe('Configuration')
    const mail = profile.PayloadContent[0]
    expect(mail).toMatchObject({
      PayloadType: 'com.apple.mail.managed',
      EmailAccountType: 'EmailTypeIMAP',
      EmailAddress: USER,
      IncomingMailServerHostName: CLIENT_HOST,
      IncomingMailServerPortNumber: ports.imaps,
      IncomingMailServerUseSSL: true,
      IncomingMailServerUsername: USER,
      OutgoingMailServerHostName: CLIENT_HOST,
      OutgoingMailServerPortNumber: ports.smtps,
      OutgoingMailServerUseSSL: true,
      OutgoingMailServerUsername: USER,
    })
    await useEndpoints(
      [{host: mail.IncomingMailServerHostName, port: mail.IncomingMailServerPortNumber, security: 'SSL'}],
      [{host: mail.OutgoingMailServerHostName, port: mail.OutgoingMailServerPortNumber, security: 'SSL'}],
    )
    // made again: the same identifiers, so it replaces the installed profile
    const again = await runCli(['user', 'profile', USER, '--config', configFile, '--json'], {dataDir})
    expect(again.code, again.stderr).toBe(0)
    const json = JSON.parse(again.stdout)
    expect([json.identifier, json.uuid]).toEqual([profile.PayloadIdentifier, profile.PayloadUUID])
    expect(parsePlist(json.profile)).toEqual(profile)
  })

  it('refuses an address that is no user, and a host name clients cannot reach', async () => {
    const unknown = await runCli(['user', 'profile', 'nobody@example.com', '--config', configFile], {dataDir})
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/^Error: no user nobody@example\.com/m)
    const bare = await runCli(['user', 'profile', USER, '--hostname', 'devbox'], {dataDir})
    expect(bare.code).toBe(1)
    expect(bare.stderr).toMatch(/host name "devbox" is not one clients can reach/)
  })
})

/** a request to serve's HTTP (or HTTPS, its self-signed certificate unchecked) port with the Host header a client would send */
function http(port: number, method: string, path: string, host: string, body?: string, options: {secure?: boolean; authorization?: string} = {}): Promise<{status: number; type: string; body: string; headers: Record<string, unknown>}> {
  const headers = {Host: host, ...(body === undefined ? {} : {'Content-Type': 'text/xml'}), ...(options.authorization ? {Authorization: options.authorization} : {})}
  return new Promise((resolve, reject) => {
    const send = options.secure ? httpsRequest : request
    const req = send({host: '127.0.0.1', port, method, path, headers, ...(options.secure ? {rejectUnauthorized: false, servername: host} : {})}, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: text, headers: res.headers}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe.skipIf(missingOutsideCi(HAS_PYTHON))('the documents serve answers on its HTTP port', () => {
  let httpPort: number
  let httpsPort: number
  beforeAll(async () => {
    httpPort = await freePort()
    httpsPort = await freePort()
    await serve?.stop()
    await startServer(['--http-port', String(httpPort), '--https-port', String(httpsPort)])
  })

  it('Thunderbird autoconfig: the listening ports, implicit TLS first, POP3 with STLS (off) left out; every endpoint logs in or sends', async () => {
    const wellKnown = await http(httpPort, 'GET', `/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(USER)}`, DOMAIN)
    expect(wellKnown.status).toBe(200)
    expect(wellKnown.type).toMatch(/^application\/xml/)
    // the same document on autoconfig.DOMAIN
    const onHost = await http(httpPort, 'GET', '/mail/config-v1.1.xml', `autoconfig.${DOMAIN}`)
    expect(onHost.status).toBe(200)
    expect(onHost.body).toBe(wellKnown.body)
    const provider = childrenNamed(parseXml(wellKnown.body), 'emailProvider')[0]!
    const endpoints = (name: string) =>
      childrenNamed(provider, name).map((s) => ({type: s.attrib.type, host: childText(s, 'hostname'), port: Number(childText(s, 'port')), security: childText(s, 'socketType') as Security, user: childText(s, 'username')}))
    const incoming = endpoints('incomingServer')
    const outgoing = endpoints('outgoingServer')
    const user = '%EMAILADDRESS%'
    expect(incoming).toEqual([
      {type: 'imap', host: CLIENT_HOST, port: ports.imaps, security: 'SSL', user},
      {type: 'imap', host: CLIENT_HOST, port: ports.imap, security: 'STARTTLS', user},
      {type: 'pop3', host: CLIENT_HOST, port: ports.pop3s, security: 'SSL', user},
    ])
    expect(outgoing).toEqual([
      {type: 'smtp', host: CLIENT_HOST, port: ports.smtps, security: 'SSL', user},
      {type: 'smtp', host: CLIENT_HOST, port: ports.submission, security: 'STARTTLS', user},
    ])
    await useEndpoints(incoming, outgoing)
  })

  it('Autodiscover: a POST answered with a Protocol per endpoint; every one logs in or sends', async () => {
    const reply = await http(httpPort, 'POST', '/Autodiscover/Autodiscover.xml', `autodiscover.${DOMAIN}`, autodiscoverRequest(USER))
    expect(reply.status).toBe(200)
    const account = childrenNamed(parseXml(reply.body).children[0]!, 'Account')[0]!
    const protocols = childrenNamed(account, 'Protocol').map((p) => ({
      type: childText(p, 'Type'),
      host: childText(p, 'Server'),
      port: Number(childText(p, 'Port')),
      security: (childText(p, 'Encryption') === 'SSL' ? 'SSL' : 'STARTTLS') as Security,
      login: childText(p, 'LoginName'),
      ssl: childText(p, 'SSL'),
    }))
    expect(protocols.map((p) => `${p.type} ${p.host}:${p.port} ${p.security} ${p.login} ssl=${p.ssl}`)).toEqual([
      `IMAP ${CLIENT_HOST}:${ports.imaps} SSL ${USER} ssl=on`,
      `IMAP ${CLIENT_HOST}:${ports.imap} STARTTLS ${USER} ssl=on`,
      `POP3 ${CLIENT_HOST}:${ports.pop3s} SSL ${USER} ssl=on`,
      `SMTP ${CLIENT_HOST}:${ports.smtps} SSL ${USER} ssl=on`,
      `SMTP ${CLIENT_HOST}:${ports.submission} STARTTLS ${USER} ssl=on`,
    ])
    await useEndpoints(
      protocols.filter((p) => p.type !== 'SMTP'),
      protocols.filter((p) => p.type === 'SMTP'),
    )
  })

  it('a domain that is not local: 404 for GET and POST; an unknown user of a local domain is answered', async () => {
    expect((await http(httpPort, 'GET', '/mail/config-v1.1.xml', 'autoconfig.other.org')).status).toBe(404)
    expect((await http(httpPort, 'GET', '/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40other.org', DOMAIN)).status).toBe(404)
    expect((await http(httpPort, 'POST', '/autodiscover/autodiscover.xml', 'autodiscover.other.org', autodiscoverRequest('a@other.org'))).status).toBe(404)
    const unknown = await http(httpPort, 'POST', '/autodiscover/autodiscover.xml', DOMAIN, autodiscoverRequest('nobody@example.com'))
    expect(unknown.status).toBe(200)
    expect(unknown.body).toContain('<LoginName>nobody@example.com</LoginName>')
  })

  it("a user downloads their own profile over HTTPS with their password; refused over HTTP; it logs in and sends", async () => {
    const path = '/mail/profile.mobileconfig'
    const basic = (password: string) => `Basic ${Buffer.from(`${USER}:${password}`).toString('base64')}`
    expect((await http(httpPort, 'GET', path, 'mail.example.com', undefined, {authorization: basic(PASSWORD)})).status).toBe(403)
    const challenged = await http(httpsPort, 'GET', path, 'mail.example.com', undefined, {secure: true})
    expect(challenged.status).toBe(401)
    expect(String(challenged.headers['www-authenticate'])).toMatch(/^Basic /)
    expect((await http(httpsPort, 'GET', path, 'mail.example.com', undefined, {secure: true, authorization: basic('wrong')})).status).toBe(401)
    const got = await http(httpsPort, 'GET', path, 'mail.example.com', undefined, {secure: true, authorization: basic(PASSWORD)})
    expect(got.status).toBe(200)
    expect(got.type).toBe('application/x-apple-aspen-config')
    const mail = parsePlist(got.body).PayloadContent[0]
    expect(mail).toMatchObject({EmailAddress: USER, IncomingMailServerHostName: CLIENT_HOST, IncomingMailServerPortNumber: ports.imaps, OutgoingMailServerPortNumber: ports.smtps})
    await useEndpoints(
      [{host: mail.IncomingMailServerHostName, port: mail.IncomingMailServerPortNumber, security: 'SSL'}],
      [{host: mail.OutgoingMailServerHostName, port: mail.OutgoingMailServerPortNumber, security: 'SSL'}],
    )
  })

  it('a domain added while serve runs is answered at once (the directory change reaches the cache)', async () => {
    expect((await http(httpPort, 'GET', '/mail/config-v1.1.xml', 'autoconfig.late.example')).status).toBe(404)
    const r = await runCli(['domain', 'add', 'late.example'], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    await until(async () => (await http(httpPort, 'GET', '/mail/config-v1.1.xml', 'autoconfig.late.example')).status === 200, 10_000, 50)
  })
})
