/**
 * `mailbox serve` and `mailbox status` as processes: the control socket, the one-serve-per-data-dir
 * lock, CLI commands next to a running server, graceful stop on SIGTERM/SIGINT, recovery after
 * kill -9, and a store from a newer mailbox refused by every command.
 */
import {spawn} from 'node:child_process'
import {existsSync, readFileSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {pathToFileURL} from 'node:url'
import {describe, expect, it} from 'vitest'
import {BIN, runCli, runJson, startServe, tempDataDir} from '../helpers/cli.js'
import {addUser, expectOneLineError, giveMail, ok, RAW_MESSAGE, setSchemaVersion} from './fixtures.js'

const PORTS_OFF = ['smtp', 'submission', 'smtps', 'imap', 'imaps', 'pop3', 'pop3s', 'matcher'].flatMap((p) => [`--${p}-port`, '0'])
const sock = (dataDir: string) => join(dataDir, 'control.sock')
const pidFile = (dataDir: string) => join(dataDir, 'serve.pid')
const QUEUE_STATES = ['queued', 'sending', 'deferred', 'held', 'delivered', 'failed']

function expectEmptyQueue(queue: Record<string, number>): void {
  expect(Object.keys(queue)).toEqual(expect.arrayContaining(QUEUE_STATES))
  for (const n of Object.values(queue)) expect(n).toBe(0)
}

/** `status --json` of a data dir without a running server: exit 3 (LSB "not running"), the JSON still printed */
async function statusNotRunning(dataDir: string) {
  const r = await runCli(['status', '--json'], {dataDir})
  expect(r.code, r.stderr).toBe(3)
  return JSON.parse(r.stdout)
}

/** Waits for a process started by runCli-like means to exit, failing instead of hanging forever. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms))])
}

describe('mailbox serve', () => {
  it('status reports the live server; CLI commands work next to it; a second serve is refused; SIGTERM stops it cleanly', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    const served = await startServe(dataDir)

    const status = await runJson(['status'], {dataDir})
    expect(status).toMatchObject({running: true, pid: served.pid, dataDir: resolve(dataDir)})
    expect(typeof status.version).toBe('string')
    expect(typeof status.hostname).toBe('string')
    expect(status.startedAt).toBeLessThanOrEqual(Date.now())
    expect(status.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(status.listeners).toContainEqual({name: 'control', address: resolve(sock(dataDir))})
    expect(status.counts).toMatchObject({domains: 1, users: 0, aliases: 0, folders: 0, messages: 0, messageBytes: 0})
    expectEmptyQueue(status.counts.queue)

    const st = statSync(sock(dataDir))
    expect(st.isSocket()).toBe(true)
    expect((st.mode & 0o777).toString(8)).toBe('600')
    expect(readFileSync(pidFile(dataDir), 'utf8').trim()).toBe(String(served.pid))

    // a second process writes to the store while serve holds it open
    const add = await runCli(['user', 'add', 'alice@example.com', '--password-stdin'], {dataDir, input: 'pw\n'})
    expect(add.code, add.stderr).toBe(0)
    expect((await runJson(['user', 'list'], {dataDir})).map((u: {address: string}) => u.address)).toEqual(['alice@example.com'])
    const live = await runJson(['status'], {dataDir})
    expect(live.pid).toBe(served.pid)
    expect(live.counts).toMatchObject({domains: 1, users: 1, folders: 6})

    // one serve per data dir: the second names the first, and the first keeps running
    const second = await within(runCli(['serve', ...PORTS_OFF], {dataDir}), 15_000, 'second serve')
    expect(second.code).not.toBe(0)
    expectOneLineError(second, new RegExp(`another mailbox serve \\(pid ${served.pid}\\)`))
    expect(readFileSync(pidFile(dataDir), 'utf8').trim()).toBe(String(served.pid))
    expect(existsSync(sock(dataDir))).toBe(true)
    const still = await runJson(['status'], {dataDir})
    expect(still).toMatchObject({running: true, pid: served.pid})

    expect(await served.stop('SIGTERM')).toBe(0)
    expect(served.output()).toMatch(/"signal":"SIGTERM","msg":"shutting down"/)
    expect(served.output()).toContain('"msg":"mailbox stopped"')
    expect(existsSync(pidFile(dataDir))).toBe(false)
    expect(existsSync(sock(dataDir))).toBe(false)
    const after = await statusNotRunning(dataDir)
    expect(after).toMatchObject({running: false, counts: {domains: 1, users: 1}})
  })

  it('SIGINT stops serve with exit code 0 and removes serve.pid and control.sock', async () => {
    const dataDir = tempDataDir()
    const served = await startServe(dataDir)
    expect(await runJson(['status'], {dataDir})).toMatchObject({running: true, pid: served.pid})
    expect(await served.stop('SIGINT')).toBe(0)
    expect(served.output()).toMatch(/"signal":"SIGINT","msg":"shutting down"/)
    expect(served.output()).toContain('"msg":"mailbox stopped"')
    expect(existsSync(pidFile(dataDir))).toBe(false)
    expect(existsSync(sock(dataDir))).toBe(false)
    expect((await statusNotRunning(dataDir)).running).toBe(false)
  })

  it('a SIGTERM sent as soon as "mailbox started" is logged still stops serve gracefully', async () => {
    // "mailbox started" is the readiness line supervisors and startServe() wait for. A process
    // can be descheduled right after writing it; this preload makes that happen every time (it
    // stalls 300 ms after the line is written) instead of on a loaded machine only.
    const dataDir = tempDataDir()
    const preload = join(dirname(dataDir), 'stall-after-ready.mjs')
    writeFileSync(
      preload,
      `const write = process.stdout.write.bind(process.stdout)
process.stdout.write = (chunk, ...rest) => {
  const result = write(chunk, ...rest)
  if (String(chunk).includes('"msg":"mailbox started"')) { const end = Date.now() + 300; while (Date.now() < end); }
  return result
}
`,
    )
    const child = spawn(process.execPath, ['--import', pathToFileURL(preload).href, BIN, 'serve', '--data-dir', dataDir, ...PORTS_OFF], {
      env: {...process.env, NO_COLOR: '1'},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    try {
      const exited = new Promise<number | string>((res) => child.on('exit', (code, signal) => res(code ?? signal ?? -1)))
      let out = ''
      await within(
        new Promise<void>((res) =>
          child.stdout.on('data', (d) => {
            out += d
            if (out.includes('"msg":"mailbox started"')) res()
          }),
        ),
        15_000,
        'serve start',
      )
      child.kill('SIGTERM')
      expect(await within(exited, 15_000, 'serve stop'), out).toBe(0)
      expect(existsSync(pidFile(dataDir))).toBe(false)
    } finally {
      child.kill('SIGKILL')
    }
  })

  it('after kill -9 the stale serve.pid and socket do not stop status or a new serve', async () => {
    const dataDir = tempDataDir()
    const first = await startServe(dataDir)
    expect(await first.stop('SIGKILL')).toBe('SIGKILL')
    expect(readFileSync(pidFile(dataDir), 'utf8').trim()).toBe(String(first.pid))
    expect(existsSync(sock(dataDir))).toBe(true)

    const status = await statusNotRunning(dataDir)
    expect(status).toMatchObject({running: false, dataDir: resolve(dataDir)})

    const second = await startServe(dataDir)
    expect(second.pid).not.toBe(first.pid)
    expect(readFileSync(pidFile(dataDir), 'utf8').trim()).toBe(String(second.pid))
    expect(await runJson(['status'], {dataDir})).toMatchObject({running: true, pid: second.pid})
    expect(await second.stop('SIGTERM')).toBe(0)
    expect(existsSync(pidFile(dataDir))).toBe(false)
  })

  it('status without a server: running false and the store counts, exit 3 (not running) with and without --json', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    await addUser(dataDir, 'alice@example.com')
    await ok(['alias', 'add', 'sales@example.com', 'alice@example.com'], dataDir)
    await giveMail(dataDir, 'alice@example.com', 'INBOX', 2)
    const status = await statusNotRunning(dataDir)
    expect(Object.keys(status).sort()).toEqual(['counts', 'dataDir', 'running'])
    expect(status).toEqual({
      running: false,
      dataDir: resolve(dataDir),
      counts: {domains: 1, users: 1, aliases: 1, folders: 6, messages: 2, messageBytes: 2 * Buffer.byteLength(RAW_MESSAGE), queue: expect.any(Object)},
    })
    expectEmptyQueue(status.counts.queue)
    const human = await runCli(['status'], {dataDir})
    expect(human.code, human.stderr).toBe(3)
    expect(human.stdout).toMatch(/^server:\s+not running$/m)
    expect(human.stdout).toMatch(/^users:\s+1 \(aliases 1\)$/m)
  })

  it('a store written by a newer mailbox (schema 99) is refused by every command, serve included', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    await setSchemaVersion(dataDir, 99)
    const newer = /schema version 99, newer than this mailbox understands/
    expectOneLineError(await runCli(['domain', 'list', '--json'], {dataDir}), newer)
    expectOneLineError(await runCli(['status'], {dataDir}), newer)
    expectOneLineError(await runCli(['user', 'add', 'bob@example.com', '--password-stdin'], {dataDir, input: 'pw\n'}), newer)
    expectOneLineError(await within(runCli(['serve', ...PORTS_OFF], {dataDir}), 15_000, 'serve on a newer store'), newer)
    // the failed serve let go of the data dir
    expect(existsSync(pidFile(dataDir))).toBe(false)
    expect(existsSync(sock(dataDir))).toBe(false)
  })
})
