import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {acquirePidLock, pidFile, readPid} from '../../src/pidlock.js'

const dirs: string[] = []
const children: ChildProcess[] = []
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'mbx-pid-'))
  dirs.push(d)
  return d
}
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  for (const d of dirs) rmSync(d, {recursive: true, force: true})
})

async function livePid(): Promise<number> {
  const child = spawn('sleep', ['30'], {stdio: 'ignore'})
  children.push(child)
  await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject))
  return child.pid!
}

async function deadPid(): Promise<number> {
  const child = spawn('true', [], {stdio: 'ignore'})
  const pid = child.pid!
  await new Promise((resolve) => child.once('exit', resolve))
  return pid
}

describe('pid lock', () => {
  it('acquire writes our pid (mode 0600) and release removes the file', () => {
    const dir = tempDir()
    const release = acquirePidLock(dir)
    expect(pidFile(dir)).toBe(join(dir, 'serve.pid'))
    expect(readFileSync(pidFile(dir), 'utf8')).toBe(`${process.pid}\n`)
    expect(readPid(dir)).toBe(process.pid)
    expect(statSync(pidFile(dir)).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['serve.pid']) // no temp file left behind
    release()
    expect(existsSync(pidFile(dir))).toBe(false)
    expect(readPid(dir)).toBeUndefined()
  })

  it('a second acquire while a live foreign process holds the lock fails with locked', async () => {
    const dir = tempDir()
    const pid = await livePid()
    writeFileSync(pidFile(dir), `${pid}\n`)
    let err: unknown
    try {
      acquirePidLock(dir)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(MailboxError)
    expect((err as MailboxError).code).toBe('locked')
    expect((err as MailboxError).message).toContain(`pid ${pid}`)
    expect(readPid(dir)).toBe(pid) // the holder's file is untouched
    expect(readdirSync(dir)).toEqual(['serve.pid'])
  })

  it('a stale pid file (process gone) is taken over', async () => {
    const dir = tempDir()
    const pid = await deadPid()
    writeFileSync(pidFile(dir), `${pid}\n`)
    const release = acquirePidLock(dir)
    expect(readPid(dir)).toBe(process.pid)
    release()
    expect(existsSync(pidFile(dir))).toBe(false)
  })

  it('a pid file with garbage is taken over', () => {
    const dir = tempDir()
    writeFileSync(pidFile(dir), 'not a pid\n')
    const release = acquirePidLock(dir)
    expect(readPid(dir)).toBe(process.pid)
    release()
  })

  it('release leaves the file alone when another process has taken it over', async () => {
    const dir = tempDir()
    const release = acquirePidLock(dir)
    const other = await livePid()
    writeFileSync(pidFile(dir), `${other}\n`)
    release()
    expect(readPid(dir)).toBe(other)
  })

  it('after release another acquire succeeds', () => {
    const dir = tempDir()
    acquirePidLock(dir)()
    const again = acquirePidLock(dir)
    expect(readPid(dir)).toBe(process.pid)
    again()
  })

  it.each([
    ['missing file', undefined],
    ['0', undefined],
    ['-12', undefined],
    ['1.5', undefined],
    ['abc', undefined],
    ['', undefined],
    ['  4321 \n', 4321],
  ])('readPid of %j → %s', (content, expected) => {
    const dir = tempDir()
    if (content !== 'missing file') writeFileSync(pidFile(dir), content)
    expect(readPid(dir)).toBe(expected)
  })
})
