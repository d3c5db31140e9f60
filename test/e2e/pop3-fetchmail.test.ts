/**
 * fetchmail (the Debian package) against a real `serve`: it retrieves every message of a user
 * through an MDA that writes one file per message — first over POP3 with STLS keeping the mail
 * on the server, then over POP3S with --nokeep --all, after which the server's INBOX is empty.
 * HOME and FETCHMAILHOME point into a temp dir, so fetchmail leaves nothing behind.
 */
import {spawn} from 'node:child_process'
import {chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync} from 'node:fs'
import {userInfo} from 'node:os'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {freePorts, listMessages, setupUsers} from './smtp-helpers.js'
import {message, smtpDeliver} from './pop3-helpers.js'

const FETCHMAIL = 'fetchmail'
const hasFetchmail = onPath(FETCHMAIL)
const COUNT = 6

let dataDir: string
let home: string
let served: Served
let smtp: number, pop3: number, pop3s: number

beforeAll(async () => {
  requireInCi(hasFetchmail, 'fetchmail is needed on PATH')
  if (!hasFetchmail) return
  dataDir = tempDataDir()
  home = join(dirname(dataDir), 'home')
  mkdirSync(home)
  ;[smtp, pop3, pop3s] = await freePorts(3)
  await setupUsers(dataDir, ['example.com'], [{address: 'frank@example.com', password: 'frank-pw'}])
  served = await startServe(dataDir, ['--smtp-port', String(smtp), '--pop3-port', String(pop3), '--pop3s-port', String(pop3s)])
  const messages = Array.from({length: COUNT}, (_, i) => message(`fetch ${i + 1}`, i === 0 ? '.first\r\n..second\r\nplain\r\n' : `body ${i + 1}\r\n`))
  await smtpDeliver(smtp, 'frank@example.com', messages)
})

afterAll(async () => {
  await served?.stop()
})

/** Writes an rc file (mode 0600, as fetchmail insists) and an MDA script storing each message in `out/`; runs fetchmail. */
async function fetchmail(name: string, port: number, tls: string, args: string[] = []): Promise<{code: number; output: string; files: string[]}> {
  const out = join(home, name)
  mkdirSync(out)
  const mda = join(home, `${name}-mda.sh`)
  writeFileSync(mda, `#!/bin/sh\nf=$(mktemp "${out}/msg.XXXXXX") && cat > "$f"\n`)
  chmodSync(mda, 0o755)
  const rc = join(home, `${name}.rc`)
  writeFileSync(
    rc,
    `set no bouncemail\npoll 127.0.0.1 protocol pop3 port ${port} auth password timeout 20\n` +
      `  user "frank@example.com" there with password "frank-pw" is "${userInfo().username}" here\n` +
      `  ${tls}\n  mda "${mda}"\n`,
    {mode: 0o600},
  )
  const child = spawn(FETCHMAIL, ['-f', rc, '--nosyslog', '-v', ...args], {
    env: {...process.env, HOME: home, FETCHMAILHOME: home, LC_ALL: 'C'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), 25_000)
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)))
  clearTimeout(timer)
  return {code, output, files: readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8'))}
}

const subjects = (files: string[]) => files.map((f) => /^Subject: (.*)$/m.exec(f)?.[1]).sort()
const expected = Array.from({length: COUNT}, (_, i) => `fetch ${i + 1}`).sort()

describe.skipIf(missingOutsideCi(hasFetchmail))('fetchmail → serve', () => {
  it('POP3 with STLS, keep: every message arrives intact and stays on the server', async () => {
    const r = await fetchmail('keep', pop3, `sslproto 'tls1.2+' no sslcertck`, ['--keep'])
    expect(r.code, r.output).toBe(0)
    expect(r.output).toContain('upgrade to TLS succeeded')
    expect(r.output).toContain(`${COUNT} messages for frank@example.com`)
    expect(subjects(r.files)).toEqual(expected)
    const dots = r.files.find((f) => f.includes('Subject: fetch 1\n'))!
    expect(dots).toContain('\n\n.first\n..second\nplain\n')
    const left = await listMessages(dataDir, 'frank@example.com')
    expect(left).toHaveLength(COUNT)
    expect(left.every((m) => m.flags.includes('\\Seen'))).toBe(true)
  })

  it('POP3S with --nokeep --all: every message arrives and the server deletes them all', async () => {
    const r = await fetchmail('nokeep', pop3s, 'ssl no sslcertck', ['--nokeep', '--all'])
    expect(r.code, r.output).toBe(0)
    expect(subjects(r.files)).toEqual(expected)
    expect(r.output).toMatch(/POP3< \+OK .*\(maildrop empty\)/)
    expect(await listMessages(dataDir, 'frank@example.com')).toEqual([])
  })
})
