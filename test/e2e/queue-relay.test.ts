/**
 * Delivery through a smarthost with AUTH (`--relay-host USER:PASS@HOST:PORT`), and a per-domain
 * route with credentials, using AUTH PLAIN and AUTH LOGIN: the receiver sees the right user, and
 * the kept SMTP transcript never holds the password (plain or base64). Both hops offer STARTTLS
 * with a certificate trusted through `--relay-ca-file` (credentials need verified TLS; see
 * queue-relay-tls.test.ts for the refusals).
 */
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {loadTls} from '../../src/tls.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, message, queueShow, send, waitForEntry} from './queue-helpers.js'

const PASS = 'Sm@rt-s3cret'
let dataDir: string
let served: Served
let plain: Receiver
let login: Receiver

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  // a certificate for 127.0.0.1, kept beside the data dir (removed with it)
  const certDir = join(dataDir, '..', 'relay-cert')
  const tls = await loadTls({dataDir: certDir, hostname: 'localhost'})
  plain = await Receiver.start({auth: {methods: ['PLAIN'], user: 'relayuser', pass: PASS}, tls})
  login = await Receiver.start({auth: {methods: ['LOGIN'], user: 'routeuser', pass: PASS}, tls})
  const cred = (user: string) => `${user}:${encodeURIComponent(PASS)}`
  served = await startServe(dataDir, [
    '--relay-host',
    `${cred('relayuser')}@127.0.0.1:${plain.port}`,
    '--route',
    `login.example.org=${cred('routeuser')}@127.0.0.1:${login.port}`,
    '--relay-ca-file',
    join(certDir, 'tls', 'cert.pem'),
  ])
})

afterAll(async () => {
  await served?.stop()
  await plain?.close()
  await login?.close()
})

function expectNoSecret(transcript: string[]): void {
  const text = transcript.join('\n')
  for (const secret of [PASS, Buffer.from(PASS).toString('base64'), Buffer.from(`\0relayuser\0${PASS}`).toString('base64')]) {
    expect(text).not.toContain(secret)
  }
}

describe('smarthost and routes with AUTH', () => {
  it('AUTH PLAIN to the relay host: delivered as the relay user, the password not in the transcript', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['bob@anywhere.example'], message('via smarthost'))
    const [got] = await plain.waitForMessages(1)
    expect(got!.authUser).toBe('relayuser')
    expect(got!.secure).toBe(true)
    expect(got!.to).toEqual(['bob@anywhere.example'])
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    const transcript = (await queueShow(dataDir, sent.queued[0]!)).attemptLog[0]!.transcript
    expect(transcript.some((l) => /^C: AUTH PLAIN\b/.test(l))).toBe(true)
    expect(transcript.some((l) => /^S: 235\b/.test(l))).toBe(true)
    expectNoSecret(transcript)
  })

  it('AUTH LOGIN on a route with credentials: the base64 exchange is not kept either', async () => {
    const sent = await send(dataDir, 'alice@example.com', ['dora@login.example.org'], message('via route with login'))
    const [got] = await login.waitForMessages(1)
    expect(got!.authUser).toBe('routeuser')
    await waitForEntry(dataDir, sent.queued[0]!, ['delivered'])
    const transcript = (await queueShow(dataDir, sent.queued[0]!)).attemptLog[0]!.transcript
    expect(transcript.some((l) => /^C: AUTH LOGIN\b/.test(l))).toBe(true)
    expect(transcript.some((l) => /^S: 334\b/.test(l))).toBe(true)
    expectNoSecret(transcript)
    // the LOGIN exchange's base64 lines (user name and password) are not kept at all
    const answers = transcript.filter((_, i) => i > 0 && transcript[i - 1]!.startsWith('S: 334'))
    expect(answers).toEqual(['C: ***', 'C: ***'])
    expect(transcript.join('\n')).not.toContain(Buffer.from('routeuser').toString('base64'))
    expect(plain.messages).toHaveLength(1) // the route took precedence over the smarthost
  })
})
