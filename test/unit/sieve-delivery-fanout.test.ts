/**
 * Redirects between local users at delivery (src/sieve-delivery/): each hop may redirect again,
 * so scripts that forward to each other multiply a message; the copies one message makes are
 * bounded in all (each is the whole message in memory and on disk), beyond that they are kept.
 */
import {describe, expect, it} from 'vitest'
import {silentLogger} from '../../src/log.js'
import {storeMessage} from '../../src/mailstore/submit.js'
import {DEFAULT_SIEVE_DELIVERY} from '../../src/sieve-delivery/config.js'
import {MAX_NESTED_REDIRECTS, SieveDelivery} from '../../src/sieve-delivery/index.js'
import {tempStore} from '../helpers/store.js'

describe('Sieve redirects between local users', () => {
  it('five users who forward everything to each other (with :copy) make a bounded number of copies', async () => {
    const store = tempStore()
    await store.directory.addDomain({record: {name: 'example.com', createdAt: Date.now()}, keys: []})
    const users = ['a', 'b', 'c', 'd', 'e'].map((n) => `${n}@example.com`)
    for (const u of users) await store.directory.addUser({address: u, passwordHash: ''})
    for (const u of users) {
      const others = users.filter((o) => o !== u)
      await store.sieve.put(u, 'main', `require "copy";\n${others.map((o) => `redirect :copy "${o}";`).join('\n')}\n`, {maxScripts: 5, maxScriptBytes: 65536})
      await store.sieve.activate(u, 'main')
    }
    const sieve = new SieveDelivery({config: DEFAULT_SIEVE_DELIVERY, hostname: 'mx.example.com', log: silentLogger})
    const r = await storeMessage(store, {
      mailFrom: 'sender@remote.test',
      rcptTo: [users[0]!],
      local: [users[0]!],
      remote: [],
      pieces: [Buffer.from(`From: sender@remote.test\r\nTo: ${users[0]}\r\nSubject: hi\r\n\r\n${'x'.repeat(1000)}\r\n`)],
      sieve,
      inject: async () => {},
    })
    // a's own copy and its four redirects, then at most MAX_NESTED_REDIRECTS more (165 without the bound); every user has one
    expect(r.result.stored.length).toBeLessThanOrEqual(1 + 4 + MAX_NESTED_REDIRECTS)
    expect(new Set(r.result.stored.map((s) => s.user))).toEqual(new Set(users))
  })
})
