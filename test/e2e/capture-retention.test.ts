/**
 * Retention of captured mail on a real `serve --capture` with small limits (config
 * `captureRetention`): mail from nodemailer to a capture mailbox and to a user who reads it over
 * IMAP (imapflow) and POP3; the oldest beyond 5 per address are pruned and the newest kept, the
 * matcher no longer finds pruned mail, blobs are released (the store's bytes drop); then, with an
 * age limit of a few seconds given by a reload, mail older than it goes while younger mail stays.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {ImapFlow} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {withTestStore} from '../helpers/test-store.js'
import {until} from '../helpers/until.js'
import {LineClient, sendMail, sleep} from './matcher-helpers.js'
import {RawPop3} from './pop3-helpers.js'
import {counts, freePorts, listMessages, setupUsers} from './smtp-helpers.js'

const READER = 'reader@ci.test'
const CAPTURED = 'someone@app.test'
const PASSWORD = 'secret-pw'
const KEEP = 5

let dataDir: string
let served: Served | undefined
let smtp: number, imap: number, pop3: number, matcher: number

function configure(retention: Record<string, number>): string {
  const file = join(dirname(dataDir), 'retention.json') // beside the data dir: on PostgreSQL it may not exist yet
  writeFileSync(file, JSON.stringify({captureRetention: {intervalMs: 200, batch: 2, ...retention}}))
  return file
}

async function serve(retention: Record<string, number>): Promise<void> {
  const ports = ['--smtp-port', smtp, '--imap-port', imap, '--pop3-port', pop3, '--matcher-port', matcher].map(String)
  // loopback only: POP3 USER/PASS in the clear
  served = await startServe(dataDir, ['--capture', '--allow-insecure-auth', '--config', configure(retention), ...ports])
}

const subjects = async (user: string) => (await listMessages(dataDir, user)).map((m) => m.subject)
/** messages in the user's INBOX, read from the store (faster than a command per poll) */
const inboxCount = (user: string) => withTestStore(dataDir, async (s) => (await s.mail.folder(user, 'INBOX'))?.messages ?? 0, {readOnly: true})
/** when the first test sent its last mail */
let lastSent = 0
const blobCount = () => withTestStore(dataDir, async (s) => (await s.mail.recentBlobs(0, 100_000)).length, {readOnly: true})

async function imapSubjects(): Promise<string[]> {
  const flow = new ImapFlow({host: '127.0.0.1', port: imap, secure: false, auth: {user: READER, pass: PASSWORD}, logger: false, tls: {rejectUnauthorized: false}})
  await flow.connect()
  try {
    const box = await flow.mailboxOpen('INBOX')
    if (!box.exists) return []
    const got: string[] = []
    for await (const m of flow.fetch('1:*', {envelope: true})) got.push(m.envelope?.subject ?? '')
    return got
  } finally {
    await flow.logout()
  }
}

async function pop3Subjects(): Promise<string[]> {
  const c = await RawPop3.open(pop3)
  try {
    expect(await c.login(READER, PASSWORD)).toMatch(/^\+OK/)
    const [, listing] = await c.multi('LIST')
    const numbers = listing.toString().split('\r\n').filter(Boolean).map((l) => l.split(' ')[0]!)
    const got: string[] = []
    for (const n of numbers) {
      const [, head] = await c.multi(`TOP ${n} 0`)
      got.push(/^Subject: (.*)$/m.exec(head.toString())?.[1]?.trim() ?? '')
    }
    return got
  } finally {
    await c.quit()
  }
}

beforeAll(async () => {
  dataDir = tempDataDir()
  ;[smtp, imap, pop3, matcher] = await freePorts(4)
  await setupUsers(dataDir, ['ci.test'], [{address: READER, password: PASSWORD}])
})

afterAll(async () => {
  await served?.stop()
})

describe('capture retention', () => {
  it(`keeps the newest ${KEEP} per address: IMAP, POP3 and message list agree, the matcher no longer finds pruned mail, blobs released`, async () => {
    await serve({maxMessages: KEEP, maxAgeMs: 0})
    for (let i = 1; i <= 9; i++) await sendMail(smtp, {from: 'app@svc.test', to: [READER, CAPTURED], subject: `mail ${i}`, text: `body ${i} `.repeat(200)})
    lastSent = Date.now()
    const newest = [5, 6, 7, 8, 9].map((i) => `mail ${i}`)
    await until(async () => (await inboxCount(READER)) === KEEP && (await inboxCount(CAPTURED)) === KEEP)
    expect(await subjects(READER)).toEqual(newest)
    expect(await subjects(CAPTURED)).toEqual(newest)
    expect(await imapSubjects()).toEqual(newest)
    expect(await pop3Subjects()).toEqual(newest)
    // one blob per mail, shared by both mailboxes: released once both pruned it
    expect(await blobCount()).toBe(KEEP)
    expect((await counts(dataDir)).messages).toBe(2 * KEEP)

    const c = await LineClient.ready(matcher, {autoPong: true})
    try {
      const pruned = await c.match({subject: 'mail 1', since_s: 600, timeout_s: 1})
      await c.waitFor((l) => l.verb === 'EXPIRED' && l.body?.match_id === pruned, 5000, 'EXPIRED for pruned mail')
      const kept = await c.match({subject: 'mail 9', since_s: 600, timeout_s: 5})
      expect((await c.gotEmail(kept)).subject).toBe('mail 9')
    } finally {
      c.destroy()
    }
    expect(served!.output()).toMatch(/"msg":"captured mail past its retention removed"/)
    const logged = served!.output().split('\n').filter((l) => l.includes('captured mail past its retention removed') && l.includes('"byCount"'))
    expect(logged.reduce((n, l) => n + JSON.parse(l).byCount, 0)).toBe(8)
  })

  it('an age limit given by a reload (SIGHUP): mail older than it goes and younger mail stays; the store usage drops to nothing', async () => {
    const before = (await counts(dataDir)).messageBytes
    configure({maxMessages: 0, maxAgeMs: 4_000})
    process.kill(served!.pid, 'SIGHUP')
    await until(async () => served!.output().includes('"msg":"configuration reloaded"'))
    // sent once the five kept above are past the limit: it has 4 s before it is too
    await sleep(lastSent + 4_000 - Date.now())
    await sendMail(smtp, {from: 'app@svc.test', to: [READER], subject: 'fresh', text: 'new'})
    await until(async () => (await inboxCount(CAPTURED)) === 0 && (await inboxCount(READER)) === 1)
    expect(await subjects(READER)).toEqual(['fresh'])
    expect(await imapSubjects()).toEqual(['fresh'])
    expect((await counts(dataDir)).messageBytes).toBeLessThan(before / 5)
    await until(async () => (await inboxCount(READER)) === 0)
    expect(await blobCount()).toBe(0)
    expect((await counts(dataDir)).messageBytes).toBe(0)
  })
})
