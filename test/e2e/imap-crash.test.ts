/**
 * Durability of what IMAP and POP3 acknowledge: several IMAP sessions stream APPEND, STORE and
 * EXPUNGE while the server is killed with SIGKILL mid-stream; after a restart every APPEND that
 * got its tagged OK is there with its bytes (unless its EXPUNGE was acknowledged too), every
 * acknowledged STORE is kept, every acknowledged EXPUNGE is gone. Then POP3: deletions
 * acknowledged by QUIT's +OK survive a SIGKILL right after it.
 */
import {describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir} from '../helpers/cli.js'
import {RawImap} from './imap-helpers.js'
import {RawPop3} from './pop3-helpers.js'

const alice = {address: 'alice@example.test', password: 'alice-pw'}

interface Acked {
  appended: Map<string, number>
  flagged: Set<string>
  /** an EXPUNGE was sent: it may have been committed even if the kill came before its OK */
  expunging: Set<string>
  expunged: Set<string>
}

const body = (subject: string) => `Subject: ${subject}\r\nFrom: load@example.net\r\n\r\n${subject} ${'y'.repeat(1500)}\r\n`

/** APPEND, then STORE every second message, EXPUNGE every third, until the connection dies */
async function imapLoad(port: number, tag: string, acked: Acked): Promise<void> {
  try {
    const c = await RawImap.login(port, alice)
    await c.command('SELECT INBOX')
    for (let n = 0; ; n++) {
      const subject = `${tag}-${n}`
      const r = await c.append('INBOX', body(subject), {nonSync: true})
      if (r.status !== 'OK') return
      const uid = Number(/APPENDUID \d+ (\d+)/.exec(r.text)![1])
      acked.appended.set(subject, uid)
      if (n % 2 === 0 && (await c.command(`UID STORE ${uid} +FLAGS.SILENT (\\Flagged)`)).status === 'OK') acked.flagged.add(subject)
      if (n % 3 === 0) {
        acked.expunging.add(subject)
        await c.command(`UID STORE ${uid} +FLAGS.SILENT (\\Deleted)`)
        if ((await c.command(`UID EXPUNGE ${uid}`)).status === 'OK') acked.expunged.add(subject)
      }
    }
  } catch {
    // the server was killed
  }
}

interface Listed {
  uid: number
  subject: string
  flags: string[]
}

describe('kill -9 while IMAP and POP3 clients change mail', () => {
  it('loses no acknowledged APPEND, STORE, EXPUNGE or POP3 deletion', {timeout: 90_000}, async () => {
    const dataDir = tempDataDir()
    expect((await runCli(['domain', 'add', 'example.test'], {dataDir})).code).toBe(0)
    expect((await runCli(['user', 'add', alice.address, '--password-stdin'], {dataDir, input: `${alice.password}\n`})).code).toBe(0)
    const acked: Acked = {appended: new Map(), flagged: new Set(), expunging: new Set(), expunged: new Set()}
    for (const [round, killAfterMs] of [[1, 100], [2, 350]] as const) {
      const port = await freePort()
      const served = await startServe(dataDir, ['--imap-port', String(port), '--allow-insecure-auth'])
      const start = acked.appended.size
      const loads = Array.from({length: 4}, (_, i) => imapLoad(port, `r${round}c${i}`, acked))
      while (acked.appended.size < start + 20) await new Promise((r) => setTimeout(r, 5))
      await new Promise((r) => setTimeout(r, killAfterMs))
      served.child.kill('SIGKILL')
      expect(await served.exited).toBe('SIGKILL')
      await Promise.all(loads)
    }

    const listed = await runJson<Listed[]>(['message', 'list', alice.address], {dataDir})
    const bySubject = new Map(listed.map((m) => [m.subject, m]))
    const lost = [...acked.appended.keys()].filter((s) => !acked.expunging.has(s) && !bySubject.has(s))
    expect(lost, `${lost.length} of ${acked.appended.size} acknowledged APPENDs lost`).toEqual([])
    for (const s of acked.expunged) expect(bySubject.has(s), `${s} was expunged`).toBe(false)
    for (const s of acked.flagged) if (!acked.expunging.has(s)) expect(bySubject.get(s)!.flags).toContain('\\Flagged')
    for (const [s, uid] of acked.appended) if (bySubject.has(s)) expect(bySubject.get(s)!.uid).toBe(uid)
    expect(acked.expunged.size).toBeGreaterThan(0)

    // POP3: DELE all, QUIT's +OK, SIGKILL at once: the deletions are durable
    const pop3Port = await freePort()
    const served = await startServe(dataDir, ['--pop3-port', String(pop3Port), '--allow-insecure-auth'])
    const p = await RawPop3.open(pop3Port)
    expect(await p.login(alice.address, alice.password)).toMatch(/^\+OK/)
    const count = Number(/^\+OK (\d+)/.exec(await p.cmd('STAT'))![1])
    expect(count).toBe(listed.length)
    for (let n = 1; n <= count; n++) expect(await p.cmd(`DELE ${n}`)).toMatch(/^\+OK/)
    expect(await p.quit()).toMatch(/^\+OK/)
    served.child.kill('SIGKILL')
    await served.exited
    expect(await runJson<Listed[]>(['message', 'list', alice.address], {dataDir})).toEqual([])
  })
})
