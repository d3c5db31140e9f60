/**
 * Learning from users' moves through a real `mailbox serve` and Debian's rspamd (started once for
 * the file, test/helpers/rspamd.ts): an imapflow MOVE into Junk reaches rspamd's controller as
 * spam (its /stat's learned count goes up), a move out of Junk as ham, a COPY into Junk counts
 * too, a move from Junk to Trash trains nothing. Jobs queued while the controller is unreachable
 * are retried and survive a restart of serve. Without a controller the moves are only counted
 * (metrics and log).
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {startServe} from '../helpers/cli.js'
import {freePort} from '../helpers/ports.js'
import {RSPAMD_AVAILABLE, startRspamd, type RspamdServer} from '../helpers/rspamd.js'
import {until} from '../helpers/until.js'
import {connectFlow, deliver, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'
import {logLines, metricSample} from './smtp-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

/** a message with enough words for the bayes classifier, distinct each time */
const wordy = (subject: string) =>
  simpleMessage({
    subject,
    body: `${subject}: ${Math.random().toString(36)} the quarterly report shows growth in every region, and the team plans a review of the budget next week.`,
  })

const logged = (server: ImapServer, msg: string) => logLines(server.served.output(), msg)

describe.skipIf(missingOutsideCi(RSPAMD_AVAILABLE))('learning from IMAP moves through rspamd', () => {
  let rspamd: RspamdServer
  const servers: ImapServer[] = []
  const stops: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    requireInCi(RSPAMD_AVAILABLE, 'rspamd and redis-server')
    rspamd = await startRspamd()
  }, 90_000)

  afterAll(async () => {
    await Promise.all([...servers.map((s) => s.stop()), ...stops.map((stop) => stop())])
    await rspamd?.stop()
  })

  const learned = async () => (await rspamd.stat()).learned
  const start = async (rspamdConfig: Record<string, unknown>, extra: {metricsPort?: number} = {}) => {
    const server = await startImapServer({
      users: [alice],
      config: {spam: {rspamd: rspamdConfig}},
      ...(extra.metricsPort ? {args: ['--metrics-port', String(extra.metricsPort)]} : {}),
    })
    servers.push(server)
    return server
  }

  it('MOVE into Junk trains spam, out of Junk ham, COPY into Junk spam; Junk to Trash nothing', async () => {
    const metricsPort = await freePort()
    const server = await start({controllerUrl: rspamd.controllerUrl, password: rspamd.password}, {metricsPort})
    for (const subject of ['one', 'two', 'three']) await deliver(server.ports.smtp, alice.address, wordy(subject))
    const client = await connectFlow(server, alice)
    try {
      const before = await learned()
      await client.mailboxOpen('INBOX')
      await client.messageMove('1', 'Junk')
      await until(async () => (await learned()) === before + 1)
      await client.messageCopy('1', 'Junk')
      await until(async () => (await learned()) === before + 2)

      await client.mailboxOpen('Junk')
      expect(((await client.status('Junk', {messages: true})) as {messages?: number}).messages).toBe(2)
      // Junk → INBOX: a rescued message is ham
      await client.messageMove('1', 'INBOX')
      await until(async () => (await learned()) === before + 3)
      // Junk → Trash: no verdict
      await client.messageMove('1:*', 'Trash')
      await new Promise((r) => setTimeout(r, 500))
      expect(await learned()).toBe(before + 3)

      const lines = logged(server, 'rspamd learned a message')
      expect(lines.map((l) => l.kind)).toEqual(['spam', 'spam', 'ham'])
      expect(await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'spam', outcome: 'learned'})).toBe(2)
      expect(await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'ham', outcome: 'learned'})).toBe(1)
      expect(await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'spam', outcome: 'queued'})).toBe(2)
    } finally {
      await client.logout()
    }
  })

  it('jobs for an unreachable controller are retried, and a restart of serve keeps them until they are learned', async () => {
    const dead = `http://127.0.0.1:${await freePort()}`
    const first = await start({controllerUrl: dead, password: rspamd.password, learnRetryMs: 100, learnMaxAttempts: 1000})
    await deliver(first.ports.smtp, alice.address, wordy('restart'))
    const client = await connectFlow(first, alice)
    await client.mailboxOpen('INBOX')
    await client.messageMove('1', 'Junk')
    await client.logout()
    await until(() => logged(first, 'rspamd did not learn a message: will retry').length >= 2)
    await first.stop()

    const before = await learned()
    // the same data dir, now with the controller's real address (no protocol listener needed)
    const config = join(dirname(first.dataDir), 'config-restart.json')
    writeFileSync(config, JSON.stringify({spam: {rspamd: {controllerUrl: rspamd.controllerUrl, password: rspamd.password, learnRetryMs: 100}}}))
    const second = await startServe(first.dataDir, ['--config', config])
    stops.push(() => second.stop())
    await until(async () => (await learned()) === before + 1)
    expect(second.output()).toContain('"msg":"rspamd learned a message"')
  })

  it('without a controller, moves into and out of Junk train nothing and are counted', async () => {
    const metricsPort = await freePort()
    const server = await start({}, {metricsPort})
    await deliver(server.ports.smtp, alice.address, wordy('counted'))
    const client = await connectFlow(server, alice)
    try {
      await client.mailboxOpen('INBOX')
      await client.messageMove('1', 'Junk')
      await client.mailboxOpen('Junk')
      await client.messageMove('1', 'INBOX')
    } finally {
      await client.logout()
    }
    await until(async () => (await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'ham', outcome: 'untrained'})) === 1)
    expect(await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'spam', outcome: 'untrained'})).toBe(1)
    expect(await metricSample(metricsPort, 'mailbox_spam_learn_total', {kind: 'ham', outcome: 'untrained'})).toBe(1)
    expect(logged(server, 'moved messages not trained: no rspamd controller (spam.rspamd.controllerUrl) or learning off')).toHaveLength(2)
  })
})
