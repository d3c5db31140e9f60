/**
 * `mailbox folder …` against the real binary: the IMAP folder rules (default folders, hierarchy,
 * rename with children, \Noselect placeholders, UIDVALIDITY never reused) through --json, and the
 * error contract for unknown users and bad names.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {addUser, blobsPresent, cloneDataDir, expectRefused, giveMail, messageCount, ok, RAW_MESSAGE} from './fixtures.js'

const ALICE = 'alice@example.com'
let template: string
beforeAll(async () => {
  template = tempDataDir()
  await ok(['domain', 'add', 'example.com'], template)
  await addUser(template, ALICE)
})

interface Folder {
  id: number
  user: string
  name: string
  uidValidity: number
  uidNext: number
  highestModseq: number
  subscribed: boolean
  specialUse?: string
  noselect?: boolean
  messages: number
  unseen: number
  size: number
  createdAt: number
}
const folders = (dataDir: string, user = ALICE): Promise<Folder[]> => runJson(['folder', 'list', user], {dataDir})
const byName = (list: Folder[]) => Object.fromEntries(list.map((f) => [f.name, f]))
const DEFAULT_NAMES = ['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash']

describe('folder commands refuse bad input and write nothing', () => {
  it('an unknown user is refused by every folder command', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['folder', 'list', 'nobody@example.com'], dataDir, /no user nobody@example\.com/)
    await expectRefused(['folder', 'create', 'Nobody@example.com', 'Projects'], dataDir, /no user nobody@example\.com/)
    await expectRefused(['folder', 'delete', 'nobody@example.com', 'Sent'], dataDir, /no user nobody@example\.com/)
    await expectRefused(['folder', 'rename', 'nobody@example.com', 'Sent', 'Sent2'], dataDir, /no user nobody@example\.com/)
  })

  it('invalid folder names are refused', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['folder', 'create', ALICE, 'a//b'], dataDir, /invalid folder name "a\/\/b": empty hierarchy level/)
    await expectRefused(['folder', 'create', ALICE, '../x'], dataDir, /invalid folder name "\.\.\/x"/)
    await expectRefused(['folder', 'create', ALICE, 'star*'], dataDir, /invalid folder name "star\*"/)
    await expectRefused(['folder', 'rename', ALICE, 'Sent', 'a//b'], dataDir, /invalid folder name "a\/\/b"/)
    await expectRefused(['folder', 'delete', ALICE, '../x'], dataDir, /invalid folder name/)
    expect((await folders(dataDir)).map((f) => f.name)).toEqual(DEFAULT_NAMES)
  })

  it('INBOX cannot be deleted (in any letter case); existing names cannot be created again', async () => {
    const dataDir = await cloneDataDir(template)
    await expectRefused(['folder', 'delete', ALICE, 'INBOX'], dataDir, /INBOX cannot be deleted/)
    await expectRefused(['folder', 'delete', ALICE, 'inbox'], dataDir, /INBOX cannot be deleted/)
    await expectRefused(['folder', 'create', ALICE, 'Sent'], dataDir, /folder "Sent" already exists/)
    expect((await folders(dataDir)).map((f) => f.name)).toEqual(DEFAULT_NAMES)
  })

  it('rename and delete of unknown folders, onto existing names, or into themselves are refused', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['folder', 'create', ALICE, 'Projects/2026'], dataDir)
    await expectRefused(['folder', 'delete', ALICE, 'Nope'], dataDir, /no folder "Nope"/)
    await expectRefused(['folder', 'rename', ALICE, 'Nope', 'Other'], dataDir, /no folder "Nope"/)
    await expectRefused(['folder', 'rename', ALICE, 'Projects', 'Sent'], dataDir, /folder "Sent" already exists/)
    await expectRefused(['folder', 'rename', ALICE, 'Projects', 'Projects/sub'], dataDir, /cannot rename "Projects" into itself/)
  })
})

describe('folder happy paths (--json)', () => {
  it('a new user has INBOX, Sent, Drafts, Trash, Junk and Archive with their special uses', async () => {
    const dataDir = await cloneDataDir(template)
    const list = await folders(dataDir)
    expect(list.map((f) => [f.name, f.specialUse])).toEqual([
      ['INBOX', undefined],
      ['Archive', '\\Archive'],
      ['Drafts', '\\Drafts'],
      ['Junk', '\\Junk'],
      ['Sent', '\\Sent'],
      ['Trash', '\\Trash'],
    ])
    for (const f of list) {
      const keys = ['createdAt', 'highestModseq', 'id', 'messages', 'name', 'size', 'subscribed', 'uidNext', 'uidValidity', 'unseen', 'user']
      expect(Object.keys(f).sort()).toEqual(f.specialUse ? [...keys, 'specialUse'].sort() : keys)
      expect(f).toMatchObject({user: ALICE, uidNext: 1, highestModseq: 1, subscribed: true, messages: 0, unseen: 0, size: 0})
      expect(f.uidValidity).toBeGreaterThan(0)
    }
    expect(new Set(list.map((f) => f.id)).size).toBe(6)
    expect(new Set(list.map((f) => f.uidValidity)).size).toBe(6)
    const human = await runCli(['folder', 'list', ALICE], {dataDir})
    expect(human.stdout).toMatch(/^NAME\s+USE\s+MESSAGES\s+UNSEEN\s+SIZE\s+UIDVALIDITY\s+UIDNEXT\s+SUBSCRIBED\nINBOX\s+0\s+0\s+0B\s+\d+\s+1\s+yes\nArchive\s+\\Archive\s/)
  })

  it('create Projects/2026 creates Projects too; rename moves the children along', async () => {
    const dataDir = await cloneDataDir(template)
    const created = await runJson(['folder', 'create', ALICE, 'Projects/2026'], {dataDir})
    expect(created).toMatchObject({user: ALICE, name: 'Projects/2026', uidNext: 1, messages: 0, subscribed: true})
    expect(created).not.toHaveProperty('specialUse')
    expect(created).not.toHaveProperty('noselect')
    let list = byName(await folders(dataDir))
    expect(Object.keys(list)).toEqual(['INBOX', 'Archive', 'Drafts', 'Junk', 'Projects', 'Projects/2026', 'Sent', 'Trash'])
    expect(list['Projects']).toMatchObject({name: 'Projects', uidNext: 1})
    expect(list['Projects']!.noselect).toBeUndefined()
    expect(list['Projects/2026']).toEqual(created)
    const projects = list['Projects']!
    await giveMail(dataDir, ALICE, 'Projects/2026')

    const renamed = await runJson(['folder', 'rename', ALICE, 'Projects', 'Work/Projects'], {dataDir})
    expect(renamed).toEqual({...projects, name: 'Work/Projects'})
    list = byName(await folders(dataDir))
    expect(Object.keys(list).filter((n) => !DEFAULT_NAMES.includes(n))).toEqual(['Work', 'Work/Projects', 'Work/Projects/2026'])
    // a rename keeps identity, UIDVALIDITY, UIDNEXT and the messages
    expect(list['Work/Projects/2026']).toEqual({
      ...created,
      name: 'Work/Projects/2026',
      uidNext: 2,
      highestModseq: 2,
      messages: 1,
      unseen: 1,
      size: Buffer.byteLength(RAW_MESSAGE),
    })
    expect(list['Work']!.uidValidity).toBeGreaterThan(created.uidValidity)
  })

  it('deleting a parent with children leaves a \\Noselect placeholder; its messages go', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['folder', 'create', ALICE, 'Projects/2026'], dataDir)
    const blobs = await giveMail(dataDir, ALICE, 'Projects', 2)
    const before = byName(await folders(dataDir))
    expect(before['Projects']).toMatchObject({messages: 2, unseen: 2, size: 2 * Buffer.byteLength(RAW_MESSAGE)})

    expect(await runJson(['folder', 'delete', ALICE, 'Projects'], {dataDir})).toEqual({user: ALICE, name: 'Projects'})
    const after = byName(await folders(dataDir))
    expect(after['Projects']).toEqual({...before['Projects'], noselect: true, messages: 0, unseen: 0, size: 0})
    expect(after['Projects/2026']).toEqual(before['Projects/2026'])
    expect(await blobsPresent(dataDir, blobs)).toEqual([false, false])
    expect(await messageCount(dataDir)).toBe(0)
    const human = await runCli(['folder', 'list', ALICE], {dataDir})
    expect(human.stdout).toMatch(/\nProjects\s+\\Noselect\s+0\s/)

    // a placeholder with children cannot be deleted; once the children are gone, it can
    await expectRefused(['folder', 'delete', ALICE, 'Projects'], dataDir, /folder "Projects" has children/)
    await ok(['folder', 'delete', ALICE, 'Projects/2026'], dataDir)
    await ok(['folder', 'delete', ALICE, 'Projects'], dataDir)
    expect((await folders(dataDir)).map((f) => f.name)).toEqual(DEFAULT_NAMES)
  })

  it('creating a \\Noselect placeholder again revives it with a greater UIDVALIDITY', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['folder', 'create', ALICE, 'A/B'], dataDir)
    await giveMail(dataDir, ALICE, 'A')
    const old = byName(await folders(dataDir))['A']!
    await ok(['folder', 'delete', ALICE, 'A'], dataDir)
    const revived = await runJson(['folder', 'create', ALICE, 'A'], {dataDir})
    expect(revived.noselect).toBeUndefined()
    expect(revived.uidValidity).toBeGreaterThan(old.uidValidity)
    expect(revived).toMatchObject({name: 'A', uidNext: 1, messages: 0})
    expect(byName(await folders(dataDir))['A']).toEqual(revived)
  })

  it('the subscription of a deleted folder is still listed (as IMAP LSUB shows it), as \\NonExistent', async () => {
    const dataDir = await cloneDataDir(template)
    await ok(['folder', 'create', ALICE, 'Kept'], dataDir)
    await ok(['folder', 'delete', ALICE, 'Kept'], dataDir)
    const r = await runCli(['folder', 'list', ALICE], {dataDir})
    expect(r.stdout.split('\n').find((line) => line.startsWith('Kept '))).toMatch(/^Kept\s+\\NonExistent\s+-\s+-\s+-\s+-\s+-\s+yes$/)
  })

  it('UIDVALIDITY after delete and re-create is greater, and UIDs start over', async () => {
    const dataDir = await cloneDataDir(template)
    const first = await runJson(['folder', 'create', ALICE, 'Tmp'], {dataDir})
    await giveMail(dataDir, ALICE, 'Tmp', 3)
    expect(byName(await folders(dataDir))['Tmp']!.uidNext).toBe(4)
    await ok(['folder', 'delete', ALICE, 'Tmp'], dataDir)
    expect(byName(await folders(dataDir))['Tmp']).toBeUndefined()
    const second = await runJson(['folder', 'create', ALICE, 'Tmp'], {dataDir})
    expect(second.uidValidity).toBeGreaterThan(first.uidValidity)
    expect(second.id).not.toBe(first.id)
    expect(second).toMatchObject({uidNext: 1, messages: 0, size: 0})
  })

  it('renaming INBOX moves its messages to the new folder and leaves a fresh, empty INBOX', async () => {
    const dataDir = await cloneDataDir(template)
    await giveMail(dataDir, ALICE, 'INBOX', 2)
    const inbox = byName(await folders(dataDir))['INBOX']!
    const moved = await runJson(['folder', 'rename', ALICE, 'inbox', 'Old Mail'], {dataDir})
    expect(moved).toEqual({...inbox, name: 'Old Mail'})
    const list = byName(await folders(dataDir))
    expect(list['Old Mail']).toEqual(moved)
    expect(list['INBOX']).toMatchObject({messages: 0, unseen: 0, size: 0, uidNext: 1})
    expect(list['INBOX']!.uidValidity).toBeGreaterThan(inbox.uidValidity)
    expect(list['INBOX']!.id).not.toBe(inbox.id)
    expect((await runJson(['user', 'show', ALICE], {dataDir})).messages).toBe(2)
  })
})
