/**
 * `mailbox user import` and `user export` through the real binary: CSV with passwords and a
 * foreign argon2id hash, JSON Lines on stdin, both while `serve` runs (the imported users log
 * in over IMAP at once, mail to an imported alias lands in the user's INBOX); a file with many
 * bad lines reports each one and adds nothing; export then import into a fresh data dir gives
 * the same export back, with and without hashes; `--update` changes what a line gives.
 */
import {spawn} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import argon2 from 'argon2'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {HASH_COST_ENV} from '../../src/auth/password.js'
import {BIN, runCli, runJson, tempDataDir} from '../helpers/cli.js'
import {cloneDataDir, ok, passwordHashOf, snapshot} from './fixtures.js'
import {connectFlow, deliver, makeFlow, simpleMessage, startImapServer, type ImapServer} from './imap-helpers.js'

/** a data dir with the domain example.com alone, copied by the tests that start from one (fixtures.ts cloneDataDir) */
let exampleCom: string
beforeAll(async () => {
  exampleCom = tempDataDir()
  await ok(['domain', 'add', 'example.com'], exampleCom)
})

/** a file next to the data dir (removed with it) */
function writeInput(dataDir: string, name: string, text: string): string {
  const file = join(dirname(dataDir), name)
  writeFileSync(file, text)
  return file
}

describe('user import while the server runs', () => {
  let server: ImapServer | undefined
  afterAll(async () => server?.stop())

  it('imports CSV (passwords, a foreign hash, aliases) and JSON Lines from stdin; the users log in over IMAP', async () => {
    server = await startImapServer({users: [], domains: ['example.test']})
    const {dataDir} = server
    // a hash made elsewhere, with other argon2id costs than ours (OWASP's minimum)
    const foreignHash = await argon2.hash('dave-pw', {type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1})
    const csv = [
      'address,password,password_hash,quota,aliases',
      // a password with a comma and quotes, in a quoted field; aliases separated by ;
      'Carol@Example.test,"pa,ss ""word""",,1G,carol.c@example.test;cc@example.test',
      `dave@example.test,,"${foreignHash}",,`,
      '',
    ].join('\r\n')
    const summary = await runJson(['user', 'import', writeInput(dataDir, 'users.csv', csv)], {dataDir})
    expect(summary).toMatchObject({format: 'csv', users: 2, added: 2, updated: 0, aliases: 2, hashed: 1, hashesGiven: 1, withoutPassword: []})

    // JSON Lines on stdin, told apart from CSV by its first character
    const jsonl = '{"address":"erin@example.test","password":"erin-pw","quota":"500M","aliases":["e@example.test"]}\n'
    const r = await runCli(['user', 'import', '-'], {dataDir, input: jsonl})
    expect(r.stderr).toBe('')
    expect(r.stdout).toMatch(/^imported 1 user\(s\) from stdin: 1 added, 0 updated, 1 alias\(es\); 1 password\(s\) hashed/)
    expect(r.code).toBe(0)

    const users = await runJson(['user', 'list'], {dataDir})
    expect(users.map((u: {address: string; quota: number; folders: number}) => [u.address, u.quota, u.folders])).toEqual([
      ['carol@example.test', 1024 ** 3, 6],
      ['dave@example.test', 0, 6],
      ['erin@example.test', 500 * 1024 ** 2, 6],
    ])

    // the running server lets every imported user in, with the password or the imported hash
    for (const user of [
      {address: 'carol@example.test', password: 'pa,ss "word"'},
      {address: 'dave@example.test', password: 'dave-pw'},
      {address: 'erin@example.test', password: 'erin-pw'},
    ]) {
      const flow = await connectFlow(server, user)
      expect(flow.authenticated, user.address).toBeTruthy()
      await flow.logout()
    }
    const wrong = makeFlow(server, {address: 'dave@example.test', password: 'not-dave'})
    await expect(wrong.connect()).rejects.toThrow()
    wrong.close()

    // an imported alias delivers to its user
    await deliver(server.ports.smtp, 'cc@example.test', simpleMessage({to: 'cc@example.test', subject: 'via alias'}))
    const carol = await connectFlow(server, {address: 'carol@example.test', password: 'pa,ss "word"'})
    const status = await carol.status('INBOX', {messages: true})
    expect(status && status.messages).toBe(1)
    await carol.logout()
  }, 90_000)
})

