/**
 * A client of the matcher protocol (./server.ts): connect, handshake, register one MATCH and
 * wait for its GOTEMAIL or EXPIRED. Used by `mailbox watch`; a test runner in any language needs
 * no more than this. `findMatcher` works out where the matcher of a data dir listens.
 */
import {connect} from 'node:net'
import {StringDecoder} from 'node:string_decoder'
import {DEFAULT_PORTS} from '../config.js'
import {connectControl} from '../control/client.js'
import {MailboxError} from '../errors.js'
import type {MatcherEmail} from './email.js'
import {readTokenFile} from './token.js'

export interface WatchRequest {
  to?: string
  from?: string
  subject?: string
  timeout_s?: number
  since_s?: number
  raw?: boolean
}

export type WatchResult = {matched: true; matchId: string; email: MatcherEmail} | {matched: false; matchId: string}

export interface MatcherEndpoint {
  host: string
  port: number
  /** sent in OLLEH; the matcher requires it when it has one */
  token?: string
}

export function watch({host, port, token}: MatcherEndpoint, request: WatchRequest): Promise<WatchResult> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    const decoder = new StringDecoder('utf8')
    let buffered = ''
    let settled = false
    const finish = (fn: () => void) => {
      if (settled) return
      settled = true
      socket.end('QUIT\n')
      fn()
    }
    const fail = (message: string) => finish(() => reject(new MailboxError('unavailable', message)))
    socket.on('error', (err: NodeJS.ErrnoException) => fail(`cannot reach the matcher at ${host}:${port}: ${err.code ?? err.message}`))
    socket.on('close', () => fail('the matcher closed the connection'))
    socket.on('data', (chunk: Buffer) => {
      buffered += decoder.write(chunk)
      let nl: number
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        const space = line.indexOf(' ')
        const verb = space === -1 ? line : line.slice(0, space)
        const body = space === -1 ? undefined : (JSON.parse(line.slice(space + 1)) as Record<string, unknown>)
        if (verb === 'HELLO') socket.write(`OLLEH ${JSON.stringify({version: 1, ...(token ? {token} : {})})}\n`)
        else if (verb === 'OKAY') socket.write(`MATCH ${JSON.stringify(request)}\n`)
        else if (verb === 'PING') socket.write('PONG\n')
        else if (verb === 'UNSUPPORTED') fail('the matcher does not speak protocol version 1')
        else if (verb === 'ERROR') fail(`the matcher refused the request: ${String(body?.message)}`)
        else if (verb === 'GOTEMAIL') {
          socket.write('OKAY\n')
          finish(() => resolve({matched: true, matchId: String(body!.match_id), email: body!.email as MatcherEmail}))
        } else if (verb === 'EXPIRED') {
          socket.write('OKAY\n')
          finish(() => resolve({matched: false, matchId: String(body!.match_id)}))
        }
      }
    })
  })
}

/**
 * Given flags win. Otherwise the server running on `dataDir` says where its matcher listens (its
 * bind address, or 127.0.0.1 for a wildcard bind), else 127.0.0.1 and the default port. The token
 * in `<dataDir>/matcher.token` is that server's secret: it is sent only to that server's matcher,
 * never to a host or port that is not it.
 */
export async function findMatcher(dataDir: string, given: {host?: string; port?: number; token?: string}): Promise<MatcherEndpoint> {
  const listening = await runningMatcher(dataDir)
  const host = given.host ?? listening?.host ?? '127.0.0.1'
  const port = given.port ?? listening?.port ?? DEFAULT_PORTS.matcher
  const ours = listening !== undefined && listening.host === host && listening.port === port
  const token = given.token ?? (ours ? readTokenFile(dataDir) : undefined)
  return {host, port, ...(token ? {token} : {})}
}

async function runningMatcher(dataDir: string): Promise<{host: string; port: number} | undefined> {
  const client = await connectControl(dataDir).catch(() => undefined)
  if (!client) return undefined
  try {
    const status = await client.call('server.status', {})
    const address = status.listeners.find((l) => l.name === 'matcher')?.address
    if (!address) return undefined
    const colon = address.lastIndexOf(':')
    const bind = address.slice(0, colon)
    return {host: bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind, port: Number(address.slice(colon + 1))}
  } catch {
    return undefined
  } finally {
    client.close()
  }
}
