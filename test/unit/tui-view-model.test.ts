/**
 * The dashboard's pure view model (tui/view-model.ts): what each pane shows for given data,
 * without blessed or a terminal.
 */
import {describe, expect, it} from 'vitest'
import type {ControlEvent} from '../../src/control/protocol.js'
import type {UserView} from '../../src/directory/users.js'
import type {ServerStatus} from '../../src/status.js'
import type {MailboxRecord, QueueEntry} from '../../src/store/records.js'
import type {LiveState} from '../../tui/sources/live.js'
import {QUIET_AUTH} from '../helpers/status.js'
import {
  FOLDER_HEADER,
  QUEUE_FILTERS,
  QUEUE_HEADER,
  USER_HEADER,
  countsText,
  eventLine,
  folderRows,
  formatAge,
  headerText,
  queueCounts,
  queueRows,
  sparkline,
  userRows,
} from '../../tui/view-model.js'

const NOW = Date.UTC(2025, 0, 2, 3, 4, 5)
const SEC = 1000
const MIN = 60 * SEC

function entry(id: string, over: Partial<QueueEntry> = {}): QueueEntry {
  return {
    id,
    from: 'alice@example.com',
    domain: 'example.net',
    recipients: [{address: 'bob@example.net', state: 'pending'}],
    blobId: 'blob-' + id,
    priority: 'default',
    state: 'queued',
    attempts: 0,
    createdAt: NOW - 10 * MIN,
    nextAttemptAt: NOW,
    ...over,
  }
}

function status(over: Partial<ServerStatus> = {}): ServerStatus {
  return {
    running: true,
    pid: 4242,
    version: '1.2.3',
    hostname: 'mx.test',
    dataDir: '/srv/mail',
    startedAt: NOW - 125 * SEC,
    uptimeSeconds: 125,
    listeners: [
      {name: 'smtp', address: '127.0.0.1:2525'},
      {name: 'control', address: '/srv/mail/control.sock'},
      {name: 'imap', address: '0.0.0.0:2143'},
    ],
    connections: {smtp: 2, imap: 0},
    auth: QUIET_AUTH,
    counts: {domains: 1, users: 1, aliases: 0, folders: 4, messages: 0, messageBytes: 0, queue: {queued: 0, sending: 0, deferred: 0, held: 0, delivered: 0, failed: 0}},
    ...over,
  }
}

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [-5000, '0s'],
    [499, '0s'],
    [1500, '2s'],
    [59 * SEC, '59s'],
    [59_500, '1m00s'],
    [60 * SEC, '1m00s'],
    [65 * SEC, '1m05s'],
    [3599 * SEC, '59m59s'],
    [3600 * SEC, '1h00m'],
    [3600 * SEC + 5 * MIN + 59 * SEC, '1h05m'],
    [86_399 * SEC, '23h59m'],
    [86_400 * SEC, '1d0h'],
    [(2 * 86_400 + 3 * 3600 + 59 * 60) * SEC, '2d3h'],
  ])('%d ms → %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text)
  })
})

describe('headerText', () => {
  it('live: version, host, uptime, listeners without the control socket (loopback shortened), connections', () => {
    const state: LiveState = {kind: 'live', status: status()}
    expect(headerText(state, '/srv/mail', NOW)).toBe('mailbox 1.2.3 on mx.test · live · up 2m05s · smtp :2525 imap 0.0.0.0:2143 · conns: smtp 2 · imap 0')
  })

  it('live with nothing listening and no connections still says live', () => {
    const text = headerText({kind: 'live', status: status({listeners: [], connections: {}, uptimeSeconds: 3})}, '/d', NOW)
    expect(text).toContain('· live · up 3s')
    expect(text).toMatch(/conns: $/)
  })

  it('connecting names the data dir', () => {
    expect(headerText({kind: 'connecting'}, '/srv/mail', NOW)).toBe('mailbox · connecting to the server in /srv/mail…')
  })

  it('down: the reason, seconds until the retry (rounded up) and that the store is shown', () => {
    const down: LiveState = {kind: 'down', retryAt: NOW + 2500, reason: 'server not running'}
    expect(headerText(down, '/srv/mail', NOW)).toBe('mailbox · server not running (retry in 3s) · showing the store in /srv/mail')
    expect(headerText({kind: 'down', retryAt: NOW + 10_000, reason: 'connection lost'}, '/d', NOW)).toContain('(connection lost; retry in 10s)')
  })

  it('down with the retry already due says 0s, never a negative count', () => {
    expect(headerText({kind: 'down', retryAt: NOW - 4000, reason: 'x'}, '/d', NOW)).toContain('retry in 0s')
  })
})

