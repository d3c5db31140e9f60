/**
 * resolveRelay (src/delivery/relay.ts) on real files in a temp dir: where the smarthost password
 * comes from (file, then MAILBOX_RELAY_PASSWORD, then the legacy inline form), the CA file, the
 * start-log summary, and errors that name what is wrong without ever holding the password.
 */
import {chmodSync, mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MailboxError} from '../../src/errors.js'
import {RELAY_PASSWORD_ENV, resolveRelay} from '../../src/delivery/relay.js'
import {withoutCredentials} from '../../src/delivery/route.js'
import {loadTls} from '../../src/tls.js'

const SECRET = 'pw-4f9a1c'
let dir: string
let passwordFile: string
let caFile: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'mbx-relay-unit-'))
  passwordFile = join(dir, 'password')
  writeFileSync(passwordFile, `${SECRET}\r\n`)
  chmodSync(passwordFile, 0o600)
  await loadTls({dataDir: dir, hostname: 'localhost'})
  caFile = join(dir, 'tls', 'cert.pem')
})

afterAll(() => rmSync(dir, {recursive: true, force: true}))

function errorOf(fn: () => unknown): MailboxError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(MailboxError)
    expect((err as Error).message).not.toContain(SECRET)
    return err as MailboxError
  }
  throw new Error('expected a MailboxError')
}

describe('resolveRelay', () => {
  it('no relay host: no hop, the CA context still built for routes with credentials', () => {
    expect(resolveRelay({insecure: false}, {})).toEqual({insecure: false, warnings: []})
    expect(resolveRelay({insecure: false, caFile}, {}).trustedCa).toBeDefined()
  })

  it('host, user and password file (one trailing newline dropped); the summary names the file, not the password', () => {
    const relay = resolveRelay({host: 'smart.example:2587', user: 'relay', passwordFile, insecure: false}, {[RELAY_PASSWORD_ENV]: 'from-env'})
    expect(relay.hop).toEqual({host: 'smart.example', port: 2587, auth: {user: 'relay', pass: SECRET}})
    expect(relay.summary).toEqual({host: 'smart.example', port: 2587, user: 'relay', passwordFrom: passwordFile, tls: 'verify'})
    expect(JSON.stringify(relay.summary) + relay.warnings.join()).not.toContain(SECRET)
  })

  it('the environment variable when there is no file; it beats a legacy inline password', () => {
    expect(resolveRelay({host: 'relay@smart.example', insecure: false}, {[RELAY_PASSWORD_ENV]: SECRET}).hop).toEqual({host: 'smart.example', port: 587, auth: {user: 'relay', pass: SECRET}})
    const relay = resolveRelay({host: 'relay:inline@smart.example', insecure: false}, {[RELAY_PASSWORD_ENV]: SECRET})
    expect(relay.hop!.auth).toEqual({user: 'relay', pass: SECRET})
    expect(relay.summary!.passwordFrom).toBe(`$${RELAY_PASSWORD_ENV}`)
    // the level the start log reports: `may` without credentials or when insecure
    expect(resolveRelay({host: 'smart.example', insecure: false}, {}).summary!.tls).toBe('may')
    expect(resolveRelay({host: 'relay@smart.example', insecure: true}, {[RELAY_PASSWORD_ENV]: SECRET}).summary!.tls).toBe('may')
  })

  it('the legacy inline form still works; a host without credentials has none', () => {
    expect(resolveRelay({host: 'u:p%40ss@smart.example', insecure: false}, {}).hop).toEqual({host: 'smart.example', port: 587, auth: {user: 'u', pass: 'p@ss'}})
    expect(resolveRelay({host: 'smart.example', insecure: false}, {}).hop).toEqual({host: 'smart.example', port: 587})
  })

  it('insecure warns; a password file others can read warns', () => {
    expect(resolveRelay({host: 'smart.example', insecure: true}, {}).warnings).toEqual([expect.stringMatching(/relay\.insecure is set/)])
    const loose = join(dir, 'loose')
    writeFileSync(loose, SECRET)
    chmodSync(loose, 0o644)
    const relay = resolveRelay({host: 'smart.example', user: 'u', passwordFile: loose, insecure: false}, {})
    expect(relay.warnings).toEqual([expect.stringMatching(/can be read by other users/)])
  })

  it('refuses what cannot work, naming it, never quoting the password', () => {
    expect(errorOf(() => resolveRelay({host: 'smart.example', user: 'u', insecure: false}, {})).message).toMatch(/has no password/)
    expect(errorOf(() => resolveRelay({host: 'smart.example', passwordFile, insecure: false}, {})).message).toMatch(/without a relay user/)
    expect(errorOf(() => resolveRelay({user: 'u', passwordFile, insecure: false}, {})).message).toMatch(/without a relay host/)
    expect(errorOf(() => resolveRelay({host: 'smart.example', user: 'u', passwordFile: join(dir, 'nope'), insecure: false}, {})).message).toMatch(/ENOENT/)
    writeFileSync(join(dir, 'empty'), '\n')
    expect(errorOf(() => resolveRelay({host: 'smart.example', user: 'u', passwordFile: join(dir, 'empty'), insecure: false}, {})).message).toMatch(/is empty/)
    expect(errorOf(() => resolveRelay({host: 'u:' + SECRET + '@smart.example:99999', insecure: false}, {})).message).toMatch(/invalid port/)
    expect(errorOf(() => resolveRelay({host: 'smart.example', caFile: passwordFile, insecure: false}, {})).message).toMatch(/no PEM certificate/)
  })

  it('withoutCredentials cuts the user:pass@ part', () => {
    expect(withoutCredentials(`u:${SECRET}@smart.example:587`)).toBe('smart.example:587')
    expect(withoutCredentials('smart.example')).toBe('smart.example')
  })
})
