/**
 * QUOTA (RFC 9208) on the 100,000-message user of bench/imap.ts: GETQUOTAROOT INBOX must not
 * scan the folders' messages (the usage is the sum of the folders' counters), and STATUS
 * DELETED-STORAGE, which does walk the folder's entries, is measured beside it. mailbox only:
 * the Dovecot peer runs without its quota plugin.
 */
import {Imap, median, type Target} from './imap.js'
import {fig, report} from './util.js'

/** the big user's quota in this benchmark: large enough never to refuse anything */
export const BENCH_QUOTA = 100 * 1024 ** 3
const RUNS = 9

export async function benchQuota(t: Target, count: number): Promise<void> {
  const c = await Imap.connect(t.port)
  try {
    await c.login(t.users.big, t.password)
    const time = async (command: string) => {
      const runs: number[] = []
      let lines: string[] = []
      for (let i = 0; i < RUNS; i++) {
        const r = await c.run(command, {collect: true})
        runs.push(r.ms)
        lines = r.lines
      }
      return {ms: median(runs), lines}
    }
    const root = await time('GETQUOTAROOT INBOX')
    const quota = root.lines.find((l) => l.startsWith('* QUOTA '))
    if (!quota) throw new Error(`${t.name}: GETQUOTAROOT INBOX gave no QUOTA response: ${root.lines.join(' | ')}`)
    const deleted = await time('STATUS INBOX (DELETED DELETED-STORAGE)')
    const messages = await time('STATUS INBOX (MESSAGES)')
    await c.logout()
    report('quota', `QUOTA on a ${count.toLocaleString('en')}-message INBOX, one client; medians of ${RUNS} runs; time until the tagged OK`, {
      'GETQUOTAROOT INBOX': fig(root.ms, 'ms', ` (${quota})`, 2),
      'STATUS INBOX (DELETED DELETED-STORAGE)': fig(deleted.ms, 'ms', " (walks the folder's entries)", 2),
      'STATUS INBOX (MESSAGES), for scale': fig(messages.ms, 'ms', '', 2),
    })
  } finally {
    c.destroy()
  }
}
