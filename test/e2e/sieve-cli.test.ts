/**
 * `mailbox sieve …` and `mailbox user vacation` against the real binary, on the run's backend:
 * scripts stored, listed, shown, activated, renamed and removed; a script with errors refused
 * with each error's line and exit 1, nothing stored; the quota from the config file; the --json
 * shapes. Then vacation: on, with the user's active filters carried into the generated script
 * (which parses, and which runSieve shows answering with what was asked while the filters still
 * file), shown, and off again with the previous script active. Each test spawns the binary
 * 15-25 times (~25 s on PostgreSQL, where each command opens a pool): hence the longer timeouts.
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {parseSieve, runSieve, type SieveAction} from '../../src/sieve/index.js'
import {runCli, runJson, tempDataDir, type CliResult} from '../helpers/cli.js'
import {addDomainsAndUsers} from '../helpers/test-store.js'
import {cloneDataDir, snapshot} from './fixtures.js'

const ALICE = 'alice@example.com'
const FILTERS = `require ["fileinto", "imap4flags"];
# sort mailing lists
if header :contains "list-id" "announce" {
  fileinto :flags "\\\\Seen" "Lists";
  stop;
}
`
const BROKEN = `require "fileinto";
if header :contains "subject" "x" {
  frobnicate "Lists";
}
fileinto;
`

let template: string
let files: string
beforeAll(async () => {
  template = tempDataDir()
  await addDomainsAndUsers(template, ['example.com'], [{address: ALICE}, {address: 'bob@example.com'}])
  files = tempDataDir()
  const {mkdirSync} = await import('node:fs')
  mkdirSync(files, {recursive: true})
  writeFileSync(join(files, 'filters.sieve'), FILTERS)
  writeFileSync(join(files, 'broken.sieve'), BROKEN)
  writeFileSync(join(files, 'away.txt'), 'I am away until the 28th.\nUrgent: call "Bob" on 555-0100.\n')
})

const file = (name: string) => join(files, name)
const errorLines = (r: CliResult) => r.stderr.split('\n').filter((l) => l.startsWith('Error: '))

/** a message from a correspondent to alice, run through a script (as delivery will) */
function deliverThrough(content: string, headers: string, now = new Date()): SieveAction[] {
  const parsed = parseSieve(content)
  if (!parsed.ok) throw new Error(`the script does not parse: ${JSON.stringify(parsed.errors)}`)
  const message = Buffer.from(`From: Carol <carol@remote.test>\r\nTo: ${ALICE}\r\n${headers}Message-ID: <m1@remote.test>\r\n\r\nHello.\r\n`)
  const outcome = runSieve(parsed.script, {envelope: {from: 'carol@remote.test', to: ALICE}, message, user: ALICE, now})
  expect(outcome.errors).toEqual([])
  return outcome.actions
}

