/**
 * Start-up of the commands that only read (issue 15: `user list` under 120 ms from the binary):
 * they must not load what they never run. Every store open runs the schema migrations, which
 * reach MIME analysis (libmime, its Japanese charset tables) and DKIM key generation
 * (node:crypto); the directory reaches password hashing (argon2 and its native add-on). Each is
 * loaded at its first use now (src/lazy-require.ts, dynamic import in src/auth/password.ts).
 * semver (~50 files) is what @oclif/core's own Node engine check loads: bin/mailbox turns it off.
 * Probed in the real `bin/mailbox` with a preload that reports, at exit, which of them the
 * process loaded; `user add` is the control that the probe sees them.
 * (The single executable: test/e2e/sea-smoke.test.ts checks its add-on cache after `user list`.)
 */
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {connect} from 'node:net'
import {freePort, runCli, startServe, tempDataDir} from '../helpers/cli.js'
import {until} from '../helpers/until.js'

const dir = mkdtempSync(join(tmpdir(), 'mbx-startup-'))
const probe = join(dir, 'probe.mjs')
const MARK = 'LOADED '
const THREAD_MARK = 'MAIL-AUTH THREAD'
let dataDir: string

beforeAll(async () => {
  writeFileSync(
    probe,
    `import {createRequire} from 'node:module'
import {writeSync} from 'node:fs'
import {isMainThread, workerData} from 'node:worker_threads'
// a mail-auth thread (its workerData is the DNS set-up, src/mail-auth/verifier-pool.ts) says so as it starts
if (!isMainThread && workerData && typeof workerData === 'object' && 'budgetMs' in workerData) writeSync(2, ${JSON.stringify(THREAD_MARK)} + '\\n')
const cache = createRequire(import.meta.url).cache
if (isMainThread) process.on('exit', () => {
  const cjs = Object.keys(cache).filter((f) => /[\\\\/]node_modules[\\\\/](libmime|encoding-japanese|argon2|semver|mailauth|selfsigned|mailparser|prom-client|acme-client|axios)[\\\\/]/.test(f)).map((f) => f.match(/node_modules[\\\\/]([^\\\\/]+)/)[1])
  const builtins = process.moduleLoadList.filter((m) => m === 'NativeModule crypto').map(() => 'node:crypto')
  writeSync(2, ${JSON.stringify(MARK)} + JSON.stringify([...new Set([...cjs, ...builtins])].sort()) + '\\n')
})
`,
  )
  dataDir = tempDataDir()
  for (const args of [['domain', 'add', 'example.com'], ['user', 'add', 'alice@example.com', '--password-stdin']]) {
    const r = await runCli(args, {dataDir, input: 'alice-pw\n'})
    expect(r.code, r.stderr).toBe(0)
  }
})

afterAll(() => rmSync(dir, {recursive: true, force: true}))

const loadedIn = (stderr: string): string[] => {
  const line = stderr.split('\n').find((l) => l.startsWith(MARK))
  expect(line, stderr).toBeDefined()
  return JSON.parse(line!.slice(MARK.length)) as string[]
}

/** what `mailbox ARGS` loaded of the heavy modules, and its result */
async function loadedBy(args: string[], input?: string): Promise<string[]> {
  const r = await runCli(args, {dataDir, input, env: {NODE_OPTIONS: `--import=${probe}`}})
  expect(r.code, r.stderr).toBe(0)
  return loadedIn(r.stderr)
}

describe('start-up of the reading commands', () => {
  it('`user list` and `user show` load neither libmime, argon2, semver nor node:crypto', async () => {
    expect(await loadedBy(['user', 'list'])).toEqual([])
    expect(await loadedBy(['user', 'show', 'alice@example.com'])).toEqual([])
  })

  it('`sieve list` and `user vacation` (showing the state) load none of them either', async () => {
    expect(await loadedBy(['sieve', 'list', 'alice@example.com'])).toEqual([])
    expect(await loadedBy(['user', 'vacation', 'alice@example.com'])).toEqual([])
  })

  it('`queue list` and `config show` never load prom-client (only `serve --metrics-port` does) nor acme-client (only an order does)', async () => {
    expect(await loadedBy(['queue', 'list'])).not.toContain('prom-client')
    expect(await loadedBy(['config', 'show'])).not.toContain('prom-client')
    expect(await loadedBy(['config', 'show'])).not.toContain('acme-client')
  })

  it('`user add` loads argon2 when it hashes (the probe sees it)', async () => {
    expect(await loadedBy(['user', 'add', 'bob@example.com', '--password-stdin'], 'bob-pw\n')).toContain('argon2')
  })
})

/**
 * `serve`'s own thread: the mail-auth threads verify inbound mail with mailauth (and its BIMI stack,
 * ~400 files); the front-end only writes the header (src/mail-auth/results-header.ts). selfsigned
 * (an X.509 stack) makes the certificate of a first start, and no start after. mailparser (SEARCH
 * BODY's text, the matcher) and libmime (header words, that header's folding) wait for their first
 * use. Together they were 60% of a start's CPU.
 */
describe('start-up of serve', () => {
  it('loads none of mailauth, mailparser, libmime, argon2 or acme-client (ACME off); selfsigned in the first start alone', async () => {
    const dataDir = tempDataDir()
    const first = await startServe(dataDir, [], 30_000, {NODE_OPTIONS: `--import=${probe}`})
    expect(await first.stop()).toBe(0)
    expect(loadedIn(first.errors()).filter((m) => m !== 'node:crypto')).toEqual(['selfsigned'])
    const again = await startServe(dataDir, [], 30_000, {NODE_OPTIONS: `--import=${probe}`})
    expect(await again.stop()).toBe(0)
    expect(loadedIn(again.errors()).filter((m) => m !== 'node:crypto')).toEqual([])
  })

  it('starts its mail-auth thread at the first SMTP connection, not at start', async () => {
    const port = await freePort()
    const served = await startServe(dataDir, ['--smtp-port', String(port)], 30_000, {NODE_OPTIONS: `--import=${probe}`})
    const threads = () => served.errors().split('\n').filter((l) => l === THREAD_MARK).length
    try {
      // a whole CLI round trip to the running server: far longer than a thread takes to come up
      const status = await runCli(['status', '--json'], {dataDir})
      expect(status.code, status.stderr).toBe(0)
      expect(threads()).toBe(0)
      const client = connect(port, '127.0.0.1')
      await new Promise((resolve) => client.once('data', resolve))
      await until(() => threads() === 1, 10_000)
      client.destroy()
    } finally {
      expect(await served.stop()).toBe(0)
    }
    expect(threads()).toBe(1)
  })
})
