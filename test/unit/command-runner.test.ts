/**
 * The line-protocol command runner (src/command-runner.ts, POP3 and ManageSieve) on a real
 * loopback socket: a client that stops reading its replies is waited for, but not forever —
 * the idle timeout still ends the connection (else it held a connection slot and its unsent
 * replies for as long as the client liked).
 */
import {createConnection, createServer, type Server, type Socket} from 'node:net'
import {afterEach, describe, expect, it} from 'vitest'
import {CommandRunner} from '../../src/command-runner.js'
import {silentLogger} from '../../src/log.js'
import {until} from '../helpers/until.js'

let server: Server | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()))
  server = undefined
})

describe('CommandRunner', () => {
  it('a client that does not read its replies is closed by the idle timeout while the runner waits for it', async () => {
    let idled = false
    server = createServer((socket) => {
      sockets.push(socket)
      const runner = new CommandRunner<Buffer>({
        socket: () => socket,
        live: () => !socket.destroyed,
        // a large reply per command (a RETR, a GETSCRIPT): more than the runner lets wait unread
        handle: async () => void socket.write(Buffer.alloc(16 * 1024 * 1024, 0x61)),
        failed: () => {},
      })
      runner.listen(socket, 500, {data: (chunk) => (runner.queue.push(chunk), runner.kick()), idle: () => ((idled = true), socket.destroy()), close: () => {}}, silentLogger)
    })
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const client = createConnection({port: (server.address() as {port: number}).port, host: '127.0.0.1'})
    sockets.push(client)
    client.pause()
    await new Promise((resolve) => client.once('connect', resolve))
    client.write('RETR 1\r\n')
    await until(() => idled, 10_000)
    expect(idled).toBe(true)
  })
})
