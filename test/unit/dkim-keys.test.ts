/**
 * DKIM key size (src/dkim/keys.ts): 2048-bit RSA unless $MAILBOX_DKIM_RSA_BITS says otherwise (the
 * test suite's 1024, see vitest.config.ts); a value that is not a usual size is refused.
 */
import {createPublicKey} from 'node:crypto'
import {afterEach, describe, expect, it} from 'vitest'
import {RSA_BITS_ENV, generateDkimKeys, rsaBits} from '../../src/dkim/keys.js'

const suiteValue = process.env[RSA_BITS_ENV]
afterEach(() => {
  if (suiteValue === undefined) delete process.env[RSA_BITS_ENV]
  else process.env[RSA_BITS_ENV] = suiteValue
})

const rsaKeyBits = (bits: string | undefined): number => {
  if (bits === undefined) delete process.env[RSA_BITS_ENV]
  else process.env[RSA_BITS_ENV] = bits
  const rsa = generateDkimKeys('example.test', Date.UTC(2026, 11, 4)).find((k) => k.algorithm === 'rsa')!
  return createPublicKey({key: Buffer.from(rsa.publicKey, 'base64'), format: 'der', type: 'spki'}).asymmetricKeyDetails!.modulusLength!
}

describe('DKIM RSA key size', () => {
  it('is 2048 bits by default, and what $MAILBOX_DKIM_RSA_BITS says', () => {
    expect(rsaKeyBits(undefined)).toBe(2048)
    expect(rsaKeyBits('')).toBe(2048)
    expect(rsaKeyBits('1024')).toBe(1024)
  })

  it('refuses a size that is not 1024, 2048, 3072 or 4096', () => {
    for (const bad of ['512', '2000', 'big']) {
      process.env[RSA_BITS_ENV] = bad
      expect(() => rsaBits()).toThrow(/MAILBOX_DKIM_RSA_BITS must be 1024, 2048, 3072 or 4096/)
    }
  })
})
