/**
 * `serve --http-port N --https-port N`: both listeners bound, listed in the startup log and in
 * `status` like the others, answering (no route matches here: 404) over HTTP and over HTTPS with
 * the default certificate; both are off without the flags.
 */
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {describe, expect, it} from 'vitest'
import {freePort, runJson, startServe, tempDataDir} from '../helpers/cli.js'

const get = (port: number, secure: boolean): Promise<number> =>
  new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)({host: '127.0.0.1', port, path: '/', agent: false, ...(secure ? {rejectUnauthorized: false} : {})}, (res) => {
      res.resume()
      resolve(res.statusCode!)
    })
    req.on('error', reject)
    req.end()
  })

describe('serve --http-port --https-port', () => {
  it('listens on both, lists them in the startup log and status, and answers 404 where no route answers', async () => {
    const dataDir = tempDataDir()
    const [http, https] = [await freePort(), await freePort()]
    const served = await startServe(dataDir, ['--http-port', String(http), '--https-port', String(https)])
    try {
      const started = served.output().split('\n').map((l) => (l ? JSON.parse(l) : {})).find((l) => l.msg === 'mailbox started')
      expect(started.listeners).toEqual(expect.arrayContaining([{name: 'http', address: `127.0.0.1:${http}`}, {name: 'https', address: `127.0.0.1:${https}`}]))
      const status = await runJson<{listeners: {name: string; address: string}[]}>(['status'], {dataDir})
      expect(status.listeners).toEqual(expect.arrayContaining([{name: 'http', address: `127.0.0.1:${http}`}, {name: 'https', address: `127.0.0.1:${https}`}]))
      expect(await get(http, false)).toBe(404)
      expect(await get(https, true)).toBe(404)
    } finally {
      expect(await served.stop()).toBe(0)
    }
  }, 60_000)

  it('without the flags neither listens', async () => {
    const dataDir = tempDataDir()
    const served = await startServe(dataDir, [])
    try {
      const status = await runJson<{listeners: {name: string}[]}>(['status'], {dataDir})
      expect(status.listeners.map((l) => l.name)).not.toContain('http')
      expect(status.listeners.map((l) => l.name)).not.toContain('https')
    } finally {
      expect(await served.stop()).toBe(0)
    }
  }, 60_000)
})
