/**
 * The parts of `user import` on a real store: the CSV reader (quotes, line numbers, malformed
 * records), the user file shape, the argon2id hash bounds, and the all-or-nothing commit when
 * the store changes while the passwords are being hashed.
 */
import argon2 from 'argon2'
import {describe, expect, it} from 'vitest'
import {checkArgon2idHash} from '../../src/auth/password.js'
import {progressReporter} from '../../src/cli/progress.js'
import {csvLine, parseCsv} from '../../src/csv.js'
import {addDomain} from '../../src/directory/domains.js'
import {detectFormat, formatUserFile, parseUserFile} from '../../src/directory/user-file.js'
import {ImportRefused, importUsers} from '../../src/directory/user-import.js'
import {tempStore} from '../helpers/store.js'

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks, and numbers records by their first line', () => {
    const text = 'a,b\r\n"x,1","say ""hi"""\n\n"multi\nline",z\nlast,"" \n'
    expect(parseCsv(text)).toEqual([
      {line: 1, fields: ['a', 'b']},
      {line: 2, fields: ['x,1', 'say "hi"']},
      {line: 4, fields: ['multi\nline', 'z']},
      {line: 6, fields: ['last', ' '], error: 'text after a closing quote (write a quote inside a quoted field as "")'},
    ])
  })

  it('keeps a last record without a line break, and reports a quote left open', () => {
    expect(parseCsv('a,b\nc,d')).toEqual([
      {line: 1, fields: ['a', 'b']},
      {line: 2, fields: ['c', 'd']},
    ])
    expect(parseCsv('a\n"open,\nmore\n')).toEqual([
      {line: 1, fields: ['a']},
      {line: 2, fields: ['open,\nmore\n'], error: 'a quoted field is not closed'},
    ])
  })

  it('a field written by csvLine reads back the same', () => {
    const fields = ['plain', 'with,comma', 'with "quotes"', ' edge ', 'two\nlines', '$argon2id$v=19$m=65536,t=3,p=4$salt$hash', '']
    expect(parseCsv(csvLine(fields))).toEqual([{line: 1, fields}])
  })
})

