/**
 * Listings never crash on size, and line up in terminal cells: `mailbox message list` of a folder
 * with 200,000 messages (seeded through the store: SMTP would take too long), whose subject is
 * CJK with an emoji.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import {displayWidth} from '../../src/cli/display-width.js'
import {runCli, tempDataDir} from '../helpers/cli.js'
import {seedMessages} from '../helpers/seed.js'
import {setupUsers} from './smtp-helpers.js'

const COUNT = 200_000
let dataDir: string

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  const raw = Buffer.from('From: =?UTF-8?B?5bGx55Sw?= <yamada@example.com>\r\nTo: alice@example.com\r\nSubject: =?UTF-8?B?5Lya6K2w44Gu6K2w5LqL6Yyy8J+OiQ==?=\r\n\r\nbody\r\n')
  await seedMessages(dataDir, 'alice@example.com', 'INBOX', COUNT, raw)
}, 120_000)


describe('message list on a large folder', () => {
  it(`lists ${COUNT} messages, every column aligned in display cells`, async () => {
    const r = await runCli(['message', 'list', 'alice@example.com'], {dataDir})
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines).toHaveLength(COUNT + 1)
    expect(lines[1]).toContain('会議の議事録🎉')
    // SUBJECT starts at the same cell on the header, a short-UID row and the last row
    const subjectCell = (line: string) => displayWidth(line.slice(0, line.indexOf(line.startsWith('UID') ? 'SUBJECT' : '会議')))
    expect(subjectCell(lines[1]!)).toBe(subjectCell(lines[0]!))
    expect(subjectCell(lines[COUNT]!)).toBe(subjectCell(lines[0]!))
    expect(lines[COUNT]).toMatch(/^200000 /)
  }, 120_000)
})
