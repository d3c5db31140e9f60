/**
 * The interactive password prompt: when stdin is a terminal, `user add` / `user passwd` ask twice
 * and the terminal must not echo what is typed. Driven through a real pseudo-terminal (Python's
 * pty module), answering each prompt only once it has appeared, as a person would.
 */
import {spawn, spawnSync} from 'node:child_process'
import {beforeAll, describe, expect, it} from 'vitest'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {BIN, runJson, tempDataDir} from '../helpers/cli.js'
import {addUser, ok, passwordHashOf} from './fixtures.js'

const hasPython = spawnSync('python3', ['-c', 'import pty'], {stdio: 'ignore'}).status === 0

/** Runs argv on a pty; writes answers[i] once the (i+1)-th "password:" prompt has been printed. */
const DRIVER = String.raw`
import json, os, pty, select, sys, time
argv, answers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
out, sent, deadline = b'', 0, time.time() + 20
while True:
    if time.time() > deadline:
        os.kill(pid, 9)
        break
    ready, _, _ = select.select([fd], [], [], 0.05)
    if ready:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        out += data
    if sent < len(answers) and out.lower().count(b'password:') > sent:
        time.sleep(0.1)  # as a person would: after the prompt is shown
        os.write(fd, answers[sent].encode())
        sent += 1
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({'code': os.waitstatus_to_exitcode(status), 'output': out.decode('utf-8', 'replace'), 'sent': sent}))
`

interface PtyResult {
  code: number
  output: string
  sent: number
}

function onPty(args: string[], answers: string[]): Promise<PtyResult> {
  const argv = [process.execPath, BIN, ...args]
  const child = spawn('python3', ['-c', DRIVER, JSON.stringify(argv), JSON.stringify(answers)], {env: {...process.env, NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d) => (stdout += d))
  child.stderr.on('data', (d) => (stderr += d))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`pty driver exited ${code}: ${stderr}`))
      resolve(JSON.parse(stdout) as PtyResult)
    })
  })
}

describe.skipIf(missingOutsideCi(hasPython))('interactive password prompt (pty)', () => {
  beforeAll(() => requireInCi(hasPython, 'python3 with its pty module is needed'))
  it('user add prompts twice without echo and stores the password', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    const r = await onPty(['user', 'add', 'carol@example.com', '--data-dir', dataDir], ['secret\r', 'secret\r'])
    expect(r.code, r.output).toBe(0)
    expect(r.sent).toBe(2)
    expect(r.output).toMatch(/Password: [^]*Retype password: [^]*added user carol@example\.com/)
    expect(r.output).not.toContain('secret')
    expect((await runJson(['user', 'list'], {dataDir})).map((u: {address: string}) => u.address)).toEqual(['carol@example.com'])
    const argon2 = (await import('argon2')).default
    expect(await argon2.verify((await passwordHashOf(dataDir, 'carol@example.com'))!, 'secret')).toBe(true)
  })

  it('user passwd prompts the same way; typed backspaces edit the password', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    await addUser(dataDir, 'carol@example.com')
    const before = await passwordHashOf(dataDir, 'carol@example.com')
    const r = await onPty(['user', 'passwd', 'carol@example.com', '--data-dir', dataDir], ['n3w-pass\r', 'n3w-pasX\x7fs\r'])
    expect(r.code, r.output).toBe(0)
    expect(r.output).toContain('password changed for carol@example.com')
    expect(r.output).not.toMatch(/n3w/)
    const after = (await passwordHashOf(dataDir, 'carol@example.com'))!
    expect(after).not.toBe(before)
    const argon2 = (await import('argon2')).default
    expect(await argon2.verify(after, 'n3w-pass')).toBe(true)
  })

  it('different answers to the two prompts are refused and add no user', async () => {
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    const r = await onPty(['user', 'add', 'carol@example.com', '--data-dir', dataDir], ['secret\r', 'other\r'])
    expect(r.code).toBe(1)
    expect(r.output).toMatch(/\r?\nError: passwords do not match\r?\n?$/)
    expect(r.output).not.toMatch(/secret|other/)
    expect(await runJson(['user', 'list'], {dataDir})).toEqual([])
  })
})
