/**
 * Test helpers that drive the real `bin/mailbox` (compiled by `npm test`'s tsc step) against
 * temporary data dirs, and make sure every process a test starts is gone when the file ends.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {storeEnv} from './backend.js'
import {startDns, type DnsServer} from './dns.js'
import {atFileEnd} from './file-end.js'

export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(ROOT, 'bin', 'mailbox')

/**
 * How the helpers run mailbox: `node bin/mailbox`, or, when MAILBOX_BIN names a single
 * executable (test/e2e/sea-smoke.test.ts sets it), that file with `env` added to its environment.
 * Read at each spawn, so a test file may set it in beforeAll.
 */
export function mailboxCommand(): {file: string; args: string[]; env: Record<string, string>} {
  const sea = process.env.MAILBOX_BIN
  if (!sea) return {file: process.execPath, args: [BIN], env: {}}
  return {file: sea, args: [], env: JSON.parse(process.env.MAILBOX_BIN_ENV ?? '{}') as Record<string, string>}
}

const children = new Set<ChildProcess>()
const dirs = new Set<string>()
/**
 * One loopback DNS server with no records per test file, the DNS of every `serve` not given its
 * own: the MX asks DNS about every message from outside (SPF, DKIM, DMARC), and tests must
 * neither leave loopback nor wait for the system's resolver. Every name is NXDOMAIN at once.
 */
let emptyDns: Promise<DnsServer> | undefined
atFileEnd(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  for (const dir of dirs) rmSync(dir, {recursive: true, force: true})
  dirs.clear()
  const dns = emptyDns
  emptyDns = undefined
  await (await dns)?.close()
})

/** A fresh temporary data dir, removed after the test file. Short path: unix socket paths max 107 bytes. */
export function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mbx-'))
  dirs.add(dir)
  return join(dir, 'data')
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * Runs `mailbox ARGS --data-dir DIR` to completion, on the data dir's store of the run's backend
 * (./backend.ts). `input` goes to stdin (closed after).
 */
export async function runCli(args: string[], options: {dataDir?: string; input?: string; env?: Record<string, string>} = {}): Promise<CliResult> {
  const argv = options.dataDir ? [...args, '--data-dir', options.dataDir] : args
  const store = options.dataDir ? await storeEnv(options.dataDir) : {}
  const mailbox = mailboxCommand()
  const child = spawn(mailbox.file, [...mailbox.args, ...argv], {env: {...process.env, NO_COLOR: '1', ...mailbox.env, ...store, ...options.env}, stdio: 'pipe'})
  children.add(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  child.stdin.end(options.input ?? '')
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      children.delete(child)
      resolve({code: code ?? -1, stdout, stderr})
    })
  })
}

/** runCli + JSON.parse of stdout, failing loudly with stderr when the command failed. */
export async function runJson<T = any>(args: string[], options: {dataDir?: string; input?: string} = {}): Promise<T> {
  const r = await runCli([...args, '--json'], options)
  if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as T
}

export interface Served {
  child: ChildProcess
  pid: number
  /** stdout so far (JSON log lines) */
  output(): string
  /** stderr so far */
  errors(): string
  /** sends a signal and waits for exit; resolves to the exit code (or signal name) */
  stop(signal?: NodeJS.Signals): Promise<number | string>
  exited: Promise<number | string>
}

/**
 * Starts `mailbox serve` (on the data dir's store of the run's backend, ./backend.ts) and resolves
 * once it logs "mailbox started". Protocol ports are off unless `args` turns them on (or
 * `options.defaultPorts` leaves them to serve's own defaults), so parallel test files never
 * collide on a port. DNS is the empty loopback server above unless
 * `args` names one (`--dns-server`).
 */
export async function startServe(
  dataDir: string,
  args: string[] = [],
  timeoutMs = 15_000,
  env: Record<string, string> = {},
  options: {defaultPorts?: string[]} = {},
): Promise<Served> {
  const portsOff = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'managesieve', 'matcher', 'http', 'https']
    .filter((p) => !args.includes(`--${p}-port`) && !options.defaultPorts?.includes(p))
    .flatMap((p) => [`--${p}-port`, '0'])
  const dns = args.includes('--dns-server') ? [] : ['--dns-server', `127.0.0.1:${(await (emptyDns ??= startDns({}))).port}`]
  const store = await storeEnv(dataDir)
  const mailbox = mailboxCommand()
  const child = spawn(mailbox.file, [...mailbox.args, 'serve', '--data-dir', dataDir, ...portsOff, ...dns, ...args], {
    env: {...process.env, NO_COLOR: '1', ...mailbox.env, ...store, ...env},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child)
      resolve(code ?? signal ?? -1)
    }),
  )
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within ${timeoutMs} ms:\n${out}\n${err}`)), timeoutMs)
    const check = () => {
      if (out.includes('"msg":"mailbox started"')) {
        clearTimeout(timer)
        resolve()
      }
    }
    child.stdout.on('data', check)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited (${code}) before starting:\n${out}\n${err}`))
    })
  })
  return {
    child,
    pid: child.pid!,
    output: () => out,
    errors: () => err,
    exited,
    stop: (signal = 'SIGTERM') => {
      child.kill(signal)
      return exited
    },
  }
}

export {freePort} from './ports.js'
