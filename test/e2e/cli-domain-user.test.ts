/**
 * `mailbox domain …` and `mailbox user …` against the real binary: the error contract (one
 * `Error: …` line, exit 1, nothing written), the --json shapes, and address normalization.
 * Each test works on its own copy of a seeded data dir. The tests run one after another: every
 * CLI run is CPU-bound start-up, so running them side by side only adds contention. A refusal is
 * checked by expectRefused, whose snapshot compares every database byte for byte: no `user list`
 * or `domain list` after it (the lists themselves are the happy paths' business).
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {
  addUser,
  blobsPresent,
  cloneDataDir,
  expectRefused,
  giveMail,
  messageCount,
  ok,
  passwordHashOf,
  snapshot,
} from './fixtures.js'
import {withTestStore} from '../helpers/test-store.js'

/** example.com with alice@example.com (password "pw"), example.org empty */
let template: string
beforeAll(async () => {
  template = tempDataDir()
  await ok(['domain', 'add', 'example.com'], template)
  await ok(['domain', 'add', 'example.org'], template)
  await addUser(template, 'alice@example.com')
})

const USER_KEYS = ['address', 'createdAt', 'disabled', 'folders', 'maxMessages', 'messages', 'quota', 'updatedAt', 'used']
const addresses = (users: {address: string}[]) => users.map((u) => u.address)

