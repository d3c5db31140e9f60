/**
 * nodemailer against a real `serve`: MX without auth, submission with STARTTLS + AUTH PLAIN and
 * LOGIN, SMTPS with implicit TLS. Each delivery is checked in the store: Return-Path and our
 * Received header on top, the body byte for byte, and `message list --json`'s summary.
 */
import nodemailer from 'nodemailer'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, runJson, type Served} from '../helpers/cli.js'
import {counts, freePorts, headerFields, listMessages, setupUsers, showRaw} from './smtp-helpers.js'
import {withTestStore} from '../helpers/test-store.js'

const HOST = 'mx.nodemailer.test'
let dataDir: string
let served: Served
let mx: number, submission: number, smtps: number

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[mx, submission, smtps] = await freePorts(3)
  await setupUsers(dataDir, ['example.com'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'bob@example.com', password: 'bob-pw'},
  ])
  served = await startServe(dataDir, ['--hostname', HOST, '--smtp-port', String(mx), '--submission-port', String(submission), '--smtps-port', String(smtps)])
})

afterAll(async () => {
  if (process.env.DEBUG_SERVE) console.log(served.output())
  await served?.stop()
})

/** the raw bytes of the newest message in USER's INBOX, straight from the store */
async function newestRaw(user: string): Promise<{uid: number; raw: Buffer}> {
  return withTestStore(dataDir, async ({mail}) => {
    const inbox = (await mail.folder(user, 'INBOX'))!
    const last = (await mail.messages(inbox.id)).at(-1)!
    return {uid: last.uid, raw: (await mail.blob(last.blobId))!}
  })
}

function checkTrace(raw: string, returnPath: string, proto: string) {
  const fields = headerFields(raw)
  expect(fields[0]).toBe(`Return-Path: <${returnPath}>`)
  expect(fields[1]).toMatch(/^Received: from \S+ \(\[127\.0\.0\.1\]\)\r?\n\tby mx\.nodemailer\.test \(mailbox\) with (\S+) id [0-9a-z]+/)
  expect(fields[1]).toContain(`by ${HOST} (mailbox) with ${proto} id `)
}

