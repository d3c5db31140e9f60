/**
 * Three `mailbox serve` nodes on 127.0.0.2, 127.0.0.3 and 127.0.0.4 sharing one PostgreSQL store
 * (a private server, test/helpers/postgres.ts), as issue #16 asks of several nodes:
 * - SMTP into node A, an IMAP IDLE session on node B hears of it within a second;
 * - flags set on B show on C at its next NOOP;
 * - APPENDs from all three nodes to one folder get unique, increasing, gap-free UIDs;
 * - a queue entry submitted on A whose sending node is `kill -9`ed mid-send is delivered by another
 *   node once the dead node's lease has run out (nothing lost; a duplicate only as at-least-once allows);
 * - `kill -9` of a node in the middle of SMTP ingest into two nodes loses no acknowledged message;
 * - a test runner's MATCH on one node gets mail that arrived on another;
 * - `status` names the nodes and their listeners.
 */
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import nodemailer from 'nodemailer'
import pg from 'pg'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {freePort, runCli, runJson, startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {skipWithoutPostgres, usePostgres} from '../helpers/postgres.js'
import {RawImap, simpleMessage} from './imap-helpers.js'
import {LineClient} from './matcher-helpers.js'
import {Receiver, waitFor} from './queue-helpers.js'

const NODES = ['127.0.0.2', '127.0.0.3', '127.0.0.4'] as const
const ALICE = {address: 'alice@example.test', password: 'alice-pw'}
const BOB = {address: 'bob@example.test', password: 'bob-pw'}
/** short, so the takeover test waits seconds, not a minute */
const LEASE_SECONDS = 3

interface Node {
  host: string
  dataDir: string
  smtp: number
  imap: number
  matcher: number
  served?: Served
}

describe.skipIf(skipWithoutPostgres)('three nodes on one PostgreSQL store', () => {
  const server = usePostgres()
  let url = ''
  let receiver: Receiver
  let configFile = ''
  const nodes: Node[] = []
  const clients: RawImap[] = []

  const cli = async (args: string[], input?: string) => {
    const r = await runCli([...args, '--store', url], {dataDir: nodes[0]!.dataDir, ...(input !== undefined ? {input} : {})})
    if (r.code !== 0) throw new Error(`mailbox ${args.join(' ')}: ${r.stderr}`)
    return r.stdout
  }

  const start = async (node: Node) => {
    node.served = await startServe(node.dataDir, [
      '--store', url,
      '--bind', node.host,
      '--smtp-port', String(node.smtp),
      '--imap-port', String(node.imap),
      '--matcher-port', String(node.matcher),
      '--config', configFile,
      '--route', `example.net=127.0.0.1:${receiver.port}`,
    ], 30_000)
  }

  const login = async (node: Node, user = ALICE) => {
    const c = await RawImap.login(node.imap, user, {host: node.host})
    clients.push(c)
    return c
  }

  /** the node holding the queue entry's lease: its owner id in the store, found among the registered nodes by its IMAP listener */
  const sendingNode = async (id: string): Promise<Node> => {
    const client = new pg.Client({connectionString: url})
    await client.connect()
    try {
      const {rows} = await client.query<{listeners: Record<string, string[]>}>('SELECT n.listeners FROM queue q JOIN nodes n ON n.id = q.lease_owner WHERE q.id = $1', [id])
      const imap = rows[0]?.listeners.imap ?? []
      const node = nodes.find((n) => imap.includes(`${n.host}:${n.imap}`))
      if (!node) throw new Error(`no running node holds entry ${id}'s lease (${JSON.stringify(rows)})`)
      return node
    } finally {
      await client.end()
    }
  }

  const smtpInto = (node: Node) =>
    nodemailer.createTransport({host: node.host, port: node.smtp, secure: false, ignoreTLS: true, pool: false, connectionTimeout: 10_000})

  beforeAll(async () => {
    url = await server().createSchema()
    receiver = await Receiver.start()
    const dir = tempDataDir()
    mkdirSync(dir, {recursive: true})
    configFile = join(dir, 'cluster.json')
    writeFileSync(configFile, JSON.stringify({queue: {leaseSeconds: LEASE_SECONDS}, allowInsecureAuth: true}))
    for (const host of NODES) nodes.push({host, dataDir: tempDataDir(), smtp: await freePort(), imap: await freePort(), matcher: await freePort()})
    await cli(['domain', 'add', 'example.test'])
    await cli(['user', 'add', ALICE.address, '--password-stdin'], `${ALICE.password}\n`)
    await cli(['user', 'add', BOB.address, '--password-stdin'], `${BOB.password}\n`)
    await Promise.all(nodes.map(start))
  }, 120_000)

  afterAll(async () => {
    for (const c of clients) c.close()
    await Promise.all(nodes.map((n) => n.served?.stop()))
    await receiver?.close()
  })

  it('status names all three nodes with their listeners', async () => {
    // this machine's own data dir has no server running: exit 3 (LSB "not running") with the cluster's view
    const r = await runCli(['status', '--store', url, '--json'], {dataDir: tempDataDir()})
    expect(r.code, r.stderr).toBe(3)
    const status = JSON.parse(r.stdout) as {cluster?: {nodes: {id: string; host: string; state: string; listeners: unknown}[]}}
    expect(status.cluster?.nodes.filter((n) => n.state === 'live')).toHaveLength(3)
    const shown = JSON.stringify(status.cluster?.nodes)
    for (const n of nodes) expect(shown).toContain(String(n.imap))
  })

  it('SMTP into A: an IDLE session on B hears of it within a second', async () => {
    const [a, b] = nodes
    const idler = await login(b!)
    expect((await idler.command('SELECT INBOX')).status).toBe('OK')
    const tag = idler.nextTag()
    idler.writeLine(`${tag} IDLE`)
    await idler.waitFor(/^\+ /)
    const sentAt = Date.now()
    await smtpInto(a!).sendMail({envelope: {from: 'carol@remote.test', to: [ALICE.address]}, raw: simpleMessage({to: ALICE.address, subject: 'from node A'})})
    const acknowledged = Date.now()
    await idler.waitFor(/^\* \d+ EXISTS$/, 5_000)
    const heard = Date.now()
    idler.writeLine('DONE')
    expect((await idler.tagged(tag)).status).toBe('OK')
    console.log(`IDLE on B: EXISTS ${heard - acknowledged} ms after A's 250 (${heard - sentAt} ms after the send began)`)
    expect(heard - acknowledged).toBeLessThan(1_000)
  })

  it("a test runner's MATCH on node A gets the mail that arrived on node C", async () => {
    const [a, , c] = nodes
    const runner = await LineClient.ready(a!.matcher, {host: a!.host, autoPong: true})
    try {
      const id = await runner.match({subject: 'cluster-wide match'})
      await smtpInto(c!).sendMail({envelope: {from: 'carol@remote.test', to: [ALICE.address]}, raw: simpleMessage({to: ALICE.address, subject: 'a cluster-wide match'})})
      const email = await runner.gotEmail(id)
      expect(email.subject).toBe('a cluster-wide match')
    } finally {
      runner.socket.destroy()
    }
  })

  it('flags set on B show on C at its next NOOP', async () => {
    const [, b, c] = nodes
    const onC = await login(c!)
    expect((await onC.command('SELECT INBOX')).status).toBe('OK')
    const onB = await login(b!)
    expect((await onB.command('SELECT INBOX')).status).toBe('OK')
    expect((await onB.command('STORE 1 +FLAGS (\\Flagged $Cluster)')).status).toBe('OK')
    const noop = await onC.command('NOOP')
    expect(noop.status).toBe('OK')
    expect(noop.untagged.join('\n')).toMatch(/^\* 1 FETCH \(.*FLAGS \([^)]*\\Flagged[^)]*\$Cluster|^\* 1 FETCH \(.*FLAGS \([^)]*\$Cluster[^)]*\\Flagged/m)
  })

  it('APPENDs from all three nodes to one folder: unique, increasing, gap-free UIDs', async () => {
    const sessions = await Promise.all(nodes.map((n) => login(n, BOB)))
    expect((await sessions[0]!.command('CREATE Shared')).status).toBe('OK')
    const PER_NODE = 20
    const uids = await Promise.all(
      sessions.map(async (s, i) => {
        const mine: number[] = []
        for (let k = 0; k < PER_NODE; k++) {
          const r = await s.append('Shared', simpleMessage({subject: `node ${i} append ${k}`}))
          expect(r.status, r.tagged).toBe('OK')
          mine.push(Number(/APPENDUID \d+ (\d+)/.exec(r.text)![1]))
        }
        return mine
      }),
    )
    // each node's own appends got increasing UIDs, and together they are 1..60 exactly once
    for (const mine of uids) expect(mine).toEqual([...mine].sort((x, y) => x - y))
    expect(uids.flat().sort((x, y) => x - y)).toEqual(Array.from({length: 3 * PER_NODE}, (_, i) => i + 1))
    const status = await sessions[2]!.command('STATUS Shared (MESSAGES UIDNEXT)')
    expect(status.untagged.join('\n')).toMatch(/MESSAGES 60 UIDNEXT 61/)
  })

  it('a queue entry submitted on A, its sending node kill -9ed mid-send, is delivered by another node after the lease', {timeout: 60_000}, async () => {
    const [a] = nodes
    receiver.data = () => 'stall' // take the message data, never answer: the sending node is mid-send
    const sent = await runJson<{queued: string[]}>(['send', '--from', ALICE.address, '--to', 'dave@example.net'], {
      dataDir: a!.dataDir,
      input: simpleMessage({from: ALICE.address, to: 'dave@example.net', subject: 'across a node crash', body: 'takeover-marker\n'}),
    })
    const id = sent.queued[0]!
    await waitFor('a node to be sending', () => receiver.dataCount >= 1, 15_000)
    // every node's foreman heard of the entry; whichever claimed it holds the lease: that one dies
    const sender = await sendingNode(id)
    console.log(`entry submitted on ${a!.host}, claimed by ${sender.host}`)
    sender.served!.child.kill('SIGKILL')
    await sender.served!.exited
    receiver.acceptAll()
    const killedAt = Date.now()
    let last: unknown
    const entry = await waitFor(
      'another node to deliver it',
      async () => {
        const shown = await runJson<{state: string; attempts: number}>(['queue', 'show', id, '--store', url], {dataDir: tempDataDir()})
        last = shown
        return shown.state === 'delivered' ? shown : undefined
      },
      (LEASE_SECONDS + 20) * 1000,
      500,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; the entry: ${JSON.stringify(last)}; receiver saw ${receiver.dataCount} DATA`)
    })
    console.log(`taken over and delivered ${Date.now() - killedAt} ms after the kill (lease ${LEASE_SECONDS} s)`)
    expect(entry.attempts).toBe(2)
    expect(receiver.messages.some((m) => m.raw.includes('takeover-marker'))).toBe(true)
    await start(sender) // back for the next test
  })

  it('kill -9 of a node during ingest into two nodes loses no acknowledged message', {timeout: 90_000}, async () => {
    const [a, b, c] = nodes
    const acknowledged: string[] = []
    let stop = false
    const pump = async (node: Node, name: string) => {
      for (let i = 0; !stop && i < 400; i++) {
        const subject = `ingest ${name} ${i}`
        try {
          await smtpInto(node).sendMail({envelope: {from: 'carol@remote.test', to: [BOB.address]}, raw: simpleMessage({to: BOB.address, subject})})
          acknowledged.push(subject)
        } catch {
          if (node.served?.child.exitCode !== null) return // the node is gone
        }
      }
    }
    const pumps = [pump(a!, 'A'), pump(b!, 'B')]
    await waitFor('some mail acknowledged', () => acknowledged.length >= 20, 30_000)
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 500)))
    a!.served!.child.kill('SIGKILL')
    await a!.served!.exited
    await waitFor('more mail through B', () => acknowledged.length >= 60, 30_000)
    stop = true
    await Promise.all(pumps)
    const reader = await login(c!, BOB)
    expect((await reader.command('EXAMINE INBOX')).status).toBe('OK')
    const fetched = await reader.command('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])')
    expect(fetched.status).toBe('OK')
    const stored = new Set([...fetched.untagged.join('\n').matchAll(/Subject: (ingest [AB] \d+)/g)].map((m) => m[1]))
    console.log(`ingest across a kill -9: ${acknowledged.length} acknowledged, ${stored.size} stored`)
    expect(acknowledged.filter((subject) => !stored.has(subject))).toEqual([])
    await start(a!)
  })
})