describe('user import refuses a bad file whole', () => {
  it('reports every bad line with its field and adds nothing', async () => {
    const dataDir = await cloneDataDir(exampleCom)
    await ok(['user', 'import', '-'], dataDir, '{"address":"alice@example.com"}\n{"address":"zoe@example.com"}\n')
    const csv = [
      'address,password,password_hash,quota,aliases', // 1
      'good@example.com,pw,,,', // 2: fine on its own
      'not-an-address,pw,,,', // 3
      'bob@nope.test,pw,,,', // 4
      'alice@example.com,pw,,,', // 5: exists
      'carol@example.com,pw,,lots,', // 6
      'dan@example.com,pw,,,,', // 7: one field too many
      'erin@example.com,pw,"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",,', // 8: both
      'fay@example.com,,"$2b$10$abcdefghijklmnopqrstuv",,', // 9: bcrypt
      'GOOD@example.com,pw,,,', // 10: duplicate of line 2
      'gus@example.com,pw,,,zoe@example.com', // 11: alias over a user
      '',
    ].join('\n')
    const before = await snapshot(dataDir)
    const r = await runCli(['user', 'import', writeInput(dataDir, 'bad.csv', csv)], {dataDir})
    const context = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`
    expect(r.code, context).toBe(1)
    expect(r.stdout, context).toBe('')
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines, context).toEqual([
      'Error: line 3: address: invalid address: "not-an-address"',
      'Error: line 4: address: unknown domain nope.test (add it first: mailbox domain add nope.test)',
      'Error: line 5: address: user alice@example.com already exists (--update changes existing users)',
      'Error: line 6: quota: invalid size: "lots" (use e.g. 500M, 2G, 0 for unlimited)',
      'Error: line 7: 6 field(s) where the header has 5',
      'Error: line 8: password: give a password or a password_hash, not both',
      'Error: line 9: password_hash: not an argon2id PHC string ($argon2id$v=19$m=…,t=…,p=…$salt$hash)',
      'Error: line 10: address: good@example.com is also on line 2',
      'Error: line 11: aliases: zoe@example.com is a user; an alias cannot shadow it',
      expect.stringMatching(/^Error: 9 bad line\(s\) in \S+bad\.csv: nothing was imported$/),
    ])
    expect(await snapshot(dataDir), 'a refused import changed the store').toEqual(before)
  })

  it('JSON Lines: a bad type, an unknown key, a hash too costly to verify, not JSON', async () => {
    const dataDir = await cloneDataDir(exampleCom)
    const jsonl = [
      '{"address":"a@example.com","password":"pw","quota":-1}',
      '{"address":"b@example.com","pasword":"pw"}',
      '{"address":"c@example.com","passwordHash":"$argon2id$v=19$m=4194304,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"}',
      '{"address":"d@example.com",',
      '{"address":"e@example.com","aliases":"e2@example.com"}',
      '{"address":"f@example.com","maxMessages":-3}',
    ].join('\n')
    const before = await snapshot(dataDir)
    const r = await runCli(['user', 'import', '-'], {dataDir, input: jsonl})
    expect(r.code).toBe(1)
    const lines = r.stderr.trimEnd().split('\n')
    expect(lines.slice(0, 5).map((l) => l.replace(/^(Error: line \d+: [^:]*):.*$/, '$1'))).toEqual([
      'Error: line 1: quota',
      'Error: line 2: pasword',
      'Error: line 3: passwordHash',
      'Error: line 4: not JSON',
      'Error: line 5: aliases',
    ])
    expect(lines[2]).toMatch(/memory m=4194304 KiB outside 32\.\.262144/)
    expect(lines[5]).toBe('Error: line 6: maxMessages: invalid message limit: -3 (a whole number of messages, 0 for unlimited)')
    expect(lines[6]).toBe('Error: 6 bad line(s) in stdin: nothing was imported')
    expect(await snapshot(dataDir)).toEqual(before)
  })
})

describe('user import bounds and interruptions', () => {
  it('refuses input over --max-size before reading on, and a file that is not there', async () => {
    const dataDir = await cloneDataDir(exampleCom)
    const before = await snapshot(dataDir)
    const big = 'address,password\n' + 'someone@example.com,pw\n'.repeat(20)
    const r = await runCli(['user', 'import', '-', '--max-size', '200'], {dataDir, input: big})
    expect([r.code, r.stderr]).toEqual([1, 'Error: stdin is larger than 200B (raise --max-size)\n'])
    const file = writeInput(dataDir, 'big.csv', big)
    expect((await runCli(['user', 'import', file, '--max-size', '200'], {dataDir})).stderr).toBe(`Error: ${file} is larger than 200B (raise --max-size)\n`)
    expect((await runCli(['user', 'import', file + '.missing'], {dataDir})).stderr).toBe(`Error: cannot read ${file}.missing: no such file\n`)
    expect(await snapshot(dataDir)).toEqual(before)
  })

  it('killed while hashing (after its progress shows), it has written nothing, and the store takes the next import', async () => {
    const dataDir = await cloneDataDir(exampleCom)
    const before = await snapshot(dataDir)
    // enough users that hashing outlasts the first progress report (5 s) on any machine
    const csv = 'address,password\n' + Array.from({length: 400}, (_, i) => `u${i}@example.com,pw-${i}\n`).join('')
    // at the default argon2id costs, not the suite's cheap ones (vitest.config.ts): hashing must be slow here
    const child = spawn(process.execPath, [BIN, 'user', 'import', '-', '--data-dir', dataDir], {stdio: ['pipe', 'pipe', 'pipe'], env: {...process.env, [HASH_COST_ENV]: ''}})
    try {
      child.stdin.end(csv)
      let stderr = ''
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no progress within 60 s: ${stderr}`)), 60_000)
        child.stderr.on('data', (d) => {
          stderr += d
          if (/hashing passwords: \d+\/400/.test(stderr)) clearTimeout(timer), resolve()
        })
        child.on('exit', (code) => (clearTimeout(timer), reject(new Error(`import ended (${code}) before its progress showed: ${stderr}`))))
      })
    } finally {
      child.kill('SIGKILL')
    }
    await new Promise((resolve) => child.once('close', resolve))
    expect(await snapshot(dataDir), 'an interrupted import wrote something').toEqual(before)
    await ok(['user', 'import', '-'], dataDir, '{"address":"after@example.com","password":"pw"}\n')
    expect((await runJson(['user', 'list'], {dataDir})).map((u: {address: string}) => u.address)).toEqual(['after@example.com'])
  }, 120_000)
})

