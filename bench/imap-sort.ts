/**
 * Part `sort` of the IMAP bench (bench/imap.ts): SORT and THREAD on the 100,000-message INBOX,
 * mailbox against Dovecot in the same run. One client: SELECT, the first `SORT (DATE)` (cold:
 * mailbox reads every header once into its sort-key cache, Dovecot fills its cache file), then
 * medians of RUNS of `SORT (DATE)`, `SORT (SUBJECT)`, `THREAD REFERENCES` and
 * `THREAD ORDEREDSUBJECT`. Goals (issue #17): SORT (DATE) under 150 ms, THREAD=REFERENCES
 * under 500 ms.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {goal, Imap, median, ms, RUNS, timeRatio, type Target} from './imap.js'
import {fig, type FigureValue, report} from './util.js'

interface SortFigures {
  first: number
  date: number
  subject: number
  references: number
  ordered: number
  threads: number
}

async function sortFigures(t: Target, count: number): Promise<SortFigures> {
  const c = await Imap.connect(t.port)
  try {
    await c.login(t.users.big, t.password)
    await c.run('SELECT INBOX')
    const numbers = async (command: string) => {
      const r = await c.run(command, {collect: true})
      const line = r.lines.find((l) => l.startsWith('* SORT') || l.startsWith('* THREAD')) ?? ''
      return {ms: r.ms, line}
    }
    const first = await numbers('SORT (DATE) UTF-8 ALL')
    const sorted = first.line.split(' ').length - 2
    if (sorted !== count) throw new Error(`${t.name}: SORT answered ${sorted} numbers, expected ${count}`)
    const runs = async (command: string) => {
      const times: number[] = []
      let line = ''
      for (let i = 0; i < RUNS; i++) ({ms: times[i] = 0, line} = await numbers(command))
      return {ms: median(times), line}
    }
    const date = await runs('SORT (DATE) UTF-8 ALL')
    const subject = await runs('SORT (SUBJECT) UTF-8 ALL')
    const references = await runs('THREAD REFERENCES UTF-8 ALL')
    const ordered = await runs('THREAD ORDEREDSUBJECT UTF-8 ALL')
    // top-level threads: the opening parentheses at depth 0
    let depth = 0
    let threads = 0
    for (const ch of references.line) {
      if (ch === '(' && depth++ === 0) threads++
      else if (ch === ')') depth--
    }
    await c.logout()
    return {first: first.ms, date: date.ms, subject: subject.ms, references: references.ms, ordered: ordered.ms, threads}
  } finally {
    c.destroy()
  }
}

export async function benchSort(mbx: Target, dov: Target | undefined, count: number, filledAt: number): Promise<void> {
  const m = await sortFigures(mbx, count)
  let d: SortFigures | undefined
  let why = 'skipped (no peer)'
  if (dov) {
    // Dovecot distrusts a Maildir changed within the last second or so (see the folder part)
    await sleep(Math.max(0, filledAt + 2000 - Date.now()))
    try {
      d = await sortFigures(dov, count)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  const row = (label: string, key: keyof SortFigures, limit?: number): [string, FigureValue][] => [
    [`${label}: mailbox`, fig(m[key], 'ms', limit ? ` (goal < ${limit} ms: ${goal(m[key], limit)})` : '', 1)],
    [`${label}: Dovecot`, d ? ms(d[key]) : why],
    [`${label}: ratio`, timeRatio(m[key], d?.[key])],
  ]
  report('sort', `SORT and THREAD of the ${count.toLocaleString('en')}-message INBOX, one client; medians of ${RUNS} runs after the first SORT; time until the tagged OK`, {
    workload: `SELECT INBOX, SORT (DATE) UTF-8 ALL (first), ${RUNS}x each of SORT (DATE), SORT (SUBJECT), THREAD REFERENCES, THREAD ORDEREDSUBJECT (all UTF-8 ALL)`,
    ...Object.fromEntries([
      ...row('first SORT (DATE) (cold)', 'first'),
      ...row('SORT (DATE)', 'date', 150),
      ...row('SORT (SUBJECT)', 'subject'),
      ...row('THREAD REFERENCES', 'references', 500),
      ...row('THREAD ORDEREDSUBJECT', 'ordered'),
    ]),
    'REFERENCES threads (mailbox / Dovecot)': `${m.threads} / ${d ? d.threads : 'n/a'}`,
  })
}
