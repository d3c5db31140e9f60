/** The matcher's token decision (src/matcher/token.ts): which bind addresses need a token, where it comes from. */
import {mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {isLoopback, readTokenFile, requiredToken, tokenPath, tokensEqual} from '../../src/matcher/token.js'
import {codeOf} from '../helpers/errors.js'

const root = mkdtempSync(join(tmpdir(), 'mbx-token-'))
afterAll(() => rmSync(root, {recursive: true, force: true}))
let n = 0
const dataDir = () => {
  const dir = join(root, `d${n++}`)
  mkdirSync(dir)
  return dir
}

describe('isLoopback', () => {
  it.each(['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST'])('%s is loopback', (bind) => {
    expect(isLoopback(bind)).toBe(true)
  })

  it.each(['0.0.0.0', '::', '', '10.0.0.5', '192.168.1.1', '128.0.0.1', '::2', 'fe80::1', '::ffff:10.0.0.1', 'mail.example.com', '127.0.0.1.example.com'])('%j is not', (bind) => {
    expect(isLoopback(bind)).toBe(false)
  })
})

describe('requiredToken', () => {
  it('loopback without a configured token: none required, no file written', () => {
    const dir = dataDir()
    expect(requiredToken({bind: '127.0.0.1', dataDir: dir})).toEqual({})
    expect(readTokenFile(dir)).toBeUndefined()
  })

  it('beyond loopback without one: generated into <dataDir>/matcher.token, mode 0600, and kept across restarts', () => {
    const dir = dataDir()
    const first = requiredToken({bind: '0.0.0.0', dataDir: dir})
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(first.generatedInto).toBe(tokenPath(dir))
    expect(statSync(tokenPath(dir)).mode & 0o777).toBe(0o600)
    expect(readFileSync(tokenPath(dir), 'utf8').trim()).toBe(first.token)
    expect(requiredToken({bind: '::', dataDir: dir}).token).toBe(first.token)
  })

  it('a configured token is required on any address, loopback included, and no file is written', () => {
    const dir = dataDir()
    expect(requiredToken({bind: '127.0.0.1', dataDir: dir, configured: 'a-configured-token-1234'})).toEqual({token: 'a-configured-token-1234'})
    expect(requiredToken({bind: '0.0.0.0', dataDir: dir, configured: 'a-configured-token-1234'})).toEqual({token: 'a-configured-token-1234'})
    expect(readTokenFile(dir)).toBeUndefined()
  })

  it('a configured token shorter than 16 characters is invalid', () => {
    expect(codeOf(() => requiredToken({bind: '127.0.0.1', dataDir: dataDir(), configured: 'short'}))).toBe('invalid')
  })

  it('an existing token file is used as it is', () => {
    const dir = dataDir()
    writeFileSync(tokenPath(dir), 'the-token-in-the-file-xyz\n', {mode: 0o600})
    expect(requiredToken({bind: '10.1.2.3', dataDir: dir}).token).toBe('the-token-in-the-file-xyz')
  })

  it('an existing token file that is empty, too short, or readable by others is refused with a clear error, and left alone', () => {
    for (const [content, mode, says] of [['\n', 0o600, 'no token of at least 16'], ['short\n', 0o600, 'no token of at least 16'], ['the-token-in-the-file-xyz\n', 0o644, 'readable by other users']] as const) {
      const dir = dataDir()
      writeFileSync(tokenPath(dir), content, {mode})
      expect(() => requiredToken({bind: '0.0.0.0', dataDir: dir})).toThrow(says)
      expect(readFileSync(tokenPath(dir), 'utf8')).toBe(content)
    }
  })
})

describe('tokensEqual', () => {
  it('equal only for the same string, whatever the lengths', () => {
    expect(tokensEqual('abcdefghijklmnop', 'abcdefghijklmnop')).toBe(true)
    expect(tokensEqual('abcdefghijklmnoq', 'abcdefghijklmnop')).toBe(false)
    expect(tokensEqual('abc', 'abcdefghijklmnop')).toBe(false)
    expect(tokensEqual('', 'abcdefghijklmnop')).toBe(false)
  })
})
