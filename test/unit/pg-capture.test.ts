/**
 * Capture rules on PostgreSQL (src/store/pg/capture.ts): the same contract the LMDB backend passes
 * (test/helpers/capture-contract.ts), each test in a fresh schema of this file's private server;
 * then what only several nodes can show, with one pool per node on one database: a counted rule
 * fires exactly its count however many nodes ask at once, and a rule added or consumed on one node
 * is what the next check on another node sees.
 */
import {describe, expect, it} from 'vitest'
import {ChangeListener, type StoreChange} from '../../src/store/pg/changes.js'
import {pgCapture} from '../../src/store/pg/capture.js'
import {openPgDatabase} from '../../src/store/pg/open.js'
import {captureContract, type OpenedCapture} from '../helpers/capture-contract.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

describe.skipIf(skipWithoutPostgres)('capture rules on PostgreSQL', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  captureContract('PostgreSQL', async (): Promise<OpenedCapture> => {
    const url = await server().createSchema()
    const store = await openPgDatabase(url, {poolSize: 4})
    return {
      backend: {capture: pgCapture(store.pool)},
      reopen: async () => {
        const other = await openPgDatabase(url, {poolSize: 2})
        return {capture: pgCapture(other.pool), close: () => other.close()}
      },
      close: () => store.close(),
    }
  })

  /** three nodes on one fresh store, each with its own pool */
  const threeNodes = async () => {
    const {url, store} = await pools.fresh({poolSize: 4})
    const others = [await pools.node(url, {poolSize: 4}), await pools.node(url, {poolSize: 4})]
    return {url, store, nodes: [store, ...others].map((s) => pgCapture(s.pool))}
  }

  it('a rule with remaining=10 hit 30 times at once from 3 nodes fires exactly 10 times', async () => {
    const {store, nodes} = await threeNodes()
    for (let round = 0; round < 3; round++) {
      const rule = await nodes[round]!.addRule({to: 'bob@x.test', reply: '451 4.3.0 later', remaining: 10})
      const taken = await Promise.all(Array.from({length: 30}, (_, i) => nodes[i % 3]!.takeFault('rcpt', ['bob@x.test'])))
      const fired = taken.filter((t) => t?.id === rule.id)
      expect(fired).toHaveLength(10)
      expect(taken.filter((t) => t === undefined)).toHaveLength(20)
      // each firing took a different count: 10, 9, …, 1
      expect(fired.map((t) => t!.remaining).sort((a, b) => a! - b!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      const {rows} = await store.pool.query('SELECT count(*)::int AS n FROM capture_rules')
      expect(rows[0].n).toBe(0)
    }
  })

  it('concurrent takers on a counted rule with an uncounted one behind it: the count first, then the other', async () => {
    const {nodes} = await threeNodes()
    const counted = await nodes[0]!.addRule({to: 'bob@x.test', reply: '451 later', remaining: 4})
    const always = await nodes[1]!.addRule({to: 'bob', reply: '550 gone'})
    const taken = await Promise.all(Array.from({length: 12}, (_, i) => nodes[i % 3]!.takeFault('rcpt', ['bob@x.test'])))
    expect(taken.filter((t) => t?.id === counted.id)).toHaveLength(4)
    expect(taken.filter((t) => t?.id === always.id)).toHaveLength(8)
    for (const n of nodes) expect(await n.rules()).toEqual([always])
  })

  it('a rule added, consumed or removed on one node is what the next check on another node sees', async () => {
    const {nodes} = await threeNodes()
    const [a, b, c] = nodes as [ReturnType<typeof pgCapture>, ReturnType<typeof pgCapture>, ReturnType<typeof pgCapture>]
    expect(await b.takeFault('rcpt', ['bob@x.test'])).toBeUndefined()
    const rule = await a.addRule({to: 'bob@x.test', reply: '451 later', remaining: 2})
    expect(await b.takeFault('rcpt', ['bob@x.test'])).toEqual(rule)
    expect(await c.rules()).toEqual([{...rule, remaining: 1}])
    expect(await c.takeFault('rcpt', ['bob@x.test'])).toEqual({...rule, remaining: 1})
    expect(await a.takeFault('rcpt', ['bob@x.test'])).toBeUndefined()
    const always = await c.addRule({to: 'bob@x.test', reply: '550 gone', stage: 'data'})
    expect(await a.takeFault('data', ['bob@x.test'])).toEqual(always)
    await b.removeRule(always.id)
    expect(await a.takeFault('data', ['bob@x.test'])).toBeUndefined()
  })

  it('capture writes signal the other nodes at commit; a refused one and a read send nothing', async () => {
    const {url, nodes} = await threeNodes()
    const listener = new ChangeListener(url)
    const heard: StoreChange[] = []
    listener.subscribe((change) => heard.push(change))
    await listener.start()
    try {
      const rule = await nodes[0]!.addRule({to: 'bob@x.test', reply: '451 later', remaining: 1})
      await nodes[1]!.addRule({to: 'x', reply: '250 ok'}).catch(() => undefined)
      await nodes[1]!.takeFault('rcpt', ['amy@x.test'])
      await nodes[1]!.takeFault('rcpt', ['bob@x.test'])
      await nodes[2]!.addRule({to: 'carol@x.test', reply: '451 later'})
      await nodes[2]!.clearRules()
      expect(rule.id).toBeTruthy()
      for (let i = 0; i < 100 && heard.length < 4; i++) await new Promise((resolve) => setTimeout(resolve, 20))
      await new Promise((resolve) => setTimeout(resolve, 100)) // nothing more is coming
      expect(heard).toEqual([1, 2, 3, 4].map(() => ({kind: 'capture'})))
    } finally {
      await listener.stop()
    }
  })
})
