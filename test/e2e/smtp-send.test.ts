/**
 * `mailbox send` (sendmail-style injection) with the server stopped (straight to the store) and
 * running (through the control socket), refusal of an unknown local recipient, and
 * `message delete` with the folder counters following.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {connectControl, type ControlClient} from '../../src/control/client.js'
import type {ControlEvent} from '../../src/control/protocol.js'
import {counts, headerFields, listMessages, setupUsers, showRaw} from './smtp-helpers.js'

let dataDir: string
let served: Served | undefined

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}, {address: 'bob@example.com'}])
})

afterAll(async () => {
  await served?.stop()
})

/** a message as a Unix tool would write it: LF line endings */
const lfMessage = (subject: string) => `From: Root <root@example.com>\nTo: alice@example.com\nSubject: ${subject}\n\nline 1\n.dot line\nÄrger? Nein.\n`

/** the UID from `send`'s "stored for USER in INBOX (uid N)" line */
function storedUid(stdout: string, user: string): number {
  expect(stdout).toMatch(/^accepted \S+\n/)
  const m = new RegExp(`\\n {2}stored for ${user.replace(/\./g, '\\.')} in INBOX \\(uid (\\d+)\\)`).exec(stdout)
  expect(m, stdout).not.toBeNull()
  return Number(m![1])
}

function checkStored(raw: string, subject: string) {
  const fields = headerFields(raw)
  expect(fields[0]).toBe('Return-Path: <root@example.com>')
  expect(fields[1]).toMatch(/^Received: by \S+ \(mailbox\) with local id \S+;\r\n\t/)
  // stored with CRLF line endings, body intact
  expect(raw).toContain(`\r\nSubject: ${subject}\r\n\r\nline 1\r\n.dot line\r\nÄrger? Nein.\r\n`)
  expect(raw).not.toMatch(/[^\r]\n/)
}

