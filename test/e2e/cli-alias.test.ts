/**
 * `mailbox alias …` against the real binary: loops, dangling targets and unknown domains are
 * refused without writing anything; multi-target aliases and catch-alls round-trip through --json.
 * expectRefused's snapshot proves a refusal wrote nothing: `alias list` follows one only where
 * the test made aliases of its own first.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {addUser, cloneDataDir, expectRefused, ok, snapshot} from './fixtures.js'

/** example.com with users alice and bob, example.org without users */
let template: string
beforeAll(async () => {
  template = tempDataDir()
  await ok(['domain', 'add', 'example.com'], template)
  await ok(['domain', 'add', 'example.org'], template)
  await addUser(template, 'alice@example.com')
  await addUser(template, 'bob@example.com')
})

const names = (aliases: {alias: string}[]) => aliases.map((a) => a.alias)

describe('alias add refuses what cannot resolve, and writes nothing', () => {
  it('a loop through two aliases (a -> b, then b -> a) is refused', async () => {
    const dataDir = await cloneDataDir(template)
    // b@ exists only through the catch-all, so a -> b is a valid alias
    await ok(['alias', 'add', '@example.com', 'alice@example.com'], dataDir)
    await ok(['alias', 'add', 'a@example.com', 'b@example.com'], dataDir)
    await expectRefused(['alias', 'add', 'b@example.com', 'a@example.com'], dataDir, /alias loop: .*a@example\.com.*b@example\.com/)
    await expectRefused(['alias', 'add', 'B@Example.com', 'bob@example.com', 'A@example.com'], dataDir, /alias loop/)
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([
      {alias: '@example.com', targets: ['alice@example.com'], createdAt: expect.any(Number)},
      {alias: 'a@example.com', targets: ['b@example.com'], createdAt: expect.any(Number)},
    ])
  })

  it('an alias to itself is a loop', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['alias', 'add', 'self@example.com', 'SELF@example.com'], dataDir, /alias loop: self@example\.com -> self@example\.com/)
  })

  it('a catch-all to an unknown address of its own domain is a loop', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['alias', 'add', '@example.com', 'nobody@example.com'], dataDir, /alias loop: nobody@example\.com -> @example\.com -> nobody@example\.com/)
  })

  it('a target that names no one here is refused, even next to valid targets', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['alias', 'add', 'sales@example.com', 'ghost@example.com'], dataDir, /alias target ghost@example\.com does not exist/)
    await expectRefused(['alias', 'add', 'sales@example.com', 'alice@example.com', 'ghost@example.org', 'x@remote.test'], dataDir, /alias target ghost@example\.org does not exist/)
  })

  it('an alias in an unknown domain, or a malformed alias or target, is refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['alias', 'add', 'sales@nope.test', 'alice@example.com'], dataDir, /unknown domain nope\.test/)
    await expectRefused(['alias', 'add', 'not-an-address', 'alice@example.com'], dataDir, /invalid address: "not-an-address"/)
    await expectRefused(['alias', 'add', 'sales@example.com', 'alice@example.com', 'bad target'], dataDir, /invalid address: "bad target"/)
  })

  it('a duplicate alias, an alias over a user, and removing an unknown alias are refused', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['alias', 'add', 'sales@example.com', 'alice@example.com'], dataDir)
    await expectRefused(['alias', 'add', 'Sales@example.com', 'bob@example.com'], dataDir, /alias sales@example\.com already exists/)
    await expectRefused(['alias', 'add', 'alice@example.com', 'bob@example.com'], dataDir, /alice@example\.com is a user/)
    await expectRefused(['alias', 'remove', 'nobody@example.com'], dataDir, /no alias nobody@example\.com/)
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([{alias: 'sales@example.com', targets: ['alice@example.com'], createdAt: expect.any(Number)}])
  })

  it('alias add without a target is a usage error', async () => {
    const dataDir = await cloneDataDir(template)
    const before = await snapshot(dataDir)
    const r = await runCli(['alias', 'add', 'sales@example.com'], {dataDir})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(/Missing 1 required arg/)
    expect(await snapshot(dataDir)).toEqual(before)
  })
})

describe('alias happy paths (--json)', () => {
  it('add (several targets, normalized and deduplicated), chain, catch-all, list, remove', async () => {
    const dataDir = await cloneDataDir(template)
    const t0 = Date.now()
    const sales = await runJson(['alias', 'add', 'Sales@Example.COM', 'ALICE@example.com', 'bob@example.com', 'alice@example.com', 'Partner@Elsewhere.TEST'], {dataDir})
    expect(Object.keys(sales).sort()).toEqual(['alias', 'createdAt', 'targets'])
    expect(sales).toEqual({alias: 'sales@example.com', targets: ['alice@example.com', 'bob@example.com', 'partner@elsewhere.test'], createdAt: expect.any(Number)})
    expect(sales.createdAt).toBeGreaterThanOrEqual(t0 - 1000)
    expect(sales.createdAt).toBeLessThanOrEqual(Date.now())

    // aliases of an alias, in another local domain
    const team = await runJson(['alias', 'add', 'team@example.org', 'sales@example.com'], {dataDir})
    expect(team).toEqual({alias: 'team@example.org', targets: ['sales@example.com'], createdAt: expect.any(Number)})
    const crew = await runJson(['alias', 'add', 'crew@example.org', 'sales@example.com', 'bob@example.com'], {dataDir})

    const catchAll = await runJson(['alias', 'add', '@Example.COM', 'bob@example.com'], {dataDir})
    expect(catchAll).toEqual({alias: '@example.com', targets: ['bob@example.com'], createdAt: expect.any(Number)})

    const list = await runJson(['alias', 'list'], {dataDir})
    expect(list).toEqual([catchAll, crew, sales, team]) // in key order
    const domains = await runJson(['domain', 'list'], {dataDir})
    expect(domains.map((d: {name: string; aliases: number}) => [d.name, d.aliases])).toEqual([
      ['example.com', 2],
      ['example.org', 2],
    ])
    const human = await runCli(['alias', 'list'], {dataDir})
    expect(human.stdout).toMatch(/^ALIAS\s+TARGETS\n@example\.com\s+bob@example\.com\n/)
    expect(human.stdout).toContain('alice@example.com, bob@example.com, partner@elsewhere.test')

    // removing an alias drops it from other aliases' targets; an alias left without targets goes too
    expect(await runJson(['alias', 'remove', 'SALES@example.com'], {dataDir})).toEqual(sales)
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([catchAll, {...crew, targets: ['bob@example.com']}])
    expect(await runJson(['alias', 'remove', '@example.com'], {dataDir})).toEqual(catchAll)
    expect(await runJson(['alias', 'list'], {dataDir})).toEqual([{...crew, targets: ['bob@example.com']}])
  })

  it('a catch-all makes any address of the domain a valid target', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['alias', 'add', '@example.com', 'alice@example.com'], dataDir)
    const a = await runJson(['alias', 'add', 'x@example.org', 'anything@example.com'], {dataDir})
    expect(a.targets).toEqual(['anything@example.com'])
  })
})
