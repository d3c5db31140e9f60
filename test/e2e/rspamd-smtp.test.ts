/**
 * `mailbox serve --rspamd URL` end to end with Debian's rspamd (test/helpers/rspamd.ts, started
 * once for the file): nodemailer's GTUBE message is refused with 550 5.7.1, a plain one delivered
 * to the INBOX with X-Spam-Score / X-Spam-Status from rspamd's verdict (read back with imapflow),
 * an imapflow MOVE into Junk reaches rspamd's controller (its /stat), and mail still flows when
 * rspamd does not answer (a server that accepts and never replies: after the timeout) or is
 * stopped, each failure logged and counted.
 */
import {createServer, type Socket} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {freePort} from '../helpers/ports.js'
import {GTUBE, RSPAMD_AVAILABLE, startRspamd, type RspamdServer} from '../helpers/rspamd.js'
import {until} from '../helpers/until.js'
import {connectFlow, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {headerFields, logLines, metricSample, sendRaw, storedBySubject} from './smtp-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}
const envelope = {from: 'ann@sender.test', to: [alice.address]}

let counter = 0
const mail = (body = 'Shall we have lunch tomorrow at noon?') => {
  const subject = `rspamd e2e ${++counter}`
  return {subject, raw: simpleMessage({from: 'Ann <ann@sender.test>', to: alice.address, subject, body})}
}

const stored = (server: ImapServer, subject: string) => storedBySubject(server.ports.imap, alice, subject)
const logged = (server: ImapServer, msg: string) => logLines(server.served.output(), msg)

describe.skipIf(missingOutsideCi(RSPAMD_AVAILABLE))('serve --rspamd: inbound mail checked by a real rspamd', () => {
  let rspamd: RspamdServer
  let server: ImapServer
  let metricsPort: number
  const others: ImapServer[] = []

  beforeAll(async () => {
    requireInCi(RSPAMD_AVAILABLE, 'rspamd and redis-server')
    rspamd = await startRspamd()
    metricsPort = await freePort()
    server = await startImapServer({
      users: [alice],
      config: {spam: {rspamd: {controllerUrl: rspamd.controllerUrl, password: rspamd.password, timeoutMs: 1000}}},
      args: ['--rspamd', rspamd.url, '--metrics-port', String(metricsPort)],
    })
  }, 90_000)

  afterAll(async () => {
    await Promise.all([server?.stop(), ...others.map((s) => s.stop())])
    await rspamd?.stop()
  })

  it('GTUBE is refused with 550 5.7.1 and not stored', async () => {
    const m = mail(`Test message.\r\n${GTUBE}`)
    const r = await sendRaw(server.ports.smtp, envelope, m.raw)
    expect(r.code, r.response).toBe(550)
    expect(r.response).toMatch(/5\.7\.1/)
    expect(await stored(server, m.subject)).toBeUndefined()
    expect(await metricSample(metricsPort, 'mailbox_rspamd_checks_total', {action: 'reject'})).toBe(1)
  })

  it("a plain message is delivered to the INBOX with rspamd's score and symbols in X-Spam-*", async () => {
    const m = mail()
    const r = await sendRaw(server.ports.smtp, envelope, m.raw)
    expect(r.code, r.response).toBe(250)
    const s = await stored(server, m.subject)
    expect(s?.folder).toBe('INBOX')
    const fields = headerFields(s!.raw)
    expect(fields.find((f) => f.startsWith('X-Spam-Score:'))).toMatch(/^X-Spam-Score: -?\d+\.\d$/)
    const status = fields.find((f) => f.startsWith('X-Spam-Status:'))?.replace(/\r?\n[ \t]/g, ' ')
    // required is rspamd's reject threshold (15 in Debian's actions.conf); tests are its symbols
    expect(status).toMatch(/^X-Spam-Status: No, score=-?\d+\.\d required=15\.0 tests=[A-Z0-9_]+/)
    expect(status).toContain('MIME_GOOD')
    expect(await metricSample(metricsPort, 'mailbox_rspamd_checks_total', {action: 'no action'})).toBeGreaterThanOrEqual(1)
  })

  it("an imapflow MOVE into Junk reaches rspamd's controller: its learned count goes up", async () => {
    const m = mail('The quarterly report shows growth in every region, and the team plans a review of the budget next week.')
    expect((await sendRaw(server.ports.smtp, envelope, m.raw)).code).toBe(250)
    const before = (await rspamd.stat()).learned
    const client = await connectFlow(server, alice)
    try {
      await client.mailboxOpen('INBOX')
      const uids = (await client.search({header: {subject: m.subject}}, {uid: true})) || []
      expect(uids).toHaveLength(1)
      await client.messageMove(String(uids[0]), 'Junk', {uid: true})
    } finally {
      await client.logout()
    }
    await until(async () => (await rspamd.stat()).learned === before + 1)
  })

  it('rspamd accepting and never answering: the message is delivered after the timeout, the failure logged and counted', async () => {
    const sockets = new Set<Socket>()
    const silent = createServer((socket) => {
      sockets.add(socket)
      socket.on('error', () => {})
    })
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = await freePort()
    const other = await startImapServer({
      users: [alice],
      config: {spam: {rspamd: {timeoutMs: 1000}}},
      args: ['--rspamd', `http://127.0.0.1:${(silent.address() as {port: number}).port}`, '--metrics-port', String(port)],
    })
    others.push(other)
    try {
      const m = mail()
      const r = await sendRaw(other.ports.smtp, envelope, m.raw)
      expect(r.code, r.response).toBe(250)
      expect((await stored(other, m.subject))?.folder).toBe('INBOX')
      const failures = logged(other, 'rspamd check failed: the message is taken without its verdict')
      expect(failures).toHaveLength(1)
      expect(failures[0]!.err).toBe('no answer from rspamd within 1000 ms')
      expect(await metricSample(port, 'mailbox_rspamd_checks_total', {action: 'failed'})).toBe(1)
    } finally {
      for (const s of sockets) s.destroy()
      silent.close()
    }
  })

  it('rspamd stopped: mail still flows, each failed check logged', async () => {
    await rspamd.stop()
    const m = mail()
    const r = await sendRaw(server.ports.smtp, envelope, m.raw)
    expect(r.code, r.response).toBe(250)
    expect((await stored(server, m.subject))?.folder).toBe('INBOX')
    expect(logged(server, 'rspamd check failed: the message is taken without its verdict').length).toBeGreaterThanOrEqual(1)
    expect(await metricSample(metricsPort, 'mailbox_rspamd_checks_total', {action: 'failed'})).toBeGreaterThanOrEqual(1)
  })
})