describe('mailbox sieve', () => {
  it('put (file and stdin), list, show, activate, rename, deactivate, remove; --json shapes', async () => {
    const dataDir = await cloneDataDir(template)
    const put = await runJson(['sieve', 'put', ALICE, 'Filters', file('filters.sieve'), '--activate'], {dataDir})
    expect(put).toEqual({name: 'Filters', active: true, size: Buffer.byteLength(FILTERS), updatedAt: expect.any(Number)})
    const fromStdin = await runCli(['sieve', 'put', ALICE, 'spare copy'], {dataDir, input: 'keep;\n'})
    expect(fromStdin.code, fromStdin.stderr).toBe(0)
    expect(fromStdin.stdout).toBe(`stored Sieve script "spare copy" for ${ALICE} (6 bytes)\n`)

    expect(await runJson(['sieve', 'list', ALICE], {dataDir})).toEqual([
      {name: 'Filters', active: true, size: Buffer.byteLength(FILTERS), updatedAt: expect.any(Number)},
      {name: 'spare copy', active: false, size: 6, updatedAt: expect.any(Number)},
    ])
    const human = await runCli(['sieve', 'list', ALICE], {dataDir})
    expect(human.stdout).toMatch(/^NAME\s+ACTIVE\s+BYTES\s+UPDATED\nFilters\s+yes\s+\d+\s+\d{4}-\d\d-\d\dT[\d:]+Z\nspare copy\s+6\s+/)
    expect((await runCli(['sieve', 'show', ALICE, 'Filters'], {dataDir})).stdout).toBe(FILTERS)
    expect(await runJson(['sieve', 'show', ALICE, 'Filters'], {dataDir})).toEqual({name: 'Filters', content: FILTERS, active: true})
    expect(await runJson(['user', 'show', ALICE], {dataDir})).toMatchObject({sieve: {script: 'Filters', vacation: false}})
    expect((await runCli(['user', 'show', ALICE], {dataDir})).stdout).toMatch(/^sieve: {4}"Filters" active\nvacation: off$/m)

    // replacing keeps the active state; a rename too
    await runJson(['sieve', 'put', ALICE, 'Filters', '-'], {dataDir, input: FILTERS + 'keep;\n'})
    await runJson(['sieve', 'rename', ALICE, 'Filters', 'Filters 2026'], {dataDir})
    expect((await runJson<{name: string; active: boolean}[]>(['sieve', 'list', ALICE], {dataDir})).map((s) => [s.name, s.active])).toEqual([
      ['Filters 2026', true],
      ['spare copy', false],
    ])
    expect(await runJson(['sieve', 'activate', ALICE, 'spare copy'], {dataDir})).toEqual({user: ALICE, active: 'spare copy'})
    const refused = await runCli(['sieve', 'remove', ALICE, 'spare copy'], {dataDir})
    expect(refused.code).toBe(1)
    expect(errorLines(refused)).toEqual([`Error: the Sieve script "spare copy" of ${ALICE} is active: deactivate it first (or activate another)`])
    expect(await runJson(['sieve', 'deactivate', ALICE], {dataDir})).toEqual({user: ALICE, active: null, was: 'spare copy'})
    expect((await runCli(['sieve', 'deactivate', ALICE], {dataDir})).stdout).toBe(`${ALICE} had no active Sieve script\n`)
    expect(await runJson(['sieve', 'remove', ALICE, 'spare copy'], {dataDir})).toEqual({user: ALICE, removed: 'spare copy'})
    expect((await runJson<{name: string}[]>(['sieve', 'list', ALICE], {dataDir})).map((s) => s.name)).toEqual(['Filters 2026'])
    expect(await runJson(['user', 'list'], {dataDir})).toEqual([
      expect.objectContaining({address: ALICE, sieve: {script: null, vacation: false}}),
      expect.objectContaining({address: 'bob@example.com', sieve: {script: null, vacation: false}}),
    ])
  }, 90_000)

  it('a script with errors: each error with its line, exit 1, nothing stored; sieve check says the same without a store', async () => {
    const dataDir = await cloneDataDir(template)
    const before = await snapshot(dataDir)
    const r = await runCli(['sieve', 'put', ALICE, 'broken', file('broken.sieve'), '--activate'], {dataDir})
    expect(r.code).toBe(1)
    expect(r.stdout).toBe('')
    expect(errorLines(r)).toEqual(['Error: the script has errors:', 'Error: line 3: unknown command "frobnicate"', 'Error: line 5: command "fileinto" takes 1 positional argument, found 0'])
    expect(await snapshot(dataDir)).toEqual(before)

    const nowhere = join(tempDataDir(), 'none')
    const checked = await runCli(['sieve', 'check', file('broken.sieve')], {dataDir: nowhere})
    expect(checked.code).toBe(1)
    expect(errorLines(checked).slice(1)).toEqual(errorLines(r).slice(1))
    const good = await runCli(['sieve', 'check', '-'], {dataDir: nowhere, input: FILTERS})
    expect(good.code, good.stderr).toBe(0)
    expect(good.stdout).toBe('stdin: ok (requires fileinto, imap4flags)\n')
    expect(await runJson(['sieve', 'check', file('filters.sieve')], {dataDir: nowhere})).toEqual({ok: true, requires: ['fileinto', 'imap4flags']})
  }, 90_000)

  it('names, users and the quota of the config file (sieve.maxScripts, sieve.maxScriptBytes) are refused with one clear line each', async () => {
    const dataDir = await cloneDataDir(template)
    const config = join(files, 'small.json')
    writeFileSync(config, JSON.stringify({sieve: {maxScripts: 2, maxScriptBytes: 100}}))
    const refusedWith = async (args: string[], input: string, message: string) => {
      const r = await runCli(args, {dataDir, input})
      expect(r.code, r.stdout).toBe(1)
      expect(errorLines(r)).toEqual([`Error: ${message}`])
    }
    for (const name of ['a', 'b']) await runJson(['sieve', 'put', ALICE, name, '--config', config], {dataDir, input: 'keep;'})
    await refusedWith(['sieve', 'put', ALICE, 'c', '--config', config], 'keep;', 'a user has at most 2 Sieve scripts')
    // replacing one at the limit is fine; the default quota (20) lets a third in
    await runJson(['sieve', 'put', ALICE, 'b', '--config', config], {dataDir, input: 'discard;'})
    await runJson(['sieve', 'put', ALICE, 'c'], {dataDir, input: 'keep;'})
    await refusedWith(['sieve', 'put', ALICE, 'a', '--config', config], `keep; #${'x'.repeat(100)}`, 'stdin is larger than 100B (raise sieve.maxScriptBytes)')
    await refusedWith(['sieve', 'put', ALICE, 'a/b'], 'keep;', `the Sieve script name "a/b" has a control character or '/'`)
    await refusedWith(['sieve', 'put', 'nobody@example.com', 'a'], 'keep;', 'no user nobody@example.com')
    await refusedWith(['sieve', 'activate', ALICE, 'nope'], '', `${ALICE} has no Sieve script "nope"`)
    await refusedWith(['sieve', 'rename', ALICE, 'a', 'b'], '', `${ALICE} has a Sieve script "b" already`)
    await refusedWith(['sieve', 'show', ALICE, 'nope'], '', `${ALICE} has no Sieve script "nope"`)
  }, 90_000)
})

