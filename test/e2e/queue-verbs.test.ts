/**
 * The Postfix admin's queue verbs, with the server running (through the control socket, so
 * serialized with the sending) and with it stopped (straight on the store): ids by any unique
 * prefix or suffix (the dashboard shows the last 10 characters), ambiguity refused with the
 * candidates, `queue fail` (open recipients fail, the sender gets a bounce), `queue flush
 * --domain` and `queue summary` (qshape). Entries are deferred by a receiver answering 451; the
 * retry schedule is one minute, so nothing retries on its own during a test.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {getMessage, listMessages} from '../../src/cli/message-views.js'
import {runCli, runJson, startServe, type Served} from '../helpers/cli.js'
import {withStore} from './smtp-helpers.js'
import {Receiver, entryOf, message, parseReport, queueCmd, send, sleep, waitForEntry, deferringFixture} from './queue-helpers.js'

/** the shortest prefix of `id` that no other id shares */
function uniquePrefix(id: string, all: string[]): string {
  for (let n = 1; n <= id.length; n++) if (all.filter((other) => other.startsWith(id.slice(0, n))).length === 1) return id.slice(0, n)
  return id
}

describe.each(['running', 'stopped'] as const)('queue verbs with the server %s', (mode) => {
  let dataDir: string
  let served: Served | undefined
  let receiver: Receiver
  const ids: Record<string, string> = {}
  const subjects = () => receiver.messages.map((m) => /^Subject: (.*)$/m.exec(m.raw)?.[1]?.trim())

  beforeAll(async () => {
    const fixture = await deferringFixture()
    dataDir = fixture.dataDir
    receiver = fixture.receiver
    const config = fixture.config
    served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`, '--route', `example.org=127.0.0.1:${receiver.port}`])
    for (const [name, to] of [
      ['net-1', 'bob@example.net'],
      ['net-2', 'bob@example.net'],
      ['net-3', 'bob@example.net'],
      ['org-1', 'carol@example.org'],
    ] as const) {
      ids[name] = (await send(dataDir, 'alice@example.com', [to], message(name))).queued[0]!
    }
    for (const id of Object.values(ids)) await waitForEntry(dataDir, id, ['deferred'])
    if (mode === 'stopped') {
      expect(await served.stop()).toBe(0)
      served = undefined
    }
    receiver.acceptAll() // from now on only the queue decides what is sent
  }, 60_000)

  afterAll(async () => {
    await served?.stop()
    await receiver?.close()
  })

  it('queue summary counts the waiting entries by domain and age, total first', async () => {
    const shape = await runJson(['queue', 'summary'], {dataDir})
    expect(shape.buckets).toEqual(['0-5m', '5-10m', '10-20m', '20-40m', '40-80m', '80-160m', '160-320m', '320-640m', '640-1280m', '1280m+'])
    expect(shape.total).toEqual({domain: 'TOTAL', total: 4, ages: [4, 0, 0, 0, 0, 0, 0, 0, 0, 0]})
    expect(shape.domains).toEqual([
      {domain: 'example.net', total: 3, ages: [3, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
      {domain: 'example.org', total: 1, ages: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]},
    ])
    expect(await queueCmd(dataDir, 'summary')).toBe(
      [
        'DOMAIN       TOTAL  0-5  5-10  10-20  20-40  40-80  80-160  160-320  320-640  640-1280  1280+',
        'TOTAL        4      4    0     0      0      0      0       0        0        0         0',
        'example.net  3      3    0     0      0      0      0       0        0        0         0',
        'example.org  1      1    0     0      0      0      0       0        0        0         0',
        '',
      ].join('\n'),
    )
  })

  it('an id may be given by any unique prefix or suffix, e.g. the 10 characters the dashboard shows', async () => {
    const all = Object.values(ids)
    const id = ids['net-1']!
    for (const given of [id.slice(-10), uniquePrefix(id, all), id.slice(-4), id]) {
      const shown = await runJson(['queue', 'show', given], {dataDir})
      expect(shown.id).toBe(id)
    }
    expect(await queueCmd(dataDir, 'hold', ids['net-2']!.slice(-10))).toBe(`held ${ids['net-2']}\n`)
    expect(await queueCmd(dataDir, 'release', uniquePrefix(ids['net-2']!, all))).toBe(`released ${ids['net-2']}\n`)
    // released: due now; with the server running it is sent at once (the receiver accepts now)
    if (mode === 'running') await waitForEntry(dataDir, ids['net-2']!, ['delivered'])
  })

  it('an ambiguous abbreviation is refused with the candidates listed, exit 1', async () => {
    const common = ids['net-1']!.slice(0, 3) // the ids of one process share their leading time digits
    for (const verb of ['show', 'hold', 'fail', 'delete']) {
      const r = await runCli(['queue', verb, common], {dataDir})
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(new RegExp(`^Error: queue id ${common} is ambiguous: it matches \\S+(, \\S+)+; give more of it\\n$`))
      for (const id of Object.values(ids)) expect(r.stderr).toContain(id)
    }
    const none = await runCli(['queue', 'show', 'zzzzzz'], {dataDir})
    expect(none.code).toBe(1)
    expect(none.stderr).toBe('Error: no queue entry zzzzzz\n')
    expect((await entryOf(dataDir, ids['net-1']!))!.state).toBe('deferred')
  })

  it('queue flush --domain makes only that domain\'s deferred entries due now', async () => {
    expect(await queueCmd(dataDir, 'flush', '--domain', 'EXAMPLE.org')).toBe('1 deferred entry for example.org due now\n')
    if (mode === 'running') await waitForEntry(dataDir, ids['org-1']!, ['delivered'])
    else expect(await entryOf(dataDir, ids['org-1']!)).toMatchObject({state: 'queued'})
    await sleep(300)
    expect((await entryOf(dataDir, ids['net-1']!))!.state).toBe('deferred')
    expect((await entryOf(dataDir, ids['net-3']!))!.state).toBe('deferred')
    expect(subjects()).not.toContain('net-1')
    expect(await queueCmd(dataDir, 'flush', '--domain', 'nowhere.test')).toBe('0 deferred entries for nowhere.test due now\n')
  })

  it('queue fail fails the entry now and bounces it to the sender', async () => {
    const id = ids['net-1']!
    expect(await queueCmd(dataDir, 'fail', id.slice(-10))).toBe(`failed ${id} (bob@example.net)\n  bounce sent to alice@example.com\n`)
    const entry = (await entryOf(dataDir, id))!
    expect(entry).toMatchObject({state: 'failed', lastError: 'failed by the administrator'})
    expect(entry.recipients).toEqual([{address: 'bob@example.net', state: 'failed', lastError: 'failed by the administrator'}])
    // the bounce: in the sender's INBOX, a delivery report naming the recipient and the reason
    const bounce = await withStore(dataDir, async (store) => {
      const m = (await listMessages(store.mail, 'alice@example.com', 'INBOX')).find((v) => v.subject === 'Undelivered Mail Returned to Sender')
      return m && (await getMessage(store.mail, 'alice@example.com', 'INBOX', m.uid)).raw.toString('latin1')
    })
    expect(bounce, 'a bounce in alice@example.com INBOX').toBeDefined()
    expect(bounce).toMatch(/^Return-Path: <>\r\n/)
    const report = parseReport(bounce!.slice(bounce!.indexOf('\r\nFrom: ') + 2))
    expect(report.part('text/plain').body).toContain('<bob@example.net>: failed by the administrator (last error: 451 4.3.0 not now)')
    expect(report.statusBlocks[1]).toMatchObject({'Final-Recipient': 'rfc822; bob@example.net', Action: 'failed', Status: '5.0.0'})
    expect(report.part('text/rfc822-headers').body).toContain('Subject: net-1')
    // never sent, and failing it again is refused
    await sleep(300)
    expect(subjects()).not.toContain('net-1')
    const again = await runCli(['queue', 'fail', id], {dataDir})
    expect(again.code).toBe(1)
    expect(again.stderr).toBe(`Error: cannot fail entry ${id}: it is failed\n`)
  })

  it('queue summary no longer counts the failed and flushed entries', async () => {
    const shape = await runJson(['queue', 'summary'], {dataDir})
    // running: net-2 and org-1 were delivered, net-3 waits; stopped: net-2 and org-1 are queued (due), net-3 deferred
    expect(shape.domains.map((d: {domain: string; total: number}) => [d.domain, d.total])).toEqual(
      mode === 'running' ? [['example.net', 1]] : [['example.net', 2], ['example.org', 1]],
    )
  })
})
