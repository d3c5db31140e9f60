/**
 * The dashboard's queue table against a real `mailbox serve` with ten entries in every state an
 * admin meets: delivered, deferred by a 451 with a long reply text, deferred by a closed port,
 * failed by a 550. What needs attention comes first, the table gets the room at 80×24, wide
 * terminals show the reply text, Enter shows it whole, and the selection follows its entry when
 * an action re-sorts the table (issue 13: `u` then `d` offered to delete a different entry).
 *
 * The tests share one serve and run in order; the last one (u, d) changes the queue.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {Receiver, Tmux, boxLines, isLive, queueList, rowOf, send, setupStore, sleep, waitUntil, type Session} from './dashboard-helpers.js'

const tmux = new Tmux()

/** the 451 reply the receiver gives, as the queue records it */
const FAIL_TEXT = '4.3.0 dashboard test: mailbox being moved to a new server, retry'
const REPLY = `451 ${FAIL_TEXT}`
/** table rows that show an entry (the state column says which) */
const entryRows = (s: string) => boxLines(s, 'queue entries').filter((l) => /^\S{10,}\s+(queued|sending|deferred|held|delivered|failed)\s/.test(l))
const stateOf = (row: string) => /^\S+\s+(\S+)/.exec(row)![1]

describe('dashboard queue table', () => {
  let dataDir: string
  let served: Served
  let receiver: Receiver
  let delivered: string
  let deferred: string[]
  let closed: string[]
  let failed: string

  beforeAll(async () => {
    dataDir = tempDataDir()
    const config = await setupStore(dataDir)
    receiver = await Receiver.start()
    receiver.failText = FAIL_TEXT
    receiver.refuse.add('nobody@example.net')
    const closedPort = await freePort()
    served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`, '--route', `example.org=127.0.0.1:${closedPort}`])

    delivered = await send(dataDir, 'delivered first', 'bob@example.net')
    await waitUntil('the first message delivered', async () => (await queueList(dataDir)).find((e) => e.id === delivered)?.state === 'delivered', 15_000)
    receiver.failing = true
    deferred = []
    for (const n of [1, 2, 3]) deferred.push(await send(dataDir, `deferred ${n}`, 'bob@example.net'))
    closed = []
    for (const n of [1, 2, 3, 4, 5]) closed.push(await send(dataDir, `closed port ${n}`, 'carol@example.org'))
    failed = await send(dataDir, 'refused', 'nobody@example.net')
    await waitUntil(
      'every entry tried',
      async () => {
        const list = await queueList(dataDir)
        const state = (id: string) => list.find((e) => e.id === id)?.state
        return [...deferred, ...closed].every((id) => state(id) === 'deferred') && state(failed) === 'failed'
      },
      20_000,
    )
  }, 90_000)

  afterAll(async () => {
    await served?.stop()
    await receiver?.close()
  })

  it('deferred and failed entries come first by default, delivered last', async () => {
    const d = await tmux.startDashboard(dataDir, {width: 120, height: 36})
    const s = await d.waitFor((x) => isLive(x) && entryRows(x).length === 10, {what: 'ten rows', timeoutMs: 20_000})
    expect(boxLines(s, 'queue entries')[0]).toBeDefined()
    const states = entryRows(s).map(stateOf)
    expect(states, entryRows(s).join('\n')).toEqual([...Array<string>(8).fill('deferred'), 'failed', 'delivered'])
    // within a state, the soonest next attempt first (ties by id)
    const list = await queueList(dataDir)
    const expected = list
      .filter((e) => e.state === 'deferred')
      .sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || (a.id < b.id ? -1 : 1))
      .map((e) => e.id.slice(-10))
    expect(
      entryRows(s)
        .slice(0, 8)
        .map((row) => row.split(' ')[0]),
    ).toEqual(expected)
    expect(rowOf(s, failed)).toMatch(/failed\s+1\s/)
    // 120 columns is wide: the reply text, cut to the column (the whole of it at 160, below)
    expect(rowOf(s, deferred[0]!)).toMatch(/\s451 4\.3\.0 dashboard test: mailbox \S.*…\s*$/)
    await d.quit()
  }, 60_000)

  it('at 80×24 the table shows at least 8 entries, and the reply code in LAST ERROR; Enter shows the last error whole', async () => {
    const d = await tmux.startDashboard(dataDir, {width: 80, height: 24})
    let s = await d.waitFor((x) => isLive(x) && entryRows(x).length === 10, {what: 'all ten rows at 80×24 (at least 8 asked)', timeoutMs: 20_000})
    const lines = s.replace(/\n$/, '').split('\n')
    expect(lines).toHaveLength(24)
    for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(80)
    expect(entryRows(s).length, s).toBeGreaterThanOrEqual(8)
    // every row is whole: it ends at the table's right border
    for (const l of lines.filter((x) => /^│\S{10,}\s+(deferred|failed|delivered)\s/.test(x))) expect(l, l).toMatch(/│$/)
    expect(rowOf(s, deferred[0]!)).toMatch(/deferred\s+1\s+in \d+m\d\ds\s+alice@\S+\s+bob@\S+\s+451 4\.3\.0\s*$/)
    expect(rowOf(s, closed[0]!)).toMatch(/\sECONNREFUSED\s*$/)
    expect(rowOf(s, failed)).toMatch(/\s550 5\.1\.1\s*$/)

    await d.select(deferred[0]!.slice(-10))
    await d.keys('Enter')
    s = await d.waitFor('detail (Esc/q closes)', {what: 'the detail view'})
    const detail = boxLines(s, 'detail').join(' ').replace(/\s+/g, ' ')
    expect(detail).toContain(`id ${deferred[0]}`)
    expect(detail).toContain(`last error ${REPLY}`)
    await d.keys('q')
    await d.waitFor((x) => !x.includes('detail (Esc/q closes)'), {what: 'the detail view to close'})
    await d.quit()
  }, 60_000)

  it('a wide terminal shows the reply text in LAST ERROR', async () => {
    const d = await tmux.startDashboard(dataDir, {width: 160, height: 40})
    const s = await d.waitFor((x) => isLive(x) && entryRows(x).length === 10, {what: 'ten rows at 160 columns', timeoutMs: 20_000})
    for (const id of deferred) expect(rowOf(s, id)).toMatch(new RegExp(`\\s${REPLY.replace(/[.:,]/g, '\\$&')}\\s*$`))
    expect(rowOf(s, failed)).toMatch(/\s550 5\.1\.1 no such user here\s*$/)
    expect(rowOf(s, closed[0]!)).toMatch(/\sconnect ECONNREFUSED 127\.0\.0\.1:\d+\s*$/)
    await d.quit()
  }, 60_000)

  it('u re-sorts the released entry; the cursor stays on it, and d names and deletes that entry', async () => {
    const target = deferred[1]!
    const hold = await runCli(['queue', 'hold', target], {dataDir})
    expect(hold.code, hold.stderr).toBe(0)
    receiver.failing = false
    const d = await tmux.startDashboard(dataDir, {width: 120, height: 36})
    let s = await d.waitFor((x) => isLive(x) && /held/.test(rowOf(x, target) ?? ''), {what: 'the held row', timeoutMs: 20_000})
    const before = entryRows(s).findIndex((r) => r.startsWith(target.slice(-10)))
    await d.select(target.slice(-10))

    await d.keys('u')
    // released, delivered by the receiver, and re-sorted to the delivered at the bottom
    s = await d.waitFor((x) => /delivered\s+2\s/.test(rowOf(x, target) ?? ''), {what: 'the released entry delivered', timeoutMs: 20_000})
    const after = entryRows(s).findIndex((r) => r.startsWith(target.slice(-10)))
    expect(after, 'the entry moved in the table').not.toBe(before)
    // give a stale selection every chance to show (several renders)
    await sleep(1000)
    expect(await d.selectedLine(), 'the cursor stayed on the released entry').toContain(target.slice(-10))

    await d.keys('d')
    s = await d.waitFor((x) => x.includes('Delete queue entry') && x.includes('(y/n)'), {what: 'the delete confirmation'})
    expect(boxLines(s, 'confirm').join('').replace(/\s+/g, '')).toContain(`Deletequeueentry${target}withoutabounce?(y/n)`)
    await d.keys('y')
    await d.waitFor((x) => !x.includes('Delete queue entry') && rowOf(x, target) === undefined, {what: 'the deleted row to go'})
    const left = (await queueList(dataDir)).map((e) => e.id)
    expect(left).not.toContain(target)
    expect(left.sort()).toEqual([delivered, deferred[0]!, deferred[2]!, ...closed, failed].sort())
    // the cursor moved to a neighbour, never off the table
    expect(await d.selectedLine()).toMatch(/^│\S{10,}\s+(deferred|failed|delivered)\s/)
    await d.quit()
  }, 60_000)
})
