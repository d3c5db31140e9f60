/**
 * Benchmark part `esort` (see ./imap.ts): ESORT and CONTEXT=SORT (RFC 5267) on the
 * 100,000-message INBOX, against the Dovecot peer in the same run. `SORT RETURN (COUNT MIN MAX)`
 * and a first page newest-first, `UID SORT RETURN (PARTIAL 1:50) (REVERSE DATE)`, as a client
 * with a sorted message list asks; then the cost of keeping that list live: another session
 * flags a message and the NOOP that brings the `REMOVEFROM` of a `SORT RETURN (UPDATE)` context
 * (which sorts again) is timed (not the STORE itself), against what a client without
 * CONTEXT=SORT does, the NOOP and a new `UID SORT RETURN (PARTIAL 1:50)`, on both servers
 * (Dovecot has no CONTEXT=SORT).
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {BIG_FOLDER, Imap, median, ms, RUNS, type Target, timeRatio} from './imap.js'
import {type FigureValue, report} from './util.js'

const SORTS = ['SORT RETURN (COUNT MIN MAX) (DATE) UTF-8 ALL', 'UID SORT RETURN (PARTIAL 1:50) (REVERSE DATE) UTF-8 ALL'] as const
const LIVE = 'UNFLAGGED'

interface Figures {
  /** median ms per SORTS command */
  sorts: number[]
  /** median ms, after the other session's STORE, until the client knows how its list changed: with a live context (`update`), by sorting again (`again`) */
  update: number
  again: number
  /** the first command's ESEARCH line, and one update's */
  counted: string
  updated: string
}

/**
 * RUNS times: the other session flags one of the newest messages (so it leaves the UNFLAGGED
 * list near its top) and `c` learns of it: with a live context the NOOP brings the update,
 * without one the client sorts again. The median ms of that, the STORE not counted.
 */
async function afterStores(t: Target, c: Imap, other: Imap, exists: number, live: boolean, onUpdate?: (line: string) => void): Promise<number> {
  const runs: number[] = []
  for (let i = 0; i < RUNS; i++) {
    await other.run(`STORE ${exists - i} +FLAGS.SILENT (\\Flagged)`)
    const noop = await c.run('NOOP', {collect: true})
    let total = noop.ms
    if (live) {
      const line = noop.lines.find((l) => l.startsWith('* ESEARCH'))
      if (!line) throw new Error(`${t.name}: no ESEARCH update after a STORE`)
      onUpdate?.(line)
    } else total += (await c.run(`UID SORT RETURN (PARTIAL 1:50) (REVERSE DATE) UTF-8 ${LIVE}`)).ms
    runs.push(total)
  }
  await other.run(`STORE ${exists - RUNS + 1}:* -FLAGS.SILENT (\\Flagged)`)
  // the NOOP that hears of the unflagging (and, live, its ADDTO) is not measured
  await c.run('NOOP')
  return median(runs)
}

async function esort(t: Target, live: boolean): Promise<Figures> {
  const c = await Imap.connect(t.port)
  const other = await Imap.connect(t.port)
  try {
    await c.login(t.users.big, t.password)
    await other.login(t.users.big, t.password)
    const selected = await c.run('SELECT INBOX', {collect: true})
    const exists = Number(selected.lines.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean))
    if (exists !== BIG_FOLDER) throw new Error(`${t.name}: INBOX has ${exists} messages, expected ${BIG_FOLDER}`)
    await other.run('SELECT INBOX')
    const figures: Figures = {sorts: [], update: 0, again: 0, counted: '', updated: ''}
    // the first SORT fills the sort-key caches of both servers: not measured
    await c.run(SORTS[0])
    for (const command of SORTS) {
      const runs: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const r = await c.run(command, {collect: true})
        const line = r.lines.find((l) => l.startsWith('* ESEARCH'))
        if (!line) throw new Error(`${t.name}: no ESEARCH response to ${command}`)
        if (command === SORTS[0]) figures.counted = line
        runs.push(r.ms)
      }
      figures.sorts.push(median(runs))
    }
    // without a context (what a client must do on Dovecot), then with one
    figures.again = await afterStores(t, c, other, exists, false)
    if (live) {
      await c.run(`UID SORT RETURN (UPDATE) (REVERSE DATE) UTF-8 ${LIVE}`)
      figures.update = await afterStores(t, c, other, exists, true, (line) => (figures.updated = line))
    }
    await c.logout()
    await other.logout()
    return figures
  } finally {
    c.destroy()
    other.destroy()
  }
}

export async function benchEsort(mbx: Target, dov: Target | undefined, filledAt: number): Promise<void> {
  const m = await esort(mbx, true)
  let d: Figures | undefined
  let why = 'skipped (no peer)'
  if (dov) {
    // Dovecot distrusts a Maildir changed within the last second or so
    await sleep(Math.max(0, filledAt + 2000 - Date.now()))
    try {
      d = await esort(dov, false)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  const rows: [string, FigureValue][] = []
  SORTS.forEach((command, i) => {
    rows.push([`${command}: mailbox`, ms(m.sorts[i]!)])
    rows.push([`${command}: Dovecot`, d ? ms(d.sorts[i]!) : why])
    rows.push([`${command}: ratio`, timeRatio(m.sorts[i]!, d?.sorts[i])])
  })
  rows.push(['after a STORE elsewhere, NOOP and SORT RETURN (PARTIAL 1:50) again: mailbox', ms(m.again)])
  rows.push(['after a STORE elsewhere, NOOP and SORT RETURN (PARTIAL 1:50) again: Dovecot', d ? ms(d.again) : why])
  rows.push(['NOOP and SORT again: ratio', timeRatio(m.again, d?.again)])
  rows.push(['after a STORE elsewhere, NOOP with a live SORT RETURN (UPDATE): mailbox', `${ms(m.update)}   (Dovecot has no CONTEXT=SORT)`])
  rows.push(['live update against NOOP and SORT again on Dovecot: ratio', timeRatio(m.update, d?.again)])
  rows.push(['answer (mailbox / Dovecot)', `${m.counted} / ${d?.counted ?? 'n/a'}`])
  rows.push(['an update (mailbox)', m.updated])
  report('esort', `ESORT and CONTEXT=SORT on the ${BIG_FOLDER.toLocaleString('en')}-message INBOX; medians of ${RUNS} runs; time until the tagged OK`, Object.fromEntries(rows))
}