describe('domain and user commands refuse bad input and write nothing', () => {
  it('an invalid address or domain is refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['user', 'add', 'not-an-address', '--password-stdin'], dataDir, /invalid address: "not-an-address"/, {input: 'pw\n'})
    await expectRefused(['domain', 'add', 'bad domain'], dataDir, /invalid domain: "bad domain"/)
  })

  it('a user in an unknown domain is refused, before any password is read', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['user', 'add', 'bob@nope.test', '--password-stdin'], dataDir, /unknown domain nope\.test/, {input: 'pw\n'})
    // the domain check comes before the password prompt: no terminal needed to learn the domain is wrong
    await expectRefused(['user', 'add', 'bob@nope.test'], dataDir, /unknown domain nope\.test/)
    await expectRefused(['domain', 'remove', 'nope.test'], dataDir, /no domain nope\.test/)
  })

  it('a duplicate user (in any letter case) is refused and keeps its password', async () => {
    const dataDir = await cloneDataDir(template)
    const hash = await passwordHashOf(dataDir, 'alice@example.com')
    await expectRefused(['user', 'add', 'ALICE@Example.COM', '--password-stdin'], dataDir, /user alice@example\.com already exists/, {input: 'other\n'})
    expect(await passwordHashOf(dataDir, 'alice@example.com')).toBe(hash)
  })

  it('a duplicate domain (in any letter case, with a trailing dot) is refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['domain', 'add', 'EXAMPLE.com.'], dataDir, /domain example\.com already exists/)
  })

  it('a user cannot be added over an alias', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['alias', 'add', 'sales@example.com', 'alice@example.com'], dataDir)
    await expectRefused(['user', 'add', 'Sales@example.com', '--password-stdin'], dataDir, /sales@example\.com is an alias/, {input: 'pw\n'})
  })

  it('a bad quota is refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['user', 'add', 'bob@example.com', '--password-stdin', '--quota', 'lots'], dataDir, /invalid size: "lots"/, {input: 'pw\n'})
  })

  it('a bad message limit is refused', async () => {
    const dataDir = await cloneDataDir(template)
    for (const bad of ['-1', 'many', '1.5']) {
      await expectRefused(['user', 'add', 'bob@example.com', '--password-stdin', '--max-messages', bad], dataDir, new RegExp(`invalid message limit: "${bad.replace('.', '\\.')}"`), {input: 'pw\n'})
    }
  })

  it('user add --max-messages: kept with the quota, shown by add, show and list', async () => {
    const dataDir = await cloneDataDir(template)
    const add = await runCli(['user', 'add', 'carl@example.com', '--password-stdin', '--quota', '1M', '--max-messages', '2500'], {dataDir, input: 'pw-carl\n'})
    expect(add.code, add.stderr).toBe(0)
    expect(add.stdout).toBe('added user carl@example.com (quota 1M, at most 2500 messages)\n')
    expect(await runJson(['user', 'show', 'carl@example.com'], {dataDir})).toMatchObject({quota: 1024 ** 2, maxMessages: 2500})
    expect((await runCli(['user', 'show', 'carl@example.com'], {dataDir})).stdout).toMatch(/^messages: at most 2500$/m)
    expect((await runCli(['user', 'show', 'alice@example.com'], {dataDir})).stdout).toMatch(/^messages: unlimited$/m)
    expect(await withTestStore(dataDir, async (s) => (await s.directory.user('carl@example.com'))?.maxMessages, {readOnly: true})).toBe(2500)
    const human = (await runCli(['user', 'list'], {dataDir})).stdout
    expect(human).toMatch(/carl@example\.com\s+enabled\s+0\s+0B\s+1M\s+2500/)
    expect(human).toMatch(/MAX MESSAGES/i)
  })

  it('an empty password on stdin is refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['user', 'add', 'bob@example.com', '--password-stdin'], dataDir, /no password on stdin/, {input: ''})
    await expectRefused(['user', 'add', 'bob@example.com', '--password-stdin'], dataDir, /no password on stdin/, {input: '\nsecond line\n'})
    const hash = await passwordHashOf(dataDir, 'alice@example.com')
    await expectRefused(['user', 'passwd', 'alice@example.com', '--password-stdin'], dataDir, /no password on stdin/, {input: '\r\n'})
    expect(await passwordHashOf(dataDir, 'alice@example.com')).toBe(hash)
  })

  it('without --password-stdin and without a terminal, user add and passwd say how to give a password', async () => {
    const dataDir = await cloneDataDir(template)
    // runCli's stdin is a pipe, not a TTY: there is nobody to prompt
    await expectRefused(['user', 'add', 'bob@example.com'], dataDir, /no password given: use --password-stdin/, {input: 'pw\n'})
    await expectRefused(['user', 'passwd', 'alice@example.com'], dataDir, /no password given: use --password-stdin/, {input: 'pw\n'})
  })

  it('commands on an unknown user say so', async () => {
    const dataDir = await cloneDataDir(template)
    for (const cmd of ['show', 'disable']) {
      await expectRefused(['user', cmd, 'Nobody@example.com'], dataDir, /no user nobody@example\.com/)
    }
    await expectRefused(['user', 'passwd', 'nobody@example.com', '--password-stdin'], dataDir, /no user nobody@example\.com/, {input: 'pw\n'})
    await expectRefused(['user', 'remove', 'nobody@example.com', '--force'], dataDir, /no user nobody@example\.com/)
  })

  it('a forgotten ADDRESS with a piped password is a usage error that never prints the password', async () => {
    const dataDir = await cloneDataDir(template)
    const before = await snapshot(dataDir)
    const missing = await runCli(['user', 'add', '--password-stdin'], {dataDir, input: 'hunter2\n'})
    expect(missing.stderr).not.toContain('hunter2')
    expect(missing.code, missing.stderr).toBe(2)
    expect(missing.stderr).toMatch(/Missing 1 required arg/)
    expect(await snapshot(dataDir)).toEqual(before)
  })

  it('oclif usage errors (missing argument, unknown flag) exit 2 and write nothing', async () => {
    const dataDir = await cloneDataDir(template)
    const before = await snapshot(dataDir)
    const missing = await runCli(['user', 'show'], {dataDir})
    expect(missing.code, missing.stderr).toBe(2)
    expect(missing.stderr).toMatch(/Missing 1 required arg/)
    const bogus = await runCli(['domain', 'add', 'example.net', '--bogus'], {dataDir})
    expect(bogus.code, bogus.stderr).toBe(2)
    expect(bogus.stderr).toMatch(/Nonexistent flag: --bogus/)
    expect(await snapshot(dataDir)).toEqual(before)
  })

  it('domain remove refuses while the domain has users or aliases; --force removes them, their mail and their alias targets', async () => {
    const dataDir = await cloneDataDir(template)
    await addUser(dataDir, 'bob@example.com')
    await addUser(dataDir, 'carol@example.org')
    await ok(['alias', 'add', 'team@example.com', 'alice@example.com', 'bob@example.com'], dataDir)
    // an alias in another domain that points into example.com loses those targets
    await ok(['alias', 'add', 'both@example.org', 'alice@example.com', 'carol@example.org'], dataDir)
    await ok(['alias', 'add', 'only@example.org', 'bob@example.com'], dataDir)
    const blobs = await giveMail(dataDir, 'alice@example.com', 'INBOX', 2)

    await expectRefused(['domain', 'remove', 'example.com'], dataDir, /domain example\.com still has 2 user\(s\) and 1 alias\(es\); use --force/)
    expect(addresses(await runJson(['user', 'list'], {dataDir}))).toEqual(['alice@example.com', 'bob@example.com', 'carol@example.org'])

    const removed = await runJson(['domain', 'remove', 'Example.COM', '--force'], {dataDir})
    expect(removed).toEqual({users: ['alice@example.com', 'bob@example.com'], aliases: ['team@example.com']})
    expect((await runJson(['domain', 'list'], {dataDir})).map((d: {name: string}) => d.name)).toEqual(['example.org'])
    expect(addresses(await runJson(['user', 'list'], {dataDir}))).toEqual(['carol@example.org'])
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([{alias: 'both@example.org', targets: ['carol@example.org'], createdAt: expect.any(Number)}])
    expect(await blobsPresent(dataDir, blobs)).toEqual([false, false])
    expect(await messageCount(dataDir)).toBe(0)
    const folders = await withTestStore(dataDir, async ({mail}) => [...(await mail.usageByUser()).entries()].filter(([, u]) => u.folders > 0).map(([user]) => user), {readOnly: true})
    expect(new Set(folders)).toEqual(new Set(['carol@example.org']))
  })

  it('user remove refuses while the user has mail; --force deletes user, folders, messages and blobs', async () => {
    const dataDir = await cloneDataDir(template)
    const blobs = await giveMail(dataDir, 'alice@example.com')
    await ok(['alias', 'add', 'sales@example.com', 'alice@example.com', 'partner@elsewhere.test'], dataDir)

    await expectRefused(['user', 'remove', 'alice@example.com'], dataDir, /user alice@example\.com has 1 message\(s\); use --force/)
    const shown = await runJson(['user', 'show', 'alice@example.com'], {dataDir})
    expect(shown).toMatchObject({messages: 1, used: Buffer.byteLength('Subject: x\r\n\r\nhi\r\n')})

    const removed = await runJson(['user', 'remove', 'alice@example.com', '--force'], {dataDir})
    expect(removed).toMatchObject({address: 'alice@example.com', messages: 1, folders: 6})
    expect(await runJson(['user', 'list'], {dataDir})).toEqual([])
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([{alias: 'sales@example.com', targets: ['partner@elsewhere.test'], createdAt: expect.any(Number)}])
    expect(await blobsPresent(dataDir, blobs)).toEqual([false])
    expect(await messageCount(dataDir)).toBe(0)
  })
})

