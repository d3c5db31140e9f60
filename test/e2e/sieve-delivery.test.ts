/**
 * Users' Sieve scripts at final delivery (issue 21), against `mailbox serve`: scripts put through
 * the store (as ManageSieve and `mailbox sieve put` do), mail delivered over SMTP with
 * nodemailer, checked over IMAP with imapflow, forwards, refusal notices and vacation replies
 * caught by a loopback SMTP receiver the queue is routed to. Then `mailbox send` with the
 * server stopped applies the scripts too.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {ImapFlow, type ImapFlowOptions} from 'imapflow'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {withTestStore} from '../helpers/test-store.js'
import {until} from '../helpers/until.js'
import {simpleMessage} from './imap-helpers.js'
import {Receiver, type ReceivedMessage} from './queue-helpers.js'
import {freePorts, logLines, metricSample, sendRaw, setupUsers} from './smtp-helpers.js'

const DOMAIN = 'example.com'
const PASSWORD = 'sieve-pw'
const QUOTA = {maxScripts: 20, maxScriptBytes: 65536}
const USERS = ['files', 'create', 'missing', 'discard', 'reject', 'other', 'fwd', 'fwdcopy', 'loopa', 'loopb', 'away', 'broken', 'steps', 'rfc'].map((u) => `${u}@${DOMAIN}`)

let dataDir: string
let served: Served
let receiver: Receiver
let smtpPort: number
let imapPort: number
let metricsPort: number

async function putScript(user: string, content: string, name = 'main'): Promise<void> {
  await withTestStore(dataDir, async (store) => {
    await store.sieve.put(user, name, content, QUOTA)
    await store.sieve.activate(user, name)
  })
}

const send = (to: string[], subject: string, options: {from?: string; headers?: string[]; messageId?: string} = {}) =>
  sendRaw(smtpPort, {from: options.from ?? 'sender@remote.test', to}, simpleMessage({subject, to: to.join(', '), from: `Sender <${options.from ?? 'sender@remote.test'}>`, extraHeaders: options.headers, messageId: options.messageId}))

interface Seen {
  folder: string
  flags: string[]
  raw: string
}

/** every message of `user` with this subject, in every folder, over IMAP */
async function find(user: string, subject: string): Promise<Seen[]> {
  const client = new ImapFlow({host: '127.0.0.1', port: imapPort, secure: false, doSTARTTLS: false, auth: {user, pass: PASSWORD}, logger: false} as ImapFlowOptions)
  await client.connect()
  const found: Seen[] = []
  try {
    for (const box of await client.list()) {
      if (box.flags.has('\\Noselect')) continue
      const lock = await client.getMailboxLock(box.path)
      try {
        const uids = (await client.search({header: {subject}}, {uid: true})) || []
        for (const uid of uids) {
          const m = await client.fetchOne(String(uid), {source: true, flags: true}, {uid: true})
          // \Recent is the session's, not the message's
        if (m && m.source) found.push({folder: box.path, flags: [...(m.flags ?? [])].filter((f) => f !== '\\Recent').sort(), raw: m.source.toString('utf8')})
        }
      } finally {
        lock.release()
      }
    }
  } finally {
    await client.logout()
  }
  return found
}

/** the messages the receiver got that `match`, once there are `n` of them */
async function arrived(match: (m: ReceivedMessage) => boolean, n = 1): Promise<ReceivedMessage[]> {
  await until(() => receiver.messages.filter(match).length >= n, 15_000)
  return receiver.messages.filter(match)
}

