/**
 * The spam actor on a real bus, its DNS the loopback responder: what the SMTP front-end and the
 * other spam parts ask of it. `spam.allowListed` (greylisting's question) follows the allow
 * list; `spam.check` with `spam.rspamd.url` set asks `rspamd.check` (a stand-in handler here)
 * and maps rspamd's actions, falling back to the built-in score when rspamd did not answer.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {createLogger} from '../../src/log.js'
import {SpamActor} from '../../src/spam/actor.js'
import {DEFAULT_SPAM, type SpamConfig} from '../../src/spam/config.js'
import type {RspamdCheckReply, RspamdCheckRequest} from '../../src/spam/rspamd-types.js'
import {startDns, type DnsServer} from '../helpers/dns.js'

let dns: DnsServer
let bus: Bus
let actor: SpamActor
const lines: Record<string, unknown>[] = []
const config: SpamConfig = {...structuredClone(DEFAULT_SPAM), dnsbl: [{zone: 'bl.test', weight: 6}], dnswl: [{zone: 'wl.test', weight: -5}]}
let rspamd: (req: RspamdCheckRequest) => RspamdCheckReply
const asked: RspamdCheckRequest[] = []

beforeAll(async () => {
  dns = await startDns({'9.2.0.192.wl.test': {A: ['127.0.0.2']}, '10.2.0.192.bl.test': {A: ['127.0.0.2']}})
  bus = new Bus()
  const log = createLogger({level: 'info', pretty: false, write: (line) => void lines.push(JSON.parse(line) as Record<string, unknown>)})
  actor = new SpamActor(bus, log, {hostname: 'mx.test', config, dnsServers: [`127.0.0.1:${dns.port}`]})
  await actor.start()
  bus.handle('rspamd.check', (req) => (asked.push(req), rspamd(req)))
})

afterAll(async () => {
  await actor?.stop()
  await dns?.close()
})

const MESSAGE = Buffer.from('From: a@remote.test\r\nSubject: hello\r\nX-Spam-Flag: NO\r\n\r\nbody\r\n')

function check(session: string, remoteAddress: string) {
  return bus.call('spam.check', {session, id: `id-${session}`, message: MESSAGE, authHeader: Buffer.from('Authentication-Results: mx.test; spf=pass\r\n'), mailFrom: 'a@remote.test', rcptTo: ['b@local.test'], remoteAddress, helo: 'mail.remote.test'})
}

describe('the spam actor', () => {
  it('spam.allowListed: true for a client on an allow list, false otherwise (and for an unknown session)', async () => {
    await bus.call('spam.connect', {session: 's1', remoteAddress: '192.0.2.9', localAddress: '198.51.100.1'})
    await bus.call('spam.connect', {session: 's2', remoteAddress: '192.0.2.10', localAddress: '198.51.100.1'})
    expect(await bus.call('spam.allowListed', {session: 's1'})).toEqual({allowListed: true})
    expect(await bus.call('spam.allowListed', {session: 's2'})).toEqual({allowListed: false})
    expect(await bus.call('spam.allowListed', {session: 'nope'})).toEqual({allowListed: false})
    await bus.call('spam.close', {session: 's1'})
    await bus.call('spam.close', {session: 's2'})
  })

  describe('with spam.rspamd.url set', () => {
    beforeAll(() => {
      config.rspamd = {url: 'http://127.0.0.1:11333'}
    })
    afterAll(() => {
      delete config.rspamd
    })

    it.each([
      ['reject', 'reject'],
      ['soft reject', 'defer'],
      ['greylist', 'defer'],
      ['add header', 'junk'],
      ['no action', 'deliver'],
    ] as const)('rspamd %s → %s, its score and symbols in X-Spam-Status', async (action, ours) => {
      rspamd = () => ({action, score: 7.25, required: 15, symbols: ['GTUBE', 'R_SPF_ALLOW']})
      const r = await check('r1', '192.0.2.20')
      expect(r.action).toBe(ours)
      expect(r.headers?.toString()).toBe(`X-Spam-Score: 7.3\r\nX-Spam-Status: ${ours === 'deliver' ? 'No' : 'Yes'}, score=7.3 required=15.0 tests=GTUBE,R_SPF_ALLOW\r\n`)
      expect(r.message.toString()).not.toContain('X-Spam-Flag')
      const req = asked.at(-1)!
      expect(req).toMatchObject({mailFrom: 'a@remote.test', rcptTo: ['b@local.test'], remoteAddress: '192.0.2.20', helo: 'mail.remote.test', queueId: 'id-r1'})
      // as it will be stored, without our Received: our Authentication-Results on top, forged X-Spam-* gone
      expect(req.message.toString()).toBe('Authentication-Results: mx.test; spf=pass\r\nFrom: a@remote.test\r\nSubject: hello\r\n\r\nbody\r\n')
      if (ours === 'reject') expect(r.reason).toBe('rspamd: GTUBE, R_SPF_ALLOW')
    })

    it('rewrite subject: Junk with rspamd’s subject', async () => {
      rspamd = () => ({action: 'rewrite subject', score: 9, required: 15, symbols: ['X'], subject: '*** SPAM *** hello'})
      const r = await check('r2', '192.0.2.20')
      expect(r.action).toBe('junk')
      expect(r.message.toString()).toBe('From: a@remote.test\r\nSubject: *** SPAM *** hello\r\n\r\nbody\r\n')
    })

    it('rspamd did not answer: the built-in score decides (a block-listed client goes to Junk)', async () => {
      rspamd = () => ({action: 'no action', score: 0, required: 15, symbols: [], failed: 'timeout'})
      await bus.call('spam.connect', {session: 'r3', remoteAddress: '192.0.2.10', localAddress: '198.51.100.1'})
      const r = await check('r3', '192.0.2.10')
      expect(r.action).toBe('junk')
      expect(r.headers?.toString()).toContain('tests=DNSBL_BL')
      expect(lines.at(-1)).toMatchObject({msg: 'spam check', source: 'builtin', action: 'junk'})
      expect(lines.at(-2)).toMatchObject({msg: 'spam check: rspamd did not answer; the built-in score decides', failed: 'timeout'})
    })

    it('monitor mode: rspamd’s reject is recorded, the message delivered', async () => {
      config.mode = 'monitor'
      try {
        rspamd = () => ({action: 'reject', score: 20, required: 15, symbols: ['GTUBE']})
        const r = await check('r4', '192.0.2.20')
        expect(r.action).toBe('deliver')
        expect(lines.at(-1)).toMatchObject({msg: 'spam check', source: 'rspamd', action: 'deliver', would: 'reject'})
      } finally {
        config.mode = 'enforce'
      }
    })
  })
})
