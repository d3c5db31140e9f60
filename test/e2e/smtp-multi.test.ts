/**
 * Several recipients per message against a real `serve`: one blob shared by every local copy,
 * aliases and catch-alls fanning out, and a submission to a local plus a remote recipient that
 * stores the local copy and queues the remote one.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {RawSmtp, cli, counts, freePorts, headerFields, listMessages, setupUsers, withStore} from './smtp-helpers.js'
import {mailboxKey, mailboxMessagesRange} from '../../src/store/keys.js'
import type {MessageRecord} from '../../src/store/records.js'

let dataDir: string
let served: Served
let mx: number, submission: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx, submission] = await freePorts(2)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'bob@example.com', password: 'bob-pw'},
    {address: 'jöran@example.com'},
  ])
  await Promise.all([
    cli(['alias', 'add', 'team@example.com', 'alice@example.com', 'bob@example.com'], dataDir),
    cli(['alias', 'add', '@example.com', 'alice@example.com'], dataDir),
  ])
  // remote.example routes to a port nobody listens on: its entry is tried, deferred, and stays queued
  const [closed] = await freePorts(1)
  served = await startServe(dataDir, ['--smtp-port', String(mx), '--submission-port', String(submission), '--route', `remote.example=127.0.0.1:${closed}`])
})

afterAll(async () => {
  await served?.stop()
})

/** sends one message over MX to the given recipients; every RCPT must be accepted */
async function sendMx(rcpts: string[], subject: string): Promise<void> {
  const c = await RawSmtp.open(mx)
  await c.ehlo()
  expect((await c.cmd('MAIL FROM:<sender@remote.test>')).code).toBe(250)
  for (const r of rcpts) {
    const reply = await c.cmd(`RCPT TO:<${r}>`)
    expect(reply.code, `${r}: ${reply.raw}`).toBe(250)
  }
  const [, done] = await c.data(`From: sender@remote.test\r\nTo: ${rcpts.join(', ')}\r\nSubject: ${subject}\r\n\r\nhello all\r\n`)
  expect(done?.code, done?.raw).toBe(250)
  await c.quit()
}

/** the message records in USER's INBOX whose blob has this subject */
function entriesWithSubject(dataDir: string, user: string, subject: string) {
  return withStore(dataDir, (store) => {
    const inbox = store.mailboxes.get(mailboxKey(user, 'INBOX'))!
    const out: {record: MessageRecord; refs: number; raw: string}[] = []
    for (const {value} of store.messages.getRange(mailboxMessagesRange(inbox.id))) {
      const info = store.blobInfo.get(value.blobId)
      if (info?.summary?.subject === subject) out.push({record: value, refs: info.refs, raw: store.blobs.get(value.blobId)!.toString('utf8')})
    }
    return out
  })
}

const blobCount = (dir: string) => withStore(dir, (s) => s.blobInfo.getKeysCount())

