/**
 * `mailbox dashboard`: a blessed terminal UI over the live server (control socket) and the store.
 *
 * Layout (vtop/pm2 split): sources update data, one render timer (300 ms) turns it into widget
 * content through the pure functions of ./view-model.ts. Screens: 1 queue (counts, throughput,
 * table, event tail), 2 users, 3 folders of the selected user. Without a server it shows the
 * store and says so; actions that can work on the store alone still work.
 */
import blessed from 'blessed'
import {addUser, listUsers, removeUser, setDisabled, setPassword, type UserView} from '../src/directory/users.js'
import {sieveSummaries, type SieveSummary} from '../src/sieve-scripts/summary.js'
import {isMailboxError} from '../src/errors.js'
import {parseSize} from '../src/size.js'
import type {MailboxRecord, QueueEntry} from '../src/store/records.js'
import type {MailboxStore} from '../src/store/backend.js'
import {openForm, type FormField, type FormRefusal} from './form.js'
import {LiveSource} from './sources/live.js'
import {Throughput, type Series} from './sources/throughput.js'
import {
  FOLDER_HEADER,
  QUEUE_FILTERS,
  QUEUE_SORTS,
  USER_HEADER,
  countsLine,
  countsText,
  entryDetail,
  eventLine,
  folderRows,
  headerText,
  queueLayout,
  queueRows,
  reselect,
  sparkline,
  userRows,
} from './view-model.js'

const RENDER_MS = 300
const STORE_POLL_MS = 1000
/** how often the users screen reads each user's active Sieve script again */
const SIEVE_POLL_MS = 3000
const MAX_EVENT_LINES = 200

type Screen = 'queue' | 'users' | 'folders'

const ADD_USER_FIELDS: FormField[] = [
  {name: 'address', label: 'Address'},
  {name: 'password', label: 'Password', censor: true},
  {name: 'quota', label: 'Quota', hint: 'e.g. 2G; empty = unlimited'},
]

const HELP = `
 Keys
   1 / 2 / 3     queue / users / folders screen
   Tab           next pane          arrows, j / k   move
   ?             this help          q, Ctrl-C       quit

 Queue                              Users
   r   retry (due now)                a   add a user
   h   hold                           p   set password
   u   release                        e   enable / disable
   d   delete (asks first)            x   remove (asks first)
   Enter  the whole error, attempts   Enter  that user's folders
   f   filter by state
   s   sort: state / next / attempts / created
`

