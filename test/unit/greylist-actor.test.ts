/**
 * The greylist actor (src/spam/greylist-actor.ts) on a real LMDB store and the real bus: off by
 * default (no decision, no event); a full table passes new triplets unrecorded and says so once
 * a minute, not once per message; a failing store fails open; the purge removes expired entries.
 */
import {afterEach, describe, expect, it} from 'vitest'
import {Bus, type EventMap} from '../../src/bus.js'
import {createLogger} from '../../src/log.js'
import {GreylistActor} from '../../src/spam/greylist-actor.js'
import {DEFAULT_GREYLIST, type GreylistConfig} from '../../src/spam/greylist.js'
import {contractTempStore} from '../helpers/store.js'

const request = (sender: string) => ({remoteAddress: '192.0.2.10', mailFrom: sender, rcpt: 'bob@x.test', authenticated: false})

describe('the greylist actor', () => {
  const cleanups: (() => Promise<void>)[] = []
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
  })

  async function actorWith(config: Partial<GreylistConfig>) {
    const opened = contractTempStore()
    const bus = new Bus()
    const lines: Record<string, unknown>[] = []
    const log = createLogger({level: 'debug', pretty: false, write: (line) => void lines.push(JSON.parse(line))})
    const events: EventMap['greylist.checked'][] = []
    bus.subscribe('greylist.checked', ({body}) => void events.push(body as EventMap['greylist.checked']))
    const live = {...DEFAULT_GREYLIST, ...config}
    const actor = new GreylistActor(bus, opened.backend, log, () => live)
    await actor.start()
    cleanups.push(async () => {
      await actor.stop()
      await opened.close().catch(() => {})
    })
    return {bus, actor, lines, events, store: opened.backend, live}
  }

  it('off (the default): answers null, stores nothing, publishes nothing; on at the next call once the config says so', async () => {
    const {bus, events, store, live} = await actorWith({})
    expect(await bus.call('greylist.check', request('amy@sender.test'))).toBeNull()
    expect(events).toEqual([])
    expect((await store.greylist.stats()).entries).toBe(0)
    live.enabled = true
    expect(await bus.call('greylist.check', request('amy@sender.test'))).toEqual({retryInSeconds: 300})
    expect(events.map((e) => [e.result, e.reason])).toEqual([['wait', 'first']])
  })

  it('a full table: new triplets pass unrecorded, counted in events, logged once for a burst', async () => {
    const {bus, events, lines, store} = await actorWith({enabled: true, maxEntries: 2})
    for (let i = 0; i < 10; i++) await bus.call('greylist.check', request(`s${i}@sender.test`))
    expect(events.map((e) => e.reason)).toEqual(['first', 'first', ...Array(8).fill('full')])
    expect((await store.greylist.stats()).entries).toBe(2)
    const full = lines.filter((l) => l.msg === 'greylist table full: new triplets pass without being recorded')
    expect(full).toHaveLength(1)
    expect(full[0]).toMatchObject({level: 'warn', unrecorded: 1, maxEntries: 2})
  })

  it('a store that fails: the recipient is not greylisted, the error logged', async () => {
    const {bus, events, lines, store} = await actorWith({enabled: true})
    await store.close()
    expect(await bus.call('greylist.check', request('amy@sender.test'))).toBeNull()
    expect(events.map((e) => [e.result, e.reason])).toEqual([['pass', 'error']])
    expect(lines.some((l) => l.level === 'error' && l.msg === 'greylist check failed: the recipient is not greylisted')).toBe(true)
  })

  it('authenticated and allow-listed requests are skipped without touching the store', async () => {
    const {bus, events, store} = await actorWith({enabled: true, allowNetworks: ['192.0.2.0/28']})
    expect(await bus.call('greylist.check', {...request('a@s.test'), authenticated: true})).toBeNull()
    expect(await bus.call('greylist.check', {...request('a@s.test'), remoteAddress: '198.51.100.1', allowListed: true})).toBeNull()
    expect(await bus.call('greylist.check', request('a@s.test'))).toBeNull()
    expect(events.map((e) => [e.result, e.reason])).toEqual([
      ['skip', 'authenticated'],
      ['skip', 'allow-listed'],
      ['skip', 'allow-network'],
    ])
    expect((await store.greylist.stats()).entries).toBe(0)
  })

  it('purgeOnce removes what expired and logs it', async () => {
    const {bus, actor, lines, store, live} = await actorWith({enabled: true})
    await bus.call('greylist.check', request('amy@sender.test'))
    expect(await actor.purgeOnce(Date.now() + live.retryWindowMs + 1)).toBe(1)
    expect((await store.greylist.stats()).entries).toBe(0)
    expect(lines.find((l) => l.msg === 'expired greylist entries purged')).toMatchObject({removed: 1, entries: 0})
  })
})
