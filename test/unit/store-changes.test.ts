/**
 * `store.changes` on LMDB: an in-process feed the backends emit on after each commit (directory
 * and DKIM writes: `directory`; capture rules: `capture`), never for a refused write; and the auth
 * actor forgetting its verified credentials when the directory changes.
 */
import {describe, expect, it} from 'vitest'
import {AuthActor, DEFAULT_AUTH} from '../../src/auth/actor.js'
import {Bus} from '../../src/bus.js'
import {addAlias} from '../../src/directory/aliases.js'
import {addDomain} from '../../src/directory/domains.js'
import {addUser} from '../../src/directory/users.js'
import {silentLogger} from '../../src/log.js'
import type {StoreChange} from '../../src/store/backend.js'
import {tempStore} from '../helpers/store.js'

describe('store.changes on LMDB', () => {
  it('emits directory after each committed directory write, capture after each rule write, nothing for a refused one; off stops it', async () => {
    const store = tempStore()
    const heard: StoreChange[] = []
    const off = store.changes.on((c) => heard.push(c))
    await addDomain(store, 'example.com')
    expect(heard).toEqual([{kind: 'directory'}])
    await expect(addDomain(store, 'example.com')).rejects.toThrow(/exists/)
    expect(heard).toHaveLength(1)
    await store.capture.addRule({to: 'fail@', reply: '550 no'})
    const counted = await store.capture.addRule({to: 'once@', reply: '451 later', remaining: 1})
    expect(heard.slice(1)).toEqual([{kind: 'capture'}, {kind: 'capture'}])
    // an always-firing rule is only read; a counted one is consumed (a write)
    expect(await store.capture.takeFault('rcpt', ['fail@example.com'])).toMatchObject({reply: '550 no'})
    expect(heard).toHaveLength(3)
    expect(await store.capture.takeFault('rcpt', ['once@example.com'])).toMatchObject({id: counted.id})
    expect(heard.slice(3)).toEqual([{kind: 'capture'}])
    off()
    await store.capture.clearRules()
    expect(heard).toHaveLength(4)
  })

  it('a listener that throws is reported and does not keep the others from hearing', async () => {
    const store = tempStore()
    const heard: string[] = []
    const failed: string[] = []
    store.changeEmitter.onListenerError = (err, change) => failed.push(`${(err as Error).message} on ${change.kind}`)
    store.changes.on(() => {
      throw new Error('boom')
    })
    store.changes.on((c) => heard.push(c.kind))
    await addDomain(store, 'example.org')
    expect(heard).toEqual(['directory'])
    expect(failed).toEqual(['boom on directory'])
  })

  it('the auth actor forgets the credentials it verified when the directory changes', async () => {
    const store = tempStore()
    await addDomain(store, 'example.net')
    await addUser(store, {address: 'carol@example.net', password: 'carol-pw'})
    const bus = new Bus()
    const actor = new AuthActor(bus, store, silentLogger, {...DEFAULT_AUTH, failureDelayMs: 0})
    await actor.start()
    try {
      await bus.call('auth.login', {username: 'carol@example.net', password: 'carol-pw', remoteAddress: '192.0.2.1', protocol: 'imap', mechanism: 'password', tls: 'none'})
      expect(actor.cachedCredentials).toBe(1)
      await addAlias(store, 'c@example.net', ['carol@example.net'])
      expect(actor.cachedCredentials).toBe(0)
    } finally {
      await actor.stop()
    }
  })
})
