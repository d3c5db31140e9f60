/**
 * Sieve at delivery through the mailstore actor (src/mailstore/actor.ts): what it does after the
 * commit (announcing the folders a script made) never fails a delivery that is stored, since the
 * SMTP client would take the error as "not delivered" and send the message again.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {Bus} from '../../src/bus.js'
import {silentLogger} from '../../src/log.js'
import {MailstoreActor} from '../../src/mailstore/actor.js'
import {DEFAULT_SIEVE_DELIVERY} from '../../src/sieve-delivery/config.js'
import {tempStore} from '../helpers/store.js'

const stops: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop()
})

describe('mailstore actor with Sieve', () => {
  it('a store error after the commit (reading the folders a script made) still answers the delivery as stored', async () => {
    const store = tempStore()
    await store.directory.addDomain({record: {name: 'example.com', createdAt: Date.now()}, keys: []})
    const user = (await store.directory.addUser({address: 'u@example.com', passwordHash: ''})).address
    await store.sieve.put(user, 'main', 'require ["fileinto", "mailbox"];\nfileinto :create "New";\n', {maxScripts: 5, maxScriptBytes: 65536})
    await store.sieve.activate(user, 'main')
    // the script's run reads the folders once before the commit; the read after it fails
    let reads = 0
    const mail = new Proxy(store.mail, {
      get: (target, prop) => {
        if (prop === 'folders') return (u: string) => (++reads > 1 ? Promise.reject(new Error('connection lost')) : target.folders(u))
        const value = Reflect.get(target, prop) as unknown
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const flaky = new Proxy(store, {get: (target, prop) => (prop === 'mail' ? mail : Reflect.get(target, prop))})
    const bus = new Bus()
    const actor = new MailstoreActor(bus, flaky, silentLogger, {hostname: 'mx.example.com', sieve: {...DEFAULT_SIEVE_DELIVERY}})
    await actor.start()
    stops.push(() => actor.stop())
    const reply = await bus.call('mailstore.deliver', {
      mailFrom: 'a@remote.test',
      rcptTo: [user],
      local: [user],
      remote: [],
      pieces: [Buffer.from(`From: a@remote.test\r\nTo: ${user}\r\nSubject: hi\r\n\r\nhello\r\n`)],
    })
    expect(reply.stored.map((s) => s.folder)).toEqual(['New'])
    expect(reads).toBe(2)
  })
})
