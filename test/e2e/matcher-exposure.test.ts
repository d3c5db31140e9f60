/**
 * Issue 12 §1: the matcher hands out stored mail, so it is off unless asked for, requires a token
 * when one is configured (always beyond loopback: see test/unit/matcher-token.test.ts), and
 * bounds what one client can hold: connections in total and per address, pending matches in
 * total. Every way a connection ends gives its slot back.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {connect, createServer, type AddressInfo} from 'node:net'
import {dirname, join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {LineClient, sendMail, sleep} from './matcher-helpers.js'

const TOKEN = 'loopback-test-token-0123456789'
const clients: LineClient[] = []
const servers: Served[] = []

afterAll(async () => {
  for (const c of clients) c.destroy()
  await Promise.all(servers.map((s) => s.stop()))
})

async function serve(args: string[], config?: object, options?: {defaultPorts?: string[]}): Promise<{dataDir: string; served: Served}> {
  const dataDir = tempDataDir()
  if (config) {
    const file = join(dirname(dataDir), 'config.json')
    writeFileSync(file, JSON.stringify(config))
    args = [...args, '--config', file]
  }
  const served = await startServe(dataDir, args, undefined, {}, options)
  servers.push(served)
  return {dataDir, served}
}

async function open(port: number, options: {localAddress?: string; autoPong?: boolean} = {}): Promise<LineClient> {
  const c = await LineClient.open(port, options)
  clients.push(c)
  return c
}

async function ready(port: number, options: {localAddress?: string; autoPong?: boolean; token?: string} = {}): Promise<LineClient> {
  const c = await LineClient.ready(port, options)
  clients.push(c)
  return c
}

/** resolves to the connect error code, or 'connected' */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({host: '127.0.0.1', port})
    s.once('connect', () => (s.destroy(), resolve('connected')))
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

const status = (dataDir: string) => runJson(['status'], {dataDir})
const matcherListener = async (dataDir: string) => (await status(dataDir)).listeners.find((l: {name: string}) => l.name === 'matcher')

/** polls `status --json` until the matcher's connection count is `n` */
async function matcherConnections(dataDir: string, n: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: number | undefined
  for (;;) {
    last = (await status(dataDir)).connections.matcher
    if (last === n) return
    if (Date.now() > deadline) throw new Error(`matcher connections stayed ${last}, expected ${n}`)
    await sleep(100)
  }
}

describe('off unless asked for', () => {
  it('a plain serve does not listen on the matcher port, and status lists no matcher', async () => {
    const {dataDir} = await serve([], undefined, {defaultPorts: ['matcher']})
    expect(await matcherListener(dataDir)).toBeUndefined()
    expect(await tryConnect(60510)).toBe('ECONNREFUSED')
  })

  it('a plain serve with a config file that does not name the matcher port does not listen either', async () => {
    const {dataDir} = await serve([], {bind: '127.0.0.1', matcher: {maxConnections: 5}}, {defaultPorts: ['matcher']})
    expect(await matcherListener(dataDir)).toBeUndefined()
    expect(await tryConnect(60510)).toBe('ECONNREFUSED')
  })

  it('serve --capture listens on 60510 by default; ports.matcher in the config turns it on outside capture mode', async () => {
    const capture = await serve(['--capture'], undefined, {defaultPorts: ['matcher']})
    expect((await matcherListener(capture.dataDir))?.address).toBe('127.0.0.1:60510')
    await capture.served.stop()
    const port = await freePort()
    const configured = await serve([], {ports: {matcher: port}}, {defaultPorts: ['matcher']})
    expect((await matcherListener(configured.dataDir))?.address).toBe(`127.0.0.1:${port}`)
    await ready(port)
  })
})

