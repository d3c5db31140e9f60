import argon2 from 'argon2'
import {describe, expect, it} from 'vitest'
import {HASH_OPTIONS, burnVerify, checkPasswordShape, hashPassword, verifyPassword} from '../../src/auth/password.js'
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

  it('hashes with argon2id and the configured costs; verify accepts only the same password', async () => {
    expect(HASH_OPTIONS.type).toBe(argon2.argon2id) // written as a number: argon2 loads at the first hash
    const hash = await hashPassword('s3cret pässword')
    expect(hash).toMatch(new RegExp(`^\\$argon2id\\$v=19\\$m=${HASH_OPTIONS.memoryCost},t=${HASH_OPTIONS.timeCost},p=${HASH_OPTIONS.parallelism}\\$`))
    expect(await verifyPassword(hash, 's3cret pässword')).toBe(true)
    expect(await verifyPassword(hash, 's3cret passwort')).toBe(false)
    expect(await verifyPassword(hash, '')).toBe(false)
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