describe('queueCounts / countsText', () => {
  const entries = [
    entry('a', {state: 'queued', priority: 'high'}),
    entry('b', {state: 'deferred'}),
    entry('c', {state: 'deferred', priority: 'bulk'}),
    entry('d', {state: 'held', priority: 'bulk'}),
    entry('e', {state: 'sending'}),
    entry('f', {state: 'delivered', priority: 'high'}),
    entry('g', {state: 'failed', priority: 'bulk'}),
  ]

  it('counts every state and, for waiting entries only, every priority', () => {
    const c = queueCounts(entries)
    expect(c.byState).toEqual({queued: 1, sending: 1, deferred: 2, held: 1, delivered: 1, failed: 1})
    expect(c.byPriority).toEqual({high: 1, default: 2, bulk: 2})
    expect(c.total).toBe(7)
  })

  it('an empty queue has every state at zero', () => {
    const c = queueCounts([])
    expect(Object.values(c.byState)).toEqual([0, 0, 0, 0, 0, 0])
    expect(c.byPriority).toEqual({high: 0, default: 0, bulk: 0})
    expect(c.total).toBe(0)
  })

  it('countsText: one aligned line per state, the total and the waiting priorities', () => {
    expect(countsText(entries).split('\n')).toEqual([
      'queued         1',
      'sending        1',
      'deferred       2',
      'held           1',
      'delivered      1',
      'failed         1',
      'total          7',
      'waiting h/d/b: 1/2/2',
    ])
  })
})

describe('sparkline', () => {
  it('scales to the largest value shown: ▁ for the smallest non-zero, █ for the max', () => {
    expect(sparkline([1, 2, 4, 8], 4)).toBe('▁▂▄█')
    expect(sparkline([3, 3], 2)).toBe('██')
  })

  it('a zero is a space, and all zeros are all spaces', () => {
    expect(sparkline([0, 5, 0], 3)).toBe(' █ ')
    expect(sparkline([0, 0, 0, 0], 4)).toBe('    ')
  })

  it('shows only the last `width` values, scaled to those alone', () => {
    expect(sparkline([100, 0, 1, 2], 3)).toBe(' ▄█')
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 5)).toHaveLength(5)
  })

  it('fewer values than the width: one character per value', () => {
    expect(sparkline([7], 10)).toBe('█')
    expect(sparkline([], 10)).toBe('')
  })

  it('values below 1 are scaled against 1, not blown up to a full bar', () => {
    expect(sparkline([0.5], 1)).toBe('▄')
  })
})