describe('a configured token is required (here on loopback)', () => {
  let dataDir: string
  let matcher: number
  let smtp: number

  beforeAll(async () => {
    matcher = await freePort()
    smtp = await freePort()
    ;({dataDir} = await serve(['--capture', '--matcher-port', String(matcher), '--smtp-port', String(smtp)], {matcher: {token: TOKEN}}))
  })

  /** `mailbox watch ARGS --to TO` connects, a mail to TO is sent, and watch prints it and exits 0 */
  async function watchReceives(args: string[], to: string): Promise<void> {
    // the earlier tests' connections are gone (a server-side timeout closing one must not blur the count)
    await matcherConnections(dataDir, 0)
    const watching = runCli(['watch', ...args, '--to', to, '--timeout', '15s', '--json'])
    await matcherConnections(dataDir, 1)
    await sleep(300) // connected; the MATCH follows within a round trip
    await sendMail(smtp, {to, subject: `for ${to}`})
    const r = await watching
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).subject).toBe(`for ${to}`)
  }

  it('OLLEH without a token: ERROR naming the token, then the server closes', async () => {
    const c = await open(matcher)
    expect((await c.next()).raw).toBe('HELLO')
    c.send('OLLEH {"version": 1}')
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(err.body.message).toMatch(/token/)
    expect(await c.closesWithin(2000)).toBe(true)
  })

  it('a wrong token: ERROR, then close; nothing can be matched', async () => {
    const c = await open(matcher)
    expect((await c.next()).raw).toBe('HELLO')
    c.send(`OLLEH ${JSON.stringify({version: 1, token: TOKEN.slice(0, -1) + 'x'})}`)
    const err = await c.next()
    expect(err.verb).toBe('ERROR')
    expect(err.body.message).toBe('wrong matcher token')
    expect(await c.closesWithin(2000)).toBe(true)
  })

  it('MATCH before a successful OLLEH is refused (no way around the handshake)', async () => {
    const c = await open(matcher)
    expect((await c.next()).raw).toBe('HELLO')
    c.send('MATCH {"to": "alice", "since_s": 604800, "raw": true}')
    expect((await c.next()).verb).toBe('ERROR')
    await c.none((l) => l.verb === 'MATCHPUT' || l.verb === 'GOTEMAIL', 300)
    c.destroy()
  })

  it('the right token: OKAY, and matching works', async () => {
    const c = await ready(matcher, {token: TOKEN})
    const id = await c.match({to: 'tok@x.test'})
    await sendMail(smtp, {to: 'tok@x.test', subject: 'with token'})
    expect((await c.gotEmail(id, 10_000)).subject).toBe('with token')
    c.destroy()
  })

  it('mailbox watch --token works; without it, exit 1 naming the token', async () => {
    const refused = await runCli(['watch', '--port', String(matcher), '--to', 'w@x.test', '--timeout', '5s'])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/token/)
    await watchReceives(['--port', String(matcher), '--token', TOKEN], 'w@x.test')
  })

  it('mailbox watch --data-dir finds the running matcher and DATA_DIR/matcher.token by itself', async () => {
    writeFileSync(join(dataDir, 'matcher.token'), `${TOKEN}\n`, {mode: 0o600})
    await watchReceives(['--data-dir', dataDir], 'dd@x.test')
  })
})

describe('the token in DATA_DIR goes only to the matcher of the server running on DATA_DIR', () => {
  it('watch --port elsewhere, with a token file but no server on the data dir: OLLEH carries no token', async () => {
    const dataDir = tempDataDir()
    mkdirSync(dataDir, {recursive: true})
    writeFileSync(join(dataDir, 'matcher.token'), `${TOKEN}\n`, {mode: 0o600})
    // some other matcher (here a stand-in on loopback): it must not learn this data dir's token
    const olleh: string[] = []
    const other = createServer((socket) => {
      socket.on('error', () => {})
      socket.write('HELLO\n')
      socket.once('data', (d) => {
        olleh.push(d.toString().trim())
        socket.end('UNSUPPORTED\n')
      })
    })
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    try {
      const port = (other.address() as AddressInfo).port
      const r = await runCli(['watch', '--data-dir', dataDir, '--port', String(port), '--to', 'x@x.test', '--timeout', '5s'])
      expect(r.code).toBe(1)
      expect(olleh).toHaveLength(1)
      expect(olleh[0]).toBe('OLLEH {"version":1}')
    } finally {
      other.close()
    }
  })
})

