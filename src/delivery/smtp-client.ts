/**
 * One delivery attempt to one host with nodemailer's SMTP connection: EHLO with our hostname,
 * STARTTLS when offered (opportunistic: the certificate is not verified, as for MX-to-MX mail),
 * AUTH for a smarthost, then the envelope and the message. Every recipient gets its own result,
 * and the SMTP conversation (commands and replies, never the message body or a password) is kept
 * as the attempt's transcript.
 */
import SMTPConnection from 'nodemailer/lib/smtp-connection'
import type {Hop} from './route.js'

export type RecipientOutcome = 'delivered' | 'deferred' | 'failed'

export interface RecipientResult {
  address: string
  outcome: RecipientOutcome
  /** the server's reply, or what went wrong */
  reply: string
}

export interface AttemptResult {
  host: string
  recipients: RecipientResult[]
  transcript: string[]
}

export interface ClientOptions {
  hostname: string
  connectTimeoutMs: number
  socketTimeoutMs: number
}

const MAX_TRANSCRIPT_LINES = 200

/** 5xx is permanent; 4xx, timeouts and connection trouble are temporary (RFC 5321 §4.2.1). */
export const outcomeOf = (code: number | undefined): RecipientOutcome => (code !== undefined && code >= 500 && code < 600 ? 'failed' : 'deferred')

export function sendTo(hop: Hop, address: string, from: string, recipients: string[], raw: Buffer, options: ClientOptions): Promise<AttemptResult> {
  const transcript: string[] = []
  const note = (line: string) => {
    if (transcript.length < MAX_TRANSCRIPT_LINES) transcript.push(line)
  }
  // nodemailer logs each line with {tnx: 'client' | 'server'}; the message body only as a byte count
  const log = (entry: {tnx?: string} | undefined, message: string, ...args: unknown[]) => {
    const side = entry?.tnx === 'client' ? 'C' : entry?.tnx === 'server' ? 'S' : undefined
    if (!side) return
    let line = String(message)
    for (const a of args) line = line.replace(/%s/, String(a))
    for (const part of line.split(/\r?\n/)) {
      // never keep credentials: AUTH arguments and the LOGIN exchange's base64 lines
      const secret = side === 'C' && (/^AUTH /i.test(part) || awaitingCredentials)
      note(`${side}: ${secret ? (/^AUTH /i.test(part) ? part.replace(/^(AUTH \S+).*/i, '$1') + ' ***' : '***') : part}`)
      if (side === 'S') awaitingCredentials = /^334 /.test(part)
    }
  }
  let awaitingCredentials = false
  const logger = {level: () => {}, trace: log, debug: log, info: log, warn: log, error: log, fatal: log}
  const connection = new SMTPConnection({
    host: address,
    port: hop.port,
    name: options.hostname,
    servername: hop.host,
    opportunisticTLS: true,
    tls: {rejectUnauthorized: false},
    connectionTimeout: options.connectTimeoutMs,
    greetingTimeout: options.connectTimeoutMs,
    socketTimeout: options.socketTimeoutMs,
    logger: logger as never,
    debug: true,
    allowInternalNetworkInterfaces: true,
  })
  const all = (outcome: RecipientOutcome, reply: string): AttemptResult => ({
    host: `${hop.host}:${hop.port}`,
    recipients: recipients.map((r) => ({address: r, outcome, reply})),
    transcript,
  })
  return new Promise<AttemptResult>((resolve) => {
    let done = false
    const finish = (result: AttemptResult) => {
      if (done) return
      done = true
      try {
        connection.quit()
      } catch {
        connection.close()
      }
      resolve(result)
    }
    const failAll = (err: Error & {responseCode?: number; response?: string}) => {
      note(`!: ${err.message}`)
      finish(all(outcomeOf(err.responseCode), err.response ?? err.message))
    }
    connection.on('error', failAll)
    connection.connect(() => {
      const send = () =>
        connection.send({from, to: recipients}, raw, (err, info) => {
          const refused = err as (Error & {code?: string; responseCode?: number; response?: string; rejectedErrors?: Error[]}) | null
          // every recipient refused at RCPT (EENVELOPE): each still gets its own reply, 4xx or 5xx
          if (refused && !(refused.code === 'EENVELOPE' && refused.rejectedErrors?.length)) return failAll(refused)
          if (refused) note(`!: ${refused.message}`)
          const rejected = new Map<string, {code?: number; reply: string}>()
          for (const e of (refused ? refused.rejectedErrors : info.rejectedErrors) ?? []) {
            const rcpt = (e as {recipient?: string}).recipient
            if (rcpt) rejected.set(rcpt, {code: (e as {responseCode?: number}).responseCode, reply: (e as {response?: string}).response ?? e.message})
          }
          finish({
            host: `${hop.host}:${hop.port}`,
            recipients: recipients.map((r) => {
              const no = rejected.get(r)
              if (no) return {address: r, outcome: outcomeOf(no.code), reply: no.reply}
              return refused ? {address: r, outcome: outcomeOf(refused.responseCode), reply: refused.response ?? refused.message} : {address: r, outcome: 'delivered', reply: info.response}
            }),
            transcript,
          })
        })
      if (!hop.auth) return send()
      connection.login({user: hop.auth.user, pass: hop.auth.pass}, (err) => (err ? failAll(err as Error & {responseCode?: number}) : send()))
    })
  })
}