describe('the user file', () => {
  it('detects the format from the name, else from the first character', () => {
    expect(detectFormat('{"address":1}', 'users.csv')).toBe('csv')
    expect(detectFormat('address\n', 'users.ndjson')).toBe('jsonl')
    expect(detectFormat('\n  {"address":"a@b.c"}\n')).toBe('jsonl')
    expect(detectFormat('\uFEFFaddress,password\n')).toBe('csv')
  })

  it('refuses an unknown or repeated column, and a header without address', () => {
    expect(parseUserFile('\uFEFFaddress,pasword,quota,quota\n', 'csv').problems.map((p) => p.message)).toEqual([
      'unknown column "pasword" (known: address, password, password_hash, quota, max_messages, aliases, disabled)',
      'column quota appears twice',
    ])
    expect(parseUserFile('password\nx\n', 'csv').problems.map((p) => p.message)).toEqual(['no address column in the header row'])
  })

  it('formatUserFile output parses back to the same users, in both formats', () => {
    const users = [
      {address: 'a@example.com', passwordHash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', quota: 5, maxMessages: 7, aliases: ['x@example.com', '@example.com'], disabled: true},
      {address: 'b@example.com', quota: 0, maxMessages: 0, aliases: [], disabled: false},
    ]
    for (const format of ['csv', 'jsonl'] as const) {
      const parsed = parseUserFile(formatUserFile(users, format, true), format)
      expect(parsed.problems).toEqual([])
      expect(parsed.entries.map((e) => ({...e, quota: Number(e.quota), maxMessages: Number(e.maxMessages), line: undefined}))).toEqual(
        users.map((u) => ({address: u.address, ...(u.passwordHash ? {passwordHash: u.passwordHash} : {}), quota: u.quota, maxMessages: u.maxMessages, aliases: u.aliases, disabled: u.disabled, line: undefined})),
      )
    }
  })
})

describe('checkArgon2idHash', () => {
  it('takes a real argon2id hash, also with other costs than ours', async () => {
    checkArgon2idHash(await argon2.hash('x', {type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1}))
  })

  it('refuses other algorithms and costs that would make each login a denial of service', async () => {
    const bad = [
      await argon2.hash('x', {type: argon2.argon2i}),
      '$argon2id$v=16$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=1048576,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=65536,t=100,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=65536,t=3,p=64$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA',
      '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$short',
    ]
    for (const hash of bad) expect(() => checkArgon2idHash(hash), hash).toThrow()
  })
})

describe('importUsers on a real store', () => {
  it('refuses the whole file when the store changed meanwhile: a name taken while the passwords were hashed', async () => {
    const store = tempStore()
    await addDomain(store, 'example.com')
    const file = parseUserFile('address,password\namy@example.com,pw1\nbob@example.com,pw2\n', 'csv')
    const refusal = await importUsers(store, file, 'test.csv', {
      // another process adds an alias by the name of one of the file's users
      onHashed: (done) => {
        if (done === 1) store.transact(() => store.aliases.putSync('bob@example.com', {alias: 'bob@example.com', targets: ['x@remote.test'], createdAt: 0}))
      },
    }).catch((err: unknown) => err)
    expect(refusal).toBeInstanceOf(ImportRefused)
    expect((refusal as ImportRefused).problems).toEqual([{line: 3, field: 'address', message: 'bob@example.com is an alias; remove the alias first'}])
    expect(await store.directory.user('amy@example.com')).toBeUndefined()
    expect([...store.mailboxes.getKeys()]).toEqual([])
  })

  it('adds users, default folders and aliases in one go, hashing each password', async () => {
    const store = tempStore()
    await addDomain(store, 'example.com')
    const file = parseUserFile('{"address":"amy@example.com","password":"pw1","aliases":["a@example.com"]}\n{"address":"bob@example.com","password":"pw2"}\n', 'jsonl')
    const progress: number[] = []
    const summary = await importUsers(store, file, 'test.jsonl', {onHashed: (done, total) => progress.push(done * 10 + total)})
    expect(summary).toEqual({format: 'jsonl', users: 2, added: 2, updated: 0, aliases: 1, hashed: 2, hashesGiven: 0, withoutPassword: []})
    expect(progress).toEqual([12, 22])
    expect(await argon2.verify((await store.directory.user('bob@example.com'))!.passwordHash, 'pw2')).toBe(true)
    expect((await store.directory.alias('a@example.com'))?.targets).toEqual(['amy@example.com'])
    expect([...store.mailboxes.getKeys()].filter(([user]) => user === 'amy@example.com')).toHaveLength(6)
  })
})

describe('progressReporter', () => {
  const sink = (isTTY: boolean) => {
    const out: string[] = []
    return {out, stream: {isTTY, write: (text: string) => out.push(text)} as unknown as NodeJS.WriteStream}
  }

  it('says nothing of work that ends before the first report is due', () => {
    const {out, stream} = sink(false)
    const report = progressReporter('hashing', {stream, everyMs: 60_000})
    for (let i = 1; i <= 5; i++) report(i, 5)
    expect(out).toEqual([])
  })

  it('writes lines to a log and one rewritten line to a terminal, ending with the total', () => {
    const log = sink(false)
    const toLog = progressReporter('hashing', {stream: log.stream, everyMs: 0})
    toLog(1, 2)
    toLog(2, 2)
    expect(log.out.map((l) => l.replace(/ \(.*\)/, ''))).toEqual(['hashing: 1/2\n', 'hashing: 2/2\n'])
    const tty = sink(true)
    const toTty = progressReporter('hashing', {stream: tty.stream, everyMs: 0})
    toTty(1, 2)
    toTty(2, 2)
    expect(tty.out.map((l) => l.replace(/ \(.*\)/, ''))).toEqual(['\rhashing: 1/2', '\rhashing: 2/2\n'])
  })
})
