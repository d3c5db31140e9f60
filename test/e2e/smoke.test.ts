import {describe, expect, it} from 'vitest'
import {runCli, runJson, startServe, tempDataDir} from '../helpers/cli.js'

describe('mailbox smoke', () => {
  it('serve starts, status sees it live, and a user added meanwhile is listed', async () => {
    const dataDir = tempDataDir()
    const served = await startServe(dataDir)
    const status = await runJson(['status'], {dataDir})
    expect(status.running).toBe(true)
    expect(status.pid).toBe(served.pid)
    expect((await runCli(['domain', 'add', 'example.com'], {dataDir})).code).toBe(0)
    const add = await runCli(['user', 'add', 'alice@example.com', '--password-stdin'], {dataDir, input: 'pw\n'})
    expect(add.code, add.stderr).toBe(0)
    const users = await runJson(['user', 'list'], {dataDir})
    expect(users.map((u: {address: string}) => u.address)).toEqual(['alice@example.com'])
    expect(await served.stop('SIGTERM')).toBe(0)
  })
})
