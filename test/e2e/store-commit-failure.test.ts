/**
 * A store commit that fails must be the writer's problem, not the process's. The failure is real:
 * a file size limit set on the running server with prlimit(1) keeps LMDB from growing its file,
 * so the commit's page writes fail with EFBIG (Node ignores SIGXFSZ).
 *  - the search text cache write (not awaited by SEARCH) fails: logged, SEARCH answered;
 *  - a delivery fails: the client gets a temporary error, nothing is stored;
 *  - the server lives on, and works normally once the disk can take writes again.
 * Before, either write ended the server with an unhandled rejection.
 */
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {execFileSync} from 'node:child_process'
import {statSync} from 'node:fs'
import {describe, expect, it} from 'vitest'
import nodemailer from 'nodemailer'
import {storePath} from '../../src/store/store.js'
import {HOST, RawImap, deliver, simpleMessage, startImapServer} from './imap-helpers.js'

function hasPrlimit(): boolean {
  try {
    execFileSync('prlimit', ['--version'], {stdio: 'ignore'})
    return true
  } catch {
    return false
  }
}

const longBody = (word: string) => Array.from({length: 8000}, (_, i) => `line ${i} of a long letter with a ${word} in it`).join('\r\n')

describe('store commit failures', () => {
  it.skipIf(missingOutsideCi(hasPrlimit()))('a failed cache write or delivery is reported, and the server lives on', async () => {
    requireInCi(hasPrlimit(), 'prlimit (util-linux) is needed for this test')
    const server = await startImapServer()
    let stderr = ''
    server.served.child.stderr!.on('data', (d) => (stderr += d))
    const pid = String(server.served.pid)
    try {
      await deliver(server.ports.smtp, 'alice@example.test', simpleMessage({subject: 'long', body: longBody('needle')}))
      // the store file may not grow from here on: new pages at its end fail to be written
      execFileSync('prlimit', ['--pid', pid, `--fsize=${statSync(storePath(server.dataDir)).size}:`])

      const imap = await RawImap.login(server.ports.imap, server.users[0]!)
      expect((await imap.command('SELECT INBOX')).status).toBe('OK')
      const search = await imap.command('SEARCH BODY needle')
      expect(search.untagged).toContain('* SEARCH 1')
      await new Promise((r) => setTimeout(r, 500)) // the cache write has failed by now
      expect((await imap.command('NOOP')).status).toBe('OK')
      expect(server.served.output()).toContain('search text not cached')

      const transport = nodemailer.createTransport({host: HOST, port: server.ports.smtp, secure: false, ignoreTLS: true})
      const refused = await transport
        .sendMail({envelope: {from: 'sender@remote.test', to: ['alice@example.test']}, raw: simpleMessage({subject: 'lost', body: longBody('hay')})})
        .then(
          () => undefined,
          (err: {responseCode?: number}) => err.responseCode,
        )
      transport.close()
      expect(refused).toBe(451)
      expect((await imap.command('NOOP')).status).toBe('OK')

      // room again: everything works, and the text gets cached
      execFileSync('prlimit', ['--pid', pid, '--fsize=unlimited:'])
      await deliver(server.ports.smtp, 'alice@example.test', simpleMessage({subject: 'after', body: 'another needle'}))
      expect((await imap.command('NOOP')).untagged).toContain('* 2 EXISTS')
      const again = await imap.command('SEARCH BODY needle')
      expect(again.untagged).toContain('* SEARCH 1 2')
      await imap.command('LOGOUT')
      expect(server.served.output()).toContain('store commit failed')
      expect(stderr).not.toMatch(/Commit failed \(see commitError/)
    } catch (err) {
      console.log(`server stderr:\n${stderr.slice(-2000)}`)
      throw err
    } finally {
      await server.stop()
    }
    expect(await server.served.exited).toBe(0)
  })
})