describe('queueRows', () => {
  const entries = [
    entry('0000000000aaaaaaaaaa-1', {state: 'deferred', attempts: 2, createdAt: NOW - 30 * MIN, nextAttemptAt: NOW + 5 * MIN, lastError: '451 4.3.0\r\n  try   again later'}),
    entry('0000000000bbbbbbbbbb-2', {state: 'queued', attempts: 0, createdAt: NOW - 1 * MIN, nextAttemptAt: NOW - 1000, from: ''}),
    entry('0000000000cccccccccc-3', {state: 'held', attempts: 5, createdAt: NOW - 60 * MIN, nextAttemptAt: NOW + 60 * MIN}),
    entry('0000000000dddddddddd-4', {
      state: 'delivered',
      attempts: 1,
      createdAt: NOW - 2 * MIN,
      nextAttemptAt: NOW - 30 * MIN,
      recipients: [
        {address: 'bob@example.net', state: 'delivered'},
        {address: 'carol@example.net', state: 'delivered'},
      ],
    }),
  ]

  it('has a header of seven columns matching every row', () => {
    expect(QUEUE_HEADER).toEqual(['ID', 'STATE', 'TRY', 'NEXT', 'FROM', 'TO', 'LAST ERROR'])
    for (const row of queueRows(entries, 'all', 'next', NOW).rows) expect(row).toHaveLength(QUEUE_HEADER.length)
  })

  it('filter "all" shows every entry; a state shows only that state', () => {
    expect(queueRows(entries, 'all', 'next', NOW).ids).toHaveLength(4)
    expect(queueRows(entries, 'deferred', 'next', NOW).ids).toEqual(['0000000000aaaaaaaaaa-1'])
    expect(queueRows(entries, 'held', 'next', NOW).ids).toEqual(['0000000000cccccccccc-3'])
    expect(queueRows(entries, 'failed', 'next', NOW)).toEqual({rows: [], ids: []})
    expect(QUEUE_FILTERS).toEqual(['all', 'queued', 'sending', 'deferred', 'held', 'delivered', 'failed'])
  })

  it('sort "next": soonest next attempt first', () => {
    expect(queueRows(entries, 'all', 'next', NOW).ids.map((id) => id.at(-1))).toEqual(['4', '2', '1', '3'])
  })

  it('sort "attempts": most attempts first', () => {
    expect(queueRows(entries, 'all', 'attempts', NOW).ids.map((id) => id.at(-1))).toEqual(['3', '1', '4', '2'])
  })

  it('sort "created": newest first', () => {
    expect(queueRows(entries, 'all', 'created', NOW).ids.map((id) => id.at(-1))).toEqual(['2', '4', '1', '3'])
  })

  it('does not reorder the caller’s array', () => {
    const copy = [...entries]
    queueRows(copy, 'all', 'attempts', NOW)
    expect(copy.map((e) => e.id)).toEqual(entries.map((e) => e.id))
  })

  it('rows: id tail, state, tries, next (now / in …, blank unless waiting), sender or <>, recipients, one-line error', () => {
    const {rows, ids} = queueRows(entries, 'all', 'next', NOW)
    const byId = Object.fromEntries(ids.map((id, i) => [id, rows[i]!]))
    expect(byId['0000000000aaaaaaaaaa-1']).toEqual(['aaaaaaaa-1', 'deferred', '2', 'in 5m00s', 'alice@example.com', 'bob@example.net', '451 4.3.0 try again later'])
    expect(byId['0000000000bbbbbbbbbb-2']).toEqual(['bbbbbbbb-2', 'queued', '0', 'now', '<>', 'bob@example.net', ''])
    expect(byId['0000000000cccccccccc-3']![3]).toBe('')
    expect(byId['0000000000dddddddddd-4']).toEqual(['dddddddd-4', 'delivered', '1', '', 'alice@example.com', 'bob@example.net,carol@example.net', ''])
  })

  it('a next attempt exactly now says now; the last error is cut to 50 characters', () => {
    const long = entry('x', {state: 'deferred', nextAttemptAt: NOW, lastError: 'E'.repeat(80)})
    const [row] = queueRows([long], 'all', 'next', NOW).rows
    expect(row![3]).toBe('now')
    expect(row![6]).toBe('E'.repeat(50))
  })
})

describe('userRows', () => {
  const user = (over: Partial<UserView>): UserView => ({address: 'u@example.com', quota: 0, used: 0, messages: 0, folders: 4, disabled: false, createdAt: NOW, updatedAt: NOW, ...over})

  it('address, state, messages, used, quota and the rounded percentage of the quota used', () => {
    expect(USER_HEADER).toEqual(['ADDRESS', 'STATE', 'MESSAGES', 'USED', 'QUOTA', 'USE%'])
    expect(userRows([user({address: 'alice@example.com', quota: 1024 * 1024, used: 512 * 1024, messages: 12})])).toEqual([
      ['alice@example.com', 'enabled', '12', '512K', '1M', '50%'],
    ])
    expect(userRows([user({quota: 3000, used: 1000})])[0]![5]).toBe('33%')
    expect(userRows([user({quota: 1000, used: 1500})])[0]![5]).toBe('150%')
  })

  it('no quota: unlimited and no percentage; disabled users say so', () => {
    expect(userRows([user({address: 'bob@example.com', disabled: true, used: 2048, messages: 1})])).toEqual([['bob@example.com', 'disabled', '1', '2K', 'unlimited', '']])
  })

  it('one row per user, in the given order', () => {
    expect(userRows([user({address: 'b@x'}), user({address: 'a@x'})]).map((r) => r[0])).toEqual(['b@x', 'a@x'])
    expect(userRows([])).toEqual([])
  })
})

