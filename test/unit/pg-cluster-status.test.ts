/**
 * The nodes of a PostgreSQL store as `status` reads them (src/cluster-status.ts), registered the
 * way `serve` registers itself (src/node-presence.ts): two stores opened on one URL stand for two
 * nodes; each node's listeners and version are listed, a silent node turns stale, a stopped one
 * leaves. An LMDB store has no registry.
 */
import {describe, expect, it} from 'vitest'
import {clusterStatus} from '../../src/cluster-status.js'
import {listenersByName, nodeIdOf, startNodePresence} from '../../src/node-presence.js'
import {silentLogger} from '../../src/log.js'
import {registerNode} from '../../src/store/pg/nodes.js'
import {openPgStore, type PgStore} from '../../src/store/pg/store.js'
import {VERSION} from '../../src/version.js'
import {tempStore} from '../helpers/store.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'

const FAST = {heartbeatMs: 100, staleAfterMs: 1_500, removeAfterMs: 60_000}
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('node ids and listeners', () => {
  it('the default id is the host name and a hash of the data dir: the same across restarts, another for another data dir', () => {
    expect(nodeIdOf('mx1', '/srv/mail')).toBe(nodeIdOf('mx1', '/srv/mail'))
    expect(nodeIdOf('mx1', '/srv/mail')).toMatch(/^mx1-[0-9a-f]{8}$/)
    expect(nodeIdOf('mx1', '/srv/mail2')).not.toBe(nodeIdOf('mx1', '/srv/mail'))
    expect(nodeIdOf('h'.repeat(300), '/d').length).toBeLessThanOrEqual(128)
  })

  it('listeners by name, without the control socket (a path on the machine itself)', () => {
    expect(listenersByName([
      {name: 'control', address: '/srv/mail/control.sock'},
      {name: 'smtp', address: '127.0.0.2:2525'},
      {name: 'imap', address: '127.0.0.2:2143'},
      {name: 'smtp', address: '[::1]:2525'},
    ])).toEqual({smtp: ['127.0.0.2:2525', '[::1]:2525'], imap: ['127.0.0.2:2143']})
  })

  it('an LMDB store has no registry: no presence, no cluster', async () => {
    const store = tempStore()
    expect(await startNodePresence(store, {hostname: 'h', dataDir: '/d', listeners: []}, silentLogger)).toBeUndefined()
    expect(await clusterStatus(store)).toBeUndefined()
  })
})

describe.skipIf(skipWithoutPostgres)('the nodes of a PostgreSQL store', () => {
  const server = usePostgres()

  it('two nodes registered as serve registers: both live with listeners and version, beating past the stale bound; a dead one turns stale; stopped ones leave', async () => {
    const url = await server().createSchema()
    const stores: PgStore[] = []
    try {
      for (let i = 0; i < 3; i++) stores.push(await openPgStore(url, {pool: {poolSize: 2}}))
      const [a, b, reader] = stores as [PgStore, PgStore, PgStore]
      const nodeA = await startNodePresence(a, {hostname: 'host-a', dataDir: '/srv/a', listeners: [{name: 'smtp', address: '127.0.0.2:2525'}], timings: FAST}, silentLogger)
      const nodeB = await startNodePresence(b, {nodeId: 'mx-b', hostname: 'host-b', dataDir: '/srv/b', listeners: [{name: 'imap', address: '127.0.0.3:2143'}], timings: FAST}, silentLogger)
      expect(reader.path).toMatch(/^postgres:\/\/mailbox@127\.0\.0\.1:\d+\/postgres$/)
      let cluster = await clusterStatus(reader, FAST)
      expect(cluster?.store).toBe(reader.path)
      expect(cluster?.nodes).toEqual([
        expect.objectContaining({id: nodeIdOf('host-a', '/srv/a'), host: 'host-a', listeners: {smtp: ['127.0.0.2:2525']}, version: VERSION, state: 'live'}),
        expect.objectContaining({id: 'mx-b', host: 'host-b', listeners: {imap: ['127.0.0.3:2143']}, version: VERSION, state: 'live'}),
      ])
      // a node that registered and then died (kill -9: no goodbye, no more beats)
      await registerNode(reader.pool, {id: 'mx-dead', host: 'host-c', listeners: {}})
      // the beating ones stay live past the stale bound; the dead one turns stale
      const until = Date.now() + 10_000
      do {
        await sleep(200)
        cluster = await clusterStatus(reader, FAST)
      } while (cluster?.nodes.find((n) => n.id === 'mx-dead')?.state !== 'stale' && Date.now() < until)
      expect(cluster?.nodes.map((n) => [n.id, n.state])).toEqual([
        [nodeIdOf('host-a', '/srv/a'), 'live'],
        ['mx-b', 'live'],
        ['mx-dead', 'stale'],
      ])
      await nodeB!.stop()
      await nodeA!.stop()
      expect((await clusterStatus(reader, FAST))?.nodes.map((n) => n.id)).toEqual(['mx-dead'])
    } finally {
      for (const store of stores) await store.close()
    }
  })
})