describe('mailbox send', () => {
  it('server stopped: from a file, in the documented order `--to B FILE`', async () => {
    // DESIGN.md: `mailbox send --from A --to B [FILE]`; the command's own example ends with the file too
    const file = join(dirname(dataDir), 'documented.eml')
    writeFileSync(file, lfMessage('file, documented order'))
    const r = await runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com', file], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    const uid = storedUid(r.stdout, 'alice@example.com')
    const list = await listMessages(dataDir, 'alice@example.com')
    expect(list.find((m) => m.uid === uid)?.subject).toBe('file, documented order')
  })

  it('server stopped: from a file (FILE before the flags)', async () => {
    const file = join(dirname(dataDir), 'message.eml')
    writeFileSync(file, lfMessage('from a file'))
    const r = await runCli(['send', file, '--from', 'root@example.com', '--to', 'alice@example.com'], {dataDir})
    expect(r.code, r.stderr).toBe(0)
    const uid = storedUid(r.stdout, 'alice@example.com')
    const m = (await listMessages(dataDir, 'alice@example.com')).find((x) => x.uid === uid)!
    expect(m.subject).toBe('from a file')
    expect(m.from).toMatch(/^"?Root"? <root@example\.com>$/)
    checkStored(await showRaw(dataDir, 'alice@example.com', uid), 'from a file')
  })

  it('server stopped: from stdin, two recipients, --json reply', async () => {
    const reply = await runJson(['send', '--from', 'root@example.com', '--to', 'alice@example.com', '--to', 'bob@example.com'], {dataDir, input: lfMessage('from stdin')})
    expect(reply.id).toEqual(expect.any(String))
    expect(reply.stored.map((s: {user: string; folder: string}) => [s.user, s.folder])).toEqual([
      ['alice@example.com', 'INBOX'],
      ['bob@example.com', 'INBOX'],
    ])
    expect(reply.queued).toEqual([])
    const aliceUid = reply.stored[0].uid as number
    expect((await listMessages(dataDir, 'alice@example.com')).find((m) => m.uid === aliceUid)?.subject).toBe('from stdin')
    expect(reply.stored[1].uid).toBe(1)
    checkStored(await showRaw(dataDir, 'bob@example.com', 1), 'from stdin')
  })

  it('server stopped: an unknown local recipient refuses the whole message (exit 1, nothing stored)', async () => {
    const before = await counts(dataDir)
    const r = await runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com', '--to', 'nobody@example.com'], {dataDir, input: lfMessage('never')})
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('nobody@example.com')
    expect(await counts(dataDir)).toEqual(before)
  })

  describe('server running (through the control socket)', () => {
    let client: ControlClient
    const events: ControlEvent[] = []

    beforeAll(async () => {
      served = await startServe(dataDir)
      client = (await connectControl(dataDir))!
      expect(client).toBeDefined()
      await client.subscribe(['mail.*'], (e) => events.push(e))
    })
    afterAll(() => client?.close())

    it('same result as with the server stopped, and the server publishes it', async () => {
      const r = await runCli(['send', '--from', 'root@example.com', '--to', 'alice@example.com'], {dataDir, input: lfMessage('while running')})
      expect(r.code, r.stderr).toBe(0)
      const uid = storedUid(r.stdout, 'alice@example.com')
      const list = await listMessages(dataDir, 'alice@example.com')
      expect(list.at(-1)).toMatchObject({uid, subject: 'while running', from: expect.stringMatching(/^"?Root"? <root@example\.com>$/)})
      checkStored(await showRaw(dataDir, 'alice@example.com', uid), 'while running')
      // it went through the live server: the mailstore actor announced it
      const received = events.filter((e) => e.event === 'mail.received')
      expect(received).toHaveLength(1)
      expect(received[0]!.body).toMatchObject({mailFrom: 'root@example.com', rcptTo: ['alice@example.com'], subject: 'while running', remoteAddress: 'local'})
      expect(events.filter((e) => e.event === 'mail.stored').map((e) => e.body)).toMatchObject([{user: 'alice@example.com', folder: 'INBOX', uid, subject: 'while running'}])
    })

    it('an unknown local recipient → exit 1 and nothing stored', async () => {
      const before = await counts(dataDir)
      const seen = events.length
      const r = await runCli(['send', '--from', 'root@example.com', '--to', 'nobody@example.com', '--to', 'bob@example.com'], {dataDir, input: lfMessage('never')})
      expect(r.code).toBe(1)
      expect(r.stderr).toContain('nobody@example.com')
      expect(await counts(dataDir)).toEqual(before)
      expect(events.length).toBe(seen)
    })

    it('message delete removes a message and folder list counters drop', async () => {
      const folder = async () => (await runJson(['folder', 'list', 'alice@example.com'], {dataDir})).find((f: {name: string}) => f.name === 'INBOX')
      const before = await folder()
      const listBefore = await listMessages(dataDir, 'alice@example.com')
      expect(before.messages).toBe(listBefore.length)
      expect(before.messages).toBeGreaterThanOrEqual(3)
      expect(before.unseen).toBe(before.messages)
      const victim = listBefore.find((m) => m.subject === 'from stdin')!
      const r = await runCli(['message', 'delete', 'alice@example.com', String(victim.uid)], {dataDir})
      expect(r.code, r.stderr).toBe(0)
      const after = await folder()
      expect(after.messages).toBe(before.messages - 1)
      expect(after.unseen).toBe(before.unseen - 1)
      expect(after.size).toBe(before.size - victim.size)
      expect((await listMessages(dataDir, 'alice@example.com')).map((m) => m.uid)).toEqual(listBefore.map((m) => m.uid).filter((u) => u !== victim.uid))
      // bob's copy shares the blob and is untouched
      checkStored(await showRaw(dataDir, 'bob@example.com', 1), 'from stdin')
      // deleting it again fails
      const again = await runCli(['message', 'delete', 'alice@example.com', String(victim.uid)], {dataDir})
      expect(again.code).not.toBe(0)
    })
  })
})
