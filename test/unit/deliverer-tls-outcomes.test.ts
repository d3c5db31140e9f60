/**
 * The TLS outcomes a delivery attempt carries for the reports (src/delivery/deliverer.ts,
 * src/mta-sts/outcome.ts) when no MTA-STS policy applies, against scripted raw SMTP servers on 127.0.0.55-57:25 named by a
 * loopback DNS server's MX records (MX delivery is port 25: root, else skipped outside CI): a
 * server that refuses STARTTLS (the session goes on in plaintext), one whose TLS handshake breaks
 * (the session ends there), one that refuses at the greeting (no TLS result); a route to the same
 * kind of server is not MX delivery and carries none.
 */
import {createServer, type Server, type Socket} from 'node:net'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {Deliverer} from '../../src/delivery/deliverer.js'
import {missingOutsideCi, requireInCi} from '../helpers/ci.js'
import {startDns, type DnsServer} from '../helpers/dns.js'
import {canListen} from '../e2e/queue-helpers.js'

const HOSTS = ['127.0.0.55', '127.0.0.56', '127.0.0.57']
const port25 = (await Promise.all(HOSTS.map((h) => canListen(25, h)))).every(Boolean)

/** sockets whose client was told to start TLS (and will get none) */
const noTls = new WeakSet<Socket>()

/** a line-by-line SMTP server: `answer` gets each command line and writes the reply */
function scripted(host: string, port: number, greeting: string, answer: (line: string, socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    socket.on('error', () => {})
    socket.write(`${greeting}\r\n`)
    let buffer = ''
    socket.on('data', (d) => {
      // after a 220 to STARTTLS the client's hello is answered with what is no TLS record
      if (noTls.has(socket)) return void socket.end('this is not a TLS record\r\n')
      buffer += d.toString('latin1')
      for (let at = buffer.indexOf('\r\n'); at >= 0; at = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, at)
        buffer = buffer.slice(at + 2)
        answer(line, socket)
      }
    })
  })
  return new Promise((resolve) => server.listen(port, host, () => resolve(server)))
}

/** a server that accepts any mail; STARTTLS: `refuse` answers 454, `break` says 220 and then sends no TLS */
const smtp = (starttls: 'refuse' | 'break') => (line: string, socket: Socket) => {
  const verb = line.split(' ')[0]!.toUpperCase()
  if (verb === 'EHLO') socket.write('250-test\r\n250 STARTTLS\r\n')
  else if (verb === 'STARTTLS' && starttls === 'refuse') socket.write('454 4.7.0 TLS not available\r\n')
  else if (verb === 'STARTTLS') {
    socket.write('220 go ahead\r\n')
    noTls.add(socket)
  }
  else if (verb === 'DATA') socket.write('354 go\r\n')
  else if (line === '.') socket.write('250 queued\r\n')
  else if (verb === 'QUIT') socket.end('221 bye\r\n')
  else socket.write('250 ok\r\n')
}

const servers: Server[] = []
let dns: DnsServer
let routePort: number

beforeAll(async () => {
  dns = await startDns({
    'refuses.test': {MX: [{priority: 10, exchange: 'mx.refuses.test'}]},
    'mx.refuses.test': {A: ['127.0.0.55']},
    'breaks.test': {MX: [{priority: 10, exchange: 'mx.breaks.test'}]},
    'mx.breaks.test': {A: ['127.0.0.56']},
    'closed.test': {MX: [{priority: 10, exchange: 'mx.closed.test'}]},
    'mx.closed.test': {A: ['127.0.0.57']},
  })
  const route = await scripted('127.0.0.1', 0, '220 route', smtp('refuse'))
  routePort = (route.address() as {port: number}).port
  servers.push(route)
  if (!port25) return
  servers.push(
    await scripted('127.0.0.55', 25, '220 refuses STARTTLS', smtp('refuse')),
    await scripted('127.0.0.56', 25, '220 breaks TLS', smtp('break')),
    await scripted('127.0.0.57', 25, '554 5.3.2 no service', () => {}),
  )
})

afterAll(async () => {
  for (const s of servers) await new Promise((resolve) => s.close(resolve))
  await dns?.close()
})

const job = (domain: string) => ({domain, from: 'alice@example.com', recipients: [`bob@${domain}`], message: Buffer.from('Subject: hi\r\n\r\nhello\r\n')})

it.skipIf(missingOutsideCi(port25))('each MX session carries its TLS outcome; a route carries none', async () => {
  requireInCi(port25, 'port 25 on 127.0.0.55-57 must be free to listen on (root)')
  const deliverer = new Deliverer({routes: {'routed.test': `127.0.0.1:${routePort}`}, dnsServers: [`127.0.0.1:${dns.port}`]}, {hostname: 'mbx.example.com', connectTimeoutMs: 2000, socketTimeoutMs: 2000})
  try {
    const refused = await deliverer.attempt(job('refuses.test'))
    expect(refused.result.recipients[0]!.outcome).toBe('delivered')
    expect(refused.result.tlsOutcomes).toEqual([
      {
        policyDomain: 'refuses.test',
        policy: {type: 'no-policy-found'},
        at: expect.any(Number),
        receivingMxHostname: 'mx.refuses.test',
        receivingIp: '127.0.0.55',
        failure: {type: 'starttls-not-supported', detail: 'STARTTLS refused'},
      },
    ])
    // reused for the next message: the same session, not counted again
    const again = await deliverer.attempt(job('refuses.test'), refused.session)
    expect(again.result.recipients[0]!.outcome).toBe('delivered')
    expect(again.result.tlsOutcomes).toBeUndefined()

    const broken = await deliverer.attempt(job('breaks.test'))
    expect(broken.result.recipients[0]!.outcome).toBe('deferred')
    expect(broken.result.tlsOutcomes).toHaveLength(1)
    expect(broken.result.tlsOutcomes![0]).toMatchObject({receivingMxHostname: 'mx.breaks.test', failure: {type: 'validation-failure', detail: expect.stringMatching(/^(ERR_SSL_|EPROTO|ECONNRESET)/)}})

    const closed = await deliverer.attempt(job('closed.test'))
    expect(closed.result.recipients[0]!.outcome).toBe('failed')
    expect(closed.result.tlsOutcomes).toBeUndefined()

    const routed = await deliverer.attempt(job('routed.test'))
    expect(routed.result.recipients[0]!.outcome).toBe('delivered')
    expect(routed.result.tlsOutcomes).toBeUndefined()
  } finally {
    deliverer.closeAll()
  }
})