describe('nodemailer → serve', () => {
  it('MX without auth: raw 8BITMIME message with a leading-dot line arrives byte for byte', async () => {
    const body =
      'From: Remote Sender <sender@remote.test>\r\n' +
      'To: alice@example.com\r\n' +
      'Subject: MX hello\r\n' +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      'Content-Transfer-Encoding: 8bit\r\n' +
      '\r\n' +
      'first line\r\n' +
      '.leading dot must survive\r\n' +
      '..two dots too\r\n' +
      'Grüße aus Köln — 日本語テキスト ✓\r\n'
    const transport = nodemailer.createTransport({host: '127.0.0.1', port: mx, secure: false, ignoreTLS: true})
    const info = await transport.sendMail({envelope: {from: 'sender@remote.test', to: ['alice@example.com'], use8BitMime: true} as never, raw: body})
    transport.close()
    expect(info.accepted).toEqual(['alice@example.com'])
    expect(info.response).toMatch(/^250 /)

    const {uid, raw} = await newestRaw('alice@example.com')
    const text = raw.toString('utf8')
    checkTrace(text, 'sender@remote.test', 'ESMTP')
    // the message follows our two trace fields exactly as sent
    expect(raw.subarray(raw.length - Buffer.byteLength(body)).equals(Buffer.from(body))).toBe(true)
    expect(text).toContain('\r\n.leading dot must survive\r\n..two dots too\r\n')
    expect(text).toContain('Grüße aus Köln — 日本語テキスト ✓')

    // the CLI shows the same bytes and the summary
    const shown = await showRaw(dataDir, 'alice@example.com', uid)
    expect(shown.startsWith('Return-Path: <sender@remote.test>\r\nReceived: from ')).toBe(true)
    expect(shown.endsWith(body)).toBe(true)
    const list = await listMessages(dataDir, 'alice@example.com')
    const m = list.find((x) => x.uid === uid)!
    expect(m.subject).toBe('MX hello')
    expect(m.from).toContain('sender@remote.test')
    expect(m.folder).toBe('INBOX')
  })

  it('submission with STARTTLS + AUTH PLAIN', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: submission,
      secure: false,
      requireTLS: true,
      tls: {rejectUnauthorized: false},
      auth: {user: 'alice@example.com', pass: 'alice-pw'},
      authMethod: 'PLAIN',
    })
    const info = await transport.sendMail({
      from: 'Alice <alice@example.com>',
      to: 'bob@example.com',
      subject: 'Plain über TLS',
      text: 'hello bob\n.dot line\nÄpfel und Öl\n',
    })
    transport.close()
    expect(info.accepted).toEqual(['bob@example.com'])
    expect(info.rejected).toEqual([])

    const {uid, raw} = await newestRaw('bob@example.com')
    checkTrace(raw.toString('utf8'), 'alice@example.com', 'ESMTPSA')
    const list = await listMessages(dataDir, 'bob@example.com')
    const m = list.find((x) => x.uid === uid)!
    expect(m.subject).toBe('Plain über TLS')
    expect(m.from).toMatch(/^"?Alice"? <alice@example\.com>$/)
    expect(m.to).toEqual(['bob@example.com'])
    const shown = await runJson(['message', 'show', 'bob@example.com', String(uid)], {dataDir})
    expect(shown.text).toBe('hello bob\n.dot line\nÄpfel und Öl\n')
  })

  it('submission with STARTTLS + AUTH LOGIN', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: submission,
      secure: false,
      requireTLS: true,
      tls: {rejectUnauthorized: false},
      auth: {user: 'bob@example.com', pass: 'bob-pw'},
      authMethod: 'LOGIN',
    })
    const info = await transport.sendMail({from: 'bob@example.com', to: 'alice@example.com', subject: 'via LOGIN', text: 'login body'})
    transport.close()
    expect(info.accepted).toEqual(['alice@example.com'])
    const {uid, raw} = await newestRaw('alice@example.com')
    checkTrace(raw.toString('utf8'), 'bob@example.com', 'ESMTPSA')
    const m = (await listMessages(dataDir, 'alice@example.com')).find((x) => x.uid === uid)!
    expect(m.subject).toBe('via LOGIN')
    expect(m.from).toBe('bob@example.com')
  })

  it('SMTPS (implicit TLS) with AUTH', async () => {
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: smtps,
      secure: true,
      tls: {rejectUnauthorized: false},
      auth: {user: 'bob@example.com', pass: 'bob-pw'},
    })
    const info = await transport.sendMail({
      from: '"Bob B." <bob@example.com>',
      to: 'alice@example.com',
      subject: 'over SMTPS',
      text: 'secure all the way\n',
    })
    transport.close()
    expect(info.accepted).toEqual(['alice@example.com'])
    const {uid, raw} = await newestRaw('alice@example.com')
    checkTrace(raw.toString('utf8'), 'bob@example.com', 'ESMTPSA')
    const m = (await listMessages(dataDir, 'alice@example.com')).find((x) => x.uid === uid)!
    expect(m.subject).toBe('over SMTPS')
    expect(m.from).toBe('"Bob B." <bob@example.com>')
  })

  it('submission without STARTTLS: no AUTH offered, MAIL FROM gets 530 5.7.0, nothing stored', async () => {
    const before = await counts(dataDir)
    const transport = nodemailer.createTransport({
      host: '127.0.0.1',
      port: submission,
      secure: false,
      ignoreTLS: true,
      auth: {user: 'alice@example.com', pass: 'alice-pw'},
      authMethod: 'PLAIN',
    })
    const err = await transport.sendMail({from: 'alice@example.com', to: 'bob@example.com', subject: 'cleartext', text: 'x'}).then(
      () => undefined,
      (e: {code?: string; responseCode?: number; response?: string; message: string}) => e,
    )
    // AUTH is not offered on plaintext, so nodemailer cannot log in and MAIL FROM needs auth
    expect(err?.responseCode, err?.message).toBe(530)
    expect(err?.response).toMatch(/^530 5\.7\.0 /)
    transport.close()
    expect((await counts(dataDir)).messages).toBe(before.messages)
  })

  it('every delivery above is in the store: 3 for alice, 1 for bob', async () => {
    const c = await counts(dataDir)
    expect(c.messages).toBe(4)
    expect(c.queue.queued).toBe(0)
    expect((await listMessages(dataDir, 'alice@example.com')).map((m) => m.subject)).toEqual(['MX hello', 'via LOGIN', 'over SMTPS'])
  })
})
