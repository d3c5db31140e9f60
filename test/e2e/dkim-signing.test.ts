/**
 * DKIM signing end to end: a real `mailbox serve` routes remote mail to a loopback receiver, and
 * Debian's dkimpy checks what arrives against the records `mailbox dkim list` publishes. Signed:
 * authenticated submission (Ed25519 and RSA, From oversigned) and our bounces; not signed: mail
 * whose From is not ours, and MX mail relayed onwards by an alias; signing off by config (SIGHUP),
 * for all domains or one (`dkim.domains`);
 * `dkim rotate` while serve runs signs the next message with the new pair; `dkim remove` keeps
 * active keys.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import nodemailer from 'nodemailer'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {DKIMPY, dkimRecords, dkimSignatures, dkimpyVerify} from './dkim-helpers.js'
import {Receiver, send, waitFor, type ReceivedMessage} from './queue-helpers.js'
import {cli, freePorts, setupUsers} from './smtp-helpers.js'

const HOST = 'mail.example.com'
let dataDir: string
let config: string
let served: Served
let receiver: Receiver
let mx: number, submission: number

const writeConfig = (dkim: object) => writeFileSync(config, JSON.stringify({dkim}))

beforeAll(async () => {
  requireInCi(DKIMPY !== undefined, 'python3-dkim (dkimpy) is needed')
  dataDir = tempDataDir()
  config = join(dirname(dataDir), 'dkim-config.json')
  writeConfig({sign: true})
  ;[mx, submission] = await freePorts(2)
  await setupUsers(dataDir, ['example.com', 'example.org'], [
    {address: 'alice@example.com', password: 'alice-pw'},
    {address: 'olga@example.org', password: 'olga-pw'},
  ])
  await cli(['alias', 'add', 'fwd@example.com', 'carol@example.net'], dataDir)
  receiver = await Receiver.start()
  receiver.rcpt = (address) => (address.startsWith('nobody@') ? {code: 550, message: '5.1.1 no such user'} : undefined)
  served = await startServe(dataDir, [
    '--hostname', HOST,
    '--smtp-port', String(mx),
    '--submission-port', String(submission),
    '--route', `example.net=127.0.0.1:${receiver.port}`,
    '--config', config,
  ])
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
})

/** the next message the receiver accepts after `action` */
async function nextReceived(action: () => Promise<unknown>): Promise<ReceivedMessage> {
  const before = receiver.messages.length
  await action()
  return (await receiver.waitForMessages(before + 1, 20_000))[before]!
}

/** alice (or `as`) submits (STARTTLS, AUTH PLAIN) a message to bob@example.net */
async function submit(subject: string, as = {user: 'alice@example.com', pass: 'alice-pw'}): Promise<ReceivedMessage> {
  return nextReceived(async () => {
    const transport = nodemailer.createTransport({host: '127.0.0.1', port: submission, secure: false, requireTLS: true, tls: {rejectUnauthorized: false}, auth: as})
    try {
      const info = await transport.sendMail({
        from: `Sender <${as.user}>`,
        to: 'Bob <bob@example.net>',
        cc: 'dave@example.net',
        subject,
        headers: {'List-Id': '<news.example.com>'},
        text: `Hello Bob,\n  some   spaced   text \t\n\n\n`,
      })
      expect(info.accepted).toEqual(['bob@example.net', 'dave@example.net'])
    } finally {
      transport.close()
    }
  })
}

/** writes the config's `dkim` section and has serve reload it */
async function reload(dkim: object): Promise<void> {
  writeConfig(dkim)
  const reloads = (served.output().match(/configuration reloaded/g) ?? []).length
  process.kill(served.pid, 'SIGHUP')
  await waitFor('the reload', () => (served.output().match(/configuration reloaded/g) ?? []).length > reloads, 30_000)
}

const activeSelectors = async () => (await runJson<{selector: string; state: string}[]>(['dkim', 'list', 'example.com'], {dataDir})).filter((k) => k.state === 'active').map((k) => k.selector)

