/** `mailbox watch` (commands/watch.ts) against a real `serve --capture`. */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {UUID, sendMail, sleep} from './matcher-helpers.js'

let dataDir: string
let served: Served
let smtp: number
let matcher: number

beforeAll(async () => {
  dataDir = tempDataDir()
  smtp = await freePort()
  matcher = await freePort()
  served = await startServe(dataDir, ['--capture', '--smtp-port', String(smtp), '--matcher-port', String(matcher)])
})

afterAll(async () => {
  await served?.stop()
})

/** resolves once the server counts `n` matcher connections (the watch has connected) */
async function matcherConnections(n: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const status = await runJson(['status'], {dataDir})
    if (status.connections.matcher >= n) return
    if (Date.now() > deadline) throw new Error(`no ${n} matcher connection(s) within ${timeoutMs} ms`)
    await sleep(100)
  }
}

const resetMail = (to: string) => ({
  from: 'Accounts <accounts@app.test>',
  to,
  subject: 'Password reset',
  html: '<p>Your verification code is <b>482913</b>.</p><p><a href="https://app.test/reset?u=bob&amp;t=Zq9">Reset password</a></p>',
})

describe('mailbox watch', () => {
  it('started before the mail: exits 0 with the email as JSON (subject, links, codes)', async () => {
    const watching = runCli(['watch', '--port', String(matcher), '--to', 'bob@x.test', '--subject', 'reset', '--timeout', '10s', '--json'])
    await matcherConnections(1)
    await sleep(200) // connected; the MATCH follows within a round trip
    await sendMail(smtp, {to: 'bob@x.test', subject: 'Welcome', text: 'not the reset mail'})
    await sendMail(smtp, resetMail('bob@x.test'))
    const r = await watching
    expect(r.code, r.stderr).toBe(0)
    const email = JSON.parse(r.stdout)
    expect(email.subject).toBe('Password reset')
    expect(email.rcpt_to).toEqual(['bob@x.test'])
    expect(email.from).toMatch(/accounts@app\.test/)
    expect(email.links).toContain('https://app.test/reset?u=bob&t=Zq9')
    expect(email.codes[0]).toBe('482913')
    expect(email.raw).toBeUndefined()
  })

  it('a watch that times out exits 1 (--json: matched false)', async () => {
    const t0 = Date.now()
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'nobody-ever@x.test', '--timeout', '1s', '--json'])
    expect(r.code).toBe(1)
    // --json output is one JSON document, so `watch --json | jq` works
    expect(() => JSON.parse(r.stdout), `stdout is not one JSON document:\n${r.stdout}`).not.toThrow()
    expect(JSON.parse(r.stdout)).toEqual({matched: false, matchId: expect.stringMatching(UUID)})
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('a watch that times out without --json says so on stderr and exits 1', async () => {
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'nobody-ever@x.test', '--timeout', '1s'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('no matching mail within 1s')
    expect(r.stdout).toBe('')
  })

  it('--since 30s finds a mail sent before the watch started', async () => {
    await sendMail(smtp, {...resetMail('early@x.test'), subject: 'Early reset'})
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'early@x.test', '--since', '30s', '--timeout', '5s', '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).subject).toBe('Early reset')
  })

  it('without --since a mail sent before the watch started is not found', async () => {
    await sendMail(smtp, {to: 'before@x.test', subject: 'Too early'})
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'before@x.test', '--timeout', '1s', '--json'])
    expect(r.code).toBe(1)
  })

  it('--raw includes the raw message in the JSON', async () => {
    await sendMail(smtp, {to: 'raw-watch@x.test', subject: 'Raw please', text: 'raw body'})
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'raw-watch@x.test', '--since', '30s', '--timeout', '5s', '--raw', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const raw = Buffer.from(JSON.parse(r.stdout).raw, 'base64').toString()
    expect(raw).toContain('Subject: Raw please')
    expect(raw).toContain('raw body')
  })

  it('human output prints from, subject, codes and links', async () => {
    await sendMail(smtp, {...resetMail('human@x.test'), subject: 'Your reset code'})
    const r = await runCli(['watch', '--port', String(matcher), '--to', 'human@x.test', '--since', '30s', '--timeout', '5s'])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^from: +.*accounts@app\.test/m)
    expect(r.stdout).toMatch(/^to: +human@x\.test$/m)
    expect(r.stdout).toMatch(/^subject: +Your reset code$/m)
    expect(r.stdout).toMatch(/^codes: +482913\b/m)
    expect(r.stdout).toMatch(/^links: +https:\/\/app\.test\/reset\?u=bob&t=Zq9$/m)
  })

  it('against a port with nothing listening: exit 2 (not 1, "no mail") with a clear error', async () => {
    const port = await freePort()
    const r = await runCli(['watch', '--port', String(port), '--to', 'bob@x.test', '--timeout', '2s'])
    expect(r.code).toBe(2)
    expect(r.stderr).toBe(`Error: cannot reach the matcher at 127.0.0.1:${port}: ECONNREFUSED\n`)
    const json = await runCli(['watch', '--port', String(port), '--to', 'bob@x.test', '--timeout', '2s', '--json'])
    expect(json.code).toBe(2)
    expect(JSON.parse(json.stdout)).toEqual({matched: false, error: `cannot reach the matcher at 127.0.0.1:${port}: ECONNREFUSED`})
  })

  it('no server on the data dir and no --port: exit 2 saying the default port was tried', async () => {
    const empty = tempDataDir()
    const r = await runCli(['watch', '--to', 'bob@x.test', '--timeout', '2s', '--host', '127.0.0.9'], {dataDir: empty})
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Error: cannot reach the matcher at 127\.0\.0\.9:60510: ECONNREFUSED \(no server on \S+ answered, so the default port was tried/)
  })

  it('--config gives the matcher port when no server on the data dir answers', async () => {
    const empty = tempDataDir()
    mkdirSync(empty, {recursive: true})
    const config = join(empty, 'config.json')
    writeFileSync(config, JSON.stringify({ports: {matcher}}))
    const r = await runCli(['watch', '--config', config, '--to', 'cfg@x.test', '--since', '30s', '--timeout', '1s', '--json'], {dataDir: empty})
    expect(r.code, r.stderr).toBe(1) // reached the matcher (of the running server), no such mail: expired
    expect(JSON.parse(r.stdout)).toMatchObject({matched: false})
  })

  it('an invalid pattern is refused by the matcher: exit 2 naming the problem', async () => {
    const r = await runCli(['watch', '--port', String(matcher), '--subject', '/(/', '--timeout', '2s'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/invalid regular expression/)
  })

  it('the server finds its matcher port by itself: expiry exits 1', async () => {
    const r = await runCli(['watch', '--to', 'nobody-ever@x.test', '--timeout', '1s'], {dataDir})
    expect(r.code).toBe(1)
    expect(r.stderr).toBe('no matching mail within 1s\n')
  })
})
