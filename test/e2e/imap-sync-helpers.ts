/**
 * Private helpers of the Python imaplib and mbsync suites: a served data dir with one IMAP user,
 * Python scripts run from files with a JSON result, a snapshot of a user's folders taken through
 * IMAP, and mbsync (isync) runs against a temp HOME. Every process started here is killed and
 * every temp dir removed when the test file ends.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {atFileEnd} from '../helpers/file-end.js'
import {freePorts, RawSmtp, setupUsers} from './smtp-helpers.js'

export const USER = 'alice@example.test'
export const PASSWORD = 'secret'

const children = new Set<ChildProcess>()
const dirs = new Set<string>()
atFileEnd(() => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  dirs.clear()
})

/** A temp dir of its own (not the data dir), removed after the test file. */
export function tempDir(prefix = 'mbx-sync-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  dirs.add(dir)
  return dir
}

export interface SyncServer {
  dataDir: string
  served: Served
  imap: number
  imaps: number
  smtp: number
  stop(): Promise<void>
}

/** `domain add example.test`, `user add alice@example.test`, then `serve` with IMAP, IMAPS and SMTP (plaintext auth allowed). */
export async function startSyncServer(): Promise<SyncServer> {
  const dataDir = tempDataDir()
  const [imap, imaps, smtp] = (await freePorts(3)) as [number, number, number]
  await setupUsers(dataDir, ['example.test'], [{address: USER, password: PASSWORD}])
  const served = await startServe(dataDir, ['--imap-port', String(imap), '--imaps-port', String(imaps), '--smtp-port', String(smtp), '--allow-insecure-auth'])
  return {
    dataDir,
    served,
    imap,
    imaps,
    smtp,
    stop: async () => {
      await served.stop()
    },
  }
}

export interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Runs a program to completion (killed after `timeoutMs`), collecting its output. */
export function run(file: string, args: string[], options: {env?: Record<string, string>; timeoutMs?: number; cwd?: string} = {}): Promise<Run> {
  const child = spawn(file, args, {env: {...process.env, LC_ALL: 'C', ...options.env}, stdio: ['ignore', 'pipe', 'pipe'], ...(options.cwd ? {cwd: options.cwd} : {})})
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
  return new Promise((resolve, reject) => {
    child.on('error', (err) => {
      clearTimeout(timer)
      children.delete(child)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      resolve({code: code ?? (signal ? -1 : -2), stdout, stderr})
    })
  })
}

let scriptDir: string | undefined

/**
 * Writes a Python 3 script to a temp file and runs it with `args`; it must print one JSON
 * document on stdout. Python's own `assert`s fail the test with their traceback.
 */
export async function python<T = any>(script: string, args: (string | number)[] = []): Promise<T> {
  scriptDir ??= tempDir('mbx-py-')
  const file = join(scriptDir, `s${Math.random().toString(36).slice(2)}.py`)
  writeFileSync(file, script)
  const r = await run('python3', [file, ...args.map(String)], {env: {PYTHONIOENCODING: 'utf-8'}})
  if (r.code !== 0) throw new Error(`python exited ${r.code}:\n${r.stderr}\n${r.stdout}`)
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`python printed no JSON:\n${r.stdout}\n${r.stderr}`)
  }
}

/** Python prelude: `connect()` logs in over plaintext IMAP (argv[1] port, argv[2] user, argv[3] password). */
export const PY_PRELUDE = String.raw`
import imaplib, json, sys, base64, re
PORT, USER, PASS = int(sys.argv[1]), sys.argv[2], sys.argv[3]
def connect():
    M = imaplib.IMAP4('127.0.0.1', PORT, timeout=15)
    M.login(USER, PASS)
    return M
def ok(res):
    typ, data = res
    assert typ == 'OK', (typ, data)
    return data
`

export interface SnapshotMessage {
  uid: number
  flags: string[]
  raw: Buffer
}

/** every folder of the user: name → messages in UID order, with flags (\Recent left out) and raw bytes; fetched with BODY.PEEK */
export async function snapshot(server: SyncServer): Promise<Record<string, SnapshotMessage[]>> {
  const script =
    PY_PRELUDE +
    String.raw`
M = connect()
out = {}
for line in ok(M.list('""', '*')):
    m = re.match(rb'^\(([^)]*)\) "/" (?:"((?:[^"\\]|\\.)*)"|(\S+))$', line)
    assert m, line
    if b'\\Noselect' in m.group(1):
        continue
    name = (m.group(2) or m.group(3)).decode()
    count = int(ok(M.select('"%s"' % name, readonly=True))[0])
    msgs = []
    if count:
        data = ok(M.fetch('1:*', '(UID FLAGS BODY.PEEK[])'))
        for item in data:
            if not isinstance(item, tuple):
                continue
            head, body = item
            uid = int(re.search(rb'UID (\d+)', head).group(1))
            flags = re.search(rb'FLAGS \(([^)]*)\)', head).group(1).decode().split()
            msgs.append({'uid': uid, 'flags': sorted(f for f in flags if f != '\\Recent'), 'raw': base64.b64encode(body).decode()})
    out[name] = msgs
M.logout()
print(json.dumps(out))
`
  const raw = await python<Record<string, {uid: number; flags: string[]; raw: string}[]>>(script, [server.imap, USER, PASSWORD])
  return Object.fromEntries(Object.entries(raw).map(([name, msgs]) => [name, msgs.map((m) => ({...m, raw: Buffer.from(m.raw, 'base64')}))]))
}

/** the Subject of a raw message (first line only) */
export function subjectOf(raw: Buffer | string): string | undefined {
  return /^Subject: ([^\r\n]*)/im.exec(raw.toString())?.[1]
}

/** Delivers each message over one SMTP session to the MX port (the server adds Return-Path and Received). */
export async function smtpDeliver(port: number, to: string, messages: string[], from = 'sender@example.net'): Promise<void> {
  const smtp = await RawSmtp.open(port)
  await smtp.ehlo()
  for (const message of messages) {
    const mail = await smtp.cmd(`MAIL FROM:<${from}>`)
    const rcpt = await smtp.cmd(`RCPT TO:<${to}>`)
    if (mail.code !== 250 || rcpt.code !== 250) throw new Error(`SMTP refused: ${mail.raw} / ${rcpt.raw}`)
    const [, done] = await smtp.data(message)
    if (done?.code !== 250) throw new Error(`SMTP DATA refused: ${done?.raw}`)
  }
  await smtp.quit()
}

/** isync 1.5 renamed SSLType to TLSType; Debian bookworm ships 1.4.4 */
async function mbsyncTlsKeyword(): Promise<string> {
  const r = await run('mbsync', ['--version'])
  const m = /isync (\d+)\.(\d+)/.exec(r.stdout + r.stderr)
  if (!m) throw new Error(`unexpected mbsync --version: ${r.stdout} ${r.stderr}`)
  return Number(m[1]) > 1 || Number(m[2]) >= 5 ? 'TLSType' : 'SSLType'
}

/** the .mbsyncrc lines of an IMAP store `remote` on a loopback server without TLS */
export async function mbsyncRemote(port: number, user: string, password: string): Promise<string[]> {
  return [
    'IMAPAccount remote',
    'Host 127.0.0.1',
    `Port ${port}`,
    `User ${user}`,
    `Pass ${password}`,
    `${await mbsyncTlsKeyword()} None`,
    // the IMAP LOGIN command: needs no SASL plugin on the machine
    'AuthMechs LOGIN',
    '',
    'IMAPStore remote',
    'Account remote',
  ]
}
