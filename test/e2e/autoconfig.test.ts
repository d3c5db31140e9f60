/**
 * Client autoconfiguration end to end: a real `mailbox serve` on loopback, the documents it
 * advertises read by Python's XML and plist readers, and then a real IMAP login (imapflow) and
 * SMTP submission (nodemailer) with exactly the advertised host, port and security for every
 * endpoint, so the documents are shown usable, not just well-formed. TLS is real (the self-signed
 * default, not verified by the clients: trust is ACME's part); no --allow-insecure-auth, so a
 * STARTTLS endpoint that did not upgrade would fail the login.
 */
import {request} from 'node:http'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ImapFlow} from 'imapflow'
import nodemailer from 'nodemailer'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
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
const LISTENERS = ['imaps', 'imap', 'smtps', 'submission'] as const

let dataDir: string
let configFile: string
let ports: Record<(typeof LISTENERS)[number], number>
let serve: Served | undefined

beforeAll(async () => {
  requireInCi(HAS_PYTHON, 'python3')
  dataDir = tempDataDir()
  await addDomainsAndUsers(dataDir, [DOMAIN], [{address: USER, password: PASSWORD}])
  ports = {imaps: await freePort(), imap: await freePort(), smtps: await freePort(), submission: await freePort()}
  configFile = join(dataDir, '..', 'mailbox.jsonc')
  // POP3 off: what is off must not be advertised
  writeFileSync(configFile, JSON.stringify({hostname: 'mail.example.com', clientSettings: {hostname: CLIENT_HOST}, ports: {...ports, pop3: 0, pop3s: 0}}))
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

/** logs in to every incoming endpoint and submits through every outgoing one; each message must arrive */
async function useEndpoints(incoming: {host: string; port: number; security: Security}[], outgoing: {host: string; port: number; security: Security}[]): Promise<void> {
  expect(incoming.length).toBeGreaterThan(0)
  expect(outgoing.length).toBeGreaterThan(0)
  const first = incoming[0]!
  const before = await inboxCount(first.host, first.port, first.security)
  for (const [i, out] of outgoing.entries()) await submit(out.host, out.port, out.security, `via ${out.port} #${i}`)
  for (const inc of incoming) await until(async () => (await inboxCount(inc.host, inc.port, inc.security)) >= before + outgoing.length, 15_000, 100)
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
