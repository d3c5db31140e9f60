/**
 * The store chosen by URL, against the real binary and a private PostgreSQL server: the directory
 * commands work with `--store postgres://…` (or $MAILBOX_STORE), and a second "node" (another
 * process with another data dir and the same URL) sees what the first wrote; so do the mail and
 * queue commands; `init` (an LMDB data dir's set-up) refuses a URL in one line. `status
 * --store` names the nodes registered in the store, live and stale, with their listeners. No
 * output ever shows the URL's password.
 */
import {describe, expect, it} from 'vitest'
import {registerNode} from '../../src/store/pg/nodes.js'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {skipWithoutPostgres, usePgPools, usePostgres} from '../helpers/postgres.js'

const PASSWORD = 'n0t-for-logs'

describe.skipIf(skipWithoutPostgres)('mailbox --store postgres://… (directory commands, status)', () => {
  const server = usePostgres()
  const pools = usePgPools(server)

  /** a new schema on the private server, as a URL with a password in it (trust authentication ignores it) */
  async function storeUrl(): Promise<string> {
    return (await server().createSchema()).replace('postgres://mailbox@', `postgres://mailbox:${PASSWORD}@`)
  }
  const cli = (url: string, dataDir: string, args: string[], input?: string) => runCli([...args, '--store', url], {dataDir, ...(input !== undefined ? {input} : {})})
  async function ok(url: string, dataDir: string, args: string[], input?: string): Promise<string> {
    const r = await cli(url, dataDir, args, input)
    expect(r.stderr).not.toContain(PASSWORD)
    expect(r.stdout).not.toContain(PASSWORD)
    if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }

  it('domain add, user add, alias add and user export on node A; node B (another process, the same URL) sees them', async () => {
    const url = await storeUrl()
    const nodeA = tempDataDir()
    const nodeB = tempDataDir()
    expect(await ok(url, nodeA, ['domain', 'add', 'example.com'])).toContain('added domain example.com')
    expect(await ok(url, nodeA, ['user', 'add', 'alice@example.com', '--password-stdin'], 'alice-pw\n')).toContain('added user alice@example.com')
    expect(await ok(url, nodeA, ['alias', 'add', 'info@example.com', 'alice@example.com'])).toContain('added alias info@example.com')
    const exported = await ok(url, nodeA, ['user', 'export'])
    expect(exported).toMatch(/^address,/)
    expect(exported).toContain('alice@example.com')
    expect(exported).toContain('info@example.com')
    // node B: its own data dir (no LMDB store there at all), the same database
    expect(await ok(url, nodeB, ['user', 'export'])).toBe(exported)
    expect(JSON.parse(await ok(url, nodeB, ['alias', 'list', '--json']))).toEqual([{alias: 'info@example.com', targets: ['alice@example.com'], createdAt: expect.any(Number)}])
    expect(JSON.parse(await ok(url, nodeB, ['domain', 'list', '--json']))).toMatchObject([{name: 'example.com'}])
    // a write on B is refused by the rules A's data obeys (the address is taken)
    const again = await cli(url, nodeB, ['user', 'add', 'alice@example.com', '--password-stdin'], 'x-pw-123\n')
    expect(again.code).toBe(1)
    expect(again.stderr).toMatch(/^Error: .*alice@example\.com.*exists/m)
    // nothing was written into the data dirs: the store is the database
    expect((await runCli(['domain', 'list'], {dataDir: nodeB})).stderr).toMatch(/no mailbox store in/)
  })

  it('user passwd|disable|remove, dkim list|rotate and capture rule add|list on one node show on the other', async () => {
    const url = await storeUrl()
    const nodeA = tempDataDir()
    const nodeB = tempDataDir()
    await ok(url, nodeA, ['domain', 'add', 'example.com'])
    await ok(url, nodeA, ['user', 'add', 'bob@example.com', '--password-stdin', '--max-messages', '900'], 'bob-pw-1\n')
    await ok(url, nodeA, ['user', 'add', 'carol@example.com', '--password-stdin'], 'carol-pw-1\n')
    expect(JSON.parse(await ok(url, nodeB, ['user', 'passwd', 'bob@example.com', '--password-stdin', '--json'], 'bob-pw-2\n'))).toMatchObject({address: 'bob@example.com', folders: 6})
    await ok(url, nodeB, ['user', 'disable', 'bob@example.com'])
    await ok(url, nodeB, ['user', 'remove', 'carol@example.com'])
    expect(await ok(url, nodeA, ['user', 'export', '--format', 'jsonl'])).toBe('{"address":"bob@example.com","quota":0,"maxMessages":900,"aliases":[],"disabled":true}\n')
    const keys = JSON.parse(await ok(url, nodeA, ['dkim', 'list', 'example.com', '--json'])) as {selector: string; state: string}[]
    expect(keys.filter((k) => k.state === 'active')).toHaveLength(2)
    await ok(url, nodeB, ['dkim', 'rotate', 'example.com'])
    const rotated = JSON.parse(await ok(url, nodeA, ['dkim', 'list', 'example.com', '--json'])) as {selector: string; state: string}[]
    expect(rotated.filter((k) => k.state === 'retired').map((k) => k.selector).sort()).toEqual(keys.map((k) => k.selector).sort())
    await ok(url, nodeA, ['capture', 'rule', 'add', '--to', 'fail@', '--reply', '550 5.1.1 no such user'])
    expect(JSON.parse(await ok(url, nodeB, ['capture', 'rule', 'list', '--json']))).toMatchObject([{to: 'fail@', reply: '550 5.1.1 no such user'}])
  })

  it('$MAILBOX_STORE works as --store does', async () => {
    const url = await storeUrl()
    const dataDir = tempDataDir()
    const add = await runCli(['domain', 'add', 'example.net'], {dataDir, env: {MAILBOX_STORE: url}})
    expect(add.code).toBe(0)
    expect(JSON.parse((await cli(url, dataDir, ['domain', 'list', '--json'])).stdout)).toMatchObject([{name: 'example.net'}])
  })

  it('mail and queue commands work on a PostgreSQL store: send, message list/show/delete, folder create/list, user list/show, queue list/hold/release; init refuses in one line', {timeout: 120_000}, async () => {
    const url = await storeUrl()
    const dataDir = tempDataDir()
    await ok(url, dataDir, ['domain', 'add', 'example.com'])
    await ok(url, dataDir, ['user', 'add', 'alice@example.com', '--password-stdin'], 'alice-pw\n')
    const sent = JSON.parse(await ok(url, dataDir, ['send', '--from', 'alice@example.com', '--to', 'alice@example.com', '--to', 'bob@remote.test', '--json'], 'Subject: over postgres\r\n\r\nbody\r\n')) as {stored: unknown[]; queued: string[]}
    expect(sent.stored).toHaveLength(1)
    expect(sent.queued).toHaveLength(1)
    const listed = JSON.parse(await ok(url, dataDir, ['message', 'list', 'alice@example.com', '--json'])) as {uid: number; subject: string}[]
    expect(listed.map((m) => [m.uid, m.subject])).toEqual([[1, 'over postgres']])
    expect(await ok(url, dataDir, ['message', 'show', 'alice@example.com', '1'])).toContain('body')
    await ok(url, dataDir, ['folder', 'create', 'alice@example.com', 'Projekte/Größe'])
    expect(await ok(url, dataDir, ['folder', 'list', 'alice@example.com'])).toContain('Projekte/Größe')
    const users = JSON.parse(await ok(url, dataDir, ['user', 'list', '--json'])) as {address: string; messages: number}[]
    expect(users).toMatchObject([{address: 'alice@example.com', messages: 1}])
    const queued = sent.queued[0]!
    expect(await ok(url, dataDir, ['queue', 'list'])).toContain(queued)
    await ok(url, dataDir, ['queue', 'hold', queued])
    expect(JSON.parse(await ok(url, dataDir, ['queue', 'show', queued, '--json']))).toMatchObject({state: 'held'})
    await ok(url, dataDir, ['queue', 'release', queued])
    await ok(url, dataDir, ['message', 'delete', 'alice@example.com', '1'])
    expect(JSON.parse(await ok(url, dataDir, ['message', 'list', 'alice@example.com', '--json']))).toEqual([])
    const init = await cli(url, tempDataDir(), ['init', '--hostname', 'mail.example.com', '--domain', 'example.com'])
    expect(init.code).toBe(1)
    expect(init.stderr).toMatch(/^Error: mailbox init sets up the LMDB store of a data dir; for the PostgreSQL store postgres:\/\/mailbox@127\.0\.0\.1:\d+\/postgres\S* use domain add, user add and alias add with --store\n$/)
    expect(init.stderr).not.toContain(PASSWORD)
  })

  it('a bad store URL is refused in one line, without its password', async () => {
    const r = await runCli(['domain', 'list', '--store', `mysql://root:${PASSWORD}@db/mail`], {dataDir: tempDataDir()})
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('Error: the store URL must start with postgres:// or postgresql://, not mysql://\n')
  })

  it('config show and config check take the store from --store; show hides its password', async () => {
    const url = await storeUrl()
    const shown = await runCli(['config', 'show', '--store', url], {dataDir: tempDataDir()})
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(/^store = postgres:\/\/mailbox:\(redacted\)@127\.0\.0\.1:\d+\/postgres\?options=/m)
    expect(shown.stdout).toMatch(/^storePool\.size = 10$/m)
    expect(shown.stdout).not.toContain(PASSWORD)
    const checked = await runCli(['config', 'check', '--store', `postgres://mailbox:${PASSWORD}@db.example/`], {dataDir: tempDataDir()})
    expect(checked.code).toBe(1)
    expect(checked.stderr).not.toContain(PASSWORD)
    expect(checked.stderr).toMatch(/store: the store URL names no database/)
  })

  it('status --store names the registered nodes, live and stale, with their listeners and versions (--json too)', async () => {
    const url = await storeUrl()
    const dataDir = tempDataDir()
    const store = await pools.node(url)
    await ok(url, dataDir, ['domain', 'add', 'example.org'])
    await registerNode(store.pool, {id: 'mx-a', host: 'host-a', listeners: {smtp: ['127.0.0.2:2525'], imap: ['127.0.0.2:2143']}, version: '0.1.0'})
    await registerNode(store.pool, {id: 'mx-b', host: 'host-b', listeners: {smtp: ['127.0.0.3:2525']}, version: '0.1.0'})
    await registerNode(store.pool, {id: 'mx-c', host: 'host-c', listeners: {}, version: '0.0.9'})
    // mx-c went silent a minute ago: stale (20 s), not yet removed (10 min)
    await store.pool.query("UPDATE nodes SET heartbeat = now() - interval '60 seconds' WHERE id = 'mx-c'")
    const text = await cli(url, dataDir, ['status'])
    expect(text.code).toBe(3) // this machine's server is not running
    expect(text.stderr).toBe('')
    expect(text.stdout).not.toContain(PASSWORD)
    expect(text.stdout).toMatch(/^store: +postgres:\/\/mailbox@127\.0\.0\.1:\d+\/postgres$/m)
    expect(text.stdout).toMatch(/^nodes: +2 live, 1 stale$/m)
    expect(text.stdout).toMatch(/^node: +mx-a \(live, host-a, mailbox 0\.1\.0, started .*\)\n +imap +127\.0\.0\.2:2143\n +smtp +127\.0\.0\.2:2525$/m)
    expect(text.stdout).toMatch(/^node: +mx-b \(live, host-b, mailbox 0\.1\.0, started .*\)\n +smtp +127\.0\.0\.3:2525$/m)
    expect(text.stdout).toMatch(/^node: +mx-c \(stale, host-c, mailbox 0\.0\.9, silent 6\ds\)$/m)
    expect(text.stdout).toMatch(/^domains: +1$/m)
    const json = await cli(url, dataDir, ['status', '--json'])
    const status = JSON.parse(json.stdout)
    expect(status).toMatchObject({running: false, counts: {domains: 1, users: 0, aliases: 0}, cluster: {store: expect.stringMatching(/^postgres:\/\/mailbox@/)}})
    expect(status.cluster.nodes.map((n: {id: string; state: string}) => [n.id, n.state])).toEqual([
      ['mx-a', 'live'],
      ['mx-b', 'live'],
      ['mx-c', 'stale'],
    ])
    expect(status.cluster.nodes[0]).toMatchObject({host: 'host-a', version: '0.1.0', listeners: {smtp: ['127.0.0.2:2525'], imap: ['127.0.0.2:2143']}})
  })
})
