/**
 * The node registry (src/store/pg/nodes.ts) on a real private server, three pools standing for
 * three nodes: registration and deregistration are seen by the others, a node that stops
 * heartbeating turns stale and is later removed by whichever node looks first, a node removed
 * while paused registers again at its next beat, and what a node writes about itself is bounded.
 */
import {describe, expect, it} from 'vitest'
import {heartbeatNode, NODE_LIMITS, NodePresence, peers, registerNode} from '../../src/store/pg/nodes.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** short timings, with margins a loaded 2-core machine keeps: a beat every 100 ms, stale after 1.5 s, removed after 3 s */
const FAST = {heartbeatMs: 100, staleAfterMs: 1_500, removeAfterMs: 3_000}

/** polls `check` until it holds, at most `ms` */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not reached in time')
    await sleep(50)
  }
}

describe.skipIf(skipWithoutPostgres)('node registry on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  const threeNodes = () => pools.nodes(3, {poolSize: 3})

  it('a registered node is listed live by the others with its listeners; a clean stop removes it at once', async () => {
    const [a, b, c] = await threeNodes()
    const nodeA = new NodePresence(a, {id: 'a', host: '127.0.0.2', listeners: {imap: ['127.0.0.2:143']}, version: '1.0.0'}, FAST)
    const nodeB = new NodePresence(b, {id: 'b', host: '127.0.0.3', listeners: {imap: ['127.0.0.3:143']}}, FAST)
    await nodeA.start()
    await nodeB.start()
    const seen = await peers(c, FAST)
    expect(seen.live.map((n) => n.id)).toEqual(['a', 'b'])
    expect(seen.live[0]).toMatchObject({host: '127.0.0.2', listeners: {imap: ['127.0.0.2:143']}, version: '1.0.0'})
    expect(seen.stale).toEqual([])
    await nodeA.stop()
    expect((await peers(c, FAST)).live.map((n) => n.id)).toEqual(['b'])
    await nodeB.stop()
  })

  it('a node that stops beating turns stale, then is removed by the first node to look after the longer bound', async () => {
    const [a, b, c] = await threeNodes()
    const nodeB = new NodePresence(b, {id: 'b', host: '127.0.0.3', listeners: {}}, FAST)
    await nodeB.start()
    // "a" registers and then dies without a word (no heartbeats, no deregistration)
    await registerNode(a, {id: 'a', host: '127.0.0.2', listeners: {}})
    await eventually(async () => (await peers(c, FAST)).stale.some((n) => n.id === 'a'))
    const stale = await peers(b, FAST)
    expect(stale.live.map((n) => n.id)).toEqual(['b'])
    expect(stale.stale[0]!.silentMs).toBeGreaterThan(FAST.staleAfterMs)
    // b kept beating all along, so it is never stale; a goes away once removeAfterMs has passed
    let removedBy: string | undefined
    await eventually(async () => {
      for (const [name, pool] of [['b', b], ['c', c]] as const) {
        const seen = await peers(pool, FAST)
        if (seen.removed.includes('a')) removedBy = name
      }
      return removedBy !== undefined
    })
    const after = await peers(c, FAST)
    expect(after.live.map((n) => n.id)).toEqual(['b'])
    expect(after.stale).toEqual([])
    expect(after.removed).toEqual([])
    await nodeB.stop()
  })

  it('a node whose row was removed while it was paused registers again at its next beat', async () => {
    const [a, b] = await threeNodes()
    const nodeA = new NodePresence(a, {id: 'a', host: '127.0.0.2', listeners: {pop3: ['127.0.0.2:110']}}, FAST)
    await nodeA.start()
    await b.query("DELETE FROM nodes WHERE id = 'a'")
    expect(await heartbeatNode(b, 'missing')).toBe(false)
    await eventually(async () => (await peers(b, FAST)).live.some((n) => n.id === 'a'))
    expect((await peers(b, FAST)).live[0]!.listeners).toEqual({pop3: ['127.0.0.2:110']})
    await nodeA.stop()
  })

  it('bounds what a node says about itself and refuses timings that cannot work', async () => {
    const [a] = await threeNodes()
    const big = {tcp: ['x'.repeat(NODE_LIMITS.listenersBytes)]}
    await expect(registerNode(a, {id: 'a', host: 'h', listeners: big})).rejects.toThrow(/listeners take \d+ bytes/)
    await expect(registerNode(a, {id: 'x'.repeat(NODE_LIMITS.idChars + 1), host: 'h', listeners: {}})).rejects.toThrow(/id must be/)
    expect(() => new NodePresence(a, {id: 'a', host: 'h', listeners: {}}, {heartbeatMs: 1000, staleAfterMs: 500})).toThrow(/node timings/)
    expect((await peers(a, FAST)).live).toEqual([])
  })
})