describe('caps', () => {
  let dataDir: string
  let matcher: number

  beforeAll(async () => {
    matcher = await freePort()
    ;({dataDir} = await serve(['--capture', '--matcher-port', String(matcher)], {
      matcher: {maxConnections: 3, maxConnectionsPerIp: 2, maxPendingMatches: 3, maxMatchesPerConnection: 2, pingIntervalMs: 400, pingTimeoutMs: 400, helloTimeoutMs: 2500},
    }))
  })

  /** a connection over a cap: one ERROR line saying so, then close */
  async function refused(localAddress: string): Promise<string> {
    const c = await open(matcher, {localAddress})
    const l = await c.next()
    expect(l.verb).toBe('ERROR')
    expect(await c.closesWithin(2000)).toBe(true)
    return l.body.message
  }

  it('connections per address and in total are capped with ERROR; every way a connection ends frees its slot', async () => {
    const a1 = await ready(matcher, {autoPong: true, localAddress: '127.0.0.1'})
    const a2 = await ready(matcher, {autoPong: true, localAddress: '127.0.0.1'})
    expect(await refused('127.0.0.1')).toMatch(/too many matcher connections/)
    await matcherConnections(dataDir, 2) // a refused connection counts until its socket has closed
    // the same counters, with their detail, as the other front-ends report
    expect((await status(dataDir)).connections).toMatchObject({matcher: 2, byListener: {matcher: 2}, addresses: {matcher: 1}})
    const b1 = await ready(matcher, {autoPong: true, localAddress: '127.0.0.2'})
    expect(await refused('127.0.0.3')).toMatch(/too many matcher connections/)
    await matcherConnections(dataDir, 3)

    // QUIT, a plain close, a reset, and a client that never answers PING: each gives its slot back
    a1.send('QUIT')
    await a1.whenClosed
    a2.socket.end()
    b1.socket.resetAndDestroy()
    await matcherConnections(dataDir, 0)
    const silent = await ready(matcher, {autoPong: false, localAddress: '127.0.0.4'})
    expect(await silent.closesWithin(3000)).toBe(true)
    await matcherConnections(dataDir, 0)

    // full capacity again
    const again = await Promise.all([ready(matcher, {autoPong: true}), ready(matcher, {autoPong: true}), ready(matcher, {autoPong: true, localAddress: '127.0.0.2'})])
    await matcherConnections(dataDir, 3)
    for (const c of again) c.destroy()
    await matcherConnections(dataDir, 0)
  })

  it('a refused connection that keeps its side open and keeps sending is closed within 2 s all the same: it cannot keep its slot', async () => {
    const a1 = await ready(matcher, {autoPong: true, localAddress: '127.0.0.5'})
    const a2 = await ready(matcher, {autoPong: true, localAddress: '127.0.0.5'})
    // half-open: the server's end of the stream does not end ours
    const s = connect({host: '127.0.0.1', port: matcher, localAddress: '127.0.0.5', allowHalfOpen: true})
    s.on('error', () => {})
    let received = ''
    s.on('data', (d) => (received += d))
    const closed = new Promise<void>((resolve) => s.once('close', () => resolve()))
    await new Promise((resolve) => s.once('end', resolve))
    expect(received).toMatch(/^ERROR .*too many matcher connections/)
    // one byte every 300 ms: an idle timeout would never fire
    const trickle = setInterval(() => s.writable && s.write('x'), 300)
    const t0 = Date.now()
    try {
      const outcome = await Promise.race([closed.then(() => 'closed'), sleep(8000).then(() => 'still open')])
      expect(outcome).toBe('closed')
      expect(Date.now() - t0).toBeLessThan(8000)
    } finally {
      clearInterval(trickle)
      for (const c of [s, a1, a2]) c.destroy()
    }
    await matcherConnections(dataDir, 0)
  })

  it('a connection that never completes OLLEH is closed after helloTimeoutMs, even while it answers PING', async () => {
    const c = await open(matcher, {autoPong: true, localAddress: '127.0.0.6'})
    expect((await c.next()).raw).toBe('HELLO')
    const t0 = Date.now()
    const l = await c.next(8000)
    expect(l.verb).toBe('ERROR')
    expect(l.body.message).toMatch(/OLLEH/)
    expect(await c.closesWithin(3000)).toBe(true)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(900)
    expect(c.pings).toBeGreaterThan(0) // it did answer PINGs all along
    await matcherConnections(dataDir, 0)
  })

  it('pending matches are capped per connection and in total, with ERROR; a closed connection frees its matches', async () => {
    const a = await ready(matcher, {autoPong: true})
    const b = await ready(matcher, {autoPong: true, localAddress: '127.0.0.2'})
    await a.match({to: 'cap1@x.test'})
    await a.match({to: 'cap2@x.test'})
    a.send('MATCH {"to": "cap3@x.test"}')
    expect((await a.waitFor((l) => l.verb === 'ERROR')).body.message).toMatch(/at most 2 open matches per connection/)
    await b.match({to: 'cap4@x.test'})
    b.send('MATCH {"to": "cap5@x.test"}')
    expect((await b.waitFor((l) => l.verb === 'ERROR')).body.message).toMatch(/maximum of 3 open matches/)
    a.destroy()
    await matcherConnections(dataDir, 1)
    await b.match({to: 'cap5@x.test'}) // a's two matches went with it
    b.destroy()
  })
})