describe('mailbox user vacation', () => {
  it('on: the active filters keep working after the reply; shown; off: the filters are active again and "vacation" is gone', async () => {
    const dataDir = await cloneDataDir(template)
    await runJson(['sieve', 'put', ALICE, 'Filters', file('filters.sieve'), '--activate'], {dataDir})
    const on = await runCli(
      ['user', 'vacation', ALICE, '--subject', 'Away "until" the 28th', '--message-file', file('away.txt'), '--until', '2099-12-28', '--days', '3', '--addresses', 'alice@old.example,  ali@example.com'],
      {dataDir},
    )
    expect(on.code, on.stderr).toBe(0)
    expect(on.stdout).toBe(`vacation on for ${ALICE} until 2099-12-28; the rules of "Filters" still run, and --off activates it again\n`)
    const state = await runJson(['user', 'vacation', ALICE], {dataDir})
    expect(state).toEqual({
      user: ALICE,
      on: true,
      active: 'vacation',
      previous: 'Filters',
      settings: {subject: 'Away "until" the 28th', message: 'I am away until the 28th.\nUrgent: call "Bob" on 555-0100.\n', until: '2099-12-28', days: 3, addresses: ['alice@old.example', 'ali@example.com']},
    })
    expect((await runCli(['user', 'vacation', ALICE], {dataDir})).stdout).toMatch(/^vacation: on for alice@example\.com\nsubject: {2}Away "until" the 28th\nuntil: {4}2099-12-28\n/)
    expect(await runJson(['user', 'show', ALICE], {dataDir})).toMatchObject({sieve: {script: 'vacation', vacation: true}})

    // the generated script parses; a plain message gets the reply asked for, a list message is filed as before (and gets none: RFC 5230 §4.5)
    const script = (await runJson<{content: string}>(['sieve', 'show', ALICE, 'vacation'], {dataDir})).content
    expect(script).toMatch(/^# mailbox-vacation previous: "Filters"$/m)
    const plain = deliverThrough(script, 'Subject: lunch?\r\n')
    const reply = plain.find((a) => a.type === 'vacation')
    expect(reply).toMatchObject({
      to: 'carol@remote.test',
      subject: 'Away "until" the 28th',
      reason: 'I am away until the 28th.\nUrgent: call "Bob" on 555-0100.\n',
      periodSeconds: 3 * 86_400,
      addresses: expect.arrayContaining([ALICE, 'alice@old.example', 'ali@example.com']),
    })
    expect(reply).not.toHaveProperty('suppressed')
    expect(plain).toContainEqual(expect.objectContaining({type: 'keep', implicit: true}))
    const list = deliverThrough(script, 'Subject: news\r\nList-Id: <announce.lists.example>\r\n')
    expect(list).toContainEqual(expect.objectContaining({type: 'fileinto', mailbox: 'Lists', flags: ['\\Seen']}))
    expect(list.find((a) => a.type === 'vacation')).toMatchObject({suppressed: expect.any(String)})
    // after the --until day no reply, the filters still run
    const later = deliverThrough(script, 'Subject: lunch?\r\n', new Date(Date.UTC(2100, 0, 2)))
    expect(later.some((a) => a.type === 'vacation')).toBe(false)

    // on again with other settings: still carries Filters (not itself), no --until: unguarded
    await runJson(['user', 'vacation', ALICE, '--subject', 'Out', '--message-file', file('away.txt')], {dataDir})
    const again = await runJson<{previous: string; settings: {until?: string; days?: number}}>(['user', 'vacation', ALICE], {dataDir})
    expect(again).toMatchObject({on: true, previous: 'Filters'})
    expect(again.settings.until).toBeUndefined()
    expect(deliverThrough((await runJson<{content: string}>(['sieve', 'show', ALICE, 'vacation'], {dataDir})).content, 'Subject: x\r\n', new Date(Date.UTC(2100, 0, 2)))).toContainEqual(
      expect.objectContaining({type: 'vacation', subject: 'Out', periodSeconds: 7 * 86_400}),
    )

    const off = await runCli(['user', 'vacation', ALICE, '--off'], {dataDir})
    expect(off.stdout).toBe(`vacation off for ${ALICE}; active Sieve script: "Filters"\n`)
    expect((await runJson<{name: string; active: boolean}[]>(['sieve', 'list', ALICE], {dataDir})).map((s) => [s.name, s.active])).toEqual([['Filters', true]])
    expect(await runJson(['user', 'vacation', ALICE], {dataDir})).toEqual({user: ALICE, on: false, active: 'Filters'})
    expect((await runCli(['user', 'vacation', ALICE, '--off'], {dataDir})).stdout).toBe(`vacation was not on for ${ALICE}\n`)
  }, 90_000)

  it('with no script active before, off leaves none active; a "vacation" script of the user\'s own is never replaced; bad settings are refused', async () => {
    const dataDir = await cloneDataDir(template)
    const BOB = 'bob@example.com'
    await runJson(['user', 'vacation', BOB, '--subject', 'Away', '--message-file', '-'], {dataDir, input: 'Gone fishing.'})
    expect(await runJson(['user', 'vacation', BOB], {dataDir})).toMatchObject({on: true, active: 'vacation', settings: {subject: 'Away', message: 'Gone fishing.'}})
    expect(await runJson(['user', 'vacation', BOB, '--off'], {dataDir})).toEqual({user: BOB, on: false, removed: true})
    expect(await runJson(['sieve', 'list', BOB], {dataDir})).toEqual([])

    await runJson(['sieve', 'put', BOB, 'vacation', '--activate'], {dataDir, input: 'require "vacation";\nvacation "mine";\n'})
    for (const args of [['--off'], ['--subject', 'x', '--message-file', file('away.txt')]]) {
      const r = await runCli(['user', 'vacation', BOB, ...args], {dataDir})
      expect(r.code).toBe(1)
      expect(errorLines(r)).toEqual([`Error: ${BOB} has a Sieve script named "vacation" of their own: rename it (mailbox sieve rename) before using mailbox user vacation`])
    }
    expect((await runJson<{content: string}>(['sieve', 'show', BOB, 'vacation'], {dataDir})).content).toBe('require "vacation";\nvacation "mine";\n')

    for (const [args, message] of [
      [['--subject', 'x'], 'turning vacation on takes both --subject and --message-file'],
      [['--subject', 'x', '--message-file', file('away.txt'), '--until', '2026-02-30'], '--until must be a date as YYYY-MM-DD, not "2026-02-30"'],
      [['--subject', 'x', '--message-file', file('away.txt'), '--addresses', 'not an address'], 'invalid address: "not an address"'],
    ] as const) {
      const r = await runCli(['user', 'vacation', ALICE, ...args], {dataDir})
      expect(r.code, r.stdout).toBe(1)
      expect(errorLines(r)).toEqual([`Error: ${message}`])
    }
    expect(await runJson(['sieve', 'list', ALICE], {dataDir})).toEqual([])
  }, 90_000)
})
