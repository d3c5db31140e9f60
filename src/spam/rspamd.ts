/**
 * A client of rspamd's HTTP API: the normal worker's `POST /checkv2` (a message with its
 * envelope in headers: IP, Helo, From, one Rcpt per recipient, User, Queue-Id) and the
 * controller's `POST /learnspam`, `/learnham` and `GET /stat` (with the `Password` header).
 *
 * Bounds: one keep-alive agent per client with at most `maxConnections` sockets (requests beyond
 * wait in the agent's queue); every exchange, that wait included, ends within `timeoutMs`; a
 * reply is read up to `maxReplyBytes`. A failure is thrown as an RspamdError; what to do about it
 * (fail open, retry) is the caller's.
 */
import http from 'node:http'
import https from 'node:https'
import type {RspamdCheckReply, RspamdCheckRequest} from './rspamd-types.js'

export interface RspamdClientOptions {
  /** the normal worker, e.g. http://127.0.0.1:11333 */
  url?: string
  /** the controller, e.g. http://127.0.0.1:11334 (learning, stats) */
  controllerUrl?: string
  password?: string
  timeoutMs: number
  maxConnections: number
  maxReplyBytes: number
}

export const ACTIONS: readonly RspamdCheckReply['action'][] = ['reject', 'soft reject', 'rewrite subject', 'add header', 'greylist', 'no action']

export class RspamdError extends Error {
  /** retrying will not help (rspamd refused the request itself: 4xx) */
  readonly permanent: boolean
  constructor(message: string, permanent = false) {
    super(message)
    this.name = 'RspamdError'
    this.permanent = permanent
  }
}

interface Exchange {
  status: number
  body: Buffer
}

/**
 * A header value as rspamd reads it: UTF-8 bytes (an SMTPUTF8 address) passed through Node's
 * latin1 header encoding unchanged, control characters (a client's HELO may hold any) dropped.
 */
const headerValue = (value: string): string => Buffer.from(value.replace(/[\x00-\x1f\x7f]/g, ''), 'utf8').toString('latin1')

export class RspamdClient {
  private readonly agents = new Map<string, http.Agent>()

  constructor(private readonly options: RspamdClientOptions) {}

  /** the verdict on a message; throws RspamdError when there is none (timeout, refused, unreadable) */
  async check(req: RspamdCheckRequest): Promise<RspamdCheckReply> {
    if (!this.options.url) throw new RspamdError('no rspamd url configured', true)
    const headers: http.OutgoingHttpHeaders = {
      // an IPv4 client on a dual-stack listener comes as ::ffff:a.b.c.d; rspamd's lists want a.b.c.d
      IP: req.remoteAddress.replace(/^::ffff:(?=\d+\.)/i, ''),
      Helo: headerValue(req.helo),
      'Queue-Id': req.queueId,
      Rcpt: req.rcptTo.map(headerValue),
    }
    if (req.mailFrom) headers.From = headerValue(req.mailFrom)
    if (req.user) headers.User = headerValue(req.user)
    const {status, body} = await this.exchange(this.options.url, '/checkv2', 'POST', headers, req.message)
    if (status !== 200) throw new RspamdError(`rspamd answered HTTP ${status}`)
    return parseCheckReply(body)
  }

  /** trains the classifier; `known`: rspamd had learned this message so already */
  async learn(kind: 'spam' | 'ham', message: Buffer): Promise<'learned' | 'known'> {
    const {status, body} = await this.exchange(this.controller(), kind === 'spam' ? '/learnspam' : '/learnham', 'POST', this.passwordHeader(), message)
    if (status === 208) return 'known'
    if (status >= 200 && status < 300) return 'learned'
    const error = errorText(body)
    if (/already learned/i.test(error)) return 'known'
    throw new RspamdError(`rspamd's controller answered HTTP ${status}${error ? `: ${error}` : ''}`, status >= 400 && status < 500)
  }

