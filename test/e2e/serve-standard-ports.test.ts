/**
 * `serve --standard-ports` listens on 25, 587, 465, 143, 993, 110, 995, 80 and 443, and a single port flag
 * still overrides one of them. Binding ports below 1024 needs root (or CAP_NET_BIND_SERVICE):
 * as root, or on CI (which runs as root), the test binds them; elsewhere it is skipped, and the
 * resolved configuration is covered by test/unit/serve-config.test.ts.
 *
 * It binds 127.0.0.2, not 127.0.0.1: the MX delivery tests (queue-mx) run receivers on
 * 127.0.0.1:25 in parallel test files, and the two must not take each other's port.
 */
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {createServer} from 'node:net'
import {describe, expect, it} from 'vitest'
import {runJson, startServe, tempDataDir} from '../helpers/cli.js'

const HOST = '127.0.0.2'
const STANDARD = {smtp: 25, submission: 587, smtps: 465, imap: 143, imaps: 993, pop3: 110, pop3s: 995, http: 80, https: 443}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer()
    srv.once('error', () => resolve(false))
    srv.listen(port, HOST, () => srv.close(() => resolve(true)))
  })
}

const privileged = process.getuid?.() === 0
const free = privileged && (await Promise.all(Object.values(STANDARD).map(canListen))).every(Boolean)

describe('serve --standard-ports', () => {
  it.skipIf(missingOutsideCi(free))('listens on the nine standard ports; --pop3-port 0 still turns POP3 off', async () => {
    requireInCi(free, `root and the nine standard ports free on ${HOST} are needed`)
    const dataDir = tempDataDir()
    const served = await startServe(dataDir, ['--standard-ports', '--bind', HOST, '--pop3-port', '0'], 60_000, {}, {defaultPorts: Object.keys(STANDARD)})
    try {
      const status = await runJson<{listeners: {name: string; address: string}[]}>(['status'], {dataDir})
      const {pop3: _, ...expected} = STANDARD
      expect(status.listeners.filter((l) => l.name !== 'control')).toEqual(Object.entries(expected).map(([name, port]) => ({name, address: `${HOST}:${port}`})))
      for (const port of Object.values(expected)) expect(await canListen(port), `port ${port} is not taken by serve`).toBe(false)
    } finally {
      expect(await served.stop('SIGTERM')).toBe(0)
    }
  }, 120_000)
})
