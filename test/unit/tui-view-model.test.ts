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
  QUEUE_SORTS,
  USER_HEADER,
  clip,
  countsLine,
  countsText,
  entryDetail,
  errorCode,
  eventLine,
  folderRows,
  formatAge,
  headerText,
  queueCounts,
  queueLayout,
  queueRows,
  reselect,
  shareWidths,
  shortIds,
  sortEntries,
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

  it('live on a PostgreSQL store: the cluster\'s nodes, live and stale, after the connections', () => {
    const node = (host: string, state: 'live' | 'stale') => ({id: `${host}-1`, host, listeners: {}, startedAt: NOW, heartbeatAt: NOW, silentMs: 0, state})
    const cluster = {store: 'postgres://db/mail', nodes: [node('mx1', 'live'), node('mx2', 'live'), node('mx3', 'stale')]}
    const text = headerText({kind: 'live', status: status({cluster})}, '/srv/mail', NOW)
    expect(text).toMatch(/ · conns: smtp 2 · imap 0 · cluster: 2 live, 1 stale \(mx1 mx2 mx3\)$/)
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
    expect(queueRows(entries, 'failed', 'next', NOW)).toMatchObject({rows: [], ids: []})
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

  it('a next attempt exactly now says now', () => {
    const due = entry('x', {state: 'deferred', nextAttemptAt: NOW})
    expect(queueRows([due], 'all', 'next', NOW).rows[0]![3]).toBe('now')
  })
})

