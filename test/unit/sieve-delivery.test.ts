/**
 * Sieve at delivery (src/sieve-delivery/) through storeMessage on a real LMDB store: what the
 * end-to-end suite (test/e2e/sieve-delivery.test.ts) does not reach cheaply — the junk verdict
 * winning, `sieve.enabled` off, a redirect to an unknown user, the vacation `:from` rule — and
 * the pure parts (flags a script may set, Delivered-To).
 */
import {describe, expect, it} from 'vitest'
import {silentLogger} from '../../src/log.js'
import {folderEvents} from '../../src/mailstore/folder-events.js'
import {storeMessage, type InjectRequest} from '../../src/mailstore/submit.js'
import {DEFAULT_SIEVE_DELIVERY, type SieveDeliveryConfig} from '../../src/sieve-delivery/config.js'
import {deliveredTo, SieveDelivery} from '../../src/sieve-delivery/index.js'
import {storableFlags} from '../../src/sieve-delivery/outcome.js'
import {vacationReply} from '../../src/sieve-delivery/replies.js'
import {DEFAULT_SRS, type SrsConfig} from '../../src/srs/route.js'
import {tempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const DOMAIN = 'example.com'
const QUOTA = {maxScripts: 5, maxScriptBytes: 65536}

async function setup(config: Partial<SieveDeliveryConfig> = {}, srs?: SrsConfig) {
  const store = tempStore()
  await store.directory.addDomain({record: {name: DOMAIN, createdAt: Date.now()}, keys: []})
  const user = (await store.directory.addUser({address: `u@${DOMAIN}`, passwordHash: ''})).address
  const sieve = new SieveDelivery({config: {...DEFAULT_SIEVE_DELIVERY, ...config}, hostname: 'mx.example.com', log: silentLogger, ...(srs ? {srs} : {})})
  const injected: InjectRequest[] = []
  const deliver = (subject: string, options: {junk?: boolean; from?: string} = {}) =>
    storeMessage(store, {
      mailFrom: options.from ?? 'sender@remote.test',
      rcptTo: [user],
      local: [user],
      remote: [],
      pieces: [Buffer.from(`From: sender@remote.test\r\nTo: ${user}\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@remote.test>\r\n\r\nhello\r\n`)],
      sieve,
      ...(options.junk ? {junk: true} : {}),
      inject: async (req) => void injected.push(req),
    })
  const script = async (content: string) => {
    await store.sieve.put(user, 'main', content, QUOTA)
    await store.sieve.activate(user, 'main')
  }
  return {store, user, deliver, script, injected}
}

describe('Sieve at delivery (storeMessage)', () => {
  it('junk wins: a quarantined message goes to Junk, the script does not run (no forward, no filing)', async () => {
    const {store, deliver, script} = await setup()
    await script('require "fileinto";\nredirect "far@remote.test";\nfileinto "Archive";\n')
    const junk = await deliver('junk', {junk: true})
    expect(junk.result.stored.map((s) => s.folder)).toEqual(['Junk'])
    expect(junk.result.queued).toEqual([])
    expect(junk.sieve).toBeUndefined()
    const clean = await deliver('clean')
    expect(clean.result.stored.map((s) => s.folder)).toEqual(['Archive'])
    expect(clean.result.queued.map((q) => q.recipients.map((r) => r.address))).toEqual([['far@remote.test']])
    expect(clean.sieve?.reports[0]).toMatchObject({user: `u@${DOMAIN}`, script: 'main', actions: ['redirect', 'fileinto:Archive']})
    expect(await store.queue.entries()).toHaveLength(1)
  })

  it('fileinto :create: the folder and its parent are made, and the folder list before is kept for the folder.changed events', async () => {
    const {store, user, deliver, script} = await setup()
    await script('require ["fileinto", "mailbox"];\nfileinto :create "New/Sub";\n')
    const r = await deliver('create')
    expect(r.result.stored.map((s) => s.folder)).toEqual(['New/Sub'])
    expect(r.sieve?.foldersBefore.map((b) => b.user)).toEqual([user])
    const events = folderEvents(user, r.sieve!.foldersBefore[0]!.folders, await store.mail.folders(user))
    expect(events.map((e) => e.name)).toEqual(['New', 'New/Sub'])
    // once it exists, nothing more to announce
    expect((await deliver('again')).sieve?.foldersBefore).toEqual([])
  })

  it('a forward of a bounce keeps the null sender; a local sender is not rewritten', async () => {
    const {store, deliver, script} = await setup()
    await script('redirect "far@remote.test";\n')
    await deliver('null', {from: ''})
    await deliver('local', {from: `u@${DOMAIN}`})
    expect((await store.queue.entries()).map((q) => q.from).sort()).toEqual(['', `u@${DOMAIN}`])
  })

  it('a forward\'s sender is rewritten with SRS unless srs.enabled is off', async () => {
    for (const enabled of [true, false]) {
      const {store, deliver, script} = await setup({}, {...DEFAULT_SRS, enabled})
      await script('redirect "far@remote.test";\n')
      await deliver('srs')
      const [entry] = await store.queue.entries()
      expect(entry!.from).toMatch(enabled ? /^SRS0=.*=remote\.test=sender@example\.com$/ : /^sender@remote\.test$/)
    }
  })

  it('a forward whose sender SRS cannot rewrite is kept in INBOX; one that only looks like SRS1 is forwarded with SRS0', async () => {
    const {store, deliver, script} = await setup({}, DEFAULT_SRS)
    await script('redirect "far@remote.test";\n')
    const kept = await deliver('no domain', {from: 'postmaster'})
    expect(kept.result.stored.map((s) => s.folder)).toEqual(['INBOX'])
    expect(kept.result.queued).toEqual([])
    const forwarded = await deliver('srs1 look-alike', {from: 'SRS1=broken@remote.test'})
    expect(forwarded.result.stored).toEqual([])
    expect((await store.queue.entries()).map((q) => q.from)).toEqual([expect.stringMatching(/^SRS0=.*=remote\.test=srs1=broken@example\.com$/i)])
  })

  it('sieve.enabled false: the message goes to INBOX as without a script', async () => {
    const {deliver, script} = await setup({enabled: false})
    await script('discard;\n')
    const r = await deliver('off')
    expect(r.result.stored.map((s) => s.folder)).toEqual(['INBOX'])
    expect(r.sieve).toBeUndefined()
  })

  it('a redirect to an unknown local user is kept in INBOX', async () => {
    const {deliver, script} = await setup()
    await script(`redirect "nobody@${DOMAIN}";\n`)
    const r = await deliver('unknown target')
    expect(r.result.stored.map((s) => s.folder)).toEqual(['INBOX'])
    expect(r.result.queued).toEqual([])
  })

  it('vacation :from: used when it is the user\'s (an alias of theirs only), else the user\'s address', async () => {
    const {store, user, deliver, script, injected} = await setup()
    await store.directory.addAlias(`boss@${DOMAIN}`, [user])
    await script(`require "vacation";\nvacation :days 1 :addresses ["boss@${DOMAIN}"] :from "The Boss <boss@${DOMAIN}>" "away";\n`)
    await deliver('one', {from: 'a@remote.test'})
    await script('require "vacation";\nvacation :days 1 :from "someone@other.test" "away";\n')
    await deliver('two', {from: 'b@remote.test'})
    expect(injected.map((r) => [r.from, r.to])).toEqual([
      ['', ['a@remote.test']],
      ['', ['b@remote.test']],
    ])
    const from = (raw: Buffer) => /^From: (.*)$/m.exec(raw.toString())![1]
    expect(from(injected[0]!.raw)).toBe(`The Boss <boss@${DOMAIN}>`)
    expect(from(injected[1]!.raw)).toBe(user)
    expect(injected[0]!.raw.toString()).toMatch(/^In-Reply-To: <one@remote.test>$/m)
    expect(injected[0]!.raw.toString()).toMatch(/^Auto-Submitted: auto-replied/m)
  })

  it('a vacation reply that fails after the commit (a store error) does not fail the delivery: the client is not told to send it again', async () => {
    const {store, user, script, injected} = await setup()
    await script(`require "vacation";\nvacation :days 1 :from "boss@${DOMAIN}" "away";\n`)
    const broken = new Error('connection lost')
    const directory = new Proxy(store.directory, {
      get: (target, prop) => (prop === 'resolve' ? () => Promise.reject(broken) : (Reflect.get(target, prop) as (...a: unknown[]) => unknown)?.bind?.(target) ?? Reflect.get(target, prop)),
    })
    const flaky = new Proxy(store, {get: (target, prop) => (prop === 'directory' ? directory : Reflect.get(target, prop))})
    const sieve = new SieveDelivery({config: DEFAULT_SIEVE_DELIVERY, hostname: 'mx.example.com', log: silentLogger})
    const r = await storeMessage(flaky, {
      mailFrom: 'a@remote.test',
      rcptTo: [user],
      local: [user],
      remote: [],
      pieces: [Buffer.from(`From: a@remote.test\r\nTo: ${user}\r\nSubject: hi\r\n\r\nhello\r\n`)],
      sieve,
      inject: async (req) => void injected.push(req),
    })
    expect(r.result.stored.map((s) => s.folder)).toEqual(['INBOX'])
    expect(injected).toEqual([])
  })
})

describe('Sieve at delivery: pure parts', () => {
  const action = {type: 'vacation' as const, to: 'a@remote.test', subject: 'Weg', addresses: [] as string[], handle: 'h', periodSeconds: 86400, hash: 'x'}

  it('a :mime vacation reason is the reply\'s MIME entity, its Content-* fields only; plain text is UTF-8, base64 when not ASCII', () => {
    const mime = vacationReply({action: {...action, mime: true, reason: 'Content-Type: text/html; charset=utf-8\n\n<p>away</p>\n'}, from: 'u@example.com', hostname: 'mx'}).toString()
    expect(mime).toMatch(/\r\nMIME-Version: 1\.0\r\nContent-Type: text\/html; charset=utf-8\r\n\r\n<p>away<\/p>\r\n$/)
    expect(mime.match(/^Content-Type:/gm)).toHaveLength(1)
    // a field that is not Content-* would be one of the reply's own: a second From, a Bcc
    const forged = vacationReply({
      action: {...action, mime: true, reason: 'From: ceo@example.com\nBcc: many@remote.test\nContent-Type: text/plain;\n charset=utf-8\n\naway\n'},
      from: 'u@example.com',
      hostname: 'mx',
    }).toString()
    expect(forged.match(/^From:.*$/gm)).toEqual(['From: u@example.com'])
    expect(forged).not.toMatch(/^Bcc:/m)
    expect(forged).toMatch(/\r\nMIME-Version: 1\.0\r\nContent-Type: text\/plain;\r\n charset=utf-8\r\n\r\naway\r\n$/)
    const text = vacationReply({action: {...action, mime: false, reason: 'Bin weg, zurück am Montag.', subject: 'Abwesend – Urlaub'}, from: 'u@example.com', hostname: 'mx'}).toString()
    expect(text).toContain('Content-Transfer-Encoding: base64')
    expect(text).toContain(`Subject: =?UTF-8?B?${Buffer.from('Abwesend – Urlaub').toString('base64')}?=`)
    expect(text).toContain(Buffer.from('Bin weg, zurück am Montag.').toString('base64'))
  })

  it('keeps only the flags IMAP can store', () => {
    expect(storableFlags(['\\seen', 'has space', '\\Foo', '$Label1', '\\Recent', 'Junk', 'a(b'])).toEqual(['\\Seen', '$Label1', 'Junk'])
  })

  it('reads Delivered-To fields of the header only', () => {
    const raw = Buffer.from('Delivered-To: A@Example.com\r\nDelivered-To: <b@example.com>\r\nSubject: x\r\n\r\nDelivered-To: c@example.com\r\n')
    expect([...deliveredTo(raw)]).toEqual(['a@example.com', 'b@example.com'])
  })

  it('reads a Delivered-To of a UTF-8 address (SMTPUTF8) as the user it names, so its loop is seen', () => {
    expect([...deliveredTo(Buffer.from('Delivered-To: jürgen@example.com\r\n\r\nbody\r\n'))]).toEqual(['jürgen@example.com'])
  })
})

describe('expired vacation-reply records (MailstoreActor with Sieve on)', () => {
  it('are removed on the purge timer; live ones stay', async () => {
    const {Bus} = await import('../../src/bus.js')
    const {MailstoreActor} = await import('../../src/mailstore/actor.js')
    const {store, user} = await setup()
    const now = Date.now()
    expect(await store.sieve.claimVacationReply(user, 'expired', now - 10_000, 1_000)).toBe(true)
    expect(await store.sieve.claimVacationReply(user, 'live', now, 3_600_000)).toBe(true)
    // the same store, its purges counted
    let purged = 0
    const sieve = {...store.sieve, purgeVacationReplies: async (at: number, limit?: number) => {
      const removed = await store.sieve.purgeVacationReplies(at, limit)
      purged += removed
      return removed
    }}
    const counted = Object.create(store, {sieve: {value: sieve}}) as typeof store
    const actor = new MailstoreActor(new Bus(), counted, silentLogger, {hostname: 'mx.example.com', sieve: {...DEFAULT_SIEVE_DELIVERY}, vacationPurgeIntervalMs: 10})
    await actor.start()
    try {
      await until(() => purged === 1)
    } finally {
      await actor.stop()
    }
    // the expired record went; the live one still holds its sender's period
    expect(await store.sieve.purgeVacationReplies(Date.now())).toBe(0)
    expect(await store.sieve.claimVacationReply(user, 'live', Date.now(), 3_600_000)).toBe(false)
  })
})
