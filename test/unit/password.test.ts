import argon2 from 'argon2'
import {afterEach, describe, expect, it} from 'vitest'
import {HASH_COST_ENV, HASH_OPTIONS, burnVerify, checkPasswordShape, hashCostWarning, hashOptions, hashPassword, hashPasswords, verifyPassword} from '../../src/auth/password.js'
import {MailboxError} from '../../src/errors.js'

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    return (err as MailboxError).code
  }
  return undefined
}

describe('password', () => {
  it('checkPasswordShape accepts ordinary passwords and refuses empty, NUL, line breaks, > 1024 bytes', () => {
    expect(codeOf(() => checkPasswordShape('correct horse battery staple'))).toBeUndefined()
    expect(codeOf(() => checkPasswordShape('ü'.repeat(512)))).toBeUndefined() // 1024 bytes
    expect(codeOf(() => checkPasswordShape(''))).toBe('invalid')
    expect(codeOf(() => checkPasswordShape('a\u0000b'))).toBe('invalid')
    expect(codeOf(() => checkPasswordShape('a\rb'))).toBe('invalid')
    expect(codeOf(() => checkPasswordShape('a\nb'))).toBe('invalid')
    expect(codeOf(() => checkPasswordShape('ü'.repeat(513)))).toBe('invalid') // 1026 bytes
  })

  // the suite runs with cheap hashes (vitest.config.ts); these tests set the variable themselves
  const suiteCost = process.env[HASH_COST_ENV]
  afterEach(() => {
    if (suiteCost === undefined) delete process.env[HASH_COST_ENV]
    else process.env[HASH_COST_ENV] = suiteCost
  })

  it('hashes with argon2id and the default costs; verify accepts only the same password', async () => {
    expect(HASH_OPTIONS.type).toBe(argon2.argon2id) // written as a number: argon2 loads at the first hash
    delete process.env[HASH_COST_ENV]
    expect(hashCostWarning()).toBeUndefined()
    const hash = await hashPassword('s3cret pässword')
    expect(hash).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${HASH_OPTIONS.memoryCost},t=${HASH_OPTIONS.timeCost},p=${HASH_OPTIONS.parallelism}\\$`))
    expect(await verifyPassword(hash, 's3cret pässword')).toBe(true)
    expect(await verifyPassword(hash, 's3cret passwort')).toBe(false)
    expect(await verifyPassword(hash, '')).toBe(false)
  })

  it(`$${HASH_COST_ENV} sets the costs of new hashes (empty: the defaults), within the import limits, with a warning for serve`, async () => {
    process.env[HASH_COST_ENV] = 'm=1024,t=1,p=1'
    expect(await hashPassword('pw')).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
    const [hash] = await hashPasswords(['pw'])
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
    expect(await verifyPassword(hash!, 'pw')).toBe(true)
    expect(hashCostWarning()).toBe(
      `${HASH_COST_ENV} lowers the argon2id costs of new password hashes to m=1024,t=1,p=1 (default m=65536,t=3,p=4): weaker hashes, meant for test suites only`,
    )
    // only lower costs warn
    process.env[HASH_COST_ENV] = 'm=131072,t=3,p=4'
    expect(hashCostWarning()).toBeUndefined()
    process.env[HASH_COST_ENV] = ''
    expect(hashOptions()).toBe(HASH_OPTIONS)
    for (const bad of ['1024', 'm=1024,t=1', 'm=4,t=1,p=1', 'm=1024,t=0,p=1', 'm=1024,t=13,p=1', 'm=1024,t=1,p=17', 'm=1048576,t=1,p=1']) {
      process.env[HASH_COST_ENV] = bad
      expect(codeOf(() => hashOptions()), bad).toBe('invalid')
      await expect(hashPassword('pw'), bad).rejects.toMatchObject({code: 'invalid'})
    }
  })

  it('hashPassword refuses a malformed password before hashing', async () => {
    await expect(hashPassword('')).rejects.toMatchObject({code: 'invalid'})
  })

  it('a malformed stored hash never authenticates (and does not throw)', async () => {
    expect(await verifyPassword('', 'x')).toBe(false)
    expect(await verifyPassword('not-a-phc-string', 'x')).toBe(false)
    expect(await verifyPassword('$argon2id$v=19$m=65536,t=3,p=4$broken', 'x')).toBe(false)
  })

  it('burnVerify resolves (and costs about as much as a verify)', async () => {
    await expect(burnVerify('anything')).resolves.toBeUndefined()
  })
})