describe('folderRows', () => {
  const folder = (over: Partial<MailboxRecord>): MailboxRecord => ({
    id: 1,
    user: 'alice@example.com',
    name: 'INBOX',
    uidValidity: 1,
    uidNext: 1,
    highestModseq: 1,
    subscribed: true,
    messages: 0,
    unseen: 0,
    size: 0,
    createdAt: NOW,
    ...over,
  })

  it('name, special use (or \\Noselect), messages, unseen and size', () => {
    expect(FOLDER_HEADER).toEqual(['FOLDER', 'USE', 'MESSAGES', 'UNSEEN', 'SIZE'])
    expect(
      folderRows([
        folder({name: 'INBOX', messages: 3, unseen: 2, size: 4096}),
        folder({name: 'Sent', specialUse: '\\Sent', messages: 1, size: 100}),
        folder({name: 'Archive', noselect: true}),
        folder({name: 'Work/2025', messages: 10, unseen: 10, size: 5 * 1024 * 1024}),
      ]),
    ).toEqual([
      ['INBOX', '', '3', '2', '4K'],
      ['Sent', '\\Sent', '1', '0', '100B'],
      ['Archive', '\\Noselect', '0', '0', '0B'],
      ['Work/2025', '', '10', '10', '5M'],
    ])
  })
})

describe('eventLine', () => {
  const ev = (event: string, body: unknown): ControlEvent => ({event, time: NOW, body})
  const outcome = {id: 'Q1', domain: 'example.net', recipients: ['bob@example.net', 'carol@example.net']}

  it('mail.received: time (UTC), id, envelope and the subject cut to 40 characters; <> for a null sender', () => {
    expect(eventLine(ev('mail.received', {id: 'M1', mailFrom: 'alice@example.com', rcptTo: ['bob@example.net'], from: '', subject: 'Hello', size: 10, remoteAddress: '127.0.0.1'}))).toBe(
      '03:04:05 received M1 from alice@example.com to bob@example.net "Hello"',
    )
    expect(eventLine(ev('mail.received', {id: 'M2', mailFrom: '', rcptTo: ['a@x', 'b@x'], from: '', subject: 'S'.repeat(60), size: 1, remoteAddress: ''}))).toBe(
      `03:04:05 received M2 from <> to a@x,b@x "${'S'.repeat(40)}"`,
    )
  })

  it('queue.delivered / deferred / failed / bounced', () => {
    expect(eventLine(ev('queue.delivered', outcome))).toBe('03:04:05 delivered Q1 to bob@example.net,carol@example.net')
    expect(eventLine(ev('queue.deferred', {...outcome, lastError: '451 try later'}))).toBe('03:04:05 deferred Q1: 451 try later')
    expect(eventLine(ev('queue.deferred', outcome))).toBe('03:04:05 deferred Q1: ')
    expect(eventLine(ev('queue.failed', {...outcome, lastError: '550 no such user'}))).toBe('03:04:05 FAILED Q1: 550 no such user')
    expect(eventLine(ev('queue.bounced', {id: 'Q1', to: 'alice@example.com', recipients: ['bob@example.net']}))).toBe('03:04:05 bounce to alice@example.com for bob@example.net')
  })

  it('auth.failed and server.stopping', () => {
    expect(eventLine(ev('auth.failed', {username: 'eve', remoteAddress: '10.0.0.9', protocol: 'imap', reason: 'bad-credentials'}))).toBe(
      '03:04:05 auth failure eve from 10.0.0.9 (imap, bad-credentials)',
    )
    expect(eventLine(ev('server.stopping', {pid: 1}))).toBe('03:04:05 server stopping')
  })

  it.each(['mail.stored', 'queue.added', 'queue.sending', 'delivery.attempt', 'auth.succeeded', 'server.started', 'matcher.matched', 'matcher.expired', 'something.else'])(
    '%s gets no line',
    (name) => {
      expect(eventLine(ev(name, {id: 'x', pid: 1, recipients: [], rcptTo: []}))).toBeUndefined()
    },
  )
})
