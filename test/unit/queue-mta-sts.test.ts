/**
 * The queue and a domain's MTA-STS decision (src/queue/actor.ts): when the decision cannot be
 * made (the policy cache, store.mtaSts, cannot be read), the attempt is deferred with the reason,
 * and nothing is sent: the cache may hold an enforce policy, and a failure must not lift it
 * (RFC 8461 §5).
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {createLogger} from '../../src/log.js'
import {StsPolicies} from '../../src/mta-sts/policies.js'
import {DEFAULT_MTA_STS} from '../../src/mta-sts/config.js'
import {DEFAULT_QUEUE, QueueActor} from '../../src/queue/actor.js'
import {enqueueInTxn} from '../../src/store/lmdb-enqueue.js'
import type {MtaStsStore} from '../../src/store/backend.js'
import {startDns, type DnsServer} from '../helpers/dns.js'
import {tempStore} from '../helpers/store.js'
import {until} from '../helpers/until.js'

const store = tempStore()
let dns: DnsServer

beforeAll(async () => {
  dns = await startDns({
    '_mta-sts.sts.test': {TXT: ['v=STSv1; id=1']},
    'sts.test': {MX: [{priority: 10, exchange: 'mx.sts.test'}]},
    'mx.sts.test': {A: ['127.0.0.1']},
  })
})

afterAll(() => dns?.close())

describe('queue under MTA-STS', () => {
  it('a policy cache that cannot be read defers the attempt: nothing is looked up or sent as without a policy', async () => {
    const broken: MtaStsStore = {
      get: () => Promise.reject(new Error('the policy cache is unreachable')),
      put: () => Promise.reject(new Error('the policy cache is unreachable')),
      purge: async () => 0,
    }
    const log = createLogger({level: 'silent'})
    const dnsServers = [`127.0.0.1:${dns.port}`]
    const sts = new StsPolicies(broken, log, {config: () => ({...DEFAULT_MTA_STS, fetchTimeoutMs: 2000}), dnsServers: () => dnsServers, trust: () => undefined})
    const id = store.transact(() => {
      store.blobs.putSync('sts-blob', Buffer.from('Subject: x\r\n\r\nbody\r\n'))
      store.blobInfo.putSync('sts-blob', {refs: 1, size: 20, createdAt: Date.now()})
      return enqueueInTxn(store, {from: 'a@example.com', recipients: ['bob@sts.test'], blobId: 'sts-blob'})[0]!.id
    })
    const actor = new QueueActor(new Bus(), store.queue, log, {
      hostname: 'mx.example.com',
      queue: {...DEFAULT_QUEUE, connectTimeoutMs: 2000, socketTimeoutMs: 2000},
      route: {routes: {}, dnsServers, insecure: false},
      sts,
    })
    await actor.start()
    try {
      await until(() => store.queueEntries.get(id)?.state === 'deferred', 20_000)
    } finally {
      await actor.stop()
    }
    const entry = store.queueEntries.get(id)!
    expect(entry.recipients[0]!.lastError).toMatch(/^451 4\.7\.5 the MTA-STS policy of sts\.test could not be decided/)
    // no MX lookup: the attempt went nowhere
    expect(dns.questions).not.toContain('MX sts.test')
  }, 30_000)
})