const headerOf = (raw: string, name: string): string[] =>
  raw
    .slice(0, raw.search(/\r?\n\r?\n/))
    .split(/\r?\n(?![ \t])/)
    .filter((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`))
    .map((l) => l.slice(name.length + 1).trim())

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, [DOMAIN], USERS.map((address) => ({address, password: PASSWORD})))
  receiver = await Receiver.start()
  ;[smtpPort, imapPort, metricsPort] = await freePorts(3)
  // a small step limit for the user whose script is too long for it (the default is 10,000)
  const config = join(dataDir, '..', 'sieve-config.json')
  writeFileSync(config, JSON.stringify({sieve: {maxSteps: 200}}))
  await putScript('steps@example.com', `require "fileinto";\n${Array.from({length: 300}, (_, i) => `if header :is "subject" "never-${i}" { fileinto "Nope"; }`).join('\n')}\nfileinto "Archive";\n`)
  served = await startServe(dataDir, ['--smtp-port', String(smtpPort), '--imap-port', String(imapPort), '--route', `remote.test=127.0.0.1:${receiver.port}`, '--config', config, '--allow-insecure-auth', '--metrics-port', String(metricsPort)])
})

afterAll(async () => {
  if (process.env.SIEVE_DEBUG) console.log(served?.output().split('\n').filter((l) => /sieve|vacation|queue|deliver/i.test(l)).join('\n'))
  await served?.stop()
  await receiver?.close()
})

describe('Sieve scripts at delivery', () => {
  it('Roundcube/Thunderbird shapes: fileinto with imap4flags and stop; other mail to INBOX', async () => {
    // through `mailbox sieve put` while the server runs (the other scripts here go through the store API, as ManageSieve does)
    const put = await runCli(['sieve', 'put', 'files@example.com', 'roundcube', '--activate'], {
      dataDir,
      input:
        // as Roundcube's managesieve plugin writes it
        'require ["fileinto","imap4flags"];\n# rule:[lists]\nif header :contains "subject" "[list]"\n{\n\taddflag "\\\\Flagged";\n\tfileinto "Archive";\n\tstop;\n}\n' +
        // as Thunderbird's filter editor (sieve add-on) writes it
        'if anyof (header :contains "subject" "x-filter") { fileinto :flags ["$Label1", "\\\\Seen"] "Junk"; stop; }\n',
    })
    expect(put.code, put.stderr).toBe(0)
    expect((await send(['files@example.com'], 'news [list] today')).code).toBe(250)
    expect((await send(['files@example.com'], 'x-filter please')).code).toBe(250)
    expect((await send(['files@example.com'], 'plain one')).code).toBe(250)
    expect((await find('files@example.com', 'news [list] today')).map((m) => [m.folder, m.flags])).toEqual([['Archive', ['\\Flagged']]])
    expect((await find('files@example.com', 'x-filter please')).map((m) => [m.folder, m.flags])).toEqual([['Junk', ['$Label1', '\\Seen']]])
    expect((await find('files@example.com', 'plain one')).map((m) => m.folder)).toEqual(['INBOX'])
    expect(logLines(served.output(), 'sieve').find((l) => l.user === 'files@example.com')?.script).toBe('roundcube')
    const ran = logLines(served.output(), 'sieve').filter((l) => l.user === 'files@example.com')
    expect(ran.map((l) => l.actions)).toEqual([['fileinto:Archive'], ['fileinto:Junk'], ['implicit-keep']])
    // counted by kind (no folder names in labels)
    expect(await metricSample(metricsPort, 'mailbox_sieve_actions_total', {action: 'fileinto'})).toBe(2)
    expect(await metricSample(metricsPort, 'mailbox_sieve_actions_total', {action: 'implicit-keep'})).toBe(1)
    expect(await metricSample(metricsPort, 'mailbox_sieve_runs_total', {result: 'ok'})).toBe(3)
  })

  it('fileinto :create makes the folder with its parents; a missing folder without :create is INBOX (logged)', async () => {
    await putScript('create@example.com', 'require ["fileinto", "mailbox"];\nfileinto :create "Projects/Sieve";\n')
    await putScript('missing@example.com', 'require "fileinto";\nfileinto "Does/Not/Exist";\n')
    expect((await send(['create@example.com', 'missing@example.com'], 'made folder')).code).toBe(250)
    expect((await find('create@example.com', 'made folder')).map((m) => m.folder)).toEqual(['Projects/Sieve'])
    // `mailbox send` through the running server's control socket: the same scripts
    const sent = await runCli(['send', '--from', 'root@example.com', '--to', 'create@example.com'], {dataDir, input: 'Subject: sent via socket\n\nhello\n'})
    expect(sent.code, sent.stderr).toBe(0)
    expect(sent.stdout).toContain('stored for create@example.com in Projects/Sieve')
    expect((await find('missing@example.com', 'made folder')).map((m) => m.folder)).toEqual(['INBOX'])
    expect(logLines(served.output(), 'sieve fileinto: no such folder, kept in INBOX').some((l) => l.user === 'missing@example.com')).toBe(true)
  })

  it('discard stores nothing; reject with one recipient is 550 at DATA, nothing stored', async () => {
    await putScript('discard@example.com', 'if header :contains "subject" "spammy" { discard; }\n')
    await putScript('reject@example.com', 'require ["reject"];\nif header :contains "subject" "unwanted" { reject "I do not accept this."; }\n')
    expect((await send(['discard@example.com'], 'spammy offer')).code).toBe(250)
    expect(await find('discard@example.com', 'spammy offer')).toEqual([])
    const refused = await send(['reject@example.com'], 'unwanted single')
    expect(refused.code).toBe(550)
    expect(refused.response).toMatch(/^550[ -]5\.7\.1 I do not accept this\./)
    expect(await find('reject@example.com', 'unwanted single')).toEqual([])
    // no notice for a refusal given at SMTP time: the client has it
    await new Promise((r) => setTimeout(r, 300))
    expect(receiver.messages.filter((m) => m.raw.includes('unwanted single'))).toEqual([])
  })

  it('reject with several recipients: the others get it, the sender a DSN through the queue (never to the null sender)', async () => {
    expect((await send(['reject@example.com', 'other@example.com'], 'unwanted multi')).code).toBe(250)
    expect((await find('other@example.com', 'unwanted multi')).map((m) => m.folder)).toEqual(['INBOX'])
    expect(await find('reject@example.com', 'unwanted multi')).toEqual([])
    const [dsn] = await arrived((m) => m.raw.includes('unwanted multi'))
    expect(dsn).toBeDefined()
    expect(dsn!.from).toBe('')
    expect(dsn!.to).toEqual(['sender@remote.test'])
    expect(dsn!.raw).toContain('report-type=delivery-status')
    expect(dsn!.raw).toContain('Final-Recipient: rfc822; reject@example.com')
    expect(dsn!.raw).toContain('Status: 5.7.1')
    expect(dsn!.raw).toContain('I do not accept this.')
    // from the null sender: stored for the other recipient, no notice
    expect((await send(['reject@example.com', 'other@example.com'], 'unwanted bounce', {from: ''})).code).toBe(250)
    expect(await find('other@example.com', 'unwanted bounce')).toHaveLength(1)
    await new Promise((r) => setTimeout(r, 500))
    expect(receiver.messages.filter((m) => m.raw.includes('unwanted bounce'))).toEqual([])
  })

  it('redirect to a remote address: SRS0 sender in the user\'s domain, Delivered-To on top; :copy keeps one too', async () => {
    await putScript('fwd@example.com', 'redirect "far@remote.test";\n')
    await putScript('fwdcopy@example.com', 'require "copy";\nredirect :copy "far@remote.test";\n')
    expect((await send(['fwd@example.com'], 'forward me')).code).toBe(250)
    expect((await send(['fwdcopy@example.com'], 'forward a copy')).code).toBe(250)
    const [plain] = await arrived((m) => m.raw.includes('forward me'))
    expect(plain!.to).toEqual(['far@remote.test'])
    expect(plain!.from).toMatch(/^SRS0=[^=]+=[^=]+=remote\.test=sender@example\.com$/)
    expect(headerOf(plain!.raw, 'Delivered-To')).toEqual(['fwd@example.com'])
    expect(plain!.raw.split(/\r?\n/)[0]).toBe('Delivered-To: fwd@example.com')
    expect(await find('fwd@example.com', 'forward me')).toEqual([])
    // the destination's bounce to the SRS address comes back to our MX and goes on to the original sender, with <>
    const bounce = await sendRaw(smtpPort, {from: '', to: [plain!.from]}, simpleMessage({subject: 'bounce of forward me', from: 'MAILER-DAEMON@remote.test', to: plain!.from}))
    expect(bounce.code).toBe(250)
    const [back] = await arrived((m) => m.raw.includes('bounce of forward me'))
    expect(back!.to).toEqual(['sender@remote.test'])
    expect(back!.from).toBe('')
    const [copy] = await arrived((m) => m.raw.includes('forward a copy'))
    expect(copy!.from).toMatch(/^SRS0=.*@example\.com$/)
    expect(headerOf(copy!.raw, 'Delivered-To')).toEqual(['fwdcopy@example.com'])
    expect((await find('fwdcopy@example.com', 'forward a copy')).map((m) => m.folder)).toEqual(['INBOX'])
  })

  it('a redirect loop between two local users ends (Delivered-To): the message is kept once, nothing lost', async () => {
    await putScript('loopa@example.com', 'redirect "loopb@example.com";\n')
    await putScript('loopb@example.com', 'redirect "loopa@example.com";\n')
    expect((await send(['loopa@example.com'], 'round and round')).code).toBe(250)
    const a = await find('loopa@example.com', 'round and round')
    const b = await find('loopb@example.com', 'round and round')
    expect([...a, ...b]).toHaveLength(1)
    expect(a).toHaveLength(1)
    expect(headerOf(a[0]!.raw, 'Delivered-To')).toEqual(['loopb@example.com', 'loopa@example.com'])
    expect(logLines(served.output(), 'sieve redirect: the message was delivered to this user before (a loop), kept instead').some((l) => l.user === 'loopa@example.com')).toBe(true)
  })

  it('vacation: one RFC 3834 reply per sender and period, none to list mail', async () => {
    await putScript('away@example.com', 'require "vacation";\nvacation :days 3 :subject "Out of office" :from "away@example.com" "I am away until Monday.";\n')
    const isReply = (m: ReceivedMessage) => m.raw.includes('Out of office')
    expect((await send(['away@example.com'], 'are you there', {messageId: '<first@remote.test>'})).code).toBe(250)
    const [reply] = await arrived(isReply)
    expect(reply!.from).toBe('')
    expect(reply!.to).toEqual(['sender@remote.test'])
    expect(headerOf(reply!.raw, 'Auto-Submitted')[0]).toMatch(/^auto-replied/)
    expect(headerOf(reply!.raw, 'Subject')).toEqual(['Out of office'])
    expect(headerOf(reply!.raw, 'In-Reply-To')).toEqual(['<first@remote.test>'])
    expect(headerOf(reply!.raw, 'References')).toEqual(['<first@remote.test>'])
    expect(headerOf(reply!.raw, 'To')).toEqual(['<sender@remote.test>'])
    expect(headerOf(reply!.raw, 'From')).toEqual(['away@example.com'])
    expect(headerOf(reply!.raw, 'DKIM-Signature')).toHaveLength(2) // signed like other local mail (Ed25519 and RSA)
    expect(reply!.raw).toContain('I am away until Monday.')
    // the message itself was kept
    expect((await find('away@example.com', 'are you there')).map((m) => m.folder)).toEqual(['INBOX'])
    // a second message from the same sender: no second reply; list mail: none; another sender: a reply
    expect((await send(['away@example.com'], 'still there', {messageId: '<second@remote.test>'})).code).toBe(250)
    expect((await send(['away@example.com'], 'list post', {from: 'list-bounces@remote.test', headers: ['List-Id: <talk.remote.test>']})).code).toBe(250)
    expect((await send(['away@example.com'], 'from someone else', {from: 'else@remote.test'})).code).toBe(250)
    await arrived(isReply, 2)
    await new Promise((r) => setTimeout(r, 500))
    expect(receiver.messages.filter(isReply).map((m) => m.to[0])).toEqual(['sender@remote.test', 'else@remote.test'])
    expect(logLines(served.output(), 'sieve vacation: replied within the period already').some((l) => l.user === 'away@example.com')).toBe(true)
    expect(logLines(served.output(), 'sieve vacation: no reply').some((l) => l.user === 'away@example.com')).toBe(true)
  })

  it('a script that hits a limit (redirects, steps) keeps the message in INBOX, logged', async () => {
    await putScript('broken@example.com', `${['a', 'b', 'c', 'd', 'e'].map((x) => `redirect "${x}@remote.test";`).join('\n')}\n`)
    expect((await send(['broken@example.com', 'steps@example.com'], 'limits hit')).code).toBe(250)
    expect((await find('broken@example.com', 'limits hit')).map((m) => m.folder)).toEqual(['INBOX'])
    expect((await find('steps@example.com', 'limits hit')).map((m) => m.folder)).toEqual(['INBOX'])
    const failed = logLines(served.output(), 'sieve script failed: kept in INBOX')
    expect(failed.find((l) => l.user === 'broken@example.com')).toMatchObject({script: 'main', errors: [expect.stringMatching(/redirect/)]})
    expect(failed.find((l) => l.user === 'steps@example.com')).toMatchObject({errors: [expect.stringMatching(/more than 200 steps/)]})
    expect(await metricSample(metricsPort, 'mailbox_sieve_runs_total', {result: 'failed'})).toBe(2)
    await new Promise((r) => setTimeout(r, 300))
    expect(receiver.messages.filter((m) => m.raw.includes('limits hit'))).toEqual([])
  })

  it('RFC 5232 and 5229 example shapes: flags in a variable, fileinto with them; envelope test', async () => {
    await putScript(
      'rfc@example.com',
      'require ["imap4flags", "fileinto", "variables", "envelope"];\n' +
        'if header :contains "from" "boss@remote.test" {\n  setflag "flagvar" "\\\\Flagged";\n  fileinto :flags "${flagvar}" "Archive";\n}\n' +
        'elsif envelope :domain :is "from" "remote.test" {\n  addflag ["\\\\Answered", "$Work"];\n  keep;\n}\n',
    )
    expect((await send(['rfc@example.com'], 'from the boss', {from: 'boss@remote.test'})).code).toBe(250)
    expect((await send(['rfc@example.com'], 'from anyone')).code).toBe(250)
    expect((await find('rfc@example.com', 'from the boss')).map((m) => [m.folder, m.flags])).toEqual([['Archive', ['\\Flagged']]])
    expect((await find('rfc@example.com', 'from anyone')).map((m) => [m.folder, m.flags])).toEqual([['INBOX', ['$Work', '\\Answered']]])
  })
})

describe('`mailbox send` with the server stopped', () => {
  it('applies the recipient\'s script', async () => {
    if (process.env.SIEVE_DEBUG) console.log(served?.output().split('\n').filter((l) => /sieve|vacation|queue|deliver|rror/i.test(l)).join('\n'))
    await served.stop()
    await putScript('files@example.com', 'require "fileinto";\nfileinto "Archive";\n', 'offline')
    const r = await runCli(['send', '--from', 'root@example.com', '--to', 'files@example.com'], {dataDir, input: 'Subject: offline sieve\n\nhello\n'})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toContain('stored for files@example.com in Archive')
    served = await startServe(dataDir, ['--smtp-port', String(smtpPort), '--imap-port', String(imapPort), '--allow-insecure-auth'])
    await until(async () => (await find('files@example.com', 'offline sieve')).length === 1)
    expect((await find('files@example.com', 'offline sieve')).map((m) => m.folder)).toEqual(['Archive'])
  })
})