  /** the controller's statistics (`learned`, `scanned`, `actions`, …) */
  async stat(): Promise<Record<string, unknown>> {
    const {status, body} = await this.exchange(this.controller(), '/stat', 'GET', this.passwordHeader())
    if (status !== 200) throw new RspamdError(`rspamd's controller answered HTTP ${status}`)
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>
  }

  /** drops the kept-alive connections */
  close(): void {
    for (const agent of this.agents.values()) agent.destroy()
    this.agents.clear()
  }

  private controller(): string {
    if (!this.options.controllerUrl) throw new RspamdError("no rspamd controller url configured", true)
    return this.options.controllerUrl
  }

  private passwordHeader(): http.OutgoingHttpHeaders {
    return this.options.password ? {Password: this.options.password} : {}
  }

  private agentFor(url: URL): http.Agent {
    let agent = this.agents.get(url.protocol)
    if (!agent) {
      const options = {keepAlive: true, maxSockets: this.options.maxConnections, maxFreeSockets: this.options.maxConnections}
      agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options)
      this.agents.set(url.protocol, agent)
    }
    return agent
  }

  private exchange(base: string, path: string, method: string, headers: http.OutgoingHttpHeaders, body?: Buffer): Promise<Exchange> {
    const url = new URL(base.replace(/\/+$/, '') + path)
    const {timeoutMs, maxReplyBytes} = this.options
    return new Promise((resolve, reject) => {
      let settled = false
      const settle = (err: Error | undefined, result?: Exchange) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) reject(err instanceof RspamdError ? err : new RspamdError(err.message))
        else resolve(result!)
      }
      const request = (url.protocol === 'https:' ? https : http).request(
        url,
        {method, agent: this.agentFor(url), headers: {...headers, 'Content-Length': body?.length ?? 0}},
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (chunk: Buffer) => {
            size += chunk.length
            if (size > maxReplyBytes) return void request.destroy(new RspamdError(`rspamd's reply is larger than ${maxReplyBytes} bytes`))
            chunks.push(chunk)
          })
          res.on('end', () => settle(undefined, {status: res.statusCode ?? 0, body: Buffer.concat(chunks)}))
          res.on('error', settle)
        },
      )
      // from the request's creation: a wait for a free socket counts too
      const timer = setTimeout(() => request.destroy(new RspamdError(`no answer from rspamd within ${timeoutMs} ms`)), timeoutMs)
      request.on('error', settle)
      request.end(body)
    })
  }
}

/** checkv2's JSON reply as RspamdCheckReply; throws RspamdError on anything else */
export function parseCheckReply(body: Buffer): RspamdCheckReply {
  let reply: {action?: unknown; score?: unknown; required_score?: unknown; symbols?: unknown; subject?: unknown}
  try {
    reply = JSON.parse(body.toString('utf8')) as typeof reply
  } catch {
    throw new RspamdError('rspamd answered something that is not JSON')
  }
  const action = reply.action as RspamdCheckReply['action']
  if (!ACTIONS.includes(action)) throw new RspamdError(`rspamd answered an unknown action ${JSON.stringify(reply.action)}`)
  const symbols = Object.entries(reply.symbols && typeof reply.symbols === 'object' ? reply.symbols : {})
    .map(([name, s]) => ({name, score: Number((s as {score?: unknown})?.score) || 0}))
    .sort((a, b) => b.score - a.score || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s) => s.name)
  return {
    action,
    score: Number(reply.score) || 0,
    required: Number(reply.required_score) || 0,
    symbols,
    ...(typeof reply.subject === 'string' ? {subject: reply.subject} : {}),
  }
}

/** the `error` of a controller's JSON reply, if it has one */
function errorText(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as {error?: unknown}
    return typeof parsed.error === 'string' ? parsed.error : ''
  } catch {
    return body.toString('utf8', 0, 200)
  }
}
