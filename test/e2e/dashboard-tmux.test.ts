/**
 * `mailbox dashboard` end to end: the real binary in a tmux pane (private tmux server), driven
 * with send-keys and read back with capture-pane, against a real `mailbox serve` routing
 * example.net to a receiver this file controls (451 while `failing`, then 250) and example.org
 * to a closed port. Retries are scheduled 10 minutes out, so nothing moves unless a test says so.
 *
 * The "running server" tests share one serve and one dashboard and run in order: the entry
 * deferred in (a) is inspected in (g), retried in (b); (h) deletes another.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {verifyPassword} from '../../src/auth/password.js'
import {findUser} from '../../src/directory/users.js'
import {openStore} from '../../src/store/store.js'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {
  BOX_DRAWING,
  Receiver,
  Tmux,
  boxLines,
  eventsText,
  footerLine,
  headerLine,
  isLive,
  queueCountsOnScreen,
  queueList,
  rowOf,
  send,
  setupStore,
  sleep,
  tableText,
  waitUntil,
  type Session,
} from './dashboard-helpers.js'

const tmux = new Tmux()

describe('dashboard against a running server', () => {
  let dataDir: string
  let served: Served
  let receiver: Receiver
  let dash: Session
  let firstId: string

  beforeAll(async () => {
    dataDir = tempDataDir()
    const config = await setupStore(dataDir)
    receiver = await Receiver.start()
    const closedPort = await freePort()
    served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`, '--route', `example.org=127.0.0.1:${closedPort}`])
  })

  afterAll(async () => {
    await served?.stop()
    await receiver?.close()
  })

  it('(a) the queue counts and the event tail follow a message deferred by the receiver', async () => {
    receiver.failing = true
    dash = await tmux.startDashboard(dataDir, {width: 120, height: 36})
    let s = await dash.waitFor(isLive, {what: 'the live header', timeoutMs: 10_000})
    expect(headerLine(s)).toMatch(/^ mailbox \S+ on \S+ · live · up \d+s/)
    expect(queueCountsOnScreen(s)).toEqual({queued: 0, sending: 0, deferred: 0, held: 0, delivered: 0, failed: 0, total: 0})
    expect(tableText(s)).toContain('(none)')

    firstId = await send(dataDir, 'first message', 'bob@example.net')
    s = await dash.waitFor((x) => queueCountsOnScreen(x).deferred === 1 && eventsText(x).includes(`deferred ${firstId}`), {what: `deferred 1 and the event for ${firstId}`})
    expect(queueCountsOnScreen(s)).toMatchObject({queued: 0, sending: 0, deferred: 1, delivered: 0, total: 1})
    expect(eventsText(s)).toMatch(new RegExp(`\\d\\d:\\d\\d:\\d\\d deferred ${firstId}: .*451`))
    expect(rowOf(s, firstId)).toMatch(/deferred\s+1\s+in \d+m\d\ds\s+alice@example\.com\s+bob@example\.net\s+.*451/)
    expect(receiver.rcptCount).toBeGreaterThanOrEqual(1)
    expect((await queueList(dataDir)).find((e) => e.id === firstId)).toMatchObject({state: 'deferred', attempts: 1})
  })

  it('(a) the throughput pane shows all four series, one line each, with the deferral as a bar on its own line', async () => {
    const s = await dash.waitFor((x) => boxLines(x, 'throughput').some((l) => /^deferred\s+1 /.test(l)), {what: 'deferred 1 in the throughput pane'})
    const chart = boxLines(s, 'throughput')
    const names = chart.map((l) => /^(received|delivered|deferred|bounced)\s+\d+/.exec(l)?.[1]).filter(Boolean)
    expect(names, chart.join('\n')).toEqual(['received', 'delivered', 'deferred', 'bounced'])
    expect(chart.find((l) => l.startsWith('deferred')), chart.join('\n')).toMatch(/^deferred\s+1 .*[▁▂▃▄▅▆▇█]/)
    // nothing spills onto a line of its own
    for (const line of chart) expect(line, chart.join('\n')).toMatch(/^((received|delivered|deferred|bounced)\s+\d+ .*|\s*)$/)
    expect(chart.filter((l) => /[▁▂▃▄▅▆▇█]/.test(l) && !/^(received|delivered|deferred|bounced)/.test(l)), chart.join('\n')).toEqual([])
  })

  it('(g) Enter shows the entry with the attempt transcript; Esc and q close it without quitting', async () => {
    await dash.keys('1')
    await dash.select(firstId.slice(-10))
    await dash.keys('Enter')
    let s = await dash.waitFor('detail (Esc/q closes)', {what: 'the detail view'})
    const detail = boxLines(s, 'detail').join('\n')
    expect(detail).toContain(`id        ${firstId}`)
    expect(detail).toMatch(/state\s+deferred \(default\)\s+attempts 1/)
    expect(detail).toContain('from      alice@example.com')
    expect(detail).toMatch(/to\s+bob@example\.net\s+deferred\s+.*451/)
    expect(detail).toMatch(/^attempt 1 at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z to \S+: deferred, tls none\s*$/m)
    expect(detail).toMatch(/^\s+S: 220 .*dashboard test receiver/m)
    expect(detail).toContain('  C: MAIL FROM:<alice@example.com>')
    expect(detail).toContain('  C: RCPT TO:<bob@example.net>')
    expect(detail).toMatch(/^\s+S: 451 .*try again later/m)

    await dash.keys('Escape')
    s = await dash.waitFor((x) => !x.includes('detail (Esc/q closes)') && x.includes('─ queue entries'), {what: 'the detail view to close on Esc'})
    await dash.keys('Enter')
    await dash.waitFor('detail (Esc/q closes)', {what: 'the detail view again'})
    await dash.keys('q')
    s = await dash.waitFor((x) => !x.includes('detail (Esc/q closes)') && x.includes('─ queue entries'), {what: 'the detail view to close on q'})
    await sleep(400)
    s = await dash.screen()
    expect(s).not.toContain('DASH-EXIT')
    expect(isLive(s)).toBe(true)
  })

  it('(b) r on the selected row retries it through the server: delivered 1, and the receiver has the message', async () => {
    receiver.failing = false
    expect(receiver.messages).toHaveLength(0)
    await dash.select(firstId.slice(-10))
    await dash.keys('r')
    const s = await dash.waitFor((x) => queueCountsOnScreen(x).delivered === 1 && eventsText(x).includes(`delivered ${firstId}`), {what: `delivered 1 and the event for ${firstId}`})
    expect(queueCountsOnScreen(s)).toMatchObject({deferred: 0, delivered: 1, total: 1})
    expect(rowOf(s, firstId)).toMatch(/delivered\s+2\s/)
    await waitUntil('the receiver to get the message', () => receiver.messages.length === 1)
    expect(receiver.messages[0]).toMatchObject({from: 'alice@example.com', to: ['bob@example.net']})
    expect(receiver.messages[0]!.raw).toContain('Subject: first message')
    expect((await queueList(dataDir)).find((e) => e.id === firstId)).toMatchObject({state: 'delivered', attempts: 2})
  })

  it('(h) d asks first: n keeps the entry, y deletes it', async () => {
    const id = await send(dataDir, 'doomed message', 'carol@example.org')
    let s = await dash.waitFor((x) => /deferred/.test(rowOf(x, id) ?? ''), {what: `the row of ${id} deferred`})
    expect(queueCountsOnScreen(s)).toMatchObject({deferred: 1, delivered: 1, total: 2})

    await dash.select(id.slice(-10))
    await dash.keys('d')
    s = await dash.waitFor((x) => x.includes('Delete queue entry') && x.includes('(y/n)'), {what: 'the delete confirmation'})
    expect(s.replace(/[│\s]+/g, '')).toContain(`Deletequeueentry${id}withoutabounce?(y/n)`)
    await sleep(300)
    expect((await queueList(dataDir)).map((e) => e.id), 'nothing deleted before the answer').toContain(id)
    await dash.keys('n')
    s = await dash.waitFor((x) => !x.includes('Delete queue entry'), {what: 'the confirmation to close on n'})
    await sleep(300)
    expect((await queueList(dataDir)).map((e) => e.id), 'n keeps it').toContain(id)
    expect(rowOf(await dash.screen(), id)).toBeDefined()

    await dash.select(id.slice(-10))
    await dash.keys('d')
    await dash.waitFor((x) => x.includes('Delete queue entry') && x.includes('(y/n)'), {what: 'the delete confirmation again'})
    await dash.keys('y')
    s = await dash.waitFor((x) => !x.includes('Delete queue entry') && rowOf(x, id) === undefined, {what: `the row of ${id} to go`})
    expect(footerLine(s)).toContain(`delete: ${id}`)
    const left = await queueList(dataDir)
    expect(left.map((e) => e.id)).not.toContain(id)
    expect(left.map((e) => e.id)).toContain(firstId)
    const shown = await runCli(['queue', 'show', id], {dataDir})
    expect(shown.code).not.toBe(0)
    s = await dash.waitFor((x) => queueCountsOnScreen(x).total === 1, {what: 'total 1'})
    expect(queueCountsOnScreen(s)).toMatchObject({deferred: 0, delivered: 1, total: 1})
  })

  it('(c) 2, a: a user added from the labelled form is in `user list`, with the typed password, which never shows on screen; a bad quota keeps what was typed', async () => {
    const PASSWORD = 'Zq7-ultra-Secret-9x'
    const screens: string[] = []
    const keep = async (p: Promise<string>) => {
      const s = await p
      screens.push(s)
      return s
    }
    const form = (s: string) => boxLines(s, 'add a user').join('\n')
    await dash.keys('2')
    await keep(dash.waitFor((x) => x.includes('─ users') && x.includes('alice@example.com'), {what: 'the users screen'}))
    await dash.keys('a')
    let s = await keep(dash.waitFor((x) => /^ ?Address\b/m.test(form(x)), {what: 'the add-user form'}))
    // every field is labelled from the start, the quota with its accepted forms
    expect(form(s)).toMatch(/^ ?Address\s*$/m)
    expect(form(s)).toMatch(/^ ?Password\s*$/m)
    expect(form(s)).toMatch(/^ ?Quota\s+e\.g\. 2G; empty = unlimited/m)
    await dash.type('carol@example.com')
    await keep(dash.waitFor((x) => /Address\s+carol@example\.com/.test(form(x)), {what: 'the typed address beside its label'}))
    await dash.keys('Enter')
    await dash.type(PASSWORD)
    const masked = await keep(dash.waitFor((x) => new RegExp(`Password\\s+\\*{${PASSWORD.length}}\\s`).test(form(x)), {what: 'the masked password beside its label'}))
    expect(masked).not.toContain('*'.repeat(PASSWORD.length + 1))
    await dash.keys('Enter')
    await dash.type('10 parsecs')
    await keep(dash.waitFor((x) => /Quota\s+10 parsecs/.test(form(x)), {what: 'the typed quota'}))
    await dash.keys('Enter')
    // refused: the error shows, the form stays with everything typed
    s = await keep(dash.waitFor((x) => form(x).includes('invalid size: "10 parsecs"'), {what: 'the quota error in the form'}))
    expect(form(s)).toMatch(/Address\s+carol@example\.com/)
    expect(form(s)).toMatch(new RegExp(`Password\\s+\\*{${PASSWORD.length}}\\s`))
    expect(form(s)).toMatch(/Quota\s+10 parsecs/)
    expect((await runJson<{address: string}[]>(['user', 'list'], {dataDir})).map((u) => u.address)).not.toContain('carol@example.com')
    // the cursor is in the quota field: backspaces and new text change only the quota
    await dash.keys(...Array<string>(10).fill('BSpace'))
    await dash.type('10M')
    await keep(dash.waitFor((x) => /Quota\s+10M\s/.test(form(x)), {what: 'the corrected quota'}))
    expect(form(await dash.screen())).toMatch(/Address\s+carol@example\.com/)
    await dash.keys('Enter')
    s = await keep(dash.waitFor((x) => boxLines(x, 'users').some((l) => /^carol@example\.com\s+enabled\s+0\s+0B\s+10M\s+0%/.test(l)), {what: "carol's row"}))
    expect(footerLine(s)).toContain('added carol@example.com')
    screens.push(await dash.screen(), await dash.screenAnsi())

    for (const screen of screens) {
      expect(screen).not.toContain(PASSWORD)
      expect(screen).not.toContain(PASSWORD.slice(0, 6))
    }
    const users = await runJson<{address: string; quota: number; disabled: boolean}[]>(['user', 'list'], {dataDir})
    expect(users.find((u) => u.address === 'carol@example.com')).toMatchObject({quota: 10 * 1024 * 1024, disabled: false})
    const store = openStore(dataDir, {readOnly: true})
    try {
      const hash = (await findUser(store, 'carol@example.com'))!.passwordHash
      expect(hash).not.toContain(PASSWORD)
      expect(await verifyPassword(hash, PASSWORD)).toBe(true)
    } finally {
      await store.close()
    }
    await dash.keys('1')
  }, 60_000)

  it('(d) q restores the terminal: normal screen, DASH-EXIT 0, no box drawing, cursor shown, mouse and keypad modes off', async () => {
    const d = await tmux.startDashboard(dataDir, {width: 100, height: 30})
    await d.ready()
    // the dashboard did take the terminal over, so the checks below mean something
    expect(await d.format('#{alternate_on} #{cursor_flag} #{mouse_any_flag}#{mouse_button_flag}#{mouse_all_flag}#{mouse_standard_flag}')).toMatch(/^1 0 .*1/)
    await d.keys('q')
    const s = await d.waitFor('DASH-EXIT', {what: 'the dashboard to exit'})
    expect(s.split('\n').filter((l) => l.trim())).toEqual(['DASH-EXIT 0'])
    expect(s).not.toMatch(BOX_DRAWING)
    expect(s).not.toContain('mailbox')
    expect(await d.format('alt=#{alternate_on} cursor=#{cursor_flag} mouse=#{mouse_any_flag}#{mouse_button_flag}#{mouse_all_flag}#{mouse_standard_flag}#{mouse_sgr_flag}#{mouse_utf8_flag} keypad=#{keypad_flag}#{keypad_cursor_flag} insert=#{insert_flag}')).toBe(
      'alt=0 cursor=1 mouse=000000 keypad=00 insert=0',
    )
    await d.kill()
  })

  it('(f) at 80×24 it renders the header, the queue table header and the footer, and redraws at 130×40 after a resize', async () => {
    const d = await tmux.startDashboard(dataDir, {width: 80, height: 24})
    let s = await d.waitFor((x) => isLive(x) && rowOf(x, firstId) !== undefined, {what: 'the live 80×24 frame with the delivered entry'})
    let lines = s.replace(/\n$/, '').split('\n')
    expect(lines).toHaveLength(24)
    expect(lines[0]).toMatch(/^ mailbox \S+ on \S+ · live/)
    expect(lines[23]).toMatch(/^ 1 queue 2 users 3 folders │/)
    const tableHeader = boxLines(s, 'queue entries')[0]!
    expect(tableHeader).toMatch(/^ID\s+STATE\s+TRY\s+NEXT\s+FROM/)
    for (const l of lines) expect([...l].length, l).toBeLessThanOrEqual(80)
    expect(lines.filter((l) => /^[┌└].*[┐┘]$/.test(l) && [...l].length === 80).length, 'full-width boxes end at column 80').toBeGreaterThanOrEqual(4)
    expect(queueCountsOnScreen(s)).toMatchObject({delivered: 1})
    expect(eventsText(s)).toBeDefined()
    expect(s).toContain('─ events')

    await tmux.tmux(['resize-window', '-t', d.name, '-x', '130', '-y', '40'])
    s = await d.waitFor(
      (x) => {
        const l = x.replace(/\n$/, '').split('\n')
        return l.length === 40 && /^ 1 queue 2 users/.test(l[39] ?? '') && l.some((row) => row.startsWith('┌─ queue entries') && [...row].length === 130)
      },
      {what: 'a 130×40 redraw'},
    )
    lines = s.replace(/\n$/, '').split('\n')
    expect(lines[0]).toMatch(/^ mailbox .* · live/)
    expect(lines[38]).toMatch(/^└─+┘$/)
    expect([...lines[38]!].length).toBe(130)
    expect(boxLines(s, 'queue entries')[0]).toMatch(/^ID\s+STATE\s+TRY\s+NEXT\s+FROM\s+TO\s+LAST ERROR/)
    expect(lines[39]).toMatch(/q quit\s*$/)
    // nothing of the 80-column frame is left over: every box row spans the new width
    for (const l of lines.slice(1, 39)) expect([...l].length, l).toBe(130)
    await d.keys('q')
    await d.waitFor('DASH-EXIT 0')
    await d.kill()
  })
})

describe('dashboard without a running server', () => {
  let dataDir: string
  let config: string
  let served: Served | undefined
  let closedPort: number

  beforeAll(async () => {
    dataDir = tempDataDir()
    config = await setupStore(dataDir)
    const r = await runCli(['user', 'add', 'dave@example.com', '--password-stdin', '--quota', '1M'], {dataDir, input: 'dave-Passw0rd\n'})
    expect(r.code, r.stderr).toBe(0)
    // Sieve: alice filters, dave is away (the users screen's SIEVE and VACATION columns)
    for (const [args, input] of [
      [['sieve', 'put', 'alice@example.com', 'Filters', '--activate'], 'require "fileinto";\nif header :contains "list-id" "x" { fileinto "Lists"; }\n'],
      [['user', 'vacation', 'dave@example.com', '--subject', 'Away', '--message-file', '-'], 'Back soon.'],
    ] as const) {
      const done = await runCli([...args], {dataDir, input})
      expect(done.code, done.stderr).toBe(0)
    }
    closedPort = await freePort()
  })

  afterAll(async () => {
    await served?.stop()
  })

  it('(e) says "server not running", shows the stored queue and users, and turns live once serve starts', async () => {
    const id = await send(dataDir, 'stored while down', 'bob@example.net')
    const d = await tmux.startDashboard(dataDir, {width: 120, height: 36})
    let s = await d.waitFor((x) => headerLine(x).includes('server not running'), {what: 'the "server not running" header'})
    expect(headerLine(s)).toMatch(/server not running \(retry in \d+s\) · showing the store in /)
    s = await d.waitFor((x) => rowOf(x, id) !== undefined, {what: 'the stored entry'})
    expect(rowOf(s, id)).toMatch(/queued\s+0\s+now\s+alice@example\.com\s+bob@example\.net/)
    expect(queueCountsOnScreen(s)).toMatchObject({queued: 1, total: 1})

    await d.keys('2')
    s = await d.waitFor((x) => x.includes('─ users') && x.includes('dave@example.com') && x.includes('Filters'), {what: 'the stored users, with their Sieve scripts'})
    const users = boxLines(s, 'users')
    expect(users[0]).toMatch(/^ADDRESS\s+STATE\s+MESSAGES\s+USED\s+QUOTA\s+USE%\s+SIEVE\s+VACATION/)
    expect(users.some((l) => /^alice@example\.com\s+enabled\s+0\s+0B\s+unlimited\s+Filters\s+off\s*$/.test(l))).toBe(true)
    expect(users.some((l) => /^dave@example\.com\s+enabled\s+0\s+0B\s+1M\s+0%\s+vacation\s+on\s*$/.test(l))).toBe(true)
    // vacation off from the CLI: the next read of the store shows it
    const off = await runCli(['user', 'vacation', 'dave@example.com', '--off'], {dataDir})
    expect(off.code, off.stderr).toBe(0)
    s = await d.waitFor((x) => boxLines(x, 'users').some((l) => /^dave@example\.com\s+enabled\s+0\s+0B\s+1M\s+0%\s+off\s*$/.test(l)), {what: "dave's vacation off"})
    await d.keys('1')
    s = await d.waitFor((x) => rowOf(x, id) !== undefined)
    expect(isLive(s)).toBe(false)

    served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${closedPort}`])
    const startedAt = Date.now()
    // the longest backoff step is 10 s
    s = await d.waitFor(isLive, {what: 'the live header after serve started', timeoutMs: 12_000})
    expect(Date.now() - startedAt).toBeLessThan(11_000)
    expect(headerLine(s)).not.toContain('server not running')
    // and the server's work shows up: the stored entry was tried and deferred (closed port)
    s = await d.waitFor((x) => /deferred\s+1\s/.test(rowOf(x, id) ?? ''), {what: 'the entry deferred by the server'})
    expect(queueCountsOnScreen(s)).toMatchObject({queued: 0, deferred: 1, total: 1})
    await d.keys('q')
    await d.waitFor('DASH-EXIT 0')
    await d.kill()
  })
})