export async function runDashboard(store: MailboxStore, dataDir: string): Promise<void> {
  const live = new LiveSource(dataDir)
  const throughput = new Throughput(120)
  const screen = blessed.screen({smartCSR: true, title: 'mailbox dashboard', fullUnicode: true, autoPadding: true})

  let entries: QueueEntry[] = []
  let users: UserView[] = []
  /** each user's active Sieve script and vacation, read while the users screen shows, and when they are due again */
  let sieve = new Map<string, SieveSummary>()
  let sieveDueAt = 0
  let filterIndex = 0
  let sortIndex = 0
  let current: Screen = 'queue'
  let folderUser: string | undefined
  /** the folders last read, and whose they are */
  let folders: {user?: string; list: MailboxRecord[]} = {list: []}
  /** the full id of each table row, in the order shown; the selection is kept by id, not by row */
  let queueIds: string[] = []
  let userAddresses: string[] = []
  let flash = ''
  let flashUntil = 0
  /** a detail view, dialog or help is open: screen-wide keys wait until it closes */
  let modal = false

  /** the tables all scroll and select the same way */
  const makeTable = (parent: blessed.Widgets.Node, options: blessed.Widgets.ListTableOptions) =>
    blessed.listtable({
      parent,
      left: 0,
      width: '100%',
      border: 'line',
      keys: true,
      vi: true,
      mouse: true,
      noCellBorders: true,
      align: 'left',
      ...options,
      style: {header: {bold: true}, cell: {selected: {bg: 'blue', fg: 'white'}}, ...options.style},
    })
  const header = blessed.box({parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: false, style: {fg: 'black', bg: 'cyan'}})
  const footer = blessed.box({parent: screen, bottom: 0, left: 0, width: '100%', height: 1, style: {fg: 'black', bg: 'white'}})
  const panes = {
    queue: blessed.box({parent: screen, top: 1, left: 0, width: '100%', height: '100%-2'}),
    users: blessed.box({parent: screen, top: 1, left: 0, width: '100%', height: '100%-2', hidden: true}),
    folders: blessed.box({parent: screen, top: 1, left: 0, width: '100%', height: '100%-2', hidden: true}),
  }
  const counts = blessed.box({parent: panes.queue, top: 0, left: 0, width: 34, height: 10, border: 'line', label: ' queue '})
  const chart = blessed.box({parent: panes.queue, top: 0, left: 34, width: '100%-34', height: 10, border: 'line', label: ' throughput, per second, last 2 min '})
  const table = makeTable(panes.queue, {top: 10, height: '100%-16', style: {border: {fg: 'cyan'}}})
  const events = blessed.log({parent: panes.queue, bottom: 0, left: 0, width: '100%', height: 6, border: 'line', label: ' events ', scrollback: MAX_EVENT_LINES, keys: true, vi: true, mouse: true})
  const userTable = makeTable(panes.users, {top: 0, height: '100%', label: ' users '})
  const folderTable = makeTable(panes.folders, {top: 0, height: '100%'})
  const help = blessed.box({parent: screen, top: 'center', left: 'center', width: 72, height: 20, border: 'line', label: ' help ', content: HELP, hidden: true})

  const say = (text: string) => {
    flash = text
    flashUntil = Date.now() + 4000
  }
  const errorText = (err: unknown) => (isMailboxError(err) ? err.message : (err as Error).message)

  // ---- data ----
  const readStore = async () => {
    try {
      entries = await store.queue.entries()
      users = (await listUsers(store)).filter((u) => u.address)
      // one read per user (a query each on PostgreSQL): only for the users screen, and not at every poll
      if (current === 'users' && Date.now() >= sieveDueAt) {
        sieveDueAt = Date.now() + SIEVE_POLL_MS
        sieve = await sieveSummaries(store, users.map((u) => u.address))
      }
    } catch (err) {
      say(`store: ${errorText(err)}`)
    }
  }
  /** the shown user's folders, read at each render (a resolved promise on LMDB: no I/O) */
  const readFolders = async (user: string) => {
    try {
      folders = {user, list: await store.mail.folders(user)}
    } catch (err) {
      folders = {user, list: []}
      say(errorText(err))
    }
  }
  void readStore()
  const storeTimer = setInterval(readStore, STORE_POLL_MS)
  live.on('event', (e) => {
    throughput.record(e.event, e.time)
    const line = eventLine(e)
    if (line) events.log(line)
  })
  live.start()

  // ---- selection: the row under the cursor, as the id (address) shown there ----
  const selectedRow = (list: blessed.Widgets.ListTableElement) => ((list as unknown as {selected: number}).selected || 1) - 1
  const selectedEntry = (): string | undefined => queueIds[selectedRow(table)]
  const selectedUser = (): string | undefined => userAddresses[selectedRow(userTable)]

  // ---- rendering ----
  const render = () => {
    header.setContent(` ${headerText(live.state, dataDir)}`)
    // short enough for 80 columns; ? shows the whole list
    const keys = current === 'queue' ? 'r retry h hold u release d delete ⏎ detail f filter s sort' : current === 'users' ? 'a add p passwd e en/disable x remove ⏎ folders' : 'Esc back'
    footer.setContent(` ${Date.now() < flashUntil ? flash : `1 queue 2 users 3 folders │ ${keys} │ ? help q quit`}`)
    if (current === 'queue') {
      const columns = screen.width as number
      const layout = queueLayout((screen.height as number) - 2)
      arrange(layout)
      if (layout.summary === 'full') {
        counts.setContent(countsText(entries))
        const width = Math.max(10, (chart.width as number) - 17) // border 2 + "name      1234 " 15
        chart.setContent(
          (['received', 'delivered', 'deferred', 'bounced'] as Series[])
            .map((s) => `${s.padEnd(10)}${String(throughput.total(s)).padStart(4)} ${sparkline(throughput.values(s), width)}`)
            .join('\n\n'),
        )
      } else counts.setContent(countsLine(entries, columns - 2))
      const filter = QUEUE_FILTERS[filterIndex]!
      const {header: head, rows, ids} = queueRows(entries, filter, QUEUE_SORTS[sortIndex]!, Date.now(), columns)
      // the entry under the cursor stays under it, wherever the new order puts it
      const keep = reselect(selectedEntry(), queueIds, ids)
      table.setLabel(` queue entries · filter: ${filter} · sort: ${QUEUE_SORTS[sortIndex]} · ${ids.length} shown `)
      table.setData([head, ...(rows.length ? rows : [['(none)', '', '', '', '', '', '']])])
      queueIds = ids
      table.select(keep === undefined ? 1 : ids.indexOf(keep) + 1)
    } else if (current === 'users') {
      const addresses = users.map((u) => u.address)
      const keep = reselect(selectedUser(), userAddresses, addresses)
      userTable.setData([USER_HEADER, ...(users.length ? userRows(users, sieve) : [['(no users)', '', '', '', '', '', '', '']])])
      userAddresses = addresses
      userTable.select(keep === undefined ? 1 : addresses.indexOf(keep) + 1)
    } else if (folderUser) {
      const user = folderUser
      const shown = folders.user === user
      folderTable.setLabel(` folders of ${user} `)
      folderTable.setData([FOLDER_HEADER, ...folderRows(shown ? folders.list : [])])
      // read for the next render; a user not shown yet is rendered again as soon as read
      void readFolders(user).then(() => {
        if (!shown) render()
      })
    }
    screen.render()
  }
  const renderTimer = setInterval(render, RENDER_MS)

  /** sizes the queue screen's panes for the terminal: the table first (see queueLayout) */
  const arrange = (layout: ReturnType<typeof queueLayout>) => {
    const full = layout.summary === 'full'
    counts.width = full ? 34 : '100%'
    counts.height = Math.max(1, layout.summaryHeight)
    if (layout.summary === 'none') counts.hide()
    else counts.show()
    if (full) chart.show()
    else chart.hide()
    table.top = layout.tableTop
    table.height = layout.tableHeight
    events.height = Math.max(1, layout.eventsHeight)
    if (layout.eventsHeight) events.show()
    else events.hide()
  }

  const show = (name: Screen) => {
    current = name
    if (name === 'users') {
      sieveDueAt = 0 // the Sieve columns are read only for this screen: now, and every SIEVE_POLL_MS while it shows
      void readStore()
    }
    for (const [k, pane] of Object.entries(panes)) (k === name ? pane.show() : pane.hide())
    ;(name === 'queue' ? table : name === 'users' ? userTable : folderTable).focus()
    render()
  }

  // ---- dialogs ----
  const ask = (label: string, censor = false): Promise<string | undefined> =>
    new Promise((resolve) => {
      modal = true
      const box = blessed.box({parent: screen, top: 'center', left: 'center', width: 60, height: 5, border: 'line', label: ` ${label} `})
      const input = blessed.textbox({parent: box, top: 1, left: 1, width: '100%-4', height: 1, inputOnFocus: true, censor, style: {bg: 'blue'}})
      const done = (value: string | undefined) => {
        box.destroy()
        modal = false
        show(current)
        resolve(value)
      }
      input.on('submit', (v: string) => done(v))
      input.on('cancel', () => done(undefined))
      input.focus()
      screen.render()
    })
  const confirm = (text: string): Promise<boolean> =>
    new Promise((resolve) => {
      modal = true
      const q = blessed.question({parent: screen, top: 'center', left: 'center', width: 60, height: 7, border: 'line', label: ' confirm '})
      q.ask(`${text} (y/n)`, (_err: unknown, yes: unknown) => {
        q.destroy()
        modal = false
        show(current)
        resolve(Boolean(yes))
      })
    })
  const detail = (text: string) => {
    modal = true
    const box = blessed.box({
      parent: screen,
      top: 1,
      left: 0,
      width: '100%',
      height: '100%-2',
      border: 'line',
      label: ' detail (Esc/q closes) ',
      content: text,
      scrollable: true,
      alwaysScroll: true,
      keys: true,
      vi: true,
      mouse: true,
      scrollbar: {ch: ' ', style: {bg: 'cyan'}},
    })
    box.key(['escape', 'q', 'enter'], () => {
      box.destroy()
      setImmediate(() => (modal = false)) // after this key's screen-wide handlers have run
      show(current)
    })
    box.focus()
    screen.render()
  }

  // ---- actions ----
  const queueAction = async (verb: 'retry' | 'hold' | 'release' | 'delete') => {
    const id = selectedEntry()
    if (!id) return say('no entry selected')
    if (verb === 'delete' && !(await confirm(`Delete queue entry ${id} without a bounce?`))) return
    try {
      const conn = live.connection
      if (conn) await conn.call(`queue.${verb}`, {id})
      else await store.queue[verb](id)
      say(`${verb}: ${id}${conn ? '' : ' (on the store; the server is not running)'}`)
      await readStore()
    } catch (err) {
      say(`${verb} failed: ${errorText(err)}`)
    }
  }
  const showEntry = async () => {
    const id = selectedEntry()
    if (!id) return
    try {
      const lines = entryDetail(await store.queue.find(id), await store.queue.attempts(id))
      detail(lines.join('\n'))
    } catch (err) {
      say(errorText(err))
    }
  }
  const addUserFrom = async (v: Record<string, string>): Promise<FormRefusal | undefined> => {
    let quota: number
    try {
      quota = v.quota ? parseSize(v.quota) : 0
    } catch (err) {
      return {field: 'quota', error: errorText(err)}
    }
    if (!v.address) return {field: 'address', error: 'an address is needed'}
    if (!v.password) return {field: 'password', error: 'a password is needed'}
    try {
      const user = await addUser(store, {address: v.address, password: v.password, quota})
      say(`added ${user.address}`)
      return undefined
    } catch (err) {
      return {field: 'address', error: errorText(err)}
    }
  }
  const userAction = async (verb: 'add' | 'passwd' | 'toggle' | 'remove') => {
    try {
      if (verb === 'add') {
        modal = true
        try {
          await openForm(screen, {label: 'add a user', fields: ADD_USER_FIELDS, submit: addUserFrom})
        } finally {
          modal = false
          show(current)
        }
      } else {
        const address = selectedUser()
        if (!address) return say('no user selected')
        if (verb === 'passwd') {
          const password = await ask(`new password for ${address}`, true)
          if (!password) return
          await setPassword(store, address, password)
          say(`password changed for ${address}`)
        } else if (verb === 'toggle') {
          const u = users.find((x) => x.address === address)!
          await setDisabled(store, address, !u.disabled)
          say(`${u.disabled ? 'enabled' : 'disabled'} ${address}`)
        } else if (await confirm(`Remove ${address} and all their mail?`)) {
          await removeUser(store, address, {force: true})
          say(`removed ${address}`)
        }
      }
      await readStore()
    } catch (err) {
      say(errorText(err))
    }
  }

  // ---- keys ----
  let quit: () => void = () => {}
  const finished = new Promise<void>((resolve) => (quit = resolve))
  const global = (keys: string | string[], fn: () => void) => screen.key(keys, () => (modal ? undefined : fn()))
  screen.key('C-c', () => quit())
  global('q', () => quit())
  // ? opens the help; ? or Esc closes it
  screen.key(['?', 'escape'], (_ch: unknown, key: {name: string}) => {
    if (help.visible) {
      help.hide()
      modal = false
    } else if (key.name !== 'escape' && !modal) {
      help.show()
      help.setFront()
      modal = true
    }
    screen.render()
  })
  global('1', () => show('queue'))
  global('2', () => show('users'))
  global('3', () => {
    folderUser ??= selectedUser() ?? users[0]?.address
    show('folders')
  })
  global('tab', () => {
    if (current === 'queue') (screen.focused === table ? events : table).focus()
    render()
  })
  table.key('r', () => void queueAction('retry'))
  table.key('h', () => void queueAction('hold'))
  table.key('u', () => void queueAction('release'))
  table.key('d', () => void queueAction('delete'))
  table.key('enter', () => void showEntry())
  table.key('f', () => {
    filterIndex = (filterIndex + 1) % QUEUE_FILTERS.length
    render()
  })
  table.key('s', () => {
    sortIndex = (sortIndex + 1) % QUEUE_SORTS.length
    render()
  })
  userTable.key('a', () => void userAction('add'))
  userTable.key('p', () => void userAction('passwd'))
  userTable.key('e', () => void userAction('toggle'))
  userTable.key('x', () => void userAction('remove'))
  userTable.key('enter', () => {
    folderUser = selectedUser()
    if (folderUser) show('folders')
  })
  folderTable.key(['escape', 'left'], () => show('users'))
  screen.on('resize', render)

  show('queue')
  try {
    await finished
  } finally {
    clearInterval(renderTimer)
    clearInterval(storeTimer)
    live.stop()
    screen.destroy()
  }
}


