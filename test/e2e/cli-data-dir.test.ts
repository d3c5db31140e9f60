/**
 * The data directory (issue 13): a command that reads the store, pointed at a dir without one
 * (a typo in --data-dir), says so and exits 1 without creating anything there; only `serve` and
 * `domain add` create a store. MAILBOX_DATA_DIR means our data dir only: oclif, which reads
 * `<BIN>_DATA_DIR` as its own, never looks inside it (no ENOTDIR warning for a file path, and a
 * package.json planted there is not loaded as a plugin).
 */
import {existsSync, mkdirSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {expectOneLineError} from './fixtures.js'

const U = 'alice@example.com'
const MESSAGE = 'Subject: hi\n\nhello\n'

/** every command that reads or changes an existing store, with what it needs on stdin */
const READERS: {args: string[]; input?: string}[] = [
  {args: ['domain', 'list']},
  {args: ['domain', 'remove', 'example.com']},
  {args: ['user', 'list']},
  {args: ['user', 'show', U]},
  {args: ['user', 'add', U, '--password-stdin'], input: 'pw\n'},
  {args: ['user', 'passwd', U, '--password-stdin'], input: 'pw\n'},
  {args: ['user', 'remove', U]},
  {args: ['user', 'disable', U]},
  {args: ['user', 'enable', U]},
  {args: ['user', 'import', '-'], input: `address,password\n${U},pw\n`},
  {args: ['user', 'export']},
  {args: ['alias', 'list']},
  {args: ['alias', 'add', 'sales@example.com', U]},
  {args: ['alias', 'remove', 'sales@example.com']},
  {args: ['folder', 'list', U]},
  {args: ['folder', 'create', U, 'Work']},
  {args: ['folder', 'delete', U, 'Work']},
  {args: ['folder', 'rename', U, 'Work', 'Play']},
  {args: ['sieve', 'list', U]},
  {args: ['sieve', 'put', U, 'filters'], input: 'keep;\n'},
  {args: ['user', 'vacation', U]},
  {args: ['message', 'list', U]},
  {args: ['message', 'show', U, '1']},
  {args: ['message', 'delete', U, '1']},
  {args: ['queue', 'list']},
  {args: ['queue', 'show', 'abc']},
  {args: ['queue', 'retry', 'abc']},
  {args: ['queue', 'hold', 'abc']},
  {args: ['queue', 'release', 'abc']},
  {args: ['queue', 'delete', 'abc']},
  {args: ['queue', 'flush']},
  {args: ['capture', 'rule', 'list']},
  {args: ['capture', 'rule', 'add', '--to', 'bob@x.test', '--reply', '550 5.1.1 no']},
  {args: ['capture', 'rule', 'remove', 'abc']},
  {args: ['capture', 'rule', 'clear']},
  {args: ['send', '--from', 'root@example.com', '--to', U], input: MESSAGE},
  {args: ['dashboard']},
]

const noStore = (dir: string) => new RegExp(`^Error: no mailbox store in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(create one with mailbox init, mailbox serve or mailbox domain add\\)$`)

describe('a data dir without a store', () => {
  it('every reading command exits 1 saying so, and creates nothing', async () => {
    const missing = tempDataDir() // its parent exists, the dir itself does not
    for (const {args, input} of READERS) {
      const r = await runCli(args, {dataDir: missing, ...(input ? {input} : {})})
      expectOneLineError(r, noStore(missing))
      expect(existsSync(missing), `mailbox ${args.join(' ')} created ${missing}`).toBe(false)
    }
  }, 300_000)

  it('an existing but empty dir is refused alike and left empty (a typo of a dir that exists)', async () => {
    const empty = tempDataDir()
    mkdirSync(empty)
    expectOneLineError(await runCli(['user', 'list'], {dataDir: empty}), noStore(empty))
    expect(existsSync(join(empty, 'mailbox.lmdb'))).toBe(false)
  })

  it('status: not running, no counts, nothing created', async () => {
    const missing = tempDataDir()
    // exit code left to status's own rules (not running): only the output and the dir are checked
    const json = await runCli(['status', '--json'], {dataDir: missing})
    expect(JSON.parse(json.stdout)).toEqual({running: false, dataDir: missing, counts: null})
    const human = await runCli(['status'], {dataDir: missing})
    expect(human.stdout).toMatch(/^server:\s+not running$/m)
    expect(human.stdout).toContain('no mailbox store here')
    expect(existsSync(missing)).toBe(false)
  })

  it('domain add creates the store (mode 0700 dir); then the readers work', async () => {
    const fresh = tempDataDir()
    const r = await runCli(['domain', 'add', 'example.com'], {dataDir: fresh})
    expect(r.code, r.stderr).toBe(0)
    expect(existsSync(join(fresh, 'mailbox.lmdb'))).toBe(true)
    expect(statSync(fresh).mode & 0o777).toBe(0o700)
    expect(await runJson(['user', 'list'], {dataDir: fresh})).toEqual([])
  })
})

describe('MAILBOX_DATA_DIR is our data dir only', () => {
  it('a file path: our one-line errors, and oclif starts without a warning', async () => {
    const file = join(dirname(tempDataDir()), 'not-a-dir')
    writeFileSync(file, 'x')
    const env = {MAILBOX_DATA_DIR: file}
    const help = await runCli(['--help'], {env})
    expect(help.code).toBe(0)
    expect(help.stderr).toBe('')
    expectOneLineError(await runCli(['domain', 'list'], {env}), noStore(file))
    expectOneLineError(await runCli(['domain', 'add', 'example.com'], {env}), /^Error: cannot create the data directory .*not-a-dir: a file is in the way$/)
    expectOneLineError(await runCli(['serve', '--smtp-port', '0', '--submission-port', '0', '--smtps-port', '0', '--imap-port', '0', '--imaps-port', '0', '--pop3-port', '0', '--pop3s-port', '0'], {env}), /^Error: cannot create the data directory .*not-a-dir: a file is in the way$/)
  })

  it('a fresh dir holds the store; a package.json planted there is never loaded as an oclif plugin', async () => {
    const dir = tempDataDir()
    const marker = join(dirname(dir), 'plugin-ran')
    // what oclif would load as a user plugin from its data dir: an init hook that runs on every command
    mkdirSync(join(dir, 'node_modules', 'evil'), {recursive: true})
    writeFileSync(join(dir, 'package.json'), JSON.stringify({name: 'x', oclif: {plugins: [{type: 'user', name: 'evil', tag: 'latest'}]}, dependencies: {evil: '1.0.0'}}))
    writeFileSync(join(dir, 'node_modules', 'evil', 'package.json'), JSON.stringify({name: 'evil', version: '1.0.0', type: 'module', oclif: {hooks: {init: './hook.js'}}}))
    writeFileSync(join(dir, 'node_modules', 'evil', 'hook.js'), `import {writeFileSync} from 'node:fs'\nexport default async function () { writeFileSync(${JSON.stringify(marker)}, 'ran') }\n`)
    const env = {MAILBOX_DATA_DIR: dir}
    const add = await runCli(['domain', 'add', 'example.com'], {env})
    expect(add.code, add.stderr).toBe(0)
    expect(add.stderr).toBe('')
    const list = await runCli(['domain', 'list', '--json'], {env})
    expect(JSON.parse(list.stdout).map((d: {name: string}) => d.name)).toEqual(['example.com'])
    expect(existsSync(join(dir, 'mailbox.lmdb'))).toBe(true)
    expect(existsSync(marker), 'oclif ran code from the data dir').toBe(false)
  })
})
