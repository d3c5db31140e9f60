/**
 * $MAILBOX_PASSWORD_HASH_COST (src/auth/password.ts), the argon2id costs of new hashes, which the
 * test suite lowers for every mailbox it runs (vitest.config.ts): `user add` hashes with them,
 * `serve` verifies such a hash at login and warns at every start while the costs are below the
 * defaults; unset or empty, the defaults (no warning); a malformed value stops `serve` at start.
 */
import {describe, expect, it} from 'vitest'
import {HASH_COST_ENV} from '../../src/auth/password.js'
import {freePort, runCli, startServe, tempDataDir} from '../helpers/cli.js'
import {passwordHashOf} from './fixtures.js'
import {RawImap, quote} from './imap-helpers.js'

const WARNING = /^\{.*"level":"warn".*"component":"auth".*"msg":"MAILBOX_PASSWORD_HASH_COST lowers the argon2id costs of new password hashes to m=1024,t=1,p=1 \(default m=65536,t=3,p=4\): weaker hashes, meant for test suites only"/m

describe(`$${HASH_COST_ENV}`, () => {
  it('user add hashes with its costs, serve logs in against that hash and warns while it is set; unset, no warning', async () => {
    const dataDir = tempDataDir()
    const cheap = {[HASH_COST_ENV]: 'm=1024,t=1,p=1'}
    expect((await runCli(['domain', 'add', 'example.test'], {dataDir})).code).toBe(0)
    const added = await runCli(['user', 'add', 'alice@example.test', '--password-stdin'], {dataDir, input: 'alice-pw\n', env: cheap})
    expect(added.code, added.stderr).toBe(0)
    expect(added.stderr).toBe('') // the commands say nothing: their output is a contract (one line on error)
    expect(await passwordHashOf(dataDir, 'alice@example.test')).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)

    const imap = await freePort()
    const served = await startServe(dataDir, ['--imap-port', String(imap), '--allow-insecure-auth'], 15_000, cheap)
    try {
      expect(served.output()).toMatch(WARNING)
      const c = await RawImap.open(imap)
      try {
        expect((await c.command(`LOGIN ${quote('alice@example.test')} ${quote('alice-pw')}`)).status).toBe('OK')
      } finally {
        c.close()
      }
    } finally {
      await served.stop()
    }

    const defaults = await startServe(dataDir, [], 15_000, {[HASH_COST_ENV]: ''})
    try {
      expect(defaults.output()).not.toContain(HASH_COST_ENV)
    } finally {
      await defaults.stop()
    }
  })

  it('a malformed value stops serve at start, naming the variable', async () => {
    const dataDir = tempDataDir()
    const failed = startServe(dataDir, [], 15_000, {[HASH_COST_ENV]: 'm=64M'})
    await expect(failed).rejects.toThrow(/serve exited \(1\) before starting:[\s\S]*MAILBOX_PASSWORD_HASH_COST must look like m=65536,t=3,p=4, not "m=64M"/)
  })
})
