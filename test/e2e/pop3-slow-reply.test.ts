/**
 * POP3's idle timeout counts the client's silence, not ours: a reply that takes longer than the
 * timeout (here a failed login's delay; under load, argon2) still arrives, and the timer then
 * runs again from our reply.
 */
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {freePorts, setupUsers} from './smtp-helpers.js'
import {RawPop3} from './pop3-helpers.js'

const IDLE_MS = 1000
const FAILURE_DELAY_MS = 2500

let served: Served
let pop3: number

beforeAll(async () => {
  const dataDir = tempDataDir()
  ;[pop3] = await freePorts(1)
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com', password: 'alice pw'}])
  const config = join(dirname(dataDir), 'config.json')
  writeFileSync(config, JSON.stringify({pop3: {idleTimeoutMs: IDLE_MS}, auth: {failureDelayMs: FAILURE_DELAY_MS}}))
  served = await startServe(dataDir, ['--allow-insecure-auth', '--config', config, '--pop3-port', String(pop3)])
})

afterAll(async () => {
  await served?.stop()
})

describe('POP3 idle timeout', () => {
  it('does not cut a session while its command is still being answered; it runs again from the reply', async () => {
    const c = await RawPop3.open(pop3)
    const started = Date.now()
    expect(await c.login('alice@example.com', 'wrong')).toMatch(/^-ERR \[AUTH\]/)
    expect(Date.now() - started).toBeGreaterThanOrEqual(FAILURE_DELAY_MS - 100)
    // then silence from the client: closed by the timer, started again by our reply
    const closedAt = Date.now()
    await expect(c.line(IDLE_MS * 10)).rejects.toThrow(/connection closed/)
    expect(Date.now() - closedAt).toBeLessThan(IDLE_MS * 5)
  })
})
