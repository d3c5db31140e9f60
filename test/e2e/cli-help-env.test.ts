/**
 * Help output and where the data dir comes from (--data-dir, MAILBOX_DATA_DIR), run as a user
 * would run the installed binary.
 */
import {resolve} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {ok} from './fixtures.js'

describe('help', () => {
  it('mailbox --help lists the topics and top-level commands', async () => {
    const r = await runCli(['--help'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/USAGE\s+\$ mailbox \[COMMAND\]/)
    for (const topic of ['domain', 'user', 'alias', 'folder']) expect(r.stdout).toMatch(new RegExp(`^\\s+${topic}\\s+\\S`, 'm'))
    for (const command of ['init', 'serve', 'status']) expect(r.stdout).toMatch(new RegExp(`^\\s+${command}\\s+\\S`, 'm'))
    expect(r.stderr).toBe('')
  })

  it('mailbox user --help lists every user command', async () => {
    const r = await runCli(['user', '--help'])
    expect(r.code, r.stderr).toBe(0)
    for (const cmd of ['add', 'disable', 'enable', 'export', 'import', 'list', 'passwd', 'remove', 'show']) expect(r.stdout).toMatch(new RegExp(`^\\s+user ${cmd}\\s+\\S`, 'm'))
  })

  it('mailbox user add --help documents --password-stdin, --quota and the data dir', async () => {
    const r = await runCli(['user', 'add', '--help'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/\$ mailbox user add ADDRESS/)
    expect(r.stdout).toMatch(/--password-stdin\s+Read the password from the first line of stdin/)
    expect(r.stdout).toMatch(/--quota=<value>/)
    expect(r.stdout).toMatch(/--data-dir=<value>.*env: MAILBOX_DATA_DIR/s)
    expect(r.stdout).toMatch(/--json/)
  })
})

describe('data dir selection', () => {
  it('MAILBOX_DATA_DIR works instead of --data-dir, and --data-dir wins over it', async () => {
    const dataDir = tempDataDir()
    const other = tempDataDir()
    const env = {MAILBOX_DATA_DIR: dataDir}
    const add = await runCli(['domain', 'add', 'example.com'], {env})
    expect(add.code, add.stderr).toBe(0)
    const user = await runCli(['user', 'add', 'alice@example.com', '--password-stdin'], {env, input: 'pw\n'})
    expect(user.code, user.stderr).toBe(0)
    expect((await runJson(['user', 'list'], {dataDir})).map((u: {address: string}) => u.address)).toEqual(['alice@example.com'])

    const status = await runCli(['status', '--json'], {env})
    expect(status.code, status.stderr).toBe(3) // not running
    expect(JSON.parse(status.stdout)).toMatchObject({running: false, dataDir: resolve(dataDir), counts: {domains: 1, users: 1}})

    // --data-dir wins: the other dir has no store, and says so (cli-data-dir.test.ts)
    const overridden = await runCli(['domain', 'list', '--json', '--data-dir', other], {env})
    expect(overridden.code).toBe(1)
    expect(overridden.stderr).toContain(`no mailbox store in ${other}`)
  })

  it('commands run cleanly with NODE_ENV=development (a common shell setting): no oclif warnings on stderr', async () => {
    // With NODE_ENV development/test, oclif looks for the TypeScript sources of the installed
    // commands and prints one "Could not find source for …" warning per command to stderr.
    const dataDir = tempDataDir()
    await ok(['domain', 'add', 'example.com'], dataDir)
    const r = await runCli(['domain', 'list', '--json'], {dataDir, env: {NODE_ENV: 'development'}})
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).map((d: {name: string}) => d.name)).toEqual(['example.com'])
    expect(r.stderr).toBe('')
  })
})