describe('multiple recipients', () => {
  it('one message to alice and bob is one blob with refs 2 shared by both entries', async () => {
    const blobsBefore = await blobCount(dataDir)
    await sendMx(['alice@example.com', 'bob@example.com'], 'to both')
    const a = await entriesWithSubject(dataDir, 'alice@example.com', 'to both')
    const b = await entriesWithSubject(dataDir, 'bob@example.com', 'to both')
    expect(a).toHaveLength(1)
    expect(b).toHaveLength(1)
    expect(a[0]!.record.blobId).toBe(b[0]!.record.blobId)
    expect(a[0]!.refs).toBe(2)
    expect(await blobCount(dataDir)).toBe(blobsBefore + 1)
    // trace fields: no "for <…>" clause with two recipients
    const fields = headerFields(a[0]!.raw)
    expect(fields[0]).toBe('Return-Path: <sender@remote.test>')
    expect(fields[1]).toMatch(/^Received: from /)
    expect(fields[1]).not.toContain('for <')
  })

  it('alias team@ → alice, bob delivers to both (one blob); naming alice too does not duplicate', async () => {
    const blobsBefore = await blobCount(dataDir)
    await sendMx(['team@example.com', 'alice@example.com'], 'team mail')
    const a = await entriesWithSubject(dataDir, 'alice@example.com', 'team mail')
    const b = await entriesWithSubject(dataDir, 'bob@example.com', 'team mail')
    expect(a).toHaveLength(1)
    expect(b).toHaveLength(1)
    expect(a[0]!.record.blobId).toBe(b[0]!.record.blobId)
    expect(a[0]!.refs).toBe(2)
    expect(await blobCount(dataDir)).toBe(blobsBefore + 1)
  })

  it('catch-all @example.com → alice catches unknown addresses', async () => {
    await sendMx(['nobody-in-particular@example.com', 'Another.Unknown@Example.COM'], 'caught')
    const a = await entriesWithSubject(dataDir, 'alice@example.com', 'caught')
    expect(a).toHaveLength(1)
    expect(a[0]!.refs).toBe(1)
    expect(await entriesWithSubject(dataDir, 'bob@example.com', 'caught')).toHaveLength(0)
    expect((await listMessages(dataDir, 'alice@example.com')).map((m) => m.subject)).toContain('caught')
  })

  it('SMTPUTF8: a non-ASCII local part is delivered, case-folded to the same user, once', async () => {
    const c = await RawSmtp.open(mx)
    expect(await c.ehlo()).toContain('SMTPUTF8')
    expect((await c.cmd('MAIL FROM:<sender@remote.test> SMTPUTF8')).code).toBe(250)
    const r1 = await c.cmd('RCPT TO:<jöran@example.com>')
    const r2 = await c.cmd('RCPT TO:<JÖRAN@Example.com>')
    expect([r1.code, r2.code], `${r1.raw} / ${r2.raw}`).toEqual([250, 250])
    const [, done] = await c.data('From: sender@remote.test\r\nTo: jöran@example.com\r\nSubject: utf8 envelope\r\n\r\nhej\r\n')
    expect(done?.code, done?.raw).toBe(250)
    await c.quit()
    const got = await entriesWithSubject(dataDir, 'jöran@example.com', 'utf8 envelope')
    expect(got).toHaveLength(1)
    expect(headerFields(got[0]!.raw)[0]).toBe('Return-Path: <sender@remote.test>')
  })

  it('submission to a local and a remote recipient: stored locally and one queue entry for the remote domain', async () => {
    const before = await counts(dataDir)
    const waiting = (q: Record<string, number>) => q.queued + q.sending + q.deferred
    expect(waiting(before.queue)).toBe(0)
    const c = await RawSmtp.open(submission)
    await c.ehlo()
    await c.starttls()
    await c.ehlo()
    expect((await c.authPlain('alice@example.com', 'alice-pw')).code).toBe(235)
    expect((await c.cmd('MAIL FROM:<alice@example.com>')).code).toBe(250)
    expect((await c.cmd('RCPT TO:<bob@example.com>')).code).toBe(250)
    expect((await c.cmd('RCPT TO:<carol@remote.example>')).code).toBe(250)
    const [, done] = await c.data('From: alice@example.com\r\nTo: bob@example.com, carol@remote.example\r\nSubject: local and remote\r\n\r\nhi\r\n')
    expect(done?.code, done?.raw).toBe(250)
    await c.quit()

    expect(await entriesWithSubject(dataDir, 'bob@example.com', 'local and remote')).toHaveLength(1)
    const queue = await withStore(dataDir, (store) =>
      [...store.queueEntries.getRange()].map(({value}) => ({...value, raw: store.blobs.get(value.blobId)?.toString('utf8') ?? ''})),
    )
    expect(queue).toHaveLength(1)
    const entry = queue[0]!
    expect(['queued', 'sending', 'deferred']).toContain(entry.state)
    expect(entry.domain).toBe('remote.example')
    expect(entry.from).toBe('alice@example.com')
    expect(entry.recipients.map((r) => r.address)).toEqual(['carol@remote.example'])
    // the queued copy: our DKIM signatures (Ed25519, RSA) on top of our Received header, and no
    // Return-Path (that belongs to final delivery)
    const fields = entry.raw.split(/\r\n(?![ \t])/).map((f) => f.split(':')[0])
    expect(fields.slice(0, 3)).toEqual(['DKIM-Signature', 'DKIM-Signature', 'Received'])
    expect(entry.raw).not.toMatch(/^Return-Path:/im)
    expect(entry.raw).toContain('\r\nSubject: local and remote\r\n')

    const status = await runJson(['status'], {dataDir})
    expect(status.running).toBe(true)
    expect(waiting(status.counts.queue)).toBe(1)
    expect(status.counts.messages).toBe(before.messages + 1)
  })
})
