/** Connection limits and the idle timeout, set through a config file (the `smtp` key). */
import {writeFileSync} from 'node:fs'
import {connect, type Socket} from 'node:net'
import {dirname, join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {freePort, runCli, startServe, tempDataDir} from '../helpers/cli.js'

/** Connects and resolves with the first reply line, and the socket. */
function greet(port: number): Promise<{line: string; socket: Socket}> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let buf = ''
    socket.on('data', (d) => {
      buf += d
      const nl = buf.indexOf('\r\n')
      if (nl >= 0) resolve({line: buf.slice(0, nl), socket})
    })
    socket.on('error', reject)
  })
}

const closed = (socket: Socket) => new Promise<string>((resolve) => {
  let rest = ''
  socket.on('data', (d) => (rest += d))
  socket.on('close', () => resolve(rest))
})

describe('SMTP limits', () => {
  it('refuses connections over maxConnectionsPerIp with 421 and drops idle sessions', async () => {
    const dataDir = tempDataDir()
    expect((await runCli(['domain', 'add', 'example.com'], {dataDir})).code).toBe(0)
    const config = join(dirname(dataDir), 'mailbox.json')
    writeFileSync(config, JSON.stringify({smtp: {maxConnectionsPerIp: 2, socketTimeoutMs: 1500}}))
    const port = await freePort()
    const served = await startServe(dataDir, ['--smtp-port', String(port), '--config', config])

    const a = await greet(port)
    const b = await greet(port)
    expect(a.line).toMatch(/^220 /)
    expect(b.line).toMatch(/^220 /)
    const c = await greet(port)
    expect(c.line).toBe('421 4.7.0 Too many connections from your address, try again later')
    await closed(c.socket) // the server closes a refused connection, and it holds no slot
    // a slot frees when a connection closes
    b.socket.end('QUIT\r\n')
    await closed(b.socket)
    await new Promise((r) => setTimeout(r, 100)) // let the server see the close
    const d = await greet(port)
    expect(d.line).toMatch(/^220 /)

    // an idle session is closed by the server after socketTimeoutMs, with a 421
    const started = Date.now()
    const rest = await closed(a.socket)
    expect(rest).toMatch(/^421 /)
    expect(Date.now() - started).toBeLessThan(6000)
    d.socket.destroy()
    expect(await served.stop()).toBe(0)
  })
})
