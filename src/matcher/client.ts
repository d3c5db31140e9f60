/**
 * A client of the matcher protocol (./server.ts): connect, handshake, register one MATCH and
 * wait for its GOTEMAIL or EXPIRED. Used by `mailbox watch`; a test runner in any language needs
 * no more than this.
 */
import {connect} from 'node:net'
import {StringDecoder} from 'node:string_decoder'
import {MailboxError} from '../errors.js'
import type {MatcherEmail} from './email.js'

export interface WatchRequest {
  to?: string
  from?: string
  subject?: string
  timeout_s?: number
  since_s?: number
  raw?: boolean
}

export type WatchResult = {matched: true; matchId: string; email: MatcherEmail} | {matched: false; matchId: string}

export function watch(host: string, port: number, request: WatchRequest): Promise<WatchResult> {
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
        if (verb === 'HELLO') socket.write(`OLLEH ${JSON.stringify({version: 1})}\n`)
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