describe('domain and user happy paths (--json)', () => {
  it('domain add / list / remove', async () => {
    const dataDir = await cloneDataDir(template) // example.com (1 user), example.org
    await ok(['alias', 'add', '@example.com', 'alice@example.com'], dataDir)
    const t0 = Date.now()
    const added = await runJson(['domain', 'add', 'Example.NET'], {dataDir})
    expect(Object.keys(added).sort()).toEqual(['createdAt', 'name'])
    expect(added.name).toBe('example.net')
    expect(added.createdAt).toBeGreaterThanOrEqual(t0 - 1000)
    expect(added.createdAt).toBeLessThanOrEqual(Date.now())
    // IDN: stored in its ASCII form
    expect((await runJson(['domain', 'add', 'bücher.example'], {dataDir})).name).toBe('xn--bcher-kva.example')

    const list = await runJson(['domain', 'list'], {dataDir})
    expect(list).toEqual([
      {name: 'example.com', createdAt: expect.any(Number), users: 1, aliases: 1},
      {name: 'example.net', createdAt: added.createdAt, users: 0, aliases: 0},
      {name: 'example.org', createdAt: expect.any(Number), users: 0, aliases: 0},
      {name: 'xn--bcher-kva.example', createdAt: expect.any(Number), users: 0, aliases: 0},
    ])
    for (const d of list) expect(Object.keys(d).sort()).toEqual(['aliases', 'createdAt', 'name', 'users'])
    expect(await runJson(['domain', 'remove', 'XN--BCHER-KVA.example'], {dataDir})).toEqual({users: [], aliases: []})
    expect(await runJson(['domain', 'remove', 'example.net'], {dataDir})).toEqual({users: [], aliases: []})
    const human = await runCli(['domain', 'list'], {dataDir})
    expect(human.stdout).toMatch(/^DOMAIN\s+USERS\s+ALIASES\s+CREATED\nexample\.com\s+1\s+1\s+\d{4}-\d\d-\d\dT[\d:]+Z\nexample\.org\s+0\s+0\s+\d{4}-.*\n?$/)
  })

  it('user add (--quota 2G) / show / list never show the hash', async () => {
    const dataDir = await cloneDataDir(template)
    const t0 = Date.now()
    const add = await runCli(['user', 'add', 'bob@example.com', '--password-stdin', '--quota', '2G', '--json'], {dataDir, input: 'hunter2\n'})
    expect(add.code, add.stderr).toBe(0)
    expect(add.stdout).not.toMatch(/argon2|hunter2|passwordHash/)
    const user = JSON.parse(add.stdout)
    expect(Object.keys(user).sort()).toEqual(USER_KEYS)
    expect(user).toEqual({
      address: 'bob@example.com',
      quota: 2147483648,
      maxMessages: 0,
      used: 0,
      messages: 0,
      folders: 6,
      disabled: false,
      createdAt: expect.any(Number),
      updatedAt: user.createdAt,
    })
    expect(user.createdAt).toBeGreaterThanOrEqual(t0 - 1000)
    // show and list say too which Sieve script is active and whether vacation is on (test/e2e/sieve-cli.test.ts)
    const noSieve = {script: null, vacation: false}
    expect(await runJson(['user', 'show', 'bob@example.com'], {dataDir})).toEqual({...user, sieve: noSieve})

    const list = await runJson(['user', 'list'], {dataDir})
    expect(list).toHaveLength(2)
    expect(list[0]).toEqual({address: 'alice@example.com', quota: 0, maxMessages: 0, used: 0, messages: 0, folders: 6, disabled: false, createdAt: expect.any(Number), updatedAt: expect.any(Number), sieve: noSieve})
    expect(list[1]).toEqual({...user, sieve: noSieve})
    for (const u of list) expect(Object.keys(u).sort()).toEqual([...USER_KEYS, 'sieve'].sort())
    const human = await runCli(['user', 'list'], {dataDir})
    expect(human.stdout).toMatch(/bob@example\.com\s+enabled\s+0\s+0B\s+2G/)
    expect(human.stdout).toMatch(/alice@example\.com\s+enabled\s+0\s+0B\s+unlimited/)
  })

  it('user passwd changes the hash (and only that)', async () => {
    const dataDir = await cloneDataDir(template)
    const before = await passwordHashOf(dataDir, 'alice@example.com')
    const shownBefore = await runJson(['user', 'show', 'alice@example.com'], {dataDir})
    expect(before).toMatch(/^\$argon2id\$/)
    const r = await runCli(['user', 'passwd', 'alice@example.com', '--password-stdin', '--json'], {dataDir, input: 'n3w secret\n'})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).not.toMatch(/argon2|n3w secret/)
    const after = await passwordHashOf(dataDir, 'alice@example.com')
    expect(after).toMatch(/^\$argon2id\$/)
    expect(after).not.toBe(before)
    const argon2 = (await import('argon2')).default
    expect(await argon2.verify(after!, 'n3w secret')).toBe(true)
    expect(await argon2.verify(after!, 'pw')).toBe(false)
    const shown = JSON.parse(r.stdout)
    expect(shown).toEqual({...shownBefore, sieve: undefined, updatedAt: expect.any(Number)})
    expect(shown.updatedAt).toBeGreaterThanOrEqual(shownBefore.updatedAt)
  })

  it('user disable / enable flip the disabled flag', async () => {
    const dataDir = await cloneDataDir(template)
    const disabled = await runJson(['user', 'disable', 'alice@example.com'], {dataDir})
    expect(disabled).toMatchObject({address: 'alice@example.com', disabled: true})
    expect(Object.keys(disabled).sort()).toEqual(USER_KEYS)
    expect((await runJson(['user', 'show', 'alice@example.com'], {dataDir})).disabled).toBe(true)
    expect(await withTestStore(dataDir, async (s) => (await s.directory.user('alice@example.com'))?.disabled, {readOnly: true})).toBe(true)
    expect((await runJson(['user', 'enable', 'alice@example.com'], {dataDir})).disabled).toBe(false)
    expect(await withTestStore(dataDir, async (s) => (await s.directory.user('alice@example.com'))?.disabled, {readOnly: true})).toBe(false)
  })

  it('user remove without mail removes the user and their folders', async () => {
    const dataDir = await cloneDataDir(template)
    const removed = await runJson(['user', 'remove', 'alice@example.com'], {dataDir})
    expect(removed).toEqual({address: 'alice@example.com', quota: 0, maxMessages: 0, used: 0, messages: 0, folders: 6, disabled: false, createdAt: expect.any(Number), updatedAt: expect.any(Number)})
    expect(await runJson(['user', 'list'], {dataDir})).toEqual([])
    expect(await withTestStore(dataDir, async ({mail}) => [...(await mail.usageByUser()).values()].reduce((n, u) => n + u.folders, 0), {readOnly: true})).toBe(0)
    // the address is free again
    await addUser(dataDir, 'alice@example.com')
  })

  it('addresses are normalized: Alice@Example.COM is alice@example.com everywhere', async () => {
    const dataDir = await cloneDataDir(template)
    const added = await runJson(['user', 'add', 'Dave@Example.COM', '--password-stdin'], {dataDir, input: 'pw\n'})
    expect(added.address).toBe('dave@example.com')
    const keys = await withTestStore(dataDir, async (s) => (await s.directory.users()).map((u) => u.address), {readOnly: true})
    expect(keys).toEqual(['alice@example.com', 'dave@example.com'])
    expect((await runJson(['user', 'show', 'DAVE@example.com'], {dataDir})).address).toBe('dave@example.com')
    expect((await runJson(['folder', 'list', 'DAVE@EXAMPLE.COM'], {dataDir}))[0].user).toBe('dave@example.com')
  })
})