describe.skipIf(missingOutsideCi(DKIMPY !== undefined))('DKIM signing of outgoing mail', () => {
  it('submission to a remote domain: an Ed25519 and an RSA signature that dkimpy accepts, and rejects once the message is changed', async () => {
    const got = await submit('signed by example.com')
    const sigs = dkimSignatures(got.raw)
    expect(sigs.map((s) => s.a)).toEqual(['ed25519-sha256', 'rsa-sha256'])
    expect(sigs.map((s) => s.s).sort()).toEqual((await activeSelectors()).sort())
    for (const sig of sigs) {
      expect(sig.d).toBe('example.com')
      expect(sig.c).toBe('relaxed/relaxed')
      const h = sig.h!.toLowerCase().split(':')
      // From once more than present: a From added in transit breaks the signature
      expect(h.filter((n) => n === 'from')).toHaveLength(2)
      for (const name of ['subject', 'date', 'to', 'cc', 'message-id', 'mime-version', 'content-type', 'content-transfer-encoding', 'list-id']) expect(h, name).toContain(name)
      expect(h).not.toContain('received')
    }
    // the signatures go on top, over our Received field
    expect(got.raw).toMatch(/^DKIM-Signature: [^]*?\r\nDKIM-Signature: [^]*?\r\nReceived: from /)
    const records = await dkimRecords(dataDir)
    expect(await dkimpyVerify(got.raw, records)).toEqual([true, true])
    // the same message with its Subject changed, or a second From on top, fails both signatures
    expect(await dkimpyVerify(got.raw.replace('Subject: signed by example.com', 'Subject: signed by someone else'), records)).toEqual([false, false])
    const header = got.raw.indexOf('\r\nFrom: ') + 2
    expect(await dkimpyVerify(got.raw.slice(0, header) + 'From: mallory@example.org\r\n' + got.raw.slice(header), records)).toEqual([false, false])
    // and a message with the body changed
    expect(await dkimpyVerify(got.raw.replace('Hello Bob', 'Hello Eve'), records)).toEqual([false, false])
  })

  it('mail whose From is not a local domain is not signed; MX mail an alias relays onwards is not signed', async () => {
    const foreign = await nextReceived(() => send(dataDir, 'x@foreign.test', ['bob@example.net'], 'From: x@foreign.test\nTo: bob@example.net\nSubject: foreign\n\nhi\n'))
    expect(foreign.raw).toContain('Subject: foreign')
    expect(dkimSignatures(foreign.raw)).toEqual([])
    // a stranger on the MX writing to an alias that forwards out: we vouch for nothing (writing
    // as alice it would be refused outright: a forged local sender, see inbound-auth.test.ts)
    const relayed = await nextReceived(async () => {
      const transport = nodemailer.createTransport({host: '127.0.0.1', port: mx, secure: false, ignoreTLS: true})
      try {
        await transport.sendMail({envelope: {from: 'stranger@remote.test', to: ['fwd@example.com']}, raw: 'From: stranger@remote.test\r\nTo: fwd@example.com\r\nSubject: relayed\r\n\r\nhi\r\n'})
      } finally {
        transport.close()
      }
    })
    expect(relayed.to).toEqual(['carol@example.net'])
    expect(relayed.raw).toContain('Subject: relayed')
    expect(dkimSignatures(relayed.raw)).toEqual([])
  })

  it('a bounce from MAILER-DAEMON@mail.example.com is signed by example.com', async () => {
    const bounce = await nextReceived(() => send(dataDir, 'stranger@example.net', ['nobody@example.net'], 'From: stranger@example.net\nTo: nobody@example.net\nSubject: will bounce\n\nhi\n'))
    // the refused original is not received; what arrives is the bounce, to the original sender
    expect(bounce.from).toBe('')
    expect(bounce.to).toEqual(['stranger@example.net'])
    expect(bounce.raw).toContain(`From: Mail Delivery System <MAILER-DAEMON@${HOST}>`)
    const sigs = dkimSignatures(bounce.raw)
    expect(sigs.map((s) => [s.a, s.d])).toEqual([
      ['ed25519-sha256', 'example.com'],
      ['rsa-sha256', 'example.com'],
    ])
    expect(await dkimpyVerify(bounce.raw, await dkimRecords(dataDir))).toEqual([true, true])
  })

  it('dkim rotate while serve runs: the next message is signed with the new pair; dkim remove refuses active keys', async () => {
    const before = await activeSelectors()
    const rotated = await runCli(['dkim', 'rotate', 'example.com'], {dataDir})
    expect(rotated.code, rotated.stderr).toBe(0)
    const after = await activeSelectors()
    expect(after).toHaveLength(2)
    expect(after.some((s) => before.includes(s))).toBe(false)
    // the output names the records to add and those to keep, as zone-file lines
    for (const s of after) expect(rotated.stdout).toMatch(new RegExp(`Add these DNS records now:[^]*${s}\\._domainkey\\.example\\.com\\. IN TXT "v=DKIM1; `))
    for (const s of before) expect(rotated.stdout).toMatch(new RegExp(`Keep these [^]*${s}\\._domainkey\\.example\\.com\\. IN TXT "v=DKIM1; `))

    const got = await submit('signed after rotation')
    expect(dkimSignatures(got.raw).map((s) => s.s).sort()).toEqual([...after].sort())
    expect(await dkimpyVerify(got.raw, await dkimRecords(dataDir))).toEqual([true, true])

    const refused = await runCli(['dkim', 'remove', 'example.com', after[0]!], {dataDir})
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(new RegExp(`^Error: DKIM selector ${after[0]} is active: it signs example\\.com's mail; rotate first`))
    for (const s of before) {
      const removed = await runJson<{selector: string; state: string}>(['dkim', 'remove', 'example.com', s], {dataDir})
      expect(removed).toMatchObject({selector: s, state: 'retired'})
    }
    const left = await runJson<{selector: string; state: string; dns: {value: string}}[]>(['dkim', 'list', 'example.com'], {dataDir})
    expect(left.map((k) => [k.selector, k.state]).sort()).toEqual(after.map((s) => [s, 'active']).sort())
    expect(JSON.stringify(left)).not.toContain('PRIVATE KEY')
  })

  it('dkim.domains turns signing off for one domain and on for one when dkim.sign is false (reloaded with SIGHUP)', async () => {
    await reload({sign: true, domains: {'example.org': false}})
    const olga = {user: 'olga@example.org', pass: 'olga-pw'}
    expect(dkimSignatures((await submit('example.org unsigned', olga)).raw)).toEqual([])
    expect(dkimSignatures((await submit('example.com still signed')).raw).map((s) => s.d)).toEqual(['example.com', 'example.com'])

    await reload({sign: false, domains: {'EXAMPLE.COM': true}})
    expect(dkimSignatures((await submit('example.com signed alone')).raw).map((s) => s.d)).toEqual(['example.com', 'example.com'])
    expect(dkimSignatures((await submit('example.org unsigned too', olga)).raw)).toEqual([])
  })

  it('dkim.sign false (reloaded with SIGHUP): nothing is signed', async () => {
    await reload({sign: false})
    const got = await submit('unsigned by config')
    expect(got.raw).toContain('Subject: unsigned by config')
    expect(dkimSignatures(got.raw)).toEqual([])
  })
})
