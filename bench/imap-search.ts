/**
 * Benchmark part `esearch` (see ./imap.ts): extended SEARCH (RFC 4731) on the 100,000-message
 * INBOX, against the Dovecot peer in the same run. `SEARCH RETURN (COUNT MIN MAX) UNSEEN` is what
 * a client sends for an unread badge (goal < 30 ms); `UID SEARCH RETURN (ALL) UNDELETED` is
 * Thunderbird's resync pattern, answered with a compressed set instead of 100,000 numbers.
 */
import {setTimeout as sleep} from 'node:timers/promises'
import {BIG_FOLDER, goal, Imap, median, ms, RUNS, type Target, timeRatio} from './imap.js'
import {fig, type FigureValue, report} from './util.js'

const COMMANDS = ['SEARCH RETURN (COUNT MIN MAX) UNSEEN', 'UID SEARCH RETURN (ALL) UNDELETED'] as const

interface Figures {
  /** median ms per command */
  ms: number[]
  /** the first command's ESEARCH line */
  counted: string
}

async function esearch(t: Target): Promise<Figures> {
  const c = await Imap.connect(t.port)
  try {
    await c.login(t.users.big, t.password)
    const selected = await c.run('SELECT INBOX', {collect: true})
    const exists = Number(selected.lines.map((l) => /^\* (\d+) EXISTS/.exec(l)?.[1]).find(Boolean))
    if (exists !== BIG_FOLDER) throw new Error(`${t.name}: INBOX has ${exists} messages, expected ${BIG_FOLDER}`)
    const figures: Figures = {ms: [], counted: ''}
    for (const command of COMMANDS) {
      const runs: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const r = await c.run(command, {collect: true})
        const line = r.lines.find((l) => l.startsWith('* ESEARCH'))
        if (!line) throw new Error(`${t.name}: no ESEARCH response to ${command}`)
        if (command === COMMANDS[0]) figures.counted = line
        runs.push(r.ms)
      }
      figures.ms.push(median(runs))
    }
    await c.logout()
    return figures
  } finally {
    c.destroy()
  }
}

export async function benchEsearch(mbx: Target, dov: Target | undefined, filledAt: number): Promise<void> {
  const m = await esearch(mbx)
  let d: Figures | undefined
  let why = 'skipped (no peer)'
  if (dov) {
    // Dovecot distrusts a Maildir changed within the last second or so
    await sleep(Math.max(0, filledAt + 2000 - Date.now()))
    try {
      d = await esearch(dov)
    } catch (err) {
      why = `failed: ${(err as Error).message}`
    }
  }
  const rows: [string, FigureValue][] = []
  COMMANDS.forEach((command, i) => {
    const a = m.ms[i]!
    rows.push([`${command}: mailbox`, fig(a, 'ms', i === 0 ? ` (goal < 30 ms: ${goal(a, 30)})` : '', 1)])
    rows.push([`${command}: Dovecot`, d ? ms(d.ms[i]!) : why])
    rows.push([`${command}: ratio`, timeRatio(a, d?.ms[i])])
  })
  rows.push(['answer (mailbox / Dovecot)', `${m.counted} / ${d?.counted ?? 'n/a'}`])
  report('esearch', `ESEARCH on the ${BIG_FOLDER.toLocaleString('en')}-message INBOX, one client; medians of ${RUNS} runs; time until the tagged OK`, Object.fromEntries(rows))
}