describe('export, then import into a fresh data dir', () => {
  /**
   * Templates, seeded once through the CLI and copied per test (fixtures.ts cloneDataDir): the
   * source, example.com and example.org with users with a password, a quota and a message limit,
   * an alias, one disabled, one alias of two users; the target, the two domains alone.
   */
  let sourceTemplate: string
  let targetTemplate: string
  beforeAll(async () => {
    sourceTemplate = await cloneDataDir(exampleCom)
    await ok(['domain', 'add', 'example.org'], sourceTemplate)
    targetTemplate = await cloneDataDir(sourceTemplate)
    const csv = 'address,password,quota,max_messages,aliases,disabled\nann@example.com,ann-pw,2G,5000,a@example.com @example.com,\nben@example.org,ben-pw,,,,yes\n'
    await ok(['user', 'import', '-'], sourceTemplate, csv)
    await ok(['alias', 'add', 'team@example.com', 'ann@example.com', 'ben@example.org'], sourceTemplate)
  })
  const seeded = () => cloneDataDir(sourceTemplate)
  const freshWithDomains = () => cloneDataDir(targetTemplate)
  async function exported(dataDir: string, args: string[]): Promise<string> {
    const r = await runCli(['user', 'export', ...args], {dataDir})
    if (r.code !== 0) throw new Error(`user export exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }

  it('with --with-hashes (CSV): the same users, hashes, quotas, aliases and states', async () => {
    const source = await seeded()
    const text = await exported(source, ['--with-hashes'])
    expect(text.split('\n')[0]).toBe('address,password_hash,quota,max_messages,aliases,disabled')
    expect(text).toContain(`ann@example.com,"${await passwordHashOf(source, 'ann@example.com')}",2147483648,5000,@example.com a@example.com,false`)
    expect(text).not.toContain('team@example.com') // an alias of two users belongs to neither

    const target = await freshWithDomains()
    const summary = await runJson(['user', 'import', '-'], {dataDir: target, input: text})
    expect(summary).toMatchObject({users: 2, added: 2, hashed: 0, hashesGiven: 2, aliases: 2})
    expect(await exported(target, ['--with-hashes'])).toBe(text)
    expect(await passwordHashOf(target, 'ben@example.org')).toBe(await passwordHashOf(source, 'ben@example.org'))
  })

  it('without hashes (JSON Lines): the users come back without passwords, and --domain picks one domain', async () => {
    const source = await seeded()
    const text = await exported(source, ['--format', 'jsonl'])
    expect(text).not.toContain('argon2')
    const target = await freshWithDomains()
    const r = await runCli(['user', 'import', '-'], {dataDir: target, input: text})
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toBe('note: 2 user(s) have no password and cannot log in until `mailbox user passwd`\n')
    expect(await exported(target, ['--format', 'jsonl'])).toBe(text)
    expect(await passwordHashOf(target, 'ann@example.com')).toBe('')

    const org = await exported(source, ['--format', 'jsonl', '--domain', 'Example.ORG'])
    expect(org).toBe('{"address":"ben@example.org","quota":0,"maxMessages":0,"aliases":[],"disabled":true}\n')
    expect(text).toContain('{"address":"ann@example.com","quota":2147483648,"maxMessages":5000,')
  })

  it('--update changes the fields a line gives and keeps the others', async () => {
    const dataDir = await seeded()
    const oldHash = await passwordHashOf(dataDir, 'ben@example.org')
    const summary = await runJson(['user', 'import', '-', '--update'], {dataDir, input: 'address,quota,max_messages,aliases\nann@example.com,1G,0,a@example.com ann2@example.com\n'})
    expect(summary).toMatchObject({added: 0, updated: 1, aliases: 1, hashed: 0})
    await runJson(['user', 'import', '-', '--update'], {dataDir, input: '{"address":"ben@example.org","password":"new-pw","disabled":false,"maxMessages":12}\n'})
    const users = await runJson(['user', 'list'], {dataDir})
    expect(users.map((u: {address: string; quota: number; maxMessages: number; disabled: boolean}) => [u.address, u.quota, u.maxMessages, u.disabled])).toEqual([
      ['ann@example.com', 1024 ** 3, 0, false],
      ['ben@example.org', 0, 12, false],
    ])
    const newHash = (await passwordHashOf(dataDir, 'ben@example.org'))!
    expect(newHash).not.toBe(oldHash)
    expect(await argon2.verify(newHash, 'new-pw')).toBe(true)
    expect(await exported(dataDir, [])).toContain('ann@example.com,1073741824,0,@example.com a@example.com ann2@example.com,false')
  })
})
