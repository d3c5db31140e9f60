/**
 * src/srs against Debian's postsrsd (libsrs2's code), the implementation the format follows:
 * a real postsrsd with the same secret, asked over its Postfix tcp_table ports. What it makes
 * must be what srsForward makes (today's stamp: the test takes ours from just before and just
 * after asking, in case a day ends between), and each reverses the other's addresses.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {connect} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {srsForward, srsReverse} from '../../src/srs/index.js'
import {missingOutsideCi, onPath, requireInCi} from '../helpers/ci.js'
import {freePort} from '../helpers/ports.js'

const HAVE_POSTSRSD = onPath('postsrsd')
const SECRET_TEXT = 'mailbox-postsrsd-secret'
const SECRET = Buffer.from(SECRET_TEXT)

/** one tcp_table lookup: `get KEY` → `200 VALUE` or `500 reason` */
function lookup(port: number, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let reply = ''
    socket.setTimeout(5000, () => socket.destroy(new Error('postsrsd did not answer')))
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8')
      if (reply.endsWith('\n')) {
        socket.end()
        resolve(reply.trimEnd())
      }
    })
    socket.on('error', reject)
    socket.write(`get ${key}\n`)
  })
}

async function untilListening(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => (socket.end(), resolve(true)))
      socket.on('error', () => resolve(false))
    })
    if (up) return
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('postsrsd did not start listening')
}

describe.skipIf(missingOutsideCi(HAVE_POSTSRSD))('SRS as postsrsd makes and reads it', () => {
  let child: ChildProcess
  let dir: string
  let forwardPort: number
  let reversePort: number

  beforeAll(async () => {
    requireInCi(HAVE_POSTSRSD, 'postsrsd is not installed')
    dir = mkdtempSync(join(tmpdir(), 'mbx-postsrsd-'))
    writeFileSync(join(dir, 'secret'), `${SECRET_TEXT}\n`, {mode: 0o600})
    forwardPort = await freePort()
    reversePort = await freePort()
    child = spawn('postsrsd', [`-s${join(dir, 'secret')}`, '-dfwd.example', '-l127.0.0.1', '-4', `-f${forwardPort}`, `-r${reversePort}`], {stdio: 'ignore'})
    await untilListening(forwardPort)
    await untilListening(reversePort)
  })

  afterAll(async () => {
    if (child && child.exitCode === null) {
      await new Promise<void>((resolve) => {
        const kill = setTimeout(() => child.kill('SIGKILL'), 5000)
        child.once('exit', () => (clearTimeout(kill), resolve()))
        child.kill('SIGTERM')
      })
    }
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it.each(['alice@remote.example', 'Bob.Smith+tag@Remote.Example', 'a=b@example.org', 'SRS0=XYZW=AB=orig.example=alice@first.example'])(
    'postsrsd forwards %s as srsForward does, and each reverses the other’s',
    async (sender) => {
      const before = srsForward(sender, 'fwd.example', SECRET)
      const theirs = await lookup(forwardPort, sender)
      const after = srsForward(sender, 'fwd.example', SECRET)
      expect([`200 ${before}`, `200 ${after}`]).toContain(theirs)
      const address = theirs.slice(4)
      const original = sender.startsWith('SRS0') ? 'SRS0=XYZW=AB=orig.example=alice@first.example' : sender
      expect(srsReverse(address, SECRET)).toBe(original)
      expect(await lookup(reversePort, after)).toBe(`200 ${original}`)
      // lowercased on the way back (as this server's RCPT does): both still reverse it (an SRS1
      // address to the first forwarder's SRS0 one, whose tag both write in capitals)
      const lowered = original.toLowerCase().replace(/^srs0/, 'SRS0')
      expect(await lookup(reversePort, after.toLowerCase())).toBe(`200 ${lowered}`)
      expect(srsReverse(after.toLowerCase(), SECRET)).toBe(lowered)
    },
  )

  it('both refuse a forged hash and an expired stamp', async () => {
    const forged = srsForward('alice@remote.example', 'fwd.example', Buffer.from('not our secret'))
    expect(await lookup(reversePort, forged)).toMatch(/^500 /)
    expect(srsReverse(forged, SECRET)).toBeUndefined()
    const old = srsForward('alice@remote.example', 'fwd.example', SECRET, Date.now() - 30 * 86_400_000)
    expect(await lookup(reversePort, old)).toMatch(/^500 /)
    expect(srsReverse(old, SECRET)).toBeUndefined()
  })
})
