/**
 * One sender carries several entries for a domain over one connection: no RSET after a
 * transaction the server completed (its reply to the data ends it, RFC 5321 §4.1.1.4), an RSET
 * before the next one after a transaction left open (every recipient refused at RCPT); and a
 * connection that drops while RSET waits for its reply fails that attempt over to a new
 * connection instead of leaving the sender (and its entry, `sending`) waiting forever.
 */
import {createServer, type Server, type Socket} from 'node:net'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {startServe, tempDataDir, type Served} from '../helpers/cli.js'
import {setupUsers} from './smtp-helpers.js'
import {Receiver, message, queueShow, send, waitFor, waitForEntry, writeQueueConfig} from './queue-helpers.js'

let dataDir: string
let served: Served
let receiver: Receiver
let dropper: Dropper

/**
 * A receiver that hangs up on RSET. It holds its reply to the first RCPT until `release()`, so the
 * test can queue a second entry behind it on the same connection. Counts connections and DATA.
 */
interface Dropper {
  server: Server
  port: number
  connections: number
  accepted: string[]
  release(): void
}

async function startDropper(): Promise<Dropper> {
  let held: (() => void) | undefined
  let released = false
  const self: Dropper = {server: createServer(), port: 0, connections: 0, accepted: [], release: () => ((released = true), held?.())}
  self.server.on('connection', (socket: Socket) => {
    self.connections++
    let buffered = ''
    let inData = false
    let to = ''
    const reply = (line: string) => socket.write(`${line}\r\n`)
    reply('220 dropper ESMTP')
    socket.on('error', () => {})
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1')
      for (let eol = buffered.indexOf('\r\n'); eol >= 0; eol = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, eol)
        buffered = buffered.slice(eol + 2)
        if (inData) {
          if (line === '.') {
            inData = false
            self.accepted.push(to)
            reply('250 2.0.0 accepted')
          }
          continue
        }
        const verb = line.slice(0, 4).toUpperCase()
        if (verb === 'EHLO' || verb === 'HELO') reply('250 dropper')
        else if (verb === 'MAIL') reply('250 2.1.0 ok')
        else if (verb === 'RCPT') {
          to = /<([^>]*)>/.exec(line)?.[1] ?? ''
          const answer = () => reply(to.startsWith('gone@') ? '550 5.1.1 gone' : '250 2.1.5 ok')
          if (released) answer()
          else held = answer
        } else if (verb === 'DATA') {
          inData = true
          reply('354 go ahead')
        } else if (verb === 'RSET') socket.destroy()
        else if (verb === 'QUIT') socket.end('221 bye\r\n')
        else reply('502 5.5.2 no')
      }
    })
  })
  self.port = await new Promise<number>((resolve) => self.server.listen(0, '127.0.0.1', () => resolve((self.server.address() as {port: number}).port)))
  return self
}

beforeAll(async () => {
  dataDir = tempDataDir()
  await setupUsers(dataDir, ['example.com'], [{address: 'alice@example.com'}])
  receiver = await Receiver.start()
  dropper = await startDropper()
  // one sender: every entry for a domain goes over the same connection, in queue order
  const config = writeQueueConfig(dataDir, {senders: 1, perDomain: 1})
  served = await startServe(dataDir, ['--config', config, '--route', `example.net=127.0.0.1:${receiver.port}`, '--route', `drop.example=127.0.0.1:${dropper.port}`])
})

afterAll(async () => {
  await served?.stop()
  await receiver?.close()
  dropper?.server.close()
})

it('RSET only after a transaction the server did not complete', async () => {
  receiver.data = (n) => (n === 1 ? 'stall' : undefined) // the first holds the sender while the rest queue up
  receiver.rcpt = (address) => (address === 'gone@example.net' ? {code: 550, message: '5.1.1 gone'} : undefined)
  const first = await send(dataDir, 'alice@example.com', ['bob@example.net'], message('first'))
  await waitFor('the first message stalled at the receiver', () => receiver.stalled.length === 1)
  const ids: string[] = []
  for (const [to, subject] of [
    ['bob@example.net', 'after a delivered one'],
    ['gone@example.net', 'refused at RCPT'],
    ['bob@example.net', 'after a refused one'],
    ['bob@example.net', 'after that'],
  ] as const)
    ids.push((await send(dataDir, 'alice@example.com', [to], message(subject))).queued[0]!)
  receiver.releaseStalled()
  for (const id of [first.queued[0]!, ...ids]) await waitForEntry(dataDir, id, ['delivered', 'failed'])
  const transcripts = await Promise.all(ids.map(async (id) => (await queueShow(dataDir, id)).attemptLog[0]!.transcript))
  // all four went over the first entry's connection: none of them connected
  for (const t of transcripts) expect(t.some((l) => l.startsWith('-- ')), t.join('\n')).toBe(false)
  const rset = transcripts.map((t) => t.some((l) => /^C: RSET$/.test(l)))
  expect(rset).toEqual([false, false, true, false])
  expect(receiver.messages.map((m) => m.raw.match(/^Subject: (.*)$/m)?.[1])).toEqual(['first', 'after a delivered one', 'after a refused one', 'after that'])
})

it('a connection that drops while RSET waits: the attempt goes out on a new connection, nothing is left sending', async () => {
  const refused = await send(dataDir, 'alice@example.com', ['gone@drop.example'], message('refused'))
  await waitFor('the sender waiting for its RCPT reply', () => dropper.connections === 1)
  const next = await send(dataDir, 'alice@example.com', ['bob@drop.example'], message('after the drop'))
  dropper.release()
  expect((await waitForEntry(dataDir, refused.queued[0]!, ['failed'])).state).toBe('failed')
  const entry = await waitForEntry(dataDir, next.queued[0]!, ['delivered', 'deferred', 'failed'], 20_000)
  expect(entry.state).toBe('delivered')
  expect(dropper.accepted).toEqual(['bob@drop.example'])
  expect(dropper.connections).toBe(2) // the first hung up on RSET
})
