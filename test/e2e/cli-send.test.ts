/**
 * `mailbox send` like sendmail: messages up to the size limit go through a running server
 * (the control socket used to drop any request over 1 MiB of JSON, so ~768 KiB of message) and
 * arrive byte for byte; a larger one gets a clear error; a message without From, Date or
 * Message-ID gets them, with the server stopped and running.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getMessage, listMessages} from '../../src/cli/message-views.js'
import {DEFAULT_SMTP_LIMITS} from '../../src/smtp/server.js'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {setupUsers, withStore} from './smtp-helpers.js'

const MAX = DEFAULT_SMTP_LIMITS.maxMessageSize
let dataDir: string
let files: string
let served: Served | undefined

beforeAll(async () => {
  dataDir = tempDataDir()
  files = join(dirname(dataDir), 'messages')
  mkdirSync(files)
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
})

afterAll(async () => {
  await served?.stop()
})

/** a complete message (From, Date, Message-ID present: nothing is added) of exactly `size` bytes, CRLF */
function messageOf(size: number, tag: string): Buffer {
  const header = Buffer.from(`From: root@example.com\r\nTo: alice@example.com\r\nDate: Thu, 01 Jan 2026 00:00:00 +0000\r\nMessage-ID: <${tag}@example.com>\r\nSubject: ${tag}\r\n\r\n`)
  const line = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n') // 76 bytes
  const body = Buffer.alloc(size - header.length)
  for (let at = 0; at < body.length; at += line.length) line.copy(body, at)
  body.write('\r\n', body.length - 2) // whatever the last line was cut to, it ends the message properly
  return Buffer.concat([header, body])
}

async function send(raw: Buffer, tag: string) {
  const file = join(files, `${tag}.eml`)
  writeFileSync(file, raw)
  return runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com', file], {dataDir})
}

/** the stored copy of the message with this subject */
const stored = (subject: string) =>
  withStore(dataDir, async (store) => {
    const m = (await listMessages(store.mail, 'alice@example.com', 'INBOX')).find((v) => v.subject === subject)
    return m && (await getMessage(store.mail, 'alice@example.com', 'INBOX', m.uid)).raw
  })

/** what delivery puts before the message: Return-Path and our Received (two lines, the second folded) */
function expectOnlyTrace(prefix: string) {
  expect(prefix).toMatch(/^Return-Path: <root@example\.com>\r\nReceived: by \S+ \(mailbox\) with local id \S+;\r\n\t[^\r\n]+\r\n$/)
}

function expectHeaderAdded(raw: Buffer, original: string) {
  const text = raw.toString('latin1')
  const at = text.indexOf(original)
  expect(at).toBeGreaterThan(0)
  expect(text.endsWith(original)).toBe(true)
  const added = text.slice(0, at).split('\r\n').slice(3, -1) // after Return-Path and Received (2 lines)
  expect(added).toEqual([
    'From: root@example.com',
    expect.stringMatching(/^Date: \w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/),
    expect.stringMatching(/^Message-ID: <[0-9a-z]+@\S+>$/),
  ])
}

describe('mailbox send with the server stopped', () => {
  it('adds From, Date and Message-ID to a message that lacks them', async () => {
    const r = await runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com'], {dataDir, input: 'Subject: offline bare\n\nhello\n'})
    expect(r.code, r.stderr).toBe(0)
    expectHeaderAdded((await stored('offline bare'))!, 'Subject: offline bare\r\n\r\nhello\r\n')
  })
})

describe('mailbox send through the running server', () => {
  beforeAll(async () => {
    served = await startServe(dataDir)
  })

  it('adds From, Date and Message-ID to a message that lacks them', async () => {
    const r = await runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com'], {dataDir, input: 'Subject: live bare\n\nhello\n'})
    expect(r.code, r.stderr).toBe(0)
    expectHeaderAdded((await stored('live bare'))!, 'Subject: live bare\r\n\r\nhello\r\n')
  })

  for (const [tag, size] of [
    ['one-mib', 1024 * 1024],
    ['ten-mib', 10 * 1024 * 1024],
    ['max-minus-a-little', MAX - 4096],
  ] as const) {
    it(`a ${size}-byte message arrives byte for byte`, async () => {
      const raw = messageOf(size, tag)
      expect(raw.length).toBe(size)
      const r = await send(raw, tag)
      expect(r.stderr).toBe('')
      expect(r.code).toBe(0)
      expect(r.stdout).toMatch(/^accepted \S+\n {2}stored for alice@example\.com in INBOX/)
      const copy = (await stored(tag))!
      expect(copy.subarray(copy.length - raw.length).equals(raw)).toBe(true)
      expectOnlyTrace(copy.subarray(0, copy.length - raw.length).toString('latin1'))
    }, 120_000)
  }

  it('a message just over the limit is refused with the limit named, nothing stored', async () => {
    const r = await send(messageOf(MAX + 1, 'just-over'), 'just-over')
    expect(r.code).toBe(1)
    expect(r.stderr).toBe(`Error: message too large: ${MAX + 1} bytes, the limit is ${MAX} bytes (smtp.maxMessageSize)\n`)
    expect(await stored('just-over')).toBeUndefined()
  }, 120_000)

  it('a message far over the limit is refused without the server keeping it', async () => {
    const r = await send(messageOf(2 * MAX, 'far-over'), 'far-over')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(new RegExp(`^Error: request too large: more than \\d+ bytes \\(a message sent through the server may be at most ${MAX} bytes: smtp.maxMessageSize\\)\\n$`))
    expect(await stored('far-over')).toBeUndefined()
    // the server is still there
    expect((await runCli(['status', '--json'], {dataDir})).code).toBe(0)
  }, 120_000)
})
