/**
 * Capture-mode fault injection (`capture rule add|list|remove|clear`, src/capture/rules.ts)
 * against a running `serve --capture`: the rules are added with the real CLI while the server
 * runs, and mail is sent with nodemailer and a raw SMTP client. Between tests the rules are
 * cleared, and mostly read back, through the store in this process (the CLI's list and clear
 * have their own tests below: a command spawn costs ~0.3 s of CPU).
 */
import {afterAll, beforeAll, beforeEach, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {withTestStore} from '../helpers/test-store.js'
import {sendMail} from './matcher-helpers.js'
import {RawSmtp, listMessages} from './smtp-helpers.js'

let dataDir: string
let served: Served
let smtp: number

beforeAll(async () => {
  dataDir = tempDataDir()
  smtp = await freePort()
  served = await startServe(dataDir, ['--capture', '--smtp-port', String(smtp)])
})

afterAll(async () => {
  await served?.stop()
})

beforeEach(async () => {
  await withTestStore(dataDir, (s) => s.capture.clearRules())
})

const addRule = (...args: string[]) => runJson(['capture', 'rule', 'add', ...args], {dataDir})
/** what `capture rule list --json` prints */
const listRules = () => withTestStore(dataDir, async (s) => JSON.parse(JSON.stringify(await s.capture.rules())) as any[], {readOnly: true})

/** sends; resolves to the nodemailer error (responseCode, response, code) or null when accepted */
async function attempt(to: string, subject: string): Promise<any> {
  try {
    const info = await sendMail(smtp, {to, subject, text: `body of ${subject}`})
    expect(info.accepted).toEqual([to])
    return null
  } catch (err) {
    return err
  }
}

const subjects = async (user: string) => (await listMessages(dataDir, user)).map((m) => m.subject)

describe('capture rules', () => {
  it('--times 2: the first two deliveries get the reply, the third is stored, then the rule is gone', async () => {
    const rule = await addRule('--to', 'bob@x.test', '--reply', '451 4.3.0 try again later', '--times', '2')
    expect(rule).toMatchObject({to: 'bob@x.test', reply: '451 4.3.0 try again later', stage: 'rcpt', remaining: 2})
    expect(await runJson(['capture', 'rule', 'list'], {dataDir})).toEqual([rule])
    expect(await listRules()).toEqual([rule])

    const first = await attempt('bob@x.test', 'try 1')
    expect(first?.responseCode, String(first)).toBe(451)
    expect(first.response).toContain('4.3.0 try again later')
    expect(first.response).toMatch(/^451[ -]/)
    expect((await listRules())[0].remaining).toBe(1)

    const second = await attempt('bob@x.test', 'try 2')
    expect(second?.responseCode, String(second)).toBe(451)
    expect(second.response).toContain('4.3.0 try again later')

    expect(await attempt('bob@x.test', 'try 3')).toBeNull()
    expect(await subjects('bob@x.test')).toEqual(['try 3'])
    expect(await listRules()).toEqual([])
    expect(await attempt('bob@x.test', 'try 4')).toBeNull()
    expect(await subjects('bob@x.test')).toEqual(['try 3', 'try 4'])
  })

  it('a rule without --times fires every time and stays', async () => {
    const rule = await addRule('--to', 'always@x.test', '--reply', '550 5.1.1 no such mailbox')
    expect(rule.remaining).toBeUndefined()
    for (let i = 0; i < 3; i++) {
      const err = await attempt('always@x.test', `always ${i}`)
      expect(err?.responseCode, String(err)).toBe(550)
      expect(err.response).toContain('5.1.1 no such mailbox')
    }
    expect(await listRules()).toEqual([rule])
    const r = await runCli(['message', 'list', 'always@x.test', '--json'], {dataDir})
    expect(r.code).not.toBe(0) // never stored, so capture never created the mailbox
  })

  it('a /regex/ rule matches recipients by pattern', async () => {
    await addRule('--to', '/@flaky\\.test$/', '--reply', '421 4.4.2 flaky domain')
    const err = await attempt('anyone@flaky.test', 'flaky')
    expect(err?.responseCode, String(err)).toBe(421)
    expect(await attempt('anyone@flaky.test.example', 'not flaky')).toBeNull()
  })

  it('--stage data: the RCPT is accepted, the message is refused after DATA and not stored', async () => {
    expect(await attempt('dat@x.test', 'before the rule')).toBeNull()
    await addRule('--to', 'dat@x.test', '--reply', '554 5.6.0 content rejected', '--stage', 'data')

    const c = await RawSmtp.open(smtp)
    await c.ehlo()
    expect((await c.cmd('MAIL FROM:<app@svc.test>')).code).toBe(250)
    const rcpt = await c.cmd('RCPT TO:<dat@x.test>')
    expect(rcpt.code, rcpt.raw).toBe(250)
    const [go, done] = await c.data('From: app@svc.test\r\nTo: dat@x.test\r\nSubject: refused at data\r\n\r\nbody\r\n')
    expect(go.code).toBe(354)
    expect(done?.code, done?.raw).toBe(554)
    expect(done!.raw).toContain('5.6.0 content rejected')
    await c.quit()

    const err = await attempt('dat@x.test', 'refused via nodemailer')
    expect(err?.responseCode, String(err)).toBe(554)
    expect(err.code).toBe('EMESSAGE') // refused after DATA, not at RCPT

    expect(await subjects('dat@x.test')).toEqual(['before the rule'])
  })

  it('a /regex/ rule sees the recipient normalized (lowercased) at both stages', async () => {
    // RCPT-stage rules are tested against the normalized address; DATA-stage rules must be too
    await addRule('--to', '/^mixed-rcpt@x\\.test$/', '--reply', '550 5.1.1 gone', '--stage', 'rcpt')
    await addRule('--to', '/^mixed-data@x\\.test$/', '--reply', '554 5.6.0 refused', '--stage', 'data')
    const c = await RawSmtp.open(smtp)
    await c.ehlo()
    await c.cmd('MAIL FROM:<app@svc.test>')
    expect((await c.cmd('RCPT TO:<Mixed-Rcpt@X.TEST>')).code).toBe(550)
    expect((await c.cmd('RCPT TO:<Mixed-Data@X.TEST>')).code).toBe(250)
    const [, done] = await c.data('Subject: mixed case\r\n\r\nb\r\n')
    await c.quit()
    expect(done?.code, done?.raw).toBe(554)
  })

  it('a data-stage rule does not answer RCPT, and an rcpt-stage rule does not answer DATA', async () => {
    await addRule('--to', 'stage@x.test', '--reply', '452 4.2.2 over quota', '--stage', 'rcpt', '--times', '1')
    await addRule('--to', 'stage@x.test', '--reply', '554 5.6.0 no', '--stage', 'data', '--times', '1')
    const c = await RawSmtp.open(smtp)
    await c.ehlo()
    await c.cmd('MAIL FROM:<app@svc.test>')
    expect((await c.cmd('RCPT TO:<stage@x.test>')).code).toBe(452)
    expect((await c.cmd('RCPT TO:<stage@x.test>')).code).toBe(250) // rcpt rule used up; the data rule is not consulted here
    const [, done] = await c.data('Subject: s\r\n\r\nb\r\n')
    expect(done?.code).toBe(554)
    await c.quit()
    expect(await listRules()).toEqual([])
  })

  it('rules added while the server runs apply at once; remove ID takes one away', async () => {
    expect(await attempt('live@x.test', 'live 1')).toBeNull()
    const rule = await addRule('--to', 'live@x.test', '--reply', '450 4.2.1 mailbox busy')
    const err = await attempt('live@x.test', 'live 2')
    expect(err?.responseCode, String(err)).toBe(450)

    const removed = await runJson(['capture', 'rule', 'remove', rule.id], {dataDir})
    expect(removed.id).toBe(rule.id)
    expect(await listRules()).toEqual([])
    expect(await attempt('live@x.test', 'live 3')).toBeNull()
    expect(await subjects('live@x.test')).toEqual(['live 1', 'live 3'])

    const again = await runCli(['capture', 'rule', 'remove', rule.id], {dataDir})
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(rule.id)
  })

  it('clear removes every rule', async () => {
    await addRule('--to', 'c1@x.test', '--reply', '451 4.3.0 later')
    await addRule('--to', 'c2@x.test', '--reply', '551 5.7.1 never', '--stage', 'data')
    expect(await listRules()).toHaveLength(2)
    expect((await attempt('c1@x.test', 'c1 refused'))?.responseCode).toBe(451)
    expect(await runJson(['capture', 'rule', 'clear'], {dataDir})).toEqual({removed: 2})
    expect(await listRules()).toEqual([])
    expect(await attempt('c1@x.test', 'c1 ok')).toBeNull()
    expect(await attempt('c2@x.test', 'c2 ok')).toBeNull()
  })

  it('the human list shows the rules', async () => {
    await addRule('--to', 'table@x.test', '--reply', '451 4.3.0 try again later', '--times', '3')
    const r = await runCli(['capture', 'rule', 'list'], {dataDir})
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('table@x.test')
    expect(r.stdout).toContain('451 4.3.0 try again later')
    expect(r.stdout).toMatch(/\b3\b/)
  })

  it('bad input exits 1 (flag usage errors exit 2) and adds nothing', async () => {
    const invalid = [
      ['--to', 'bob@x.test', '--reply', '250 ok'],
      ['--to', 'bob@x.test', '--reply', '600 nope'],
      ['--to', 'bob@x.test', '--reply', 'try again later'],
      ['--to', '/(/', '--reply', '451 4.3.0 later'],
      ['--to', '', '--reply', '451 4.3.0 later'],
    ]
    for (const args of invalid) {
      const r = await runCli(['capture', 'rule', 'add', ...args], {dataDir})
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1)
      expect(r.stderr, args.join(' ')).toMatch(/^Error: /m)
    }
    // oclif's own flag validation: usage errors, exit 2 (src/cli/base-command.ts)
    for (const args of [
      ['--to', 'bob@x.test', '--reply', '451 4.3.0 later', '--times', '0'],
      ['--to', 'bob@x.test', '--reply', '451 4.3.0 later', '--stage', 'mail'],
      ['--reply', '451 4.3.0 later'],
    ]) {
      const r = await runCli(['capture', 'rule', 'add', ...args], {dataDir})
      expect(r.code, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(2)
    }
    expect(await listRules()).toEqual([])
    expect(await attempt('bob@x.test', 'after bad input')).toBeNull()
  })

  it('a rule on another recipient does not affect bob (nor use up its --times)', async () => {
    const rule = await addRule('--to', 'alice@x.test', '--reply', '451 4.3.0 try again later', '--times', '1')
    expect(await attempt('bob@x.test', 'bob unaffected')).toBeNull()
    expect(await listRules()).toEqual([rule])
    expect((await subjects('bob@x.test')).at(-1)).toBe('bob unaffected')
    expect((await attempt('alice@x.test', 'alice refused'))?.responseCode).toBe(451)
  })

  it('with two recipients, only the one matching an rcpt rule is refused', async () => {
    await addRule('--to', 'refuse-me@x.test', '--reply', '550 5.1.1 gone')
    const info = await sendMail(smtp, {to: ['keep-me@x.test', 'refuse-me@x.test'], subject: 'partial'})
    expect(info.accepted).toEqual(['keep-me@x.test'])
    expect(info.rejected).toEqual(['refuse-me@x.test'])
    expect(await subjects('keep-me@x.test')).toEqual(['partial'])
  })
})
