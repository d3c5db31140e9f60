/**
 * The `append` part of `npm run bench -- imap` (BENCH_IMAP_ONLY=append): APPEND's extensions on
 * mailbox and on the Dovecot peer, one client, a fresh folder of the cycles user, medians of
 * RUNS. `BENCH_IMAP_APPENDS` (100) messages of ~0.7 KB: stored with one APPEND each (LITERAL+,
 * one after another), then with one MULTIAPPEND command (RFC 3502), then as CATENATE (RFC 4469)
 * messages made of a URL to the first one plus new text, one command each.
 */
import {Imap, median, smallMessage, type Target} from './imap.js'
import {fig, higher, report} from './util.js'

const APPENDS = Number(process.env.BENCH_IMAP_APPENDS ?? 100)
const RUNS = 5

interface AppendFigures {
  single: number
  multi: number
  catenate: number
}

/** `count` messages as one MULTIAPPEND: every literal but the last in the command text, the last as Imap.run's literal */
function multiAppend(c: Imap, folder: string, messages: Buffer[]) {
  const head = messages.slice(0, -1).map((m) => ` {${m.length}+}\r\n${m.toString('latin1')}`)
  return c.run(`APPEND ${folder}${head.join('')}`, {literal: messages.at(-1)!})
}

async function appendFigures(t: Target): Promise<AppendFigures> {
  const c = await Imap.connect(t.port)
  const folder = `AppendBench${Date.now()}`
  try {
    await c.login(t.users.cycles, t.password)
    await c.run(`CREATE ${folder}`)
    const messages = Array.from({length: APPENDS}, (_, i) => smallMessage(i))
    // the URL's target: UID 1 of the fresh folder
    await c.run(`APPEND ${folder}`, {literal: messages[0]!})
    const single: number[] = []
    const multi: number[] = []
    const catenate: number[] = []
    for (let run = 0; run < RUNS; run++) {
      let t0 = process.hrtime.bigint()
      for (const m of messages) await c.run(`APPEND ${folder}`, {literal: m})
      single.push(Number(process.hrtime.bigint() - t0) / 1e6)
      multi.push((await multiAppend(c, folder, messages)).ms)
      t0 = process.hrtime.bigint()
      for (let i = 0; i < APPENDS; i++) {
        const text = `\r\nreply ${i}\r\n`
        await c.run(`APPEND ${folder} CATENATE (URL "/${folder}/;UID=1" TEXT {${text.length}+}\r\n${text})`)
      }
      catenate.push(Number(process.hrtime.bigint() - t0) / 1e6)
    }
    await c.run(`DELETE ${folder}`)
    await c.logout()
    return {single: median(single), multi: median(multi), catenate: median(catenate)}
  } finally {
    c.destroy()
  }
}

export async function benchAppend(mbx: Target, dov: Target | undefined): Promise<void> {
  const run = async (t: Target | undefined) => {
    if (!t) return 'skipped (no peer)'
    try {
      return await appendFigures(t)
    } catch (err) {
      return `failed: ${(err as Error).message}`
    }
  }
  const m = await run(mbx)
  const d = await run(dov)
  const fmt = (f: AppendFigures | string, key: keyof AppendFigures) => (typeof f === 'string' ? f : fig(f[key], 'ms', `(${((APPENDS * 1000) / f[key]).toFixed(0)} msgs/s)`, 1))
  const ratio = (key: keyof AppendFigures) => (typeof m === 'string' || typeof d === 'string' ? 'n/a' : higher(d[key] / m[key]))
  report('append', `APPEND of ${APPENDS} messages of ~0.7 KB into a fresh folder, one client; median of ${RUNS}`, {
    'one APPEND each (LITERAL+)': '',
    '  mailbox': fmt(m, 'single'),
    '  Dovecot': fmt(d, 'single'),
    '  speed mailbox / Dovecot': ratio('single'),
    'one MULTIAPPEND (RFC 3502)': '',
    '  mailbox ': fmt(m, 'multi'),
    '  Dovecot ': fmt(d, 'multi'),
    '  speed mailbox / Dovecot ': ratio('multi'),
    'CATENATE (URL + TEXT), one each': '',
    '  mailbox  ': fmt(m, 'catenate'),
    '  Dovecot  ': fmt(d, 'catenate'),
    '  speed mailbox / Dovecot  ': ratio('catenate'),
  })
}