describe('userRows', () => {
  const user = (over: Partial<UserView>): UserView => ({address: 'u@example.com', quota: 0, maxMessages: 0, used: 0, messages: 0, folders: 4, disabled: false, createdAt: NOW, updatedAt: NOW, ...over})

  it('address, state, messages, used, quota and the rounded percentage of the quota used', () => {
    expect(USER_HEADER).toEqual(['ADDRESS', 'STATE', 'MESSAGES', 'USED', 'QUOTA', 'USE%', 'SIEVE', 'VACATION'])
    expect(userRows([user({address: 'alice@example.com', quota: 1024 * 1024, used: 512 * 1024, messages: 12})])).toEqual([
      ['alice@example.com', 'enabled', '12', '512K', '1M', '50%', '', ''],
    ])
    expect(userRows([user({quota: 3000, used: 1000})])[0]![5]).toBe('33%')
    expect(userRows([user({quota: 1000, used: 1500})])[0]![5]).toBe('150%')
  })

  it('no quota: unlimited and no percentage; disabled users say so', () => {
    expect(userRows([user({address: 'bob@example.com', disabled: true, used: 2048, messages: 1})])).toEqual([['bob@example.com', 'disabled', '1', '2K', 'unlimited', '', '', '']])
  })

  it("the active Sieve script's name and whether vacation is on, once read; a user without a script: none, off", () => {
    const sieve = new Map([
      ['a@x', {script: 'Filters', vacation: false}],
      ['b@x', {script: 'vacation', vacation: true}],
      ['c@x', {script: null, vacation: false}],
    ])
    expect(userRows([user({address: 'a@x'}), user({address: 'b@x'}), user({address: 'c@x'})], sieve).map((r) => r.slice(6))).toEqual([
      ['Filters', 'off'],
      ['vacation', 'on'],
      ['', 'off'],
    ])
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

describe('queue order: what needs an admin first', () => {
  const e = (id: string, state: QueueEntry['state'], next: number, over: Partial<QueueEntry> = {}) => entry(id, {state, nextAttemptAt: NOW + next * MIN, ...over})
  const mixed = [
    e('q1', 'queued', 0),
    e('dl', 'delivered', -50),
    e('d2', 'deferred', 30),
    e('s1', 'sending', -1),
    e('f1', 'failed', -40),
    e('h1', 'held', 5),
    e('d1', 'deferred', 10),
    e('q0', 'queued', -2),
  ]

  it('the default sort is by state: deferred, failed, held, sending, queued, delivered; then the soonest next attempt', () => {
    expect(QUEUE_SORTS[0]).toBe('state')
    expect(sortEntries(mixed, 'all', 'state').map((x) => x.id)).toEqual(['d1', 'd2', 'f1', 'h1', 's1', 'q0', 'q1', 'dl'])
    expect(queueRows(mixed, 'all', 'state', NOW).ids).toEqual(['d1', 'd2', 'f1', 'h1', 's1', 'q0', 'q1', 'dl'])
  })

  it('ties are broken by id, so equal rows keep their places from one refresh to the next', () => {
    const same = ['c', 'a', 'b'].map((id) => e(id, 'queued', 0))
    for (const sort of QUEUE_SORTS) expect(sortEntries(same, 'all', sort).map((x) => x.id)).toEqual(['a', 'b', 'c'])
    expect(sortEntries([...same].reverse(), 'all', 'state').map((x) => x.id)).toEqual(['a', 'b', 'c'])
  })
})

describe('reselect: the selection follows the entry, not the row', () => {
  it('the issue: u (release) re-sorts the held entry below others; the selection moves with it', () => {
    const before = [entry('A', {state: 'held'}), entry('B', {state: 'queued', nextAttemptAt: NOW - MIN}), entry('C', {state: 'queued', nextAttemptAt: NOW})]
    const previous = queueRows(before, 'all', 'state', NOW).ids
    expect(previous).toEqual(['A', 'B', 'C'])
    const after = [{...before[0]!, state: 'queued' as const, nextAttemptAt: NOW + MIN}, before[1]!, before[2]!]
    const ids = queueRows(after, 'all', 'state', NOW).ids
    expect(ids).toEqual(['B', 'C', 'A'])
    // the row index (0) now holds B: keeping the index would offer B to the next key
    expect(reselect('A', previous, ids)).toBe('A')
  })

  it('a re-sort or a filter that still shows the entry keeps it', () => {
    expect(reselect('b', ['a', 'b', 'c'], ['c', 'b', 'a'])).toBe('b')
    expect(reselect('b', ['a', 'b', 'c'], ['b'])).toBe('b')
  })

  it('a deleted or filtered-out entry gives way to its neighbour below, else above', () => {
    expect(reselect('b', ['a', 'b', 'c', 'd'], ['a', 'c', 'd'])).toBe('c')
    expect(reselect('b', ['a', 'b', 'c', 'd'], ['d', 'a'])).toBe('d')
    expect(reselect('d', ['a', 'b', 'c', 'd'], ['a', 'b', 'c'])).toBe('c')
    expect(reselect('c', ['a', 'b', 'c', 'd'], ['x', 'a'])).toBe('a')
  })

  it('nothing selected yet, or nothing left of the old list: the first row; an empty table: nothing', () => {
    expect(reselect(undefined, [], ['x', 'y'])).toBe('x')
    expect(reselect('gone', ['gone'], ['x', 'y'])).toBe('x')
    expect(reselect('a', ['a'], [])).toBeUndefined()
  })
})

describe('shortIds: what the table shows is an id form the CLI accepts', () => {
  // real ids: 9 base36 time, 8 hex process tag, 4 base36 counter
  const id1 = '0mx7aw6de' + 'ae69ec3d' + '0002'
  const id2 = '0mx7aw6tr' + '6682c111' + '0002'

  it('the last 10 characters when no other id starts or ends with them: a suffix of the real id', () => {
    const m = shortIds([id1, id2])
    expect(m.get(id1)).toBe('69ec3d0002')
    expect(m.get(id2)).toBe('82c1110002')
    for (const id of [id1, id2]) expect(id.endsWith(m.get(id)!)).toBe(true)
  })

  it('a longer suffix when two ids share their last 10 characters (a counter that wrapped within one process)', () => {
    const a = '0mx7aw6dexae69ec3d0002'
    const b = '0mx9zz6deyae69ec3d0002'
    const m = shortIds([a, b, id2])
    expect(m.get(a)).toBe('xae69ec3d0002')
    expect(m.get(b)).toBe('yae69ec3d0002')
    expect(m.get(id2)).toBe('82c1110002')
  })

  it('a suffix that is also another id\u2019s prefix is not unique either', () => {
    const a = 'zzzzzzzzzz0123456789'
    const b = '0123456789aaaaaaaaaa'
    expect(shortIds([a, b]).get(a)).toBe('z0123456789')
    // an id that is another's suffix is shown whole
    expect(shortIds(['abcdefghijkl', 'xabcdefghijkl']).get('abcdefghijkl')).toBe('abcdefghijkl')
  })

  it('queueRows shows these forms', () => {
    const {rows} = queueRows([entry(id1), entry(id2)], 'all', 'state', NOW)
    expect(rows.map((r) => r[0])).toEqual(['69ec3d0002', '82c1110002'])
  })
})

describe('LAST ERROR: the reply text on wide terminals, the code on narrow ones', () => {
  const reply = '451 4.3.0 dashboard test says try again later; the mailbox is being moved to a new server, please retry'
  const deferred = entry('0000000000aaaaaaaaaa-1', {state: 'deferred', attempts: 1, nextAttemptAt: NOW + 5 * MIN, lastError: reply})

  it('errorCode: the SMTP reply code and enhanced status, a system error name, else the first word', () => {
    expect(errorCode(reply)).toBe('451 4.3.0')
    expect(errorCode('550-5.1.1 no such user\n550 5.1.1 really')).toBe('550 5.1.1')
    expect(errorCode('421 closing')).toBe('421')
    expect(errorCode('connect ECONNREFUSED 127.0.0.1:25')).toBe('ECONNREFUSED')
    expect(errorCode('timeout')).toBe('timeout')
    expect(errorCode(undefined)).toBe('')
  })

  it('at 120 columns and more: the whole reply text, on one line, cut only where the row would overflow', () => {
    const at120 = queueRows([deferred], 'all', 'state', NOW, 120)
    const cell = at120.rows[0]![6]!
    expect(cell.startsWith('451 4.3.0 dashboard test says try again later')).toBe(true)
    expect(cell.endsWith('…')).toBe(true)
    const at200 = queueRows([deferred], 'all', 'state', NOW, 200)
    expect(at200.rows[0]![6]).toBe(reply)
    expect(queueRows([{...deferred, lastError: '451 4.3.0\r\n  try   again'}], 'all', 'state', NOW, 160).rows[0]![6]).toBe('451 4.3.0 try again')
  })

  it('below 120 columns: the code', () => {
    expect(queueRows([deferred], 'all', 'state', NOW, 119).rows[0]![6]).toBe('451 4.3.0')
    expect(queueRows([deferred], 'all', 'state', NOW, 80).rows[0]![6]).toBe('451 4.3.0')
  })

  it('every row fits inside the table at any width from 60 columns: cells + 6 separators + 2 borders', () => {
    const many = [
      deferred,
      entry('0000000000bbbbbbbbbb-2', {from: 'a-very-long-sender-address@subdomain.example.com', recipients: [{address: 'x'.repeat(60) + '@example.net', state: 'pending'}]}),
    ]
    for (const columns of [60, 80, 100, 119, 120, 150, 300]) {
      const {header, rows} = queueRows(many, 'all', 'state', NOW, columns)
      const widths = header.map((_, i) => Math.max(...[header, ...rows].map((r) => [...r[i]!].length)))
      expect(widths.reduce((a, b) => a + b, 0) + 8, `at ${columns}`).toBeLessThanOrEqual(columns)
    }
  })

  it('a queue of 200,000 entries: rows for all, no stack overflow measuring the columns', () => {
    const big = Array.from({length: 200_000}, (_, i) => entry(`0mx7b37ubc0850753${i.toString(36).padStart(4, '0')}`, {state: 'deferred', lastError: '451 4.3.0 later'}))
    const {rows, ids} = queueRows(big, 'all', 'state', NOW, 80)
    expect(rows).toHaveLength(200_000)
    expect(new Set(rows.map((r) => r[0])).size).toBe(200_000)
    expect(ids[0]!.endsWith(rows[0]![0]!)).toBe(true)
  })

  it('shareWidths / clip: narrow columns keep their width, wide ones share the rest; a cut ends in …', () => {
    expect(shareWidths([5, 50, 50], 65)).toEqual([5, 30, 30])
    expect(shareWidths([5, 10, 50], 100)).toEqual([5, 10, 50])
    expect(shareWidths([10, 10], 0)).toEqual([0, 0])
    expect(clip('abcdef', 4)).toBe('abc…')
    expect(clip('abc', 3)).toBe('abc')
  })
})

describe('entryDetail: the whole last error and the transcripts', () => {
  it('shows every line of the last error, labelled, however long', () => {
    const long = '550-5.1.1 ' + 'word '.repeat(40).trim() + '\r\n550 5.1.1 the second line'
    const lines = entryDetail(entry('Q', {state: 'failed', lastError: long}), [
      {queueId: 'Q', attempt: 1, startedAt: NOW, endedAt: NOW, host: 'mx.example.net', result: 'failed', transcript: ['S: 220 hi', 'C: QUIT']},
    ])
    expect(lines).toContain(`last error 550-5.1.1 ${'word '.repeat(40).trim()}`)
    expect(lines).toContain('           550 5.1.1 the second line')
    expect(lines).toContain('  S: 220 hi')
    expect(lines[0]).toBe('id        Q')
  })

  it('no error: no line for it', () => {
    expect(entryDetail(entry('Q'), []).some((l) => l.startsWith('last error'))).toBe(false)
  })
})

describe('queueLayout: the table gets the room on short terminals', () => {
  it('80×24: a one-line counts strip, a 3-line event tail and a table of 11 rows', () => {
    const l = queueLayout(24 - 2)
    expect(l).toEqual({summary: 'line', summaryHeight: 3, eventsHeight: 5, tableTop: 3, tableHeight: 14})
    expect(l.tableHeight - 3).toBeGreaterThanOrEqual(8) // border 2 + header 1
  })

  it('tall terminals keep the counts box, the sparklines and a 6-line tail', () => {
    expect(queueLayout(36 - 2)).toEqual({summary: 'full', summaryHeight: 10, eventsHeight: 6, tableTop: 10, tableHeight: 18})
  })

  it('shorter still: the tail goes, then the strip; the table always has at least 8 rows down to 13 lines', () => {
    expect(queueLayout(16)).toMatchObject({summary: 'line', eventsHeight: 0, tableHeight: 13})
    expect(queueLayout(11)).toMatchObject({summary: 'none', eventsHeight: 0, tableHeight: 11})
    for (let h = 11; h <= 60; h++) expect(queueLayout(h).tableHeight - 3, `pane ${h}`).toBeGreaterThanOrEqual(8)
  })

  it('countsLine: every state and the total on one line; the waiting priorities only when they fit', () => {
    const list = [entry('a', {state: 'deferred'}), entry('b', {state: 'failed'}), entry('c', {priority: 'high'})]
    expect(countsLine(list, 78)).toBe('queued 1  sending 0  deferred 1  held 0  delivered 0  failed 1  total 3')
    expect(countsLine(list, 120)).toBe('queued 1  sending 0  deferred 1  held 0  delivered 0  failed 1  total 3  waiting h/d/b 1/1/0')
  })
})
